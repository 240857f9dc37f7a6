//! Real temporary repositories for tests.

use std::path::{Path, PathBuf};

use crate::command::run_git;

/// Runs git in `dir`, panicking (test code) on failure, and returns stdout.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let output = run_git(dir, args).unwrap();
    assert!(
        output.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        output.stderr
    );
    output.text().unwrap()
}

/// Configures identity and signing so commits work on any machine.
pub(crate) fn configure(dir: &Path) {
    git(dir, &["config", "user.name", "Engine Test"]);
    git(
        dir,
        &["config", "user.email", "engine-test@example.invalid"],
    );
    git(dir, &["config", "commit.gpgsign", "false"]);
}

/// A temporary repository on branch `branch` with one commit holding `a.txt` and `b.txt`.
pub(crate) struct TestRepo {
    /// Keeps the directory alive.
    pub _dir: tempfile::TempDir,
    /// The repository root (canonical).
    pub root: PathBuf,
}

impl TestRepo {
    /// Creates the repository.
    pub fn new(branch: &str) -> TestRepo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        let root = root.canonicalize().unwrap();
        git(&root, &["init", "--quiet", "-b", branch]);
        configure(&root);
        std::fs::write(root.join("a.txt"), "alpha\n").unwrap();
        std::fs::write(root.join("b.txt"), "beta\n").unwrap();
        git(&root, &["add", "a.txt", "b.txt"]);
        git(&root, &["commit", "--quiet", "-m", "initial"]);
        TestRepo { _dir: dir, root }
    }

    /// Commits `content` to `file` on the current branch.
    pub fn commit_file(&self, file: &str, content: &str) {
        std::fs::write(self.root.join(file), content).unwrap();
        git(&self.root, &["add", file]);
        git(&self.root, &["commit", "--quiet", "-m", file]);
    }
}
