//! What git's configuration may do behind engine's back, decided from git's files without
//! starting git: run hooks on a commit (which may change files after they were staged), or
//! convert files between the worktree and the object store (attributes, line endings, filters).
//! Conservative: whatever cannot be ruled out counts as "may".

use std::path::{Path, PathBuf};

use crate::Repo;

impl Repo {
    /// `false` only when certain that `git add` and `git commit` in `worktree` run no hook: no
    /// configuration git reads can move the hooks directory (`core.hooksPath`, an `include`,
    /// configuration given through the environment), and the repository's hooks directory
    /// holds nothing but git's `*.sample` files.
    pub fn commit_may_run_hooks(&self, worktree: &Path) -> bool {
        let Ok(common) = self.git_common_dir() else {
            return true;
        };
        self.config_may_say(worktree, &["hookspath"]) || hooks_present(&common.join("hooks"))
    }

    /// `false` only when certain that the files of a checkout in `worktree` are the committed
    /// blobs byte for byte, so that `git add` would store them unchanged: no `.gitattributes` at
    /// the worktree's top, no `info/attributes`, and no configuration git reads that sets line
    /// endings, filters or an attributes file. (A `.gitattributes` deeper in the tree is not
    /// looked for; callers use the answer where a wrong "no" costs accuracy, not safety.)
    pub fn files_may_be_converted(&self, worktree: &Path) -> bool {
        let Ok(common) = self.git_common_dir() else {
            return true;
        };
        let present = |path: &Path| !matches!(path.symlink_metadata(), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        present(&worktree.join(".gitattributes"))
            || present(&common.join("info/attributes"))
            || self.config_may_say(
                worktree,
                &[
                    "autocrlf",
                    "eol",
                    "safecrlf",
                    "filter",
                    "attributesfile",
                    "[lfs",
                ],
            )
    }

    /// Whether any configuration git reads for `worktree` may mention one of `needles`
    /// (lowercase), pull in another file (`include`), or come from the environment.
    fn config_may_say(&self, worktree: &Path, needles: &[&str]) -> bool {
        let Ok(common) = self.git_common_dir() else {
            return true;
        };
        if std::env::vars_os().any(|(name, _)| name.to_string_lossy().starts_with("GIT_CONFIG")) {
            return true;
        }
        let mut configs = vec![(common.join("config"), false)];
        configs.push((common.join("config.worktree"), true));
        if let Ok(admin) = self.worktree_git_dir(worktree) {
            configs.push((admin.join("config.worktree"), true));
        }
        configs.extend(user_and_system_configs().into_iter().map(|p| (p, true)));
        configs
            .iter()
            .any(|(path, may_be_missing)| config_may_say(path, *may_be_missing, needles))
    }
}

/// Whether the configuration file at `path` may mention one of `needles` (or pulls in another
/// file that may); a missing file says nothing when `may_be_missing`.
fn config_may_say(path: &Path, may_be_missing: bool, needles: &[&str]) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
            text.contains("[include") || needles.iter().any(|needle| text.contains(needle))
        }
        Err(e) => !(may_be_missing && e.kind() == std::io::ErrorKind::NotFound),
    }
}

/// Whether `dir` holds anything but git's `*.sample` hooks.
fn hooks_present(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.into_iter().any(|entry| {
            entry.map_or(true, |entry| {
                !entry.file_name().to_string_lossy().ends_with(".sample")
            })
        }),
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

/// The global and system configuration files git may read: `~/.gitconfig`, the XDG one,
/// `/etc/gitconfig`, and `<prefix>/etc/gitconfig` of the `git` engine runs.
fn user_and_system_configs() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("/etc/gitconfig")];
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        let home = PathBuf::from(home);
        files.push(home.join(".gitconfig"));
        files.push(home.join(".config/git/config"));
    }
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        files.push(PathBuf::from(xdg).join("git/config"));
    }
    // The prefix of the git engine runs (looked up on `PATH` once, see `command`).
    if let Some(prefix) = Some(Path::new(crate::command::git_program()))
        .filter(|git| git.is_absolute())
        .and_then(|git| git.canonicalize().ok())
        .and_then(|git| Some(git.parent()?.parent()?.to_path_buf()))
    {
        files.push(prefix.join("etc/gitconfig"));
    }
    files
}

#[cfg(test)]
mod tests {
    use crate::Repo;
    use crate::test_repo::{TestRepo, git};

    #[test]
    fn hooks_are_ruled_out_only_when_nothing_but_samples_and_no_hooks_path() {
        let t = TestRepo::new("main");
        let repo = Repo::discover(&t.root).unwrap();
        let hooks = t.root.join(".git/hooks");
        std::fs::create_dir_all(&hooks).unwrap();
        std::fs::write(hooks.join("pre-commit.sample"), "#!/bin/sh\n").unwrap();
        // The machine's own configuration may name a hooks path: then nothing is ruled out.
        let machine_says_hooks = super::user_and_system_configs()
            .iter()
            .any(|p| super::config_may_say(p, true, &["hookspath"]));
        assert_eq!(repo.commit_may_run_hooks(&t.root), machine_says_hooks);

        std::fs::write(hooks.join("post-commit"), "#!/bin/sh\n").unwrap();
        assert!(repo.commit_may_run_hooks(&t.root));
        std::fs::remove_file(hooks.join("post-commit")).unwrap();

        git(&t.root, &["config", "core.hooksPath", ".husky"]);
        assert!(repo.commit_may_run_hooks(&t.root));
    }

    #[test]
    fn conversions_are_ruled_out_only_without_attributes_or_line_ending_settings() {
        let t = TestRepo::new("main");
        let repo = Repo::discover(&t.root).unwrap();
        let machine_converts = super::user_and_system_configs().iter().any(|p| {
            super::config_may_say(p, true, &["autocrlf", "eol", "filter", "attributesfile"])
        });
        assert_eq!(repo.files_may_be_converted(&t.root), machine_converts);
        std::fs::write(t.root.join(".gitattributes"), "* text=auto\n").unwrap();
        assert!(repo.files_may_be_converted(&t.root));
        std::fs::remove_file(t.root.join(".gitattributes")).unwrap();
        git(&t.root, &["config", "core.autocrlf", "true"]);
        assert!(repo.files_may_be_converted(&t.root));
    }
}
