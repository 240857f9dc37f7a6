//! The embedded on-disk [`Store`], on sled.
//!
//! Three trees: `meta` (run id → [`RunMeta`] JSON), `snapshots` (run id → [`RunState`] JSON)
//! and `events` (run id, 0x00, seq as big-endian u64 → [`Event`] JSON), plus the spend index
//! (`day_spend`, `spend_days`, `index_info`; see [`crate::spend_index`]) written with each
//! snapshot. Writes that must go together run in one multi-tree transaction and are flushed
//! (fsync) before returning. The runs' summaries are kept in memory ([`crate::summaries`]).
//!
//! With [`SledStore::mirror_to`], every successful write is followed by a rewrite of the run's
//! JSON mirror (see [`crate::read_mirrors`]) from what the database now holds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use engine_core::{Event, RunState, Spend};
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
use crate::spend_index::{RunEntries, SPEND_INDEX_KEY, SPEND_INDEX_VERSION, read_day, rebuild};
use crate::store::{check_next_seq, check_same_run, spend_on_day_of};
use crate::summaries::{Cached, SummaryCache};
use crate::{RunMeta, RunRecord, RunSummary, Store, StoreError};

/// The part of a stored snapshot `commit` needs to check the sequence.
#[derive(Deserialize)]
struct StoredSeq {
    seq: u64,
}

/// The parts of a stored snapshot a [`RunSummary`] needs.
#[derive(Deserialize)]
struct StoredSummary {
    seq: u64,
    task: StoredTaskId,
    status: engine_core::RunStatus,
}

/// The id of a stored snapshot's task.
#[derive(Deserialize)]
struct StoredTaskId {
    id: String,
}

/// A [`Store`] in a sled database directory. Only one process can open a directory at a time.
/// Clones share the open database.
#[derive(Debug, Clone)]
pub struct SledStore {
    pub(crate) db: sled::Db,
    durability: Arc<Durability>,
    meta: sled::Tree,
    pub(crate) snapshots: sled::Tree,
    events: sled::Tree,
    /// Spend index: (UTC day, run id) → the run's spend that day.
    day_spend: sled::Tree,
    /// Spend index: run id → the days it has entries for.
    spend_days: sled::Tree,
    /// Which indexes are complete.
    index_info: sled::Tree,
    /// The spend index is complete (else the day's spend is read from every run).
    pub(crate) spend_index_ready: bool,
    /// The runs' summaries, in memory.
    summaries: Arc<SummaryCache>,
    /// Successful writes by this process so far (see [`SledStore::generation`]).
    generation: Arc<AtomicU64>,
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
        let mut store = SledStore {
            durability,
            meta: tree("meta")?,
            snapshots: tree("snapshots")?,
            events: tree("events")?,
            day_spend: tree("day_spend")?,
            spend_days: tree("spend_days")?,
            index_info: tree("index_info")?,
            spend_index_ready: false,
            summaries: Arc::default(),
            generation: Arc::default(),
            mirror: None,
            db,
        };
        store.spend_index_ready = store.open_spend_index()?;
        Ok(store)
    }

    /// Whether the spend index is complete, indexing every run first when it is not (a
    /// database written before the index existed, or a crash while it was built). A snapshot
    /// that cannot be decoded leaves it incomplete: the day's spend is then read from every run
    /// (and that read reports the broken snapshot).
    fn open_spend_index(&self) -> Result<bool, StoreError> {
        let marked = self
            .index_info
            .get(SPEND_INDEX_KEY)
            .map_err(StoreError::sled("reading the index versions"))?;
        if marked.as_deref() == Some(SPEND_INDEX_VERSION) {
            return Ok(true);
        }
        let built = rebuild(
            &self.db,
            &self.snapshots,
            &self.day_spend,
            &self.spend_days,
            &self.index_info,
        );
        match built {
            Ok(()) => {
                self.flush()?;
                Ok(true)
            }
            Err(StoreError::Corrupt { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A number that changes with every successful write through this store or its clones
    /// (`create_run`, `commit`, `update_meta`): a reader that saw the same number before saw
    /// the runs as they are now. Writes of other processes (or before this store was opened)
    /// are not counted; only the holder of the database writes to it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// After a successful write.
    fn written(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Every run's summary read from the database.
    fn read_summaries(&self) -> Result<std::collections::BTreeMap<String, Cached>, StoreError> {
        let mut runs = std::collections::BTreeMap::new();
        for item in &self.meta {
            let (key, value) = item.map_err(StoreError::sled("listing runs"))?;
            let meta = Self::decode_meta(&key, &value)?;
            let run_id = meta.run_id.as_str();
            let bytes = self
                .snapshots
                .get(run_id.as_bytes())
                .map_err(StoreError::sled("reading a snapshot"))?
                .ok_or_else(|| missing_snapshot(run_id))?;
            let stored: StoredSummary = decode(run_id, || snapshot_key_name(run_id), &bytes)?;
            let summary = RunSummary {
                run_id: meta.run_id.clone(),
                created_at_ms: meta.created_at_ms,
                task_id: stored.task.id,
                status: stored.status,
                task_source: meta.task_source,
            };
            let seq = stored.seq;
            runs.insert(meta.run_id, Cached { seq, summary });
        }
        Ok(runs)
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
            .ok_or_else(|| missing_snapshot(run_id))?;
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
            .ok_or_else(|| missing_snapshot(run_id))?;
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

/// The error for a run whose meta exists without its snapshot.
fn missing_snapshot(run_id: &str) -> StoreError {
    StoreError::Corrupt {
        run_id: run_id.to_string(),
        key: snapshot_key_name(run_id),
        detail: "the run's meta exists but its snapshot is missing".to_string(),
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
        let spend = RunEntries::of_stored(run_id, &state_json)?;
        (
            &self.meta,
            &self.snapshots,
            &self.day_spend,
            &self.spend_days,
        )
            .transaction(|(meta_tree, snapshots, day_spend, spend_days)| {
                if meta_tree.get(run_id.as_bytes())?.is_some() {
                    return fail(StoreError::AlreadyExists(run_id.to_string()));
                }
                meta_tree.insert(run_id.as_bytes(), meta_json.as_slice())?;
                snapshots.insert(run_id.as_bytes(), state_json.as_slice())?;
                spend.write(run_id, day_spend, spend_days)
            })
            .map_err(transaction_error("creating a run"))?;
        self.summaries.created(meta, initial);
        self.written();
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
        let spend = RunEntries::of_stored(run_id, &state_json)?;
        (
            &self.snapshots,
            &self.events,
            &self.day_spend,
            &self.spend_days,
        )
            .transaction(|(snapshots, events, day_spend, spend_days)| {
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
                spend.write(run_id, day_spend, spend_days)
            })
            .map_err(transaction_error("committing an event"))?;
        self.summaries.committed(after);
        self.written();
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
        self.summaries.meta_updated(meta);
        self.written();
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

    fn summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        self.summaries.list(|| self.read_summaries())
    }

    fn spend_on_day(&self, day: u64) -> Result<Vec<(String, Spend)>, StoreError> {
        if !self.spend_index_ready {
            return Ok(spend_on_day_of(self.list()?, day));
        }
        read_day(&self.day_spend, day)
    }
}

#[cfg(test)]
#[path = "sled_store_tests.rs"]
mod tests;
