//! Linked worktrees: one per run, on the run's own branch.

use std::path::{Path, PathBuf};

use crate::command::run_git;
use crate::repo::reject_option_like;
use crate::{GitError, Repo};

/// One entry of `git worktree list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorktreeEntry {
    /// Where the worktree is checked out.
    pub path: PathBuf,
    /// Its HEAD commit (None for a bare entry or an unborn branch).
    pub head: Option<String>,
    /// Its branch's short name (None when detached or bare).
    pub branch: Option<String>,
    /// Whether git considers it prunable (its directory is gone).
    pub prunable: bool,
}

impl Repo {
    /// Every worktree of the repository, the main one first (`git worktree list --porcelain`).
    pub fn worktrees(&self) -> Result<Vec<WorktreeEntry>, GitError> {
        let output = run_git(self.root(), &["worktree", "list", "--porcelain", "-z"])?.success()?;
        let text = output.text()?;
        Ok(parse_worktree_list(&text))
    }

    /// Creates a worktree at `path` (relative paths are taken from the repository root) on a
    /// new branch `branch` starting at `base_commit`, with `git worktree add -b`. The user's
    /// checkout, index and files are not touched.
    ///
    /// Idempotent for resume: if `path` already is a worktree on `branch`, nothing happens. If
    /// `branch` exists but `path` does not (its worktree was removed), the worktree is attached
    /// to the existing branch, which is not moved. Any other occupant of `path` is an error.
    pub fn add_worktree(
        &self,
        path: &Path,
        branch: &str,
        base_commit: &str,
    ) -> Result<(), GitError> {
        reject_option_like("branch name", branch)?;
        reject_option_like("revision", base_commit)?;
        let path = self.absolute(path);
        self.prune_worktrees()?;
        let worktrees = self.worktrees()?;
        if let Some(existing) = worktrees.iter().find(|w| same_path(&w.path, &path)) {
            return match &existing.branch {
                Some(b) if b == branch => Ok(()),
                other => Err(GitError::WorktreeConflict {
                    path,
                    detail: format!(
                        "already a worktree on {}, not on branch {branch}",
                        other.as_deref().unwrap_or("a detached HEAD")
                    ),
                }),
            };
        }
        if is_occupied(&path) {
            return Err(GitError::WorktreeConflict {
                path,
                detail: "exists and is not a worktree of this repository".to_string(),
            });
        }
        let path_arg = path.as_os_str();
        if self.branch_exists(branch)? {
            if let Some(holder) = worktrees
                .iter()
                .find(|w| w.branch.as_deref() == Some(branch))
            {
                return Err(GitError::WorktreeConflict {
                    path,
                    detail: format!(
                        "branch {branch} is already checked out at {}",
                        holder.path.display()
                    ),
                });
            }
            run_git(
                self.root(),
                &[
                    "worktree".as_ref(),
                    "add".as_ref(),
                    path_arg,
                    branch.as_ref(),
                ],
            )?
            .success()?;
        } else {
            run_git(
                self.root(),
                &[
                    "worktree".as_ref(),
                    "add".as_ref(),
                    "--no-track".as_ref(),
                    "-b".as_ref(),
                    branch.as_ref(),
                    path_arg,
                    base_commit.as_ref(),
                ],
            )?
            .success()?;
        }
        Ok(())
    }

