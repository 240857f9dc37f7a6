//! Writing run mirrors (see [`crate::mirror`] for the layout and why): one writer per open
//! [`crate::SledStore`], used only by the process holding the state directory.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::StoreError;
use crate::mirror::{mirror_path, parse_name, scan, seq_in_head};

/// Writes mirrors into one directory; failures are reported once (a mirror is a convenience
/// for readers; the store's write has already succeeded when it is written).
#[derive(Debug)]
pub(crate) struct MirrorWriter {
    dir: PathBuf,
    /// The current version of each run's mirror. The mutex also serialises writes, so a slower
    /// writer never puts an older state in place of a newer one.
    versions: Mutex<Versions>,
    next_temp: AtomicU64,
    warned: AtomicBool,
    /// How many times the directory was listed and a mirror's head read (for tests of what a
    /// refresh looks at).
    #[cfg(test)]
    pub(crate) reads: std::sync::atomic::AtomicUsize,
}

/// What the writer knows of the files in its directory.
#[derive(Debug, Default)]
struct Versions {
    /// Whether `current` was filled from the directory yet.
    loaded: bool,
    /// Run id → the version of its mirror file that is in place.
    current: HashMap<String, u64>,
}

/// Exclusive use of a [`MirrorWriter`] while the caller reads the store and writes.
pub(crate) struct MirrorGuard<'a> {
    writer: &'a MirrorWriter,
    versions: MutexGuard<'a, Versions>,
}

impl MirrorWriter {
    /// A writer into `dir` (created on first write).
    pub(crate) fn new(dir: PathBuf) -> Self {
        MirrorWriter {
            dir,
            versions: Mutex::new(Versions::default()),
            next_temp: AtomicU64::new(0),
            warned: AtomicBool::new(false),
            #[cfg(test)]
            reads: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Holds off other writes of this writer until the guard is dropped.
    pub(crate) fn lock(&self) -> MirrorGuard<'_> {
        MirrorGuard {
            writer: self,
            versions: self
                .versions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        }
    }

    /// Reports a failed mirror write once per writer (on the `tracing` warn level).
    pub(crate) fn report(&self, run_id: &str, error: &StoreError) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "could not update the read-only mirror of run {run_id} in {}: {error}; \
                 `engine runs`/`show` from another process may show older data until the next \
                 transition (the run itself is stored safely)",
                self.dir.display()
            );
        }
    }
}

