//! The list of a repository's worktrees, and forgetting those whose directories are gone.
//!
//! Both are read from the files git keeps — the main worktree's `HEAD` and each
//! `<common dir>/worktrees/<id>/` (`gitdir`, `HEAD`, `locked`) — so listing costs no process
//! start; `git worktree list` / `git worktree prune` run only where those files cannot answer: a
//! ref storage only git reads, a repository whose root is not its main worktree, or a
//! registration that is broken or half-made (git then says what is wrong, or repairs it).

use std::collections::HashSet;
use std::path::PathBuf;

use crate::admin_dir::AdminDir;
use crate::command::run_git;
use crate::refs::{Lookup, RefValue, Refs};
use crate::worktree::CREATING_REASON;
use crate::{GitError, Repo, WorktreeEntry};

impl Repo {
    /// Every worktree of the repository, the main one first (what `git worktree list
    /// --porcelain` says), read in the repository's worktree turn (never half-way through
    /// another `add`).
    pub fn worktrees(&self) -> Result<Vec<WorktreeEntry>, GitError> {
        let _turn = self.worktree_turn()?;
        if let Some(entries) = self.worktrees_from_files()? {
            return Ok(entries);
        }
        let args = ["worktree", "list", "--porcelain", "-z"];
        let mut output = run_git(self.root(), &args)?;
        if !output.status.success() && self.remove_abandoned_registrations()? {
            output = run_git(self.root(), &args)?;
        }
        let text = output.success_text()?;
        Ok(parse_worktree_list(&text))
    }

    /// The list read from git's files; `None` when they cannot answer for certain.
    fn worktrees_from_files(&self) -> Result<Option<Vec<WorktreeEntry>>, GitError> {
        let Some((refs, common)) = self.root_refs().filter(|_| self.root_is_main()) else {
            return Ok(None);
        };
        let Some(main) = entry_of(refs, &common, self.root().to_path_buf(), false) else {
            return Ok(None);
        };
        let mut entries = vec![main];
        for admin in self.admin_dirs()? {
            if admin.breaks_git().is_some() || admin.half_made().is_some() {
                return Ok(None);
            }
            let Some(path) = admin.worktree.clone() else {
                return Ok(None);
            };
            let prunable = admin.prune_reason().is_some();
            let Some(entry) = entry_of(refs, &admin.dir, path, prunable) else {
                return Ok(None);
            };
            entries.push(entry);
        }
        Ok(Some(entries))
    }

    /// Removes registrations that make every `git worktree` command fail (an empty
    /// `commondir`) and that only a killed engine can have left: still locked as being created
    /// by engine, while the caller holds the worktree turn, so no engine is creating them now.
    /// Returns whether anything was removed.
    fn remove_abandoned_registrations(&self) -> Result<bool, GitError> {
        let mut removed = false;
        for admin in self.admin_dirs()? {
            let engines = matches!(
                admin.locked.as_deref(),
                Some(CREATING_REASON | crate::pool::CLAIMING_REASON)
            );
            if engines && admin.breaks_git().is_some() {
                crate::worktree::remove_dir(&admin.dir)?;
                removed = true;
            }
        }
        Ok(removed)
    }

    /// Forgets worktrees whose directories are gone (`git worktree prune`, in the worktree
    /// turn), when there are any.
    pub(crate) fn prune_worktrees(&self) -> Result<(), GitError> {
        let _turn = self.worktree_turn()?;
        if self.needs_prune()? {
            run_git(self.root(), &["worktree", "prune"])?.success()?;
        }
        Ok(())
    }

    /// Whether `git worktree prune` would remove anything: a registration whose worktree is
    /// gone or whose `gitdir` is unusable (and that is not locked), two registrations of one
    /// worktree, or an entry that is not a directory. Always true where git's files are not
    /// read in-process.
    fn needs_prune(&self) -> Result<bool, GitError> {
        if self.root_refs().is_none() {
            return Ok(true);
        }
        let root = self.git_common_dir()?.join("worktrees");
        let entries = match std::fs::read_dir(&root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(_) => return Ok(true),
        };
        let mut seen = HashSet::new();
        for entry in entries {
            let Ok(entry) = entry else {
                return Ok(true);
            };
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                return Ok(true);
            }
            let admin = AdminDir::read(&entry.path());
            if admin.prune_reason().is_some() {
                return Ok(true);
            }
            let Some(worktree) = admin.worktree else {
                return Ok(true);
            };
            if !seen.insert(worktree.canonicalize().unwrap_or(worktree)) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The list entry of the worktree at `path` whose own git directory is `git_dir`; `None` when
/// its `HEAD` does not say plainly (git then lists it).
fn entry_of(
    refs: &Refs,
    git_dir: &std::path::Path,
    path: PathBuf,
    prunable: bool,
) -> Option<WorktreeEntry> {
    let (head, branch) = match refs.head(git_dir) {
        Lookup::Known(Some(RefValue::Direct(id))) => (Some(id), None),
        Lookup::Known(Some(RefValue::Symbolic(target))) => {
            let head = match refs.resolve(git_dir, &target) {
                Lookup::Known(head) => head,
                Lookup::AskGit => return None,
            };
            let short = target.strip_prefix("refs/heads/").unwrap_or(&target);
            (head, Some(short.to_string()))
        }
        Lookup::Known(None) | Lookup::AskGit => return None,
    };
    Some(WorktreeEntry {
        path,
        head,
        branch,
        prunable,
    })
}

/// Parses `git worktree list --porcelain -z`: NUL-terminated fields, an empty field between
/// entries.
pub(crate) fn parse_worktree_list(text: &str) -> Vec<WorktreeEntry> {
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
