//! A pool of idle worktree directories per repository, so that a run does not pay for a full
//! checkout.
//!
//! A run's worktree that would be removed at its end is *parked* instead while the pool has
//! room: its directory is renamed into the pool (`<state>/worktree-pool/<repository key>/`,
//! one `rename`) and its registration (`<common dir>/worktrees/<id>`) deleted, exactly as a
//! removal does (see [`crate::removal`]) but without deleting the files. An idle worktree is a
//! plain directory: registered nowhere, no branch checked out, nothing in `git worktree list`.
//!
//! A new run *claims* one (see [`crate::pool_claim`]): its worktree is registered as usual
//! (`git worktree add --no-checkout`, locked as being claimed), the idle directory renamed to
//! the run's place, and switched to the run's commit with only the files that differ
//! rewritten; everything else its earlier run left is removed.
//!
//! Everything runs in the repository's worktree turn (one engine process at a time). A park
//! cut short leaves a registration whose directory is gone (pruned as usual) and a directory
//! in the pool (complete: a claim cleans whatever it finds). A claim cut short leaves a
//! registration locked as being claimed, which the next engine removes with its directory like
//! a half-created worktree (see [`crate::admin_dir::AdminDir::half_made`]); the idle directory
//! is lost with it, nothing else (the run's branch keeps its work).

use std::path::{Path, PathBuf};

use crate::worktree::same_path;
use crate::{GitError, Repo};

/// The lock reason a new run's worktree carries while an idle one is moved in and switched.
pub(crate) const CLAIMING_REASON: &str = "engine: being claimed from the worktree pool";

/// The directory the pools of all repositories are kept in, next to the run worktrees'
/// directory (`<state>/worktree-pool`).
pub const POOL_DIR: &str = "worktree-pool";

/// The name of the directory run worktrees are made in (`<state>/worktrees`): worktrees made
/// anywhere else are never pooled.
const WORKTREES_DIR: &str = "worktrees";

/// Suffix of a pool entry being removed (renamed out of the pool's names first).
const DRAINING_SUFFIX: &str = ".engine-draining";

/// What became of a run's worktree engine no longer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retired {
    /// Parked in the pool, now at this path.
    Parked(PathBuf),
    /// Removed (`true`), or already gone (`false`).
    Removed(bool),
}

impl Repo {
    /// The pool of idle worktrees for worktrees made at `worktree`
    /// (`<state>/worktrees/<name>`): `<state>/worktree-pool/<key>`, the key naming this
    /// repository (its common git directory). `None` for a worktree made elsewhere.
    pub fn pool_dir_for(&self, worktree: &Path) -> Result<Option<PathBuf>, GitError> {
        let worktree = self.absolute(worktree);
        let Some(parent) = worktree.parent() else {
            return Ok(None);
        };
        if parent.file_name().is_none_or(|n| n != WORKTREES_DIR) {
            return Ok(None);
        }
        let Some(state) = parent.parent() else {
            return Ok(None);
        };
        let common = self.git_common_dir()?;
        let common = common.canonicalize().unwrap_or(common);
        Ok(Some(state.join(POOL_DIR).join(repo_key(&common))))
    }

    /// The idle worktrees waiting in the pool for worktrees made at `worktree`, by name.
    pub fn idle_worktrees(&self, worktree: &Path) -> Result<Vec<PathBuf>, GitError> {
        let Some(pool) = self.pool_dir_for(worktree)? else {
            return Ok(Vec::new());
        };
        let _turn = self.worktree_turn()?;
        Ok(idle_in(&pool))
    }

    /// What engine does with a run's worktree it no longer needs: parked in the pool while the
    /// pool holds fewer than `capacity` idle worktrees, removed otherwise (see
    /// [`Repo::remove_run_worktree`]). Parking is a `rename` into the pool followed by the
    /// deletion of the worktree's registration; `hold` is called between the two (the crash
    /// tests hold there). Only a linked worktree git would remove with `--force` is parked (not
    /// locked, no submodules, a real directory).
    pub fn retire_run_worktree(
        &self,
        path: &Path,
        capacity: u32,
        hold: &mut dyn FnMut(),
    ) -> Result<Retired, GitError> {
        let path = self.absolute(path);
        let _turn = self.worktree_turn()?;
        if let Some(parked) = self.park(&path, capacity, hold)? {
            return Ok(Retired::Parked(parked));
        }
        let removed = self.remove_run_worktree(&path)?;
        if let Some(pool) = self.pool_dir_for(&path)? {
            crate::pool_index::forget(&pool, &path);
        }
        Ok(Retired::Removed(removed))
    }

