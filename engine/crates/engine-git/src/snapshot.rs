//! Snapshots of a worktree's files as git trees, taken through a private index so the
//! worktree's own index (and the user's) is never touched: what changed during an agent session
//! is the difference of two snapshots.

use std::ffi::OsStr;
use std::path::Path;

use crate::GitError;
use crate::command::{admin_dir_of, run_git_with_env};
use crate::repo::{Repo, reject_option_like};

impl Repo {
    /// The tree id of `worktree`'s files as they are now: tracked and untracked files, minus
    /// ignored ones. Writes blobs to the object store (unreferenced ones are garbage-collected
    /// by git later) but never the worktree's index.
    pub fn snapshot_tree(&self, worktree: &Path) -> Result<String, GitError> {
        with_snapshot_index(worktree, |env| {
            let tree = run_git_with_env(worktree, &["write-tree"], env)?.success_text()?;
            Ok(tree.trim().to_string())
        })
    }

    /// The paths (relative to the worktree) whose content differs between the snapshot `tree`
    /// and `worktree`'s files as they are now: [`Repo::changed_paths`] of `tree` and a new
    /// [`Repo::snapshot_tree`], in one git process fewer (the private index is compared with
    /// `tree` directly, `git diff-index --cached`, instead of being written as a tree first).
    pub fn changed_since(&self, worktree: &Path, tree: &str) -> Result<Vec<String>, GitError> {
        reject_option_like("tree", tree)?;
        with_snapshot_index(worktree, |env| {
            let out = run_git_with_env(
                worktree,
                &[
                    "diff-index",
                    "--cached",
                    "-r",
                    "--name-only",
                    "--no-renames",
                    "-z",
                    tree,
                    "--",
                ],
                env,
            )?
            .success_text()?;
            Ok(split_paths(&out))
        })
    }

    /// Puts `worktree`'s files back as they were in the snapshot `tree` (from
    /// [`Repo::snapshot_tree`]): files that appeared since are deleted (with directories left
    /// empty), files changed or deleted since are written back from the tree. Ignored files are
    /// outside snapshots and stay as they are; the worktree's index is not touched. Returns the
    /// paths put back, sorted.
    ///
    /// Used after a stage that may only read the worktree, so that what its programs left
    /// behind is never committed by a later stage.
    pub fn restore_snapshot(&self, worktree: &Path, tree: &str) -> Result<Vec<String>, GitError> {
        reject_option_like("tree", tree)?;
        let mut restored = Vec::new();
        // A changed `.gitignore` can hide or reveal files: go again until nothing differs.
        for _ in 0..MAX_RESTORE_ROUNDS {
            let now = self.snapshot_tree(worktree)?;
            let changed = self.changed_paths(worktree, tree, &now)?;
            if changed.is_empty() {
                restored.sort();
                restored.dedup();
                return Ok(restored);
            }
            let kept = paths_in_tree(worktree, tree, &changed)?;
            for path in changed.iter().filter(|p| !kept.contains(*p)) {
                remove_leftover(worktree, path)?;
            }
            let kept: Vec<&String> = changed.iter().filter(|p| kept.contains(*p)).collect();
            if !kept.is_empty() {
                checkout_from_tree(worktree, tree, &kept)?;
            }
            restored.extend(changed);
        }
        Err(GitError::WorktreeConflict {
            path: worktree.to_path_buf(),
            detail: format!("could not be put back to the snapshot {tree}"),
        })
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
        Ok(split_paths(&out))
    }
}

