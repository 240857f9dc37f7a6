//! Keeping a [`SledStore`]'s JSON mirrors (see [`crate::mirror`]) in line with the database
//! without reading every run and every mirror each time the state directory is taken.
//!
//! The `mirror_status` tree holds, per run, either "pending" with a fresh token or "confirmed"
//! with the version and length of the mirror file written. Every write (`create_run`, `commit`,
//! `update_meta`) marks its run pending in the same transaction; once the run's mirror has been
//! written from what the database holds, the entry becomes confirmed if it still holds that
//! token (a write that came in meanwhile left its own token, and its own mirror write follows).
//! So a crash between a commit and its mirror write, or a mirror write that failed, leaves the
//! run pending, and [`SledStore::refresh_mirrors`] at the next open rewrites it; a confirmed
//! mirror whose file is missing or no longer has its length (cut short, emptied) is rewritten
//! too, found with one `stat` per run and no read.
//!
//! Two things the entries cannot see make the next open check every mirror as before (read
//! its head, compare with the database, remove strays): a write by a store that does not mirror
//! (it removes the "in line" mark in its transaction), and a restart of the machine (mirrors are
//! not fsync'd, so a power loss can leave them behind: the mark holds the boot id it was set
//! under; on a system without boot ids every open checks every mirror). A database without the
//! mark (written before it existed) is checked once, then marked.

use std::collections::{BTreeMap, BTreeSet};

use sled::IVec;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use crate::keys::{event_prefix, event_seq};
use crate::mirror::compose;
use crate::mirror_writer::MirrorGuard;
use crate::{SledStore, StoreError};

/// The key, in the `mirror_status` tree, of the mark saying the entries are all that can be
/// out of line (value: the boot id it was set under). Not a valid run id.
const IN_LINE_KEY: &[u8] = b"\0in_line";

/// First byte of a pending entry (then the token, 8 bytes).
const PENDING: u8 = b'P';

/// First byte of a confirmed entry (then the version and the length, 8 bytes each).
const CONFIRMED: u8 = b'C';

/// Where Linux gives the id of the current boot.
const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";

/// The id of the current boot of the machine, if the system gives one.
fn boot_id() -> Option<Vec<u8>> {
    let id = std::fs::read(BOOT_ID_PATH).ok()?;
    let id = id.trim_ascii().to_vec();
    (!id.is_empty()).then_some(id)
}

/// A fresh pending entry: sled's monotonic ids never repeat, even across restarts.
pub(crate) fn pending_entry(db: &sled::Db) -> Result<[u8; 9], StoreError> {
    let id = db
        .generate_id()
        .map_err(StoreError::sled("generating a mirror token"))?;
    let mut entry = [PENDING; 9];
    entry[1..].copy_from_slice(&id.to_be_bytes());
    Ok(entry)
}

/// The confirmed entry of a mirror file at `version`, `len` bytes long.
fn confirmed_entry(version: u64, len: u64) -> [u8; 17] {
    let mut entry = [CONFIRMED; 17];
    entry[1..9].copy_from_slice(&version.to_be_bytes());
    entry[9..].copy_from_slice(&len.to_be_bytes());
    entry
}

/// The version and length in a confirmed entry; `None` for any other value.
fn parse_confirmed(entry: &[u8]) -> Option<(u64, u64)> {
    let (&tag, rest) = entry.split_first()?;
    let (version, len) = rest.split_first_chunk::<8>()?;
    let len: [u8; 8] = len.try_into().ok()?;
    (tag == CONFIRMED).then(|| (u64::from_be_bytes(*version), u64::from_be_bytes(len)))
}

/// Inside a write's transaction: marks `run_id`'s mirror pending with `entry`; a store that
/// does not mirror (`mirrored` false) also removes the "in line" mark, so the next mirroring
/// open checks every mirror.
pub(crate) fn mark_pending(
    status: &TransactionalTree,
    run_id: &str,
    entry: &[u8; 9],
    mirrored: bool,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    status.insert(run_id.as_bytes(), &entry[..])?;
    if !mirrored {
        status.remove(IN_LINE_KEY)?;
    }
    Ok(())
}