    /// Parks `path` when it can (see [`Repo::retire_run_worktree`]); `Ok(None)`: nothing was
    /// changed. The caller holds the worktree turn.
    fn park(
        &self,
        path: &Path,
        capacity: u32,
        hold: &mut dyn FnMut(),
    ) -> Result<Option<PathBuf>, GitError> {
        if capacity == 0 {
            return Ok(None);
        }
        let Some(pool) = self.pool_dir_for(path)? else {
            return Ok(None);
        };
        if !self.repair_half_made(path)?.is_empty() {
            return Ok(None);
        }
        let registered = self.worktrees()?;
        if !registered.iter().skip(1).any(|w| same_path(&w.path, path)) {
            return Ok(None);
        }
        let Some(admin) = self.removable_aside(path)? else {
            return Ok(None);
        };
        sweep_index_copies(&pool, path.parent());
        if u32::try_from(idle_in(&pool).len()).unwrap_or(u32::MAX) >= capacity {
            return Ok(None);
        }
        let Some(name) = path.file_name() else {
            return Ok(None);
        };
        let dest = pool.join(name);
        if dest.symlink_metadata().is_ok() || std::fs::create_dir_all(&pool).is_err() {
            return Ok(None);
        }
        // Another file system (a mount at the worktree's place): removed instead.
        if std::fs::rename(path, &dest).is_err() {
            return Ok(None);
        }
        hold();
        crate::worktree::remove_dir(&admin)?;
        Ok(Some(dest))
    }

    /// Removes every idle worktree of the pool for worktrees made at `worktree` (renamed out
    /// of the pool, then deleted in the background); returns how many.
    pub fn drain_pool(&self, worktree: &Path) -> Result<usize, GitError> {
        let Some(pool) = self.pool_dir_for(worktree)? else {
            return Ok(0);
        };
        let _turn = self.worktree_turn()?;
        let mut drained = 0;
        for idle in idle_in(&pool) {
            let mut name = idle.file_name().unwrap_or_default().to_os_string();
            name.push(DRAINING_SUFFIX);
            let aside = idle.with_file_name(name);
            crate::worktree::remove_dir(&aside)?;
            if std::fs::rename(&idle, &aside).is_ok() {
                crate::removal::delete_in_background(aside);
                crate::pool_index::forget(&pool, &idle);
                drained += 1;
            }
        }
        sweep_drained(&pool);
        Ok(drained)
    }
}

/// The idle worktrees in `pool` (directories, by name; entries being drained left out).
pub(crate) fn idle_in(pool: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(pool) else {
        return Vec::new();
    };
    let mut idle: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().ends_with(DRAINING_SUFFIX))
        .map(|e| e.path())
        .collect();
    idle.sort();
    idle
}

/// Removes the saved indexes in `pool` (`<name>.index`, see [`crate::pool_claim`]) whose
/// worktree is neither idle in the pool nor at `<worktrees>/<name>` (removed, or lost to a
/// crash).
fn sweep_index_copies(pool: &Path, worktrees: Option<&Path>) {
    let Ok(entries) = std::fs::read_dir(pool) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(owner) = name.strip_suffix(crate::pool_index::INDEX_SUFFIX) else {
            continue;
        };
        let in_use = pool.join(owner).is_dir() || worktrees.is_some_and(|w| w.join(owner).is_dir());
        if !in_use && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Deletes, in the background, entries of `pool` a drain renamed and did not finish deleting.
fn sweep_drained(pool: &Path) {
    let Ok(entries) = std::fs::read_dir(pool) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .ends_with(DRAINING_SUFFIX)
            && entry.file_type().is_ok_and(|t| t.is_dir())
        {
            crate::removal::delete_in_background(entry.path());
        }
    }
}

/// Writes `text` to `file` atomically (a temporary file next to it, synced, renamed over it).
pub(crate) fn write_atomic(file: &Path, text: &str) -> Result<(), GitError> {
    write_whole(file, text, true)
}

/// Writes `text` to `file` whole: a temporary file next to it (synced to disk when `sync`),
/// renamed over it; the temporary file is removed when that fails.
pub(crate) fn write_whole(file: &Path, text: &str, sync: bool) -> Result<(), GitError> {
    use std::io::Write;
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".engine-tmp");
    let tmp = file.with_file_name(name);
    let io = |op: &'static str, path: &Path, source| GitError::Io {
        op,
        path: path.to_path_buf(),
        source,
    };
    let written = (|| {
        let mut out = std::fs::File::create(&tmp).map_err(|e| io("writing", &tmp, e))?;
        out.write_all(text.as_bytes())
            .map_err(|e| io("writing", &tmp, e))?;
        if sync {
            out.sync_all().map_err(|e| io("syncing", &tmp, e))?;
        }
        drop(out);
        std::fs::rename(&tmp, file).map_err(|e| io("replacing", file, e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// A short stable name for a repository: FNV-1a (64 bits) of its common git directory's path,
/// in hex.
fn repo_key(common: &Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in common.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_stable_and_tells_repositories_apart() {
        let a = repo_key(Path::new("/r/one/.git"));
        assert_eq!(a, repo_key(Path::new("/r/one/.git")));
        assert_ne!(a, repo_key(Path::new("/r/two/.git")));
        assert_eq!(a.len(), 16);
    }

    #[test]
    fn entries_being_drained_are_not_idle() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("R2")).unwrap();
        std::fs::create_dir_all(dir.path().join("R1")).unwrap();
        std::fs::create_dir_all(dir.path().join("R3.engine-draining")).unwrap();
        std::fs::write(dir.path().join("file"), "").unwrap();
        let names: Vec<_> = idle_in(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["R1", "R2"]);
        assert!(idle_in(&dir.path().join("missing")).is_empty());
    }
}