impl MirrorGuard<'_> {
    /// Fills in the versions from the directory, once.
    fn load(&mut self) -> Result<(), StoreError> {
        if !self.versions.loaded {
            #[cfg(test)]
            self.writer.reads.fetch_add(1, Ordering::Relaxed);
            let files = scan(&self.writer.dir)?;
            self.versions.current = files
                .into_iter()
                .filter_map(|(id, versions)| Some((id, *versions.last()?)))
                .collect();
            self.versions.loaded = true;
        }
        Ok(())
    }

    /// Puts `bytes` in place as the new version of `run_id`'s mirror: a temporary file renamed
    /// to a name no file has, then the previous version removed. No fsync (see
    /// [`crate::mirror`]). Returns the version written.
    pub(crate) fn replace(&mut self, run_id: &str, bytes: &[u8]) -> Result<u64, StoreError> {
        self.load()?;
        let dir = &self.writer.dir;
        let previous = self.versions.current.get(run_id).copied();
        let version = previous.map_or(1, |v| v.saturating_add(1));
        let n = self.writer.next_temp.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{run_id}.{}.{n}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = match File::create(&temp) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir_all(dir)?;
                    File::create(&temp)?
                }
                other => other?,
            };
            file.write_all(bytes)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&temp);
            return Err(StoreError::io("writing", &temp, e));
        }
        let target = mirror_path(dir, run_id, version);
        if let Err(e) = std::fs::rename(&temp, &target) {
            let _ = std::fs::remove_file(&temp);
            return Err(StoreError::io("renaming into", &target, e));
        }
        self.versions.current.insert(run_id.to_string(), version);
        if let Some(previous) = previous {
            let old = mirror_path(dir, run_id, previous);
            match std::fs::remove_file(&old) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("removing", &old, e)),
            }
        }
        Ok(version)
    }

    /// The version of `run_id`'s mirror in place, if any.
    pub(crate) fn current_version(&mut self, run_id: &str) -> Option<u64> {
        self.load().ok()?;
        self.versions.current.get(run_id).copied()
    }

    /// The length of version `version` of `run_id`'s mirror, if that file exists (without
    /// listing the directory or reading the file).
    pub(crate) fn file_len(&self, run_id: &str, version: u64) -> Option<u64> {
        let path = mirror_path(&self.writer.dir, run_id, version);
        std::fs::metadata(path).ok().map(|m| m.len())
    }

    /// The seq the current mirror of `run_id` was written at, if it exists and starts like a
    /// mirror of this format.
    pub(crate) fn current_seq(&mut self, run_id: &str) -> Option<u64> {
        self.load().ok()?;
        #[cfg(test)]
        self.writer.reads.fetch_add(1, Ordering::Relaxed);
        let version = *self.versions.current.get(run_id)?;
        let mut start = [0u8; 48];
        let mut file = File::open(mirror_path(&self.writer.dir, run_id, version)).ok()?;
        let mut len = 0;
        while len < start.len() {
            match file.read(&mut start[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(_) => return None,
            }
        }
        seq_in_head(start.get(..len)?)
    }

    /// Removes what a crash or an older state left in the directory: mirrors of runs not in
    /// `keep`, superseded versions, and temporary files of other processes. Best effort:
    /// returns how many files were removed.
    pub(crate) fn remove_strays(&mut self, keep: &BTreeSet<String>) -> usize {
        self.remove_strays_where(|_| true, keep)
    }

    /// [`MirrorGuard::remove_strays`] for the files of the runs in `among` only.
    pub(crate) fn remove_strays_among(
        &mut self,
        among: &BTreeSet<String>,
        keep: &BTreeSet<String>,
    ) -> usize {
        self.remove_strays_where(|run_id| among.contains(run_id), keep)
    }

    /// Removes the strays of the runs `among` says.
    fn remove_strays_where(
        &mut self,
        among: impl Fn(&str) -> bool,
        keep: &BTreeSet<String>,
    ) -> usize {
        let dir = &self.writer.dir;
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        let own_pid = std::process::id().to_string();
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stray = if let Some((run_id, version)) = parse_name(name) {
                among(run_id)
                    && (!keep.contains(run_id)
                        || self.versions.current.get(run_id) != Some(&version))
            } else {
                temp_pid(name).is_some_and(|pid| pid != own_pid)
                    && temp_run(name).is_some_and(&among)
            };
            if stray && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        self.versions
            .current
            .retain(|run_id, _| !among(run_id) || keep.contains(run_id));
        removed
    }
}

/// The pid part of a temporary file name `.<run_id>.<pid>.<n>.tmp`.
fn temp_pid(name: &str) -> Option<&str> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.rsplitn(3, '.');
    let (_n, pid, _run) = (parts.next()?, parts.next()?, parts.next()?);
    Some(pid)
}

/// The run id part of a temporary file name `.<run_id>.<pid>.<n>.tmp`.
fn temp_run(name: &str) -> Option<&str> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.rsplitn(3, '.');
    let (_n, _pid, run_id) = (parts.next()?, parts.next()?, parts.next()?);
    Some(run_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_give_their_pid() {
        assert_eq!(temp_pid(".01A.4242.7.tmp"), Some("4242"));
        assert_eq!(temp_pid("01A.4242.7.tmp"), None);
        assert_eq!(temp_pid(".01A.7.json"), None);
    }

    #[test]
    fn temporary_names_give_their_run() {
        assert_eq!(temp_run(".01A.4242.7.tmp"), Some("01A"));
        assert_eq!(temp_run("01A.4242.7.tmp"), None);
    }
}
