//! The embedded on-disk [`Store`], on sled.
//!
//! Three trees: `meta` (run id → [`RunMeta`] JSON), `snapshots` (run id → [`RunState`] JSON)
//! and `events` (run id, 0x00, seq as big-endian u64 → [`Event`] JSON). Writes that must go
//! together run in one multi-tree transaction and are flushed (fsync) before returning.
//!
//! With [`SledStore::mirror_to`], every successful write is followed by a rewrite of the run's
//! JSON mirror (see [`crate::read_mirrors`]) from what the database now holds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine_core::{Event, RunState};
use serde::Deserialize;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree, abort};

use crate::durability::Durability;
use crate::keys::{
    decode, encode, event_key, event_key_name, event_prefix, event_seq, meta_key_name,
    resolve_among, snapshot_key_name, validate_run_id,
};
use crate::mirror::compose;
use crate::mirror_writer::{MirrorGuard, MirrorWriter};
use crate::store::{check_next_seq, check_same_run};
use crate::{RunMeta, RunRecord, Store, StoreError};

/// The part of a stored snapshot `commit` needs to check the sequence.
#[derive(Deserialize)]
struct StoredSeq {
    seq: u64,
}

/// A [`Store`] in a sled database directory. Only one process can open a directory at a time.
/// Clones share the open database.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
    durability: Arc<Durability>,
    meta: sled::Tree,
    snapshots: sled::Tree,
    events: sled::Tree,
    /// Where run mirrors go, if anywhere.
    mirror: Option<Arc<MirrorWriter>>,
}