/// The paths of git's `-z` output.
fn split_paths(out: &str) -> Vec<String> {
    out.split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Runs `then` with the environment that points git at a private index holding `worktree`'s
/// files as they are now (tracked and untracked, minus ignored ones), deleted afterwards.
fn with_snapshot_index<T>(
    worktree: &Path,
    then: impl FnOnce(&[(&str, &OsStr)]) -> Result<T, GitError>,
) -> Result<T, GitError> {
    let scratch = tempfile_path();
    let env: [(&str, &OsStr); 1] = [("GIT_INDEX_FILE", scratch.as_os_str())];
    let result = (|| {
        // Starting from a copy of a linked worktree's own index (whose stat data is fresh)
        // makes `add` hash only what changed; else from HEAD.
        let copied = admin_dir_of(worktree)
            .ok()
            .flatten()
            .is_some_and(|admin| std::fs::copy(admin.join("index"), &scratch).is_ok());
        if !copied {
            let _ = std::fs::remove_file(&scratch);
            let _ = run_git_with_env(worktree, &["read-tree", "HEAD"], &env)?;
        }
        run_git_with_env(worktree, &["add", "-A", "--", "."], &env)?.success()?;
        then(&env)
    })();
    let _ = std::fs::remove_file(&scratch);
    result
}

/// Which of `paths` are files of `tree`.
fn paths_in_tree(
    worktree: &Path,
    tree: &str,
    paths: &[String],
) -> Result<std::collections::HashSet<String>, GitError> {
    let mut found = std::collections::HashSet::new();
    for chunk in paths.chunks(PATHS_PER_COMMAND) {
        let mut args: Vec<&str> = vec![
            "--literal-pathspecs",
            "ls-tree",
            "-r",
            "-z",
            "--name-only",
            tree,
            "--",
        ];
        args.extend(chunk.iter().map(String::as_str));
        let out = run_git_with_env(worktree, &args, &[])?.success_text()?;
        found.extend(
            out.split('\0')
                .filter(|p| !p.is_empty())
                .map(str::to_string),
        );
    }
    Ok(found)
}

/// Writes `paths` of `tree` into `worktree` through a private index.
fn checkout_from_tree(worktree: &Path, tree: &str, paths: &[&String]) -> Result<(), GitError> {
    let scratch = tempfile_path();
    let env: [(&str, &OsStr); 1] = [("GIT_INDEX_FILE", scratch.as_os_str())];
    let result = (|| {
        run_git_with_env(worktree, &["read-tree", tree], &env)?.success()?;
        for chunk in paths.chunks(PATHS_PER_COMMAND) {
            let mut args: Vec<&str> = vec!["checkout-index", "--force", "--"];
            args.extend(chunk.iter().map(|p| p.as_str()));
            run_git_with_env(worktree, &args, &env)?.success()?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&scratch);
    result
}

/// How many times [`Repo::restore_snapshot`] looks again.
const MAX_RESTORE_ROUNDS: usize = 4;

/// Paths passed to one git command.
const PATHS_PER_COMMAND: usize = 500;

/// Deletes the file (or symbolic link) `rel` of `worktree`, then the directories it leaves
/// empty. Never follows a symbolic link on the way.
fn remove_leftover(worktree: &Path, rel: &str) -> Result<(), GitError> {
    let rel = Path::new(rel);
    let mut dir = worktree.to_path_buf();
    let components: Vec<_> = rel.components().collect();
    for component in &components[..components.len().saturating_sub(1)] {
        dir.push(component);
        match std::fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            // Gone already, or not a real directory: nothing of ours to remove below it.
            _ => return Ok(()),
        }
    }
    let path = worktree.join(rel);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => {
            std::fs::remove_dir_all(&path).map_err(|source| GitError::Io {
                op: "removing",
                path: path.clone(),
                source,
            })?;
        }
        Ok(_) => std::fs::remove_file(&path).map_err(|source| GitError::Io {
            op: "removing",
            path: path.clone(),
            source,
        })?,
        Err(_) => return Ok(()),
    }
    let mut parent = path.parent();
    while let Some(dir) = parent {
        if dir == worktree || !dir.starts_with(worktree) || std::fs::remove_dir(dir).is_err() {
            break;
        }
        parent = dir.parent();
    }
    Ok(())
}

fn tempfile_path() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "engine-snapshot-{}-{nanos}-{n}.index",
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
        let mut since = repo.changed_since(&t.root, &before).unwrap();
        since.sort();
        assert_eq!(since, changed, "the same paths in one process fewer");
        assert!(repo.changed_since(&t.root, &after).unwrap().is_empty());
        std::fs::remove_file(t.root.join("b.txt")).unwrap();
        assert_eq!(repo.changed_since(&t.root, &after).unwrap(), ["b.txt"]);
        let index_after = std::fs::read(t.root.join(".git/index")).unwrap();
        assert_eq!(
            index_before, index_after,
            "the worktree's index was touched"
        );
    }
}
