//! The documented path lists of the confinement policy: what is hidden from every process, and
//! which state directories each agent CLI may write (docs/security.md lists the same).

use std::path::{Path, PathBuf};

/// Paths under the user's home shown empty to every process (credentials and keys). A stage
/// granted `repository: write` (the merge, which may push) sees them.
pub const HIDDEN_IN_HOME: &[&str] = &[
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".config/gcloud",
    ".config/gh",
    ".kube",
    ".docker",
    ".netrc",
    ".git-credentials",
    ".config/git/credentials",
    ".pypirc",
    ".password-store",
    ".local/share/keyrings",
];

/// The state directories (relative to the home directory) each backend's CLI writes: its
/// sessions, settings and caches. Granted writable to that backend's sessions only.
pub fn agent_state_dirs(backend: &str) -> &'static [&'static str] {
    match backend {
        "claude" => &[".claude", ".cache/claude", ".cache/claude-cli-nodejs"],
        "codex" => &[".codex"],
        "gemini" => &[".gemini"],
        "opencode" => &[
            ".local/share/opencode",
            ".local/state/opencode",
            ".cache/opencode",
            ".config/opencode",
        ],
        "aider" => &[".aider", ".cache/aider"],
        "cursor" => &[".cursor", ".config/cursor"],
        _ => &[],
    }
}

/// Files directly in the home directory a backend's CLI rewrites (shown writable when they
/// exist; a missing one cannot be created, so engine creates it empty first).
pub fn agent_state_files(backend: &str) -> &'static [&'static str] {
    match backend {
        "claude" => &[".claude.json"],
        _ => &[],
    }
}

/// `~` and `~/x` against `home`; other paths as they are.
pub fn expand_home(text: &str, home: Option<&Path>) -> Option<PathBuf> {
    if text == "~" {
        return home.map(Path::to_path_buf);
    }
    match text.strip_prefix("~/") {
        Some(rest) => home.map(|h| h.join(rest)),
        None => Some(PathBuf::from(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_expanded_and_absolute_paths_kept() {
        let home = Path::new("/home/u");
        assert_eq!(
            expand_home("~/.cache/x", Some(home)),
            Some(PathBuf::from("/home/u/.cache/x"))
        );
        assert_eq!(expand_home("~", Some(home)), Some(PathBuf::from("/home/u")));
        assert_eq!(expand_home("/opt/x", None), Some(PathBuf::from("/opt/x")));
        assert_eq!(expand_home("~/x", None), None);
    }

    #[test]
    fn every_backend_has_its_state_directory() {
        for backend in ["claude", "codex", "gemini", "opencode", "aider", "cursor"] {
            assert!(!agent_state_dirs(backend).is_empty(), "{backend}");
        }
        assert!(agent_state_dirs("custom").is_empty());
    }
}
