//! Whether committing in a worktree may run a hook, decided from git's files without starting
//! git. A hook may change files after they were staged, so a worktree is only known to equal
//! its new commit when none can run. Conservative: whatever cannot be ruled out counts as "may".

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
        let admin = self.worktree_git_dir(worktree).ok();
        if std::env::vars_os().any(|(name, _)| name.to_string_lossy().starts_with("GIT_CONFIG")) {
            return true;
        }
        let mut configs = vec![(common.join("config"), false)];
        configs.push((common.join("config.worktree"), true));
        if let Some(admin) = &admin {
            configs.push((admin.join("config.worktree"), true));
        }
        configs.extend(user_and_system_configs().into_iter().map(|p| (p, true)));
        if configs
            .iter()
            .any(|(path, may_be_missing)| config_may_move_hooks(path, *may_be_missing))
        {
            return true;
        }
        hooks_present(&common.join("hooks"))
    }
}

/// Whether the configuration file at `path` may set where hooks are (or pulls in another file
/// that may); a missing file says nothing when `may_be_missing`.
fn config_may_move_hooks(path: &Path, may_be_missing: bool) -> bool {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
            text.contains("hookspath") || text.contains("[include")
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
/// `/etc/gitconfig`, and `<prefix>/etc/gitconfig` of the first `git` on `PATH`.
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
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(prefix) = std::env::split_paths(&path)
        .map(|dir| dir.join("git"))
        .find(|git| git.is_file())
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
            .any(|p| super::config_may_move_hooks(p, true));
        assert_eq!(repo.commit_may_run_hooks(&t.root), machine_says_hooks);

        std::fs::write(hooks.join("post-commit"), "#!/bin/sh\n").unwrap();
        assert!(repo.commit_may_run_hooks(&t.root));
        std::fs::remove_file(hooks.join("post-commit")).unwrap();

        git(&t.root, &["config", "core.hooksPath", ".husky"]);
        assert!(repo.commit_may_run_hooks(&t.root));
    }
}
