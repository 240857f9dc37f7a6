//! File hints: paths a task names (`src/export.rs`, `README.md`, `docs/`), and how many of
//! them exist in the worktree.

/// At most this many distinct paths are taken from a task.
pub const MAX_MENTIONS: usize = 100;

/// Well-known file names without an extension, matched with their usual spelling only.
const BARE_NAMES: &[&str] = &[
    "Makefile",
    "Dockerfile",
    "Justfile",
    "Gemfile",
    "Rakefile",
    "Procfile",
    "Jenkinsfile",
    "Vagrantfile",
    "LICENSE",
    "README",
    "CHANGELOG",
];

/// Abbreviations that look like `name.ext` or `a/b` but are not files.
const NOT_FILES: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "a.m", "p.m", "cf", "approx", "and/or", "n/a", "w/o",
];

/// Characters that end a path inside running text.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '`' | '"' | '\'' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | ',' | ';' | '|'
        )
}

/// The paths `text` names, in order of appearance, without duplicates, relative to the
/// repository root (a leading `./` or `/workspace/` is removed). Absolute paths, URLs, globs,
/// command-line flags and paths with `..` are not hints.
pub fn mentioned_paths(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for token in text.split(is_separator) {
        if found.len() >= MAX_MENTIONS {
            break;
        }
        if let Some(path) = as_path(token)
            && !found.contains(&path)
        {
            found.push(path);
        }
    }
    found
}

/// The path a token names, if it names one.
fn as_path(token: &str) -> Option<String> {
    if token.contains("://") || token.starts_with('-') || token.starts_with('~') {
        return None;
    }
    if token.contains(['*', '?', '$', '=', '@', '%', '\\', '#', '!']) {
        return None;
    }
    let mut path = strip_line_suffix(token.trim_end_matches(['.', ',', ':', ';', '!', '?']));
    if let Some(rest) = path.strip_prefix("/workspace/") {
        path = rest;
    } else if path.starts_with('/') {
        return None;
    }
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    let is_directory = path.ends_with('/');
    let path = path.trim_end_matches('/');
    if path.is_empty()
        || path.split('/').any(|part| part.is_empty() || part == "..")
        || NOT_FILES.iter().any(|n| n.eq_ignore_ascii_case(path))
    {
        return None;
    }
    if is_directory || path.contains('/') {
        let has_name = path
            .split('/')
            .any(|part| part.chars().any(char::is_alphabetic));
        return has_name.then(|| path.to_string());
    }
    if BARE_NAMES.contains(&path) || looks_like_file_name(path) {
        return Some(path.to_string());
    }
    None
}

/// `src/main.rs:42` or `src/main.rs:42:7` → `src/main.rs`.
fn strip_line_suffix(token: &str) -> &str {
    let mut path = token;
    for _ in 0..2 {
        match path.rsplit_once(':') {
            Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => {
                path = head;
            }
            _ => break,
        }
    }
    path
}

/// `name.ext`: a name with a letter, an extension of 1 to 10 letters or digits with a letter.
fn looks_like_file_name(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let stem = stem.trim_start_matches('.');
    !stem.is_empty()
        && stem.chars().any(char::is_alphabetic)
        && stem
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && (1..=10).contains(&ext.len())
        && ext.chars().all(|c| c.is_ascii_alphanumeric())
        && ext.chars().any(|c| c.is_ascii_alphabetic())
}

/// How the file hints came out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileHints {
    /// Paths the task names.
    pub mentioned: Vec<String>,
    /// How many of them exist in the worktree; `None` when the worktree is not mounted.
    pub existing: Option<usize>,
}

impl FileHints {
    /// Finds the paths `text` names and, when `exists` is given (the worktree is mounted),
    /// counts those that exist.
    pub fn find(text: &str, exists: Option<&dyn Fn(&str) -> bool>) -> FileHints {
        let mentioned = mentioned_paths(text);
        let existing = exists.map(|exists| mentioned.iter().filter(|p| exists(p)).count());
        FileHints {
            mentioned,
            existing,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    #[test]
    fn paths_in_running_text_are_found() {
        let text = "Change `src/export.rs` and ./src/cli/args.rs (see docs/, README.md).\n\
                    Also update Cargo.toml: and src/main.rs:42:7, then the Makefile.";
        assert_eq!(
            mentioned_paths(text),
            [
                "src/export.rs",
                "src/cli/args.rs",
                "docs",
                "README.md",
                "Cargo.toml",
                "src/main.rs",
                "Makefile"
            ]
        );
    }

    #[test]
    fn urls_flags_globs_abbreviations_and_escapes_are_not_paths() {
        let text = "See https://example.com/a/b.html, e.g. the --out=dir/x flag, src/**/*.rs, \
                    /etc/passwd, ../secret.txt, version 1.2.3, i.e. nothing, a/../b.";
        assert_eq!(mentioned_paths(text), Vec::<String>::new());
    }

    #[test]
    fn workspace_prefixes_are_removed_and_duplicates_dropped() {
        assert_eq!(
            mentioned_paths("/workspace/src/a.rs and src/a.rs and .env.example"),
            ["src/a.rs", ".env.example"]
        );
    }

    #[test]
    fn existing_paths_are_counted_only_with_a_workspace() {
        let text = "Edit src/a.rs, src/b.rs and src/missing.rs";
        let exists = |p: &str| p != "src/missing.rs";
        let hints = FileHints::find(text, Some(&exists));
        assert_eq!(hints.mentioned.len(), 3);
        assert_eq!(hints.existing, Some(2));
        assert_eq!(FileHints::find(text, None).existing, None);
    }

    #[test]
    fn mentions_are_capped() {
        let text: String = (0..300).fold(String::new(), |mut text, i| {
            let _ = write!(text, "f{i}.rs ");
            text
        });
        assert_eq!(mentioned_paths(&text).len(), MAX_MENTIONS);
    }
}
