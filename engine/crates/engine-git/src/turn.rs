//! One turn at a time for everything that reads or changes a repository's list of worktrees.
//!
//! git's worktree bookkeeping (`<common dir>/worktrees/<id>/`) is not safe against itself:
//! `git worktree add` writes `gitdir`, `commondir` and `HEAD` one after the other, and a
//! `git worktree list`, `prune`, `remove` or another `add` that reads the directory in between
//! fails (`failed to read .git/worktrees/<id>/commondir`) or, worse, acts on what it misread.
//! Parallel runs of one engine process, and two engine processes in one repository (each with
//! its own state directory), would meet there. So every such operation of engine takes the
//! repository's worktree turn:
//!
//! - within the process, a mutex (one turn for all repositories: the operations are short);
//! - across processes, an exclusive `flock` of `<common dir>/engine-worktrees.lock`, which the
//!   kernel releases when the holder dies (a `kill -9` never leaves it taken). The file itself
//!   stays: deleting a lock file that others may have open would split the lock in two.
//!
//! The turn is re-entrant on one thread (an operation that holds it may call others that take
//! it), so callers never have to know whether a helper takes it too.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::GitError;

/// The lock file's name in the repository's common git directory.
pub const LOCK_FILE: &str = "engine-worktrees.lock";

/// The in-process half of the turn.
static IN_PROCESS: Mutex<()> = Mutex::new(());

thread_local! {
    /// The common directories whose turn this thread holds, outermost first.
    static HELD: RefCell<Vec<PathBuf>> = const { RefCell::new(Vec::new()) };
}

/// A held worktree turn; dropping it gives the turn back.
#[must_use = "the turn is given back when this is dropped"]
pub struct WorktreeTurn {
    /// The cross-process lock (released first: fields drop in order).
    file: Option<File>,
    /// Whether this guard pushed an entry onto [`HELD`].
    pushed: bool,
    /// The in-process mutex, held by the outermost guard only.
    _guard: Option<MutexGuard<'static, ()>>,
}

impl Drop for WorktreeTurn {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // Closing the file releases the lock as well; unlocking first is only tidier.
            let _ = file.unlock();
        }
        if self.pushed {
            HELD.with(|held| held.borrow_mut().pop());
        }
    }
}

/// Takes the worktree turn of the repository whose common git directory is `common_dir`,
/// waiting for other threads and processes that hold it. Returns at once when this thread
/// already holds it.
pub fn take(common_dir: &Path) -> Result<WorktreeTurn, GitError> {
    let key = common_dir
        .canonicalize()
        .unwrap_or_else(|_| common_dir.to_path_buf());
    let (already, nested) = HELD.with(|held| {
        let held = held.borrow();
        (held.contains(&key), !held.is_empty())
    });
    if already {
        return Ok(WorktreeTurn {
            file: None,
            pushed: false,
            _guard: None,
        });
    }
    let guard = (!nested).then(|| {
        IN_PROCESS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    });
    let file = lock_file(&key)?;
    HELD.with(|held| held.borrow_mut().push(key));
    Ok(WorktreeTurn {
        file,
        pushed: true,
        _guard: guard,
    })
}

/// Opens and locks `<common_dir>/engine-worktrees.lock`. A repository engine cannot write to
/// (read-only, someone else's) gets no cross-process lock: nothing of engine's changes its
/// worktrees there anyway.
fn lock_file(common_dir: &Path) -> Result<Option<File>, GitError> {
    let path = common_dir.join(LOCK_FILE);
    let file = match OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
    {
        Ok(file) => file,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            return Ok(None);
        }
        Err(source) => {
            return Err(GitError::Io {
                op: "opening the worktree lock",
                path,
                source,
            });
        }
    };
    file.lock().map_err(|source| GitError::Io {
        op: "locking",
        path,
        source,
    })?;
    Ok(Some(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_turns_of_one_thread_do_not_wait_for_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let outer = take(dir.path()).unwrap();
        let inner = take(dir.path()).unwrap();
        assert!(
            inner.file.is_none(),
            "the outer turn already holds the lock"
        );
        let elsewhere = take(other.path()).unwrap();
        assert!(elsewhere.file.is_some());
        drop(elsewhere);
        drop(inner);
        drop(outer);
        assert!(dir.path().join(LOCK_FILE).exists(), "the lock file stays");
        HELD.with(|held| assert!(held.borrow().is_empty()));
    }

    #[test]
    fn the_lock_file_excludes_another_holder_until_given_back() {
        let dir = tempfile::tempdir().unwrap();
        let turn = take(dir.path()).unwrap();
        // Another open file description, as another process would have.
        let other = File::options()
            .write(true)
            .open(dir.path().join(LOCK_FILE))
            .unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(turn);
        other.try_lock().unwrap();
    }
}
