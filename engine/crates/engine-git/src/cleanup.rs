//! Cleaning up after runs: removing a run's worktree, finding the repository a leftover
//! worktree belongs to, and deleting a run branch only when its work is in the base.

use std::path::Path;

use crate::command::run_git;
use crate::repo::{Repo, reject_option_like};
use crate::worktree::same_path;
use crate::{GitError, WorktreeEntry};

impl Repo {
    /// Removes the run worktree at `worktree` (relative paths are taken from the repository
    /// root) with `git worktree remove --force`: the directory belongs to engine, so modified
    /// and untracked files in it go too. The run's branch, and every commit on it, are kept.
    /// Then forgets registrations whose directories are gone (`git worktree prune`).
    ///
    /// What a killed command left is removed as well: a worktree whose creation was interrupted
    /// (see [`Repo::add_worktree`]), and one a killed `git worktree remove` left half-deleted
    /// (git then refuses it: its directory is deleted and its registration pruned).
    ///
    /// Returns `Ok(true)` when a worktree was removed, `Ok(false)` when its directory was
    /// already gone. Refuses the main worktree (the user's checkout), a directory that is not a
    /// worktree of this repository, and a worktree git has locked (`git worktree lock`).
    pub fn remove_run_worktree(&self, worktree: &Path) -> Result<bool, GitError> {
        let path = self.absolute(worktree);
        let _turn = self.worktree_turn()?;
        let existed = path.symlink_metadata().is_ok();
        let repairs = self.repair_half_made(&path)?;
        self.prune_worktrees()?;
        if !repairs.is_empty() && path.symlink_metadata().is_err() {
            return Ok(existed);
        }
        let worktrees = self.worktrees()?;
        match worktrees.iter().position(|w| same_path(&w.path, &path)) {
            Some(0) => Err(GitError::WorktreeConflict {
                path,
                detail: "is the main worktree; refusing to remove it".to_string(),
            }),
            Some(_) => {
                if let Some(admin) = self.removable_aside(&path)?
                    && crate::removal::remove_aside(&path, &admin)?
                {
                    return Ok(true);
                }
                let output = run_git(
                    self.root(),
                    &[
                        "worktree".as_ref(),
                        "remove".as_ref(),
                        "--force".as_ref(),
                        path.as_os_str(),
                    ],
                )?;
                if !output.status.success() {
                    let failure = output.into_failure();
                    // A user's lock is respected; anything else is a half-removed worktree.
                    let locked = self
                        .admin_dir_of(&path)?
                        .is_some_and(|admin| admin.join("locked").exists());
                    if locked || !path.exists() {
                        return Err(failure);
                    }
                    std::fs::remove_dir_all(&path).map_err(|source| GitError::Io {
                        op: "removing",
                        path: path.clone(),
                        source,
                    })?;
                }
                self.prune_worktrees()?;
                Ok(true)
            }
            None if path.exists() => Err(GitError::WorktreeConflict {
                path,
                detail: "is not a worktree of this repository".to_string(),
            }),
            None => Ok(false),
        }
    }

    /// The registration of the linked worktree at `path` when engine may remove it itself
    /// (renamed aside and deleted in the background, see [`crate::removal`]): a real directory
    /// whose registration engine reads, that git would remove with `--force` (not locked, no
    /// submodules). `None`: `git worktree remove` decides.
    pub(crate) fn removable_aside(
        &self,
        path: &Path,
    ) -> Result<Option<std::path::PathBuf>, GitError> {
        if self.root_refs().is_none() || !path.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            return Ok(None);
        }
        let Some(admin) = self.admin_dir_of(path)? else {
            return Ok(None);
        };
        let refused = admin.join("locked").exists() || admin.join("modules").exists();
        Ok((!refused).then_some(admin))
    }

    /// The worktree registered at `path`, if any (a registration whose directory is gone counts,
    /// marked `prunable`).
    pub fn worktree_at(&self, path: &Path) -> Result<Option<WorktreeEntry>, GitError> {
        let path = self.absolute(path);
        Ok(self
            .worktrees()?
            .into_iter()
            .find(|w| same_path(&w.path, &path)))
    }

    /// The repository whose linked worktree is exactly `dir` (its top level, with a `.git`
    /// file), opened at its main worktree; `Ok(None)` when `dir` is not the top of a linked
    /// worktree (a plain directory, a main checkout, a worktree whose repository is gone).
    pub fn owner_of_worktree(dir: &Path) -> Result<Option<Repo>, GitError> {
        if !dir.join(".git").is_file() {
            return Ok(None);
        }
        let linked = match Repo::discover(dir) {
            Ok(repo) => repo,
            Err(GitError::NotARepo(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !same_path(linked.root(), dir) {
            return Ok(None);
        }
        let Some(main) = linked.worktrees()?.into_iter().next() else {
            return Ok(None);
        };
        if same_path(&main.path, dir) {
            return Ok(None);
        }
        match Repo::discover(&main.path) {
            Ok(repo) => Ok(Some(repo)),
            Err(GitError::NotARepo(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether all the work of `rev` is in `into`: `rev` is an ancestor of `into` (merged,
    /// fast-forwarded), or merging `rev` into `into` would change nothing (its changes arrived
    /// by a squash or a rebase), checked with `git merge-tree --write-tree` without touching
    /// any worktree or ref.
    pub fn is_merged_into(&self, rev: &str, into: &str) -> Result<bool, GitError> {
        if self.is_ancestor(rev, into)? {
            return Ok(true);
        }
        let output = run_git(
            self.root(),
            &["merge-tree", "--write-tree", "--no-messages", into, rev],
        )?;
        match output.code() {
            Some(0) => {}
            // Conflicts: merging would change something.
            Some(1) => return Ok(false),
            _ => return Err(output.into_failure()),
        }
        let text = output.text()?;
        let merged_tree = text.lines().next().unwrap_or_default().trim().to_string();
        let into_tree = self.rev_parse(&format!("{into}^{{tree}}"))?;
        Ok(merged_tree == into_tree)
    }

    /// Deletes the local branch `name` only if it still points at `expected` (a compare-and-swap
    /// through `git update-ref -d`, so a commit added since it was checked is never lost).
    /// Refuses a branch checked out in any worktree.
    pub fn delete_branch_at(&self, name: &str, expected: &str) -> Result<(), GitError> {
        reject_option_like("branch name", name)?;
        reject_option_like("revision", expected)?;
        // No worktree may be added on the branch between the check and the deletion.
        let _turn = self.worktree_turn()?;
        self.prune_worktrees()?;
        self.refuse_checked_out(name)?;
        let reference = format!("refs/heads/{name}");
        run_git(self.root(), &["update-ref", "-d", &reference, expected])?.success()?;
        Ok(())
    }
}
