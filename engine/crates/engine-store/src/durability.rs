//! What `sled::Db::flush` leaves out of a real fsync, done by hand.
//!
//! On Linux sled 0.34 makes its log stable with `sync_file_range`, which neither writes the
//! file's metadata (e.g. its grown size) nor flushes the disk's write cache, and it never syncs
//! the files it writes large pages to (`<dir>/blobs/<lsn>`). Both survive kill -9 (the data is
//! in the kernel) but not necessarily a power loss. After each flush we therefore `fsync` the
//! log file, every blob file not synced yet and the blobs directory.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::StoreError;

/// sled's log file and blob directory inside its database directory (sled 0.34 layout).
const LOG_FILE: &str = "db";
const CONFIG_FILE: &str = "conf";
const BLOB_DIR: &str = "blobs";

/// Makes a sled database directory's writes durable.
#[derive(Debug)]
pub(crate) struct Durability {
    /// A second handle on sled's log file (no lock is taken on it), for `fsync`.
    log: File,
    /// `<dir>/blobs`.
    blob_dir: PathBuf,
    /// Blob files already synced (names), so each is synced once.
    synced_blobs: Mutex<HashSet<std::ffi::OsString>>,
}

impl Durability {
    /// For the sled database just opened in `dir`: syncs its files and directory entries once.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let log_path = dir.join(LOG_FILE);
        let log = File::open(&log_path).map_err(|e| StoreError::io("opening", &log_path, e))?;
        let durability = Durability {
            log,
            blob_dir: dir.join(BLOB_DIR),
            synced_blobs: Mutex::new(HashSet::new()),
        };
        durability.sync()?;
        let config_path = dir.join(CONFIG_FILE);
        if config_path.exists() {
            sync_path(&config_path)?;
        }
        sync_path(dir)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_path(parent)?;
        }
        Ok(durability)
    }

    /// Fsyncs the log file and any new blob files (call after `sled::Db::flush`).
    pub fn sync(&self) -> Result<(), StoreError> {
        self.log
            .sync_all()
            .map_err(|e| StoreError::io("syncing", self.blob_dir.with_file_name(LOG_FILE), e))?;
        self.sync_new_blobs()
    }

    /// Fsyncs blob files not synced before, then the blob directory if there were any.
    fn sync_new_blobs(&self) -> Result<(), StoreError> {
        let entries = match std::fs::read_dir(&self.blob_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io("listing", &self.blob_dir, e)),
        };
        let mut synced = self
            .synced_blobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut present = HashSet::new();
        let mut new_blobs = false;
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("listing", &self.blob_dir, e))?;
            let name = entry.file_name();
            if !synced.contains(&name) {
                match File::open(entry.path()) {
                    Ok(file) => file
                        .sync_all()
                        .map_err(|e| StoreError::io("syncing", entry.path(), e))?,
                    // Garbage-collected by sled in the meantime.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(StoreError::io("opening", entry.path(), e)),
                }
                new_blobs = true;
            }
            present.insert(name);
        }
        *synced = present;
        if new_blobs {
            sync_path(&self.blob_dir)?;
        }
        Ok(())
    }
}

/// Fsyncs a file or directory by path.
fn sync_path(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io("syncing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_values_go_to_blob_files_that_get_synced_once() {
        let tmp = tempfile::tempdir().unwrap();
        let db = sled::open(tmp.path()).unwrap();
        let durability = Durability::open(tmp.path()).unwrap();
        // Bigger than sled's inline limit (segment size / 4): stored as a blob file.
        db.insert("big", vec![7u8; 300 * 1024]).unwrap();
        db.flush().unwrap();
        durability.sync().unwrap();
        let blobs: Vec<_> = std::fs::read_dir(tmp.path().join(BLOB_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(!blobs.is_empty(), "expected sled to write a blob file");
        let synced = durability.synced_blobs.lock().unwrap().clone();
        for blob in &blobs {
            assert!(synced.contains(blob), "{blob:?} not synced");
        }
    }
}
