//! The state directory: the sled database plus an exclusive process lock.
//!
//! Layout: `<dir>/lock` (flock'ed, holds the holder's pid and description), `<dir>/db` (sled),
//! `<dir>/runs/<run_id>/` (logs), `<dir>/worktrees/`, `<dir>/control/` (requests from other
//! processes, see [`crate::request_cancel`]), `<dir>/mirror/` (a JSON copy of each run that
//! other processes read without the lock, see [`crate::read_mirrors`]).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{SledStore, StoreError, mirror_dir};

/// The lock file's name inside the state directory.
const LOCK_FILE: &str = "lock";

/// How long to wait for a fresh lock holder to write its pid before reporting it unknown.
const HOLDER_INFO_WAIT: Duration = Duration::from_millis(500);

/// An open, exclusively locked state directory. The lock is released when this is dropped
/// (and by the kernel if the process dies, even on kill -9).
#[derive(Debug)]
pub struct StateDir {
    // Field order matters: the database is closed before the lock is released.
    store: SledStore,
    dir: PathBuf,
    _lock: File,
}

impl StateDir {
    /// Opens (creating) the state directory and takes its exclusive lock ([`File::try_lock`],
    /// an `flock` on Linux, of `<dir>/lock`, non-blocking), recording our pid and `holder` (e.g. `engine run
    /// workflow.yaml`) in the lock file; then opens the database in `<dir>/db`, mirroring runs
    /// into `<dir>/mirror/` ([`SledStore::mirror_to`]), and brings the mirrors up to date
    /// ([`SledStore::refresh_mirrors`]; a failure there is logged, not returned).
    ///
    /// If another process, or another `StateDir` in this process, holds the lock: fails with
    /// [`StoreError::Busy`], naming the holder.
    pub fn open_locked(dir: &Path, holder: &str) -> Result<StateDir, StoreError> {
        let began = std::time::Instant::now();
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io("creating", dir, e))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| StoreError::io("resolving", dir, e))?;
        let lock_path = dir.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| StoreError::io("opening", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let (pid, holder) = wait_for_holder_info(&lock_path);
                return Err(StoreError::Busy { pid, holder, dir });
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io("locking", &lock_path, e)),
        }
        write_holder_info(&mut lock, holder)
            .map_err(|e| StoreError::io("writing", &lock_path, e))?;
        let store = SledStore::open(&dir.join("db"))?.mirror_to(mirror_dir(&dir));
        if let Err(e) = store.refresh_mirrors() {
            tracing::warn!(
                "could not bring the read-only run mirrors in {} up to date: {e}",
                mirror_dir(&dir).display()
            );
        }
        tracing::debug!(
            dir = ?dir,
            ms = format_args!("{:.1}", began.elapsed().as_secs_f64() * 1000.0),
            "state directory opened"
        );
        Ok(StateDir {
            store,
            dir,
            _lock: lock,
        })
    }

    /// The state directory (canonical).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The run store in `<dir>/db`. A clone (e.g. to put in an `Arc<dyn Store>`) shares the
    /// open database; keep this `StateDir` alive as long as clones are used, since dropping it
    /// releases the lock.
    pub fn store(&self) -> &SledStore {
        &self.store
    }

    /// `<dir>/runs`: each run's logs go in `<dir>/runs/<run_id>/` (not created here).
    pub fn runs_dir(&self) -> PathBuf {
        self.dir.join("runs")
    }

    /// `<dir>/worktrees`: where run worktrees go (not created here).
    pub fn worktrees_dir(&self) -> PathBuf {
        self.dir.join("worktrees")
    }
}

/// Who holds the lock of state directory `dir`, if anyone: `(pid, description)`, with pid 0
/// when the holder has not written it. Probes with a shared non-blocking lock that is released
/// at once (a process calling [`StateDir::open_locked`] at that very instant may see `Busy`).
pub fn lock_holder(dir: &Path) -> Option<(u32, String)> {
    let lock_path = dir.join(LOCK_FILE);
    let file = File::open(&lock_path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => {
            // Closing the file releases the probe lock.
            drop(file);
            None
        }
        Err(TryLockError::WouldBlock) => Some(wait_for_holder_info(&lock_path)),
        Err(TryLockError::Error(_)) => None,
    }
}