impl SledStore {
    /// Opens (creating) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .open()
            .map_err(StoreError::sled("opening the database"))?;
        let tree = |name: &str| {
            db.open_tree(name)
                .map_err(StoreError::sled("opening a database tree"))
        };
        let durability = Arc::new(Durability::open(dir)?);
        Ok(SledStore {
            durability,
            meta: tree("meta")?,
            snapshots: tree("snapshots")?,
            events: tree("events")?,
            mirror: None,
            db,
        })
    }

    /// From now on, after every successful `create_run`, `commit` and `update_meta`, also
    /// writes a new version of the run's JSON mirror in `dir` (`<run_id>.<version>.json`, put
    /// in place by rename, not fsync'd; the previous version is then removed), so other
    /// processes can read runs with [`crate::read_mirrors`] while this one holds the database.
    /// A failed mirror write does not fail the store operation (the database is the source of
    /// truth); it is logged once as a warning.
    #[must_use]
    pub fn mirror_to(mut self, dir: PathBuf) -> Self {
        self.mirror = Some(Arc::new(MirrorWriter::new(dir)));
        self
    }

    /// Brings the mirror directory in line with the database: writes the mirror of every run
    /// whose mirror is missing, unreadable or behind, and removes mirrors of unknown runs,
    /// superseded versions and temporary files left by a crash. Returns how many mirrors were
    /// written; if some could not be, it still does the rest and then returns the first error.
    /// Does nothing without [`SledStore::mirror_to`].
    pub fn refresh_mirrors(&self) -> Result<usize, StoreError> {
        let Some(mirror) = &self.mirror else {
            return Ok(0);
        };
        let mut guard = mirror.lock();
        let mut written = 0;
        let mut first_error = None;
        let mut known = BTreeSet::new();
        for key in self.meta.iter().keys() {
            let key = key.map_err(StoreError::sled("listing runs"))?;
            let Ok(run_id) = std::str::from_utf8(&key) else {
                continue;
            };
            known.insert(run_id.to_string());
            let result = self.last_seq(run_id).and_then(|seq| {
                if guard.current_seq(run_id) == Some(seq) {
                    return Ok(false);
                }
                self.write_mirror(&mut guard, run_id).map(|()| true)
            });
            match result {
                Ok(wrote) => written += usize::from(wrote),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        guard.remove_strays(&known);
        match first_error {
            Some(e) => Err(e),
            None => Ok(written),
        }
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

    /// After a successful write of `run_id`: rewrites its mirror, if mirroring, reporting (not
    /// returning) a failure.
    fn mirror_run(&self, run_id: &str) {
        if let Some(mirror) = &self.mirror
            && let Err(e) = self.write_mirror(&mut mirror.lock(), run_id)
        {
            mirror.report(run_id, &e);
        }
    }

    /// Writes the mirror of `run_id` from what the database holds now. Reading and writing under
    /// the writer's lock means the last mirror written is always of the latest state.
    fn write_mirror(&self, mirror: &mut MirrorGuard<'_>, run_id: &str) -> Result<(), StoreError> {
        let meta = self
            .meta
            .get(run_id.as_bytes())
            .map_err(StoreError::sled("reading a run's meta"))?
            .ok_or_else(|| StoreError::NotFound(run_id.to_string()))?;
        let state = self
            .snapshots
            .get(run_id.as_bytes())
            .map_err(StoreError::sled("reading a snapshot"))?
            .ok_or_else(|| StoreError::Corrupt {
                run_id: run_id.to_string(),
                key: snapshot_key_name(run_id),
                detail: "the run's meta exists but its snapshot is missing".to_string(),
            })?;
        let mut events = Vec::new();
        for item in self.events.scan_prefix(event_prefix(run_id)) {
            let (key, value) = item.map_err(StoreError::sled("reading events"))?;
            events.push((event_seq(run_id, &key)?, value));
        }
        let seq = events.last().map_or(0, |(seq, _)| *seq);
        mirror.replace(run_id, &compose(seq, &meta, &state, &events))
    }

    /// Writes everything to disk and fsyncs (sled's flush, completed by [`Durability`]).
    fn flush(&self) -> Result<(), StoreError> {
        self.db
            .flush()
            .map_err(StoreError::sled("flushing to disk"))?;
        self.durability.sync()
    }

    /// The snapshot of `run_id`, which must exist since its meta does.
    fn load_state(&self, run_id: &str) -> Result<RunState, StoreError> {
        let bytes = self
            .snapshots
            .get(run_id.as_bytes())
            .map_err(StoreError::sled("reading a snapshot"))?
            .ok_or_else(|| StoreError::Corrupt {
                run_id: run_id.to_string(),
                key: snapshot_key_name(run_id),
                detail: "the run's meta exists but its snapshot is missing".to_string(),
            })?;
        decode(run_id, || snapshot_key_name(run_id), &bytes)
    }

    /// Decodes a meta record stored under `key`.
    fn decode_meta(key: &[u8], bytes: &[u8]) -> Result<RunMeta, StoreError> {
        let run_id = String::from_utf8_lossy(key).into_owned();
        let meta: RunMeta = decode(&run_id, || meta_key_name(&run_id), bytes)?;
        if meta.run_id != run_id {
            return Err(StoreError::Corrupt {
                key: meta_key_name(&run_id),
                detail: format!("record names run {}", meta.run_id),
                run_id,
            });
        }
        Ok(meta)
    }
}

/// Turns a transaction's failure into ours.
fn transaction_error(op: &'static str) -> impl FnOnce(TransactionError<StoreError>) -> StoreError {
    move |e| match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(source) => StoreError::Sled { op, source },
    }
}

/// Aborts a transaction with `e`.
fn fail<T>(e: StoreError) -> Result<T, ConflictableTransactionError<StoreError>> {
    abort(e)
}

/// Inside `commit`'s transaction: checks that `after_seq` follows the stored snapshot.
fn check_stored_seq(
    snapshots: &TransactionalTree,
    run_id: &str,
    after_seq: u64,
) -> Result<(), ConflictableTransactionError<StoreError>> {
    let Some(current) = snapshots.get(run_id.as_bytes())? else {
        return fail(StoreError::NotFound(run_id.to_string()));
    };
    let stored: StoredSeq = decode(run_id, || snapshot_key_name(run_id), &current).or_else(fail)?;
    check_next_seq(run_id, stored.seq, after_seq).or_else(fail)
}

impl Store for SledStore {
    fn create_run(&self, meta: &RunMeta, initial: &RunState) -> Result<(), StoreError> {
        let run_id = meta.run_id.as_str();
        validate_run_id(run_id)?;
        check_same_run(run_id, &initial.run_id)?;
        let meta_json = encode(run_id, "meta", meta)?;
        let state_json = encode(run_id, "state", initial)?;
        (&self.meta, &self.snapshots)
            .transaction(|(meta_tree, snapshots)| {
                if meta_tree.get(run_id.as_bytes())?.is_some() {
                    return fail(StoreError::AlreadyExists(run_id.to_string()));
                }
                meta_tree.insert(run_id.as_bytes(), meta_json.as_slice())?;
                snapshots.insert(run_id.as_bytes(), state_json.as_slice())?;
                Ok(())
            })
            .map_err(transaction_error("creating a run"))?;
        self.flush()?;
        self.mirror_run(run_id);
        Ok(())
    }

    fn commit(&self, run_id: &str, event: &Event, after: &RunState) -> Result<(), StoreError> {
        validate_run_id(run_id)?;
        check_same_run(run_id, &after.run_id)?;
        let event_json = encode(run_id, "event", event)?;
        let state_json = encode(run_id, "state", after)?;
        let key = event_key(run_id, after.seq);
        (&self.snapshots, &self.events)
            .transaction(|(snapshots, events)| {
                check_stored_seq(snapshots, run_id, after.seq)?;
                if events.get(key.as_slice())?.is_some() {
                    return fail(StoreError::Corrupt {
                        run_id: run_id.to_string(),
                        key: event_key_name(run_id, after.seq),
                        detail: "an event with this seq is already stored beyond the snapshot"
                            .to_string(),
                    });
                }
                events.insert(key.as_slice(), event_json.as_slice())?;
                snapshots.insert(run_id.as_bytes(), state_json.as_slice())?;
                Ok(())
            })
            .map_err(transaction_error("committing an event"))?;
        self.flush()?;
        self.mirror_run(run_id);
        Ok(())
    }

    fn update_meta(&self, meta: &RunMeta) -> Result<(), StoreError> {
        let run_id = meta.run_id.as_str();
        validate_run_id(run_id)?;
        let meta_json = encode(run_id, "meta", meta)?;
        self.meta
            .transaction(|meta_tree| {
                if meta_tree.get(run_id.as_bytes())?.is_none() {
                    return fail(StoreError::NotFound(run_id.to_string()));
                }
                meta_tree.insert(run_id.as_bytes(), meta_json.as_slice())?;
                Ok(())
            })
            .map_err(transaction_error("updating a run's meta"))?;
        self.flush()?;
        self.mirror_run(run_id);
        Ok(())
    }

    fn load(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        validate_run_id(run_id)?;
        let Some(meta_bytes) = self
            .meta
            .get(run_id.as_bytes())
            .map_err(StoreError::sled("reading a run's meta"))?
        else {
            return Ok(None);
        };
        let meta = Self::decode_meta(run_id.as_bytes(), &meta_bytes)?;
        let state = self.load_state(run_id)?;
        Ok(Some(RunRecord { meta, state }))
    }

    fn events(&self, run_id: &str) -> Result<Vec<(u64, Event)>, StoreError> {
        validate_run_id(run_id)?;
        let mut events = Vec::new();
        for item in self.events.scan_prefix(event_prefix(run_id)) {
            let (key, value) = item.map_err(StoreError::sled("reading events"))?;
            let seq = event_seq(run_id, &key)?;
            let event = decode(run_id, || event_key_name(run_id, seq), &value)?;
            events.push((seq, event));
        }
        Ok(events)
    }

    fn list(&self) -> Result<Vec<RunRecord>, StoreError> {
        let mut records = Vec::new();
        for item in self.meta.iter().rev() {
            let (key, value) = item.map_err(StoreError::sled("listing runs"))?;
            let meta = Self::decode_meta(&key, &value)?;
            let state = self.load_state(&meta.run_id)?;
            records.push(RunRecord { meta, state });
        }
        Ok(records)
    }

    fn resolve_id(&self, prefix: &str) -> Result<String, StoreError> {
        if prefix.is_empty() {
            return resolve_among(prefix, Vec::new());
        }
        let mut ids = Vec::new();
        for key in self.meta.scan_prefix(prefix.as_bytes()).keys() {
            let key = key.map_err(StoreError::sled("resolving a run id"))?;
            let id = String::from_utf8(key.to_vec()).map_err(|_| StoreError::Corrupt {
                run_id: String::from_utf8_lossy(&key).into_owned(),
                key: meta_key_name(&String::from_utf8_lossy(&key)),
                detail: "run id is not UTF-8".to_string(),
            })?;
            ids.push(id);
        }
        resolve_among(prefix, ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_data::{event, meta, state};

    fn store_with_run(tmp: &tempfile::TempDir) -> SledStore {
        let store = SledStore::open(tmp.path()).unwrap();
        store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
        store.commit("01A", &event(1), &state("01A", 1)).unwrap();
        store
    }

    fn assert_corrupt(result: Result<impl std::fmt::Debug, StoreError>, want_key: &str) {
        match result {
            Err(err @ StoreError::Corrupt { .. }) => {
                let StoreError::Corrupt { run_id, key, .. } = &err else {
                    unreachable!()
                };
                assert_eq!(run_id, "01A");
                assert_eq!(key, want_key);
                let message = err.to_string();
                assert!(
                    message.contains("01A") && message.contains(want_key),
                    "{message}"
                );
            }
            other => panic!("expected Corrupt at {want_key}, got {other:?}"),
        }
    }

    #[test]
    fn corrupt_snapshot_is_an_error_naming_run_and_key() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with_run(&tmp);
        store.snapshots.insert("01A", &b"{not json"[..]).unwrap();
        assert_corrupt(store.load("01A"), "snapshots/01A");
        assert_corrupt(store.list(), "snapshots/01A");
        assert_corrupt(
            store.commit("01A", &event(2), &state("01A", 2)),
            "snapshots/01A",
        );
    }

    #[test]
    fn corrupt_event_is_an_error_naming_run_and_key() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with_run(&tmp);
        store
            .events
            .insert(event_key("01A", 1), &b"\xff\xfe"[..])
            .unwrap();
        assert_corrupt(store.events("01A"), "events/01A/1");
    }

    #[test]
    fn malformed_event_key_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with_run(&tmp);
        store.events.insert(&b"01A\0\x01"[..], &b"{}"[..]).unwrap();
        assert!(matches!(
            store.events("01A"),
            Err(StoreError::Corrupt { ref run_id, .. }) if run_id == "01A"
        ));
    }

    #[test]
    fn corrupt_or_mismatched_meta_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with_run(&tmp);
        let other = serde_json::to_vec(&meta("01B")).unwrap();
        store.meta.insert("01A", other).unwrap();
        assert_corrupt(store.load("01A"), "meta/01A");
        store.meta.insert("01A", &b"[]"[..]).unwrap();
        assert_corrupt(store.list(), "meta/01A");
    }

    #[test]
    fn missing_snapshot_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store_with_run(&tmp);
        store.snapshots.remove("01A").unwrap();
        assert_corrupt(store.load("01A"), "snapshots/01A");
    }

    #[test]
    fn a_second_open_of_the_same_database_fails_cleanly() {
        let tmp = tempfile::tempdir().unwrap();
        let _first = SledStore::open(tmp.path()).unwrap();
        // sled locks its database file; a second open is an error, not a panic.
        match SledStore::open(tmp.path()) {
            Err(err @ StoreError::Sled { .. }) => {
                assert!(err.to_string().contains("opening the database"), "{err}");
            }
            other => panic!("expected a sled error, got {:?}", other.map(|_| ())),
        }
    }
}