impl SledStore {
    /// Brings the mirror directory in line with the database and returns how many mirrors were
    /// written; if some could not be, it still does the rest and then returns the first error.
    /// Does nothing without [`SledStore::mirror_to`].
    ///
    /// When the database is marked in line for this boot of the machine, only the runs written
    /// since their mirror was last confirmed, and those whose mirror file is missing or not of
    /// the length written, are rewritten, with their superseded versions and temporary files
    /// (see the module docs). Otherwise every run whose mirror is missing, unreadable, behind
    /// or pending is rewritten, mirrors of unknown runs, superseded versions and temporary files
    /// left by a crash are removed, and the database is then marked in line.
    pub fn refresh_mirrors(&self) -> Result<usize, StoreError> {
        let Some(mirror) = &self.mirror else {
            return Ok(0);
        };
        let mut guard = mirror.lock();
        let boot = boot_id();
        let mark = self
            .mirror_status
            .get(IN_LINE_KEY)
            .map_err(StoreError::sled("reading the mirror mark"))?;
        if let Some(boot) = &boot
            && mark.as_deref() == Some(boot.as_slice())
        {
            return self.refresh_marked(&mut guard);
        }
        let written = self.refresh_all(&mut guard)?;
        if let Some(boot) = boot {
            self.mirror_status
                .insert(IN_LINE_KEY, boot)
                .map_err(StoreError::sled("marking the mirrors in line"))?;
            self.flush()?;
        }
        Ok(written)
    }

    /// Every run's entry.
    fn mirror_entries(&self) -> Result<BTreeMap<String, IVec>, StoreError> {
        let mut runs = BTreeMap::new();
        for item in &self.mirror_status {
            let (key, entry) = item.map_err(StoreError::sled("listing mirror entries"))?;
            if key.as_ref() != IN_LINE_KEY {
                runs.insert(String::from_utf8_lossy(&key).into_owned(), entry);
            }
        }
        Ok(runs)
    }