    /// Removes the linked worktree at `path` (`git worktree remove`, with `--force` when asked:
    /// needed if it has modified or untracked files), then `git worktree prune`. Its branch is
    /// kept. A path that is neither a worktree nor present is already removed: Ok. The main
    /// worktree is never removed.
    pub fn remove_worktree(&self, path: &Path, force: bool) -> Result<(), GitError> {
        let path = self.absolute(path);
        let worktrees = self.worktrees()?;
        let position = worktrees.iter().position(|w| same_path(&w.path, &path));
        match position {
            Some(0) => {
                return Err(GitError::WorktreeConflict {
                    path,
                    detail: "is the main worktree; refusing to remove it".to_string(),
                });
            }
            Some(_) if path.exists() => {
                let mut args = vec!["worktree".as_ref(), "remove".as_ref()];
                if force {
                    args.push("--force".as_ref());
                }
                args.push(path.as_os_str());
                run_git(self.root(), &args)?.success()?;
            }
            Some(_) => {}
            None if path.exists() => {
                return Err(GitError::WorktreeConflict {
                    path,
                    detail: "is not a worktree of this repository".to_string(),
                });
            }
            None => {}
        }
        self.prune_worktrees()
    }

    /// The full commit id checked out in `worktree`.
    pub fn head_of(&self, worktree: &Path) -> Result<String, GitError> {
        let text = run_git(worktree, &["rev-parse", "--verify", "HEAD"])?.success_text()?;
        Ok(text.trim_end_matches('\n').to_string())
    }

    /// `git status --porcelain` of `worktree` (empty when clean).
    pub fn status_porcelain(&self, worktree: &Path) -> Result<String, GitError> {
        run_git(worktree, &["status", "--porcelain"])?.success_text()
    }

    /// Forgets worktrees whose directories are gone.
    pub(crate) fn prune_worktrees(&self) -> Result<(), GitError> {
        run_git(self.root(), &["worktree", "prune"])?.success()?;
        Ok(())
    }

    /// `path`, made absolute against the repository root.
    pub(crate) fn absolute(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.root().join(path)
        }
    }
}

/// Parses `git worktree list --porcelain -z`: NUL-terminated fields, an empty field between
/// entries.
fn parse_worktree_list(text: &str) -> Vec<WorktreeEntry> {
    let mut entries = Vec::new();
    let mut current: Option<WorktreeEntry> = None;
    for field in text.split('\0') {
        if let Some(path) = field.strip_prefix("worktree ") {
            entries.extend(current.take());
            current = Some(WorktreeEntry {
                path: PathBuf::from(path),
                head: None,
                branch: None,
                prunable: false,
            });
            continue;
        }
        let Some(entry) = current.as_mut() else {
            continue;
        };
        if let Some(head) = field.strip_prefix("HEAD ") {
            entry.head = Some(head.to_string()).filter(|h| h.bytes().any(|b| b != b'0'));
        } else if let Some(reference) = field.strip_prefix("branch ") {
            let short = reference.strip_prefix("refs/heads/").unwrap_or(reference);
            entry.branch = Some(short.to_string());
        } else if field == "prunable" || field.starts_with("prunable ") {
            entry.prunable = true;
        }
    }
    entries.extend(current);
    entries
}

/// Whether two paths name the same place (comparing canonical forms when they exist).
pub(crate) fn same_path(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    a == b || canonical(a) == canonical(b)
}

/// Whether `path` exists as a file or a non-empty directory (git refuses both).
fn is_occupied(path: &Path) -> bool {
    match std::fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => path.exists(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_porcelain_list() {
        let text = "worktree /repo\0HEAD 1111111111111111111111111111111111111111\0branch refs/heads/main\0\0\
                    worktree /wt/a\0HEAD 2222222222222222222222222222222222222222\0detached\0\0\
                    worktree /wt/b\0HEAD 3333333333333333333333333333333333333333\0branch refs/heads/engine/x\0prunable gitdir file points to non-existent location\0\0";
        let entries = parse_worktree_list(text);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].path, PathBuf::from("/repo"));
        assert_eq!(entries[0].branch.as_deref(), Some("main"));
        assert!(!entries[0].prunable);
        assert_eq!(entries[1].branch, None);
        assert_eq!(
            entries[1].head.as_deref(),
            Some("2222222222222222222222222222222222222222")
        );
        assert_eq!(entries[2].branch.as_deref(), Some("engine/x"));
        assert!(entries[2].prunable);
    }
}
