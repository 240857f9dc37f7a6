//! Removing a run's worktree without waiting for its files to be deleted.
//!
//! `git worktree remove --force` deletes every file of the worktree, then its registration; in a
//! large repository the first part takes most of a second, all of it in the worktree turn and
//! on the run's critical path. Here the worktree's directory is renamed aside first (one
//! `rename`, atomic: from then on the worktree is gone and its registration stale), its
//! registration directory is deleted (what `git worktree remove` does last), and the renamed
//! directory is deleted by a background thread.
//!
//! A crash at any point leaves something the next engine repairs: a stale registration (its
//! directory is gone: `git worktree prune` forgets it, see `Repo::prune_worktrees`) and a
//! directory named `.<name>.engine-removing` next to where worktrees are made, which
//! [`sweep_leftovers`] deletes. [`wait_for_removals`] lets a process finish the deletions it
//! started before it exits.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::JoinHandle;

use crate::GitError;

/// The suffix of a worktree directory renamed aside to be deleted.
const REMOVING_SUFFIX: &str = ".engine-removing";

/// Deletions running in the background.
static PENDING: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Renames `worktree` aside (next to it) and deletes it in the background; then deletes
/// `admin`, its registration. The caller holds the worktree turn and has checked that this is
/// a linked worktree git itself would remove (not the main one, not locked, no submodules).
/// `Ok(false)` when it cannot be renamed (a mount point, another file system, no permission):
/// nothing was changed, and `git worktree remove` is the way.
pub(crate) fn remove_aside(worktree: &Path, admin: &Path) -> Result<bool, GitError> {
    let aside = aside_path(worktree);
    match aside.symlink_metadata() {
        // Left by an earlier removal that was cut short: it goes first, in the foreground.
        Ok(meta) if meta.is_dir() => remove_tree(&aside)?,
        // Something else of that name is not engine's to delete.
        Ok(_) => return Ok(false),
        Err(_) => {}
    }
    if std::fs::rename(worktree, &aside).is_err() {
        return Ok(false);
    }
    remove_tree(admin)?;
    delete_in_background(aside);
    Ok(true)
}

/// Deletes, in the background, what earlier removals left in `dir` (the directory worktrees
/// are made in) because the process died before finishing them.
pub(crate) fn sweep_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if is_aside_name(&name) && entry.file_type().is_ok_and(|t| t.is_dir()) {
            delete_in_background(entry.path());
        }
    }
}

/// Waits until every deletion this process started is done. A process that exits without it
/// leaves the rest to the next one's [`sweep_leftovers`].
pub fn wait_for_removals() {
    let pending = std::mem::take(
        &mut *PENDING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for handle in pending {
        let _ = handle.join();
    }
}

/// `<parent>/.<name>.engine-removing`.
pub(crate) fn aside_path(worktree: &Path) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(worktree.file_name().unwrap_or(worktree.as_os_str()));
    name.push(REMOVING_SUFFIX);
    worktree.with_file_name(name)
}

fn is_aside_name(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.')
        && name.ends_with(REMOVING_SUFFIX)
        && name.len() > REMOVING_SUFFIX.len() + 1
}

/// Deletes `dir` on a thread of its own (one at a time per directory: a second request for a
/// directory being deleted finds it gone or half gone, and deletes what is left).
pub(crate) fn delete_in_background(dir: PathBuf) {
    let spawned = std::thread::Builder::new()
        .name("engine-worktree-removal".into())
        .spawn(move || {
            if let Err(e) = remove_tree(&dir) {
                tracing::warn!(
                    "could not delete the removed worktree {}: {e}",
                    dir.display()
                );
            }
        });
    match spawned {
        Ok(handle) => {
            let mut pending = PENDING
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            pending.retain(|h| !h.is_finished());
            pending.push(handle);
        }
        Err(e) => tracing::warn!("could not start deleting a removed worktree: {e}"),
    }
}

/// Deletes a directory tree (never following symbolic links); gone already is fine. Tried
/// again when it fails while the tree is still there: another process's sweep may be deleting
/// the same tree, and entries vanishing underneath make a pass fail.
fn remove_tree(dir: &Path) -> Result<(), GitError> {
    let mut attempts = 0;
    loop {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) if dir.symlink_metadata().is_err() => return Ok(()),
            Err(_) if attempts < 2 => attempts += 1,
            Err(source) => {
                return Err(GitError::Io {
                    op: "removing",
                    path: dir.to_path_buf(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aside_name_is_recognised_and_nothing_else_is() {
        let aside = aside_path(Path::new("/s/worktrees/01ABC"));
        assert_eq!(aside, Path::new("/s/worktrees/.01ABC.engine-removing"));
        assert!(is_aside_name(aside.file_name().unwrap()));
        for other in ["01ABC", ".engine-removing", "x.engine-removing", ".git"] {
            assert!(!is_aside_name(std::ffi::OsStr::new(other)), "{other}");
        }
    }

    #[test]
    fn leftovers_are_swept_and_their_neighbours_kept() {
        let dir = tempfile::tempdir().unwrap();
        let left = dir.path().join(".R1.engine-removing");
        std::fs::create_dir_all(left.join("deep/er")).unwrap();
        std::fs::write(left.join("deep/er/f"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("R2")).unwrap();
        sweep_leftovers(dir.path());
        wait_for_removals();
        assert!(!left.exists());
        assert!(dir.path().join("R2").exists());
    }
}