    /// [`SledStore::refresh_mirrors`] when only the entries can be out of line.
    fn refresh_marked(&self, guard: &mut MirrorGuard<'_>) -> Result<usize, StoreError> {
        let mut written = 0;
        let mut first_error = None;
        let mut rewritten = BTreeSet::new();
        let mut known = BTreeSet::new();
        for (run_id, entry) in self.mirror_entries()? {
            let in_place = parse_confirmed(&entry)
                .is_some_and(|(version, len)| guard.file_len(&run_id, version) == Some(len));
            if in_place {
                continue;
            }
            rewritten.insert(run_id.clone());
            let exists = self
                .meta
                .contains_key(run_id.as_bytes())
                .map_err(StoreError::sled("reading a run's meta"))?;
            let result = if exists {
                known.insert(run_id.clone());
                self.write_mirror(guard, &run_id, Some(entry))
                    .map(|()| written += 1)
            } else {
                self.forget(&run_id, entry)
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        if !rewritten.is_empty() {
            guard.remove_strays_among(&rewritten, &known);
        }
        first_error.map_or(Ok(written), Err)
    }

    /// [`SledStore::refresh_mirrors`] checking every run.
    fn refresh_all(&self, guard: &mut MirrorGuard<'_>) -> Result<usize, StoreError> {
        let mut written = 0;
        let mut first_error = None;
        let mut known = BTreeSet::new();
        let mut entries = self.mirror_entries()?;
        for key in self.meta.iter().keys() {
            let key = key.map_err(StoreError::sled("listing runs"))?;
            let Ok(run_id) = std::str::from_utf8(&key) else {
                continue;
            };
            known.insert(run_id.to_string());
            let entry = entries.remove(run_id);
            let pending = entry.as_ref().is_some_and(|e| e.first() == Some(&PENDING));
            let result = self.last_seq(run_id).and_then(|seq| {
                if !pending && guard.current_seq(run_id) == Some(seq) {
                    self.confirm_in_place(guard, run_id, entry)?;
                    return Ok(false);
                }
                self.write_mirror(guard, run_id, entry)?;
                Ok(true)
            });
            match result {
                Ok(wrote) => written += usize::from(wrote),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // Entries of runs the database does not hold.
        for (run_id, entry) in entries {
            if let Err(e) = self.forget(&run_id, entry) {
                first_error.get_or_insert(e);
            }
        }
        guard.remove_strays(&known);
        first_error.map_or(Ok(written), Err)
    }

    /// The seq of the last stored event of `run_id` (0 if none), which is its snapshot's seq.
    fn last_seq(&self, run_id: &str) -> Result<u64, StoreError> {
        match self.events.scan_prefix(event_prefix(run_id)).next_back() {
            None => Ok(0),
            Some(item) => {
                let (key, _) = item.map_err(StoreError::sled("reading events"))?;
                event_seq(run_id, &key)
            }
        }
    }

    /// Replaces `run_id`'s entry, if it is still `old`, by `new` (a write that came in
    /// meanwhile left its own pending entry: it stays). Not flushed: if this is lost in a crash,
    /// the next open checks or rewrites the mirror once more.
    fn swap_entry(
        &self,
        run_id: &str,
        old: Option<IVec>,
        new: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        self.mirror_status
            .compare_and_swap(run_id.as_bytes(), old, new)
            .map_err(StoreError::sled("recording a mirror"))?
            .ok();
        Ok(())
    }

    /// Drops the entry of a run the database does not hold.
    fn forget(&self, run_id: &str, entry: IVec) -> Result<(), StoreError> {
        self.swap_entry(run_id, Some(entry), None)
    }

    /// Confirms the mirror of `run_id` already in place (checked up to date), replacing `entry`.
    fn confirm_in_place(
        &self,
        guard: &mut MirrorGuard<'_>,
        run_id: &str,
        entry: Option<IVec>,
    ) -> Result<(), StoreError> {
        let Some(version) = guard.current_version(run_id) else {
            return Ok(());
        };
        let Some(len) = guard.file_len(run_id, version) else {
            return Ok(());
        };
        let confirmed = confirmed_entry(version, len);
        if entry.as_deref() == Some(&confirmed[..]) {
            return Ok(());
        }
        self.swap_entry(run_id, entry, Some(&confirmed))
    }

    /// After a successful write of `run_id`: rewrites its mirror, if mirroring, and confirms it;
    /// reports (does not return) a failure, which leaves the run pending.
    pub(crate) fn mirror_run(&self, run_id: &str) {
        let Some(mirror) = &self.mirror else {
            return;
        };
        let mut guard = mirror.lock();
        let result = self
            .mirror_status
            .get(run_id.as_bytes())
            .map_err(StoreError::sled("reading a mirror entry"))
            .and_then(|entry| self.write_mirror(&mut guard, run_id, entry));
        if let Err(e) = result {
            mirror.report(run_id, &e);
        }
    }

    /// Writes the mirror of `run_id` from what the database holds now, then confirms it in
    /// place of `entry` (read before the database was). Reading and writing under the writer's
    /// lock means the last mirror written is always of the latest state.
    fn write_mirror(
        &self,
        mirror: &mut MirrorGuard<'_>,
        run_id: &str,
        entry: Option<IVec>,
    ) -> Result<(), StoreError> {
        let meta = self
            .meta
            .get(run_id.as_bytes())
            .map_err(StoreError::sled("reading a run's meta"))?
            .ok_or_else(|| StoreError::NotFound(run_id.to_string()))?;
        let state = self
            .snapshots
            .get(run_id.as_bytes())
            .map_err(StoreError::sled("reading a snapshot"))?
            .ok_or_else(|| crate::sled_store::missing_snapshot(run_id))?;
        let mut events = Vec::new();
        for item in self.events.scan_prefix(event_prefix(run_id)) {
            let (key, value) = item.map_err(StoreError::sled("reading events"))?;
            events.push((event_seq(run_id, &key)?, value));
        }
        let seq = events.last().map_or(0, |(seq, _)| *seq);
        let bytes = compose(seq, &meta, &state, &events);
        let version = mirror.replace(run_id, &bytes)?;
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        self.swap_entry(run_id, entry, Some(&confirmed_entry(version, len)))
    }
}
