//! Snapshots of a worktree's files as git trees, taken through a private index so the
//! worktree's own index (and the user's) is never touched: what changed during an agent session
//! is the difference of two snapshots.

use std::ffi::OsStr;
use std::path::Path;

use crate::GitError;
use crate::command::run_git_with_env;
use crate::repo::Repo;

impl Repo {
    /// The tree id of `worktree`'s files as they are now: tracked and untracked files, minus
    /// ignored ones. Writes blobs to the object store (unreferenced ones are garbage-collected
    /// by git later) but never the worktree's index.
    pub fn snapshot_tree(&self, worktree: &Path) -> Result<String, GitError> {
        let scratch = tempfile_path();
        let index = scratch.as_os_str();
        let env: [(&str, &OsStr); 1] = [("GIT_INDEX_FILE", index)];
        let result = (|| {
            // Starting from HEAD makes `add` hash only what differs from it.
            let _ = run_git_with_env(worktree, &["read-tree", "HEAD"], &env)?;
            run_git_with_env(worktree, &["add", "-A", "--", "."], &env)?.success()?;
            let tree = run_git_with_env(worktree, &["write-tree"], &env)?.success_text()?;
            Ok(tree.trim().to_string())
        })();
        let _ = std::fs::remove_file(&scratch);
        result
    }

    /// Paths (relative to the worktree) whose content differs between two snapshot trees.
    pub fn changed_paths(
        &self,
        worktree: &Path,
        from: &str,
        to: &str,
    ) -> Result<Vec<String>, GitError> {
        if from == to {
            return Ok(Vec::new());
        }
        let out = run_git_with_env(
            worktree,
            &[
                "diff-tree",
                "-r",
                "--name-only",
                "--no-renames",
                "-z",
                from,
                to,
            ],
            &[],
        )?
        .success_text()?;
        Ok(out
            .split('\0')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect())
    }
}

fn tempfile_path() -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "engine-snapshot-{}-{nanos}.index",
        std::process::id()
    ))
}

#[cfg(test)]
mod tests {
    use crate::Repo;
    use crate::test_repo::{TestRepo, git};

    #[test]
    fn changes_between_snapshots_are_listed_and_the_index_is_untouched() {
        let t = TestRepo::new("main");
        let repo = Repo::discover(&t.root).unwrap();
        std::fs::write(t.root.join("staged.txt"), "staged\n").unwrap();
        git(&t.root, &["add", "staged.txt"]);
        let index_before = std::fs::read(t.root.join(".git/index")).unwrap();
        let before = repo.snapshot_tree(&t.root).unwrap();
        std::fs::write(t.root.join("new.txt"), "new\n").unwrap();
        std::fs::write(t.root.join("a.txt"), "changed\n").unwrap();
        let after = repo.snapshot_tree(&t.root).unwrap();
        let mut changed = repo.changed_paths(&t.root, &before, &after).unwrap();
        changed.sort();
        assert_eq!(changed, vec!["a.txt", "new.txt"]);
        assert!(
            repo.changed_paths(&t.root, &after, &after)
                .unwrap()
                .is_empty()
        );
        let index_after = std::fs::read(t.root.join(".git/index")).unwrap();
        assert_eq!(
            index_before, index_after,
            "the worktree's index was touched"
        );
    }
}