/// Replaces the lock file's content with `<pid>\n<holder>\n`.
fn write_holder_info(lock: &mut File, holder: &str) -> std::io::Result<()> {
    let holder = holder.replace(['\n', '\r'], " ");
    lock.set_len(0)?;
    lock.seek(SeekFrom::Start(0))?;
    lock.write_all(format!("{}\n{holder}\n", std::process::id()).as_bytes())?;
    lock.flush()
}

/// Reads `(pid, holder)` from the lock file, waiting briefly if the holder has only just taken
/// the lock and not yet written; `(0, "")` if it cannot be read.
fn wait_for_holder_info(lock_path: &Path) -> (u32, String) {
    let start = std::time::Instant::now();
    loop {
        if let Some(info) = read_holder_info(lock_path) {
            return info;
        }
        if start.elapsed() >= HOLDER_INFO_WAIT {
            return (0, String::new());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Parses the lock file, if it holds a pid line.
fn read_holder_info(lock_path: &Path) -> Option<(u32, String)> {
    let mut text = String::new();
    File::open(lock_path).ok()?.read_to_string(&mut text).ok()?;
    let (pid, rest) = text.split_once('\n')?;
    let pid = pid.trim().parse().ok()?;
    Some((pid, rest.trim_end_matches('\n').to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use crate::test_data::{meta, state};

    #[test]
    fn second_open_in_same_process_is_busy() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".engine");
        let first = StateDir::open_locked(&dir, "engine run ci.yaml").unwrap();
        assert_eq!(first.path(), dir.canonicalize().unwrap());
        let lock_text = std::fs::read_to_string(dir.join("lock")).unwrap();
        assert_eq!(
            lock_text,
            format!("{}\nengine run ci.yaml\n", std::process::id())
        );

        match StateDir::open_locked(&dir, "engine show") {
            Err(StoreError::Busy {
                pid,
                holder,
                dir: busy_dir,
            }) => {
                assert_eq!(pid, std::process::id());
                assert_eq!(holder, "engine run ci.yaml");
                assert_eq!(busy_dir, first.path());
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        // The failed attempt did not clobber the holder's description.
        assert_eq!(
            std::fs::read_to_string(dir.join("lock")).unwrap(),
            lock_text
        );
        assert_eq!(
            lock_holder(&dir),
            Some((std::process::id(), "engine run ci.yaml".to_string()))
        );

        drop(first);
        assert_eq!(lock_holder(&dir), None);
        let again = StateDir::open_locked(&dir, "engine resume").unwrap();
        assert_eq!(
            lock_holder(&dir),
            Some((std::process::id(), "engine resume".to_string()))
        );
        drop(again);
    }

    #[test]
    fn store_persists_across_state_dir_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        {
            let state_dir = StateDir::open_locked(&dir, "test").unwrap();
            state_dir
                .store()
                .create_run(&meta("01A"), &state("01A", 0))
                .unwrap();
            assert_eq!(state_dir.runs_dir(), state_dir.path().join("runs"));
            assert_eq!(
                state_dir.worktrees_dir(),
                state_dir.path().join("worktrees")
            );
        }
        let state_dir = StateDir::open_locked(&dir, "test").unwrap();
        assert!(state_dir.store().load("01A").unwrap().is_some());
        assert!(state_dir.path().join("db").is_dir());
    }

    #[test]
    fn lock_holder_of_missing_dir_is_none() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(lock_holder(&tmp.path().join("nope")), None);
        assert!(!tmp.path().join("nope").exists());
    }

    #[test]
    fn holder_description_is_one_line() {
        let tmp = tempfile::tempdir().unwrap();
        let state_dir = StateDir::open_locked(tmp.path(), "engine run\nx").unwrap();
        assert_eq!(
            lock_holder(state_dir.path()),
            Some((std::process::id(), "engine run x".to_string()))
        );
    }
}
