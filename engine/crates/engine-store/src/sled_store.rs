//! The embedded on-disk [`Store`], on sled.
//!
//! Three trees: `meta` (run id → [`RunMeta`] JSON), `snapshots` (run id → [`RunState`] JSON)
//! and `events` (run id, 0x00, seq as big-endian u64 → [`Event`] JSON), plus the spend index
//! (`day_spend`, `spend_days`, `index_info`; see [`crate::spend_index`]) written with each
//! snapshot. Writes that must go together run in one multi-tree transaction and are flushed
//! (fsync) before returning. The runs' summaries are kept in memory ([`crate::summaries`]).
//!
//! With [`SledStore::mirror_to`], every successful write is followed by a rewrite of the run's
//! JSON mirror (see [`crate::read_mirrors`]) from what the database now holds; each write also
//! marks its run's mirror pending in the `mirror_status` tree until then (see
//! [`crate::mirror_refresh`]).

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
use crate::mirror_refresh::{mark_pending, pending_entry};
use crate::mirror_writer::MirrorWriter;
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
    pub(crate) meta: sled::Tree,
    pub(crate) snapshots: sled::Tree,
    pub(crate) events: sled::Tree,
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
    /// Per run: its mirror is pending, or the file written (see [`crate::mirror_refresh`]).
    pub(crate) mirror_status: sled::Tree,
    /// Where run mirrors go, if anywhere.
    pub(crate) mirror: Option<Arc<MirrorWriter>>,
}

/// How long [`SledStore::open`] waits for sled's lock of a database this process just closed.
const RELOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

impl SledStore {
    /// Opens (creating) the database in `dir`.
    ///
    /// sled's own file lock outlives a dropped database for a moment (its flusher thread lets
    /// go last), so opening it again in the same process right after closing it can find the
    /// lock still held: that is waited out, for at most [`RELOCK_WAIT`]. (Another process
    /// cannot hold it: callers open the database under the state directory's lock.)
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let started = std::time::Instant::now();
        let db = loop {
            match sled::Config::new().path(dir).open() {
                Ok(db) => break db,
                Err(sled::Error::Io(e))
                    if e.to_string().contains("could not acquire lock")
                        && started.elapsed() < RELOCK_WAIT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(e) => return Err(StoreError::sled("opening the database")(e)),
            }
        };
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
            mirror_status: tree("mirror_status")?,
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

    /// Writes everything to disk and fsyncs (sled's flush, completed by [`Durability`]).
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        self.db
            .flush()
            .map_err(StoreError::sled("flushing to disk"))?;
        self.durability.sync()
    }

    /// Replaces a run's meta; fsyncs only when `durable` (see [`Store::update_meta_lazily`]).
    fn write_meta(&self, meta: &RunMeta, durable: bool) -> Result<(), StoreError> {
        let run_id = meta.run_id.as_str();
        validate_run_id(run_id)?;
        let meta_json = encode(run_id, "meta", meta)?;
        let pending = pending_entry(&self.db)?;
        let mirrored = self.mirror.is_some();
        (&self.meta, &self.mirror_status)
            .transaction(|(meta_tree, status)| {
                if meta_tree.get(run_id.as_bytes())?.is_none() {
                    return fail(StoreError::NotFound(run_id.to_string()));
                }
                meta_tree.insert(run_id.as_bytes(), meta_json.as_slice())?;
                mark_pending(status, run_id, &pending, mirrored)
            })
            .map_err(transaction_error("updating a run's meta"))?;
        self.summaries.meta_updated(meta);
        self.written();
        if durable {
            self.flush()?;
        }
        self.mirror_run(run_id);
        Ok(())
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
pub(crate) fn missing_snapshot(run_id: &str) -> StoreError {
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
        let pending = pending_entry(&self.db)?;
        let mirrored = self.mirror.is_some();
        (
            &self.meta,
            &self.snapshots,
            &self.day_spend,
            &self.spend_days,
            &self.mirror_status,
        )
            .transaction(|(meta_tree, snapshots, day_spend, spend_days, status)| {
                if meta_tree.get(run_id.as_bytes())?.is_some() {
                    return fail(StoreError::AlreadyExists(run_id.to_string()));
                }
                meta_tree.insert(run_id.as_bytes(), meta_json.as_slice())?;
                snapshots.insert(run_id.as_bytes(), state_json.as_slice())?;
                mark_pending(status, run_id, &pending, mirrored)?;
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
        let began = std::time::Instant::now();
        validate_run_id(run_id)?;
        check_same_run(run_id, &after.run_id)?;
        let event_json = encode(run_id, "event", event)?;
        let state_json = encode(run_id, "state", after)?;
        let key = event_key(run_id, after.seq);
        let spend = RunEntries::of_stored(run_id, &state_json)?;
        let pending = pending_entry(&self.db)?;
        let mirrored = self.mirror.is_some();
        (
            &self.snapshots,
            &self.events,
            &self.day_spend,
            &self.spend_days,
            &self.mirror_status,
        )
            .transaction(|(snapshots, events, day_spend, spend_days, status)| {
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
                mark_pending(status, run_id, &pending, mirrored)?;
                spend.write(run_id, day_spend, spend_days)
            })
            .map_err(transaction_error("committing an event"))?;
        self.summaries.committed(after);
        self.written();
        self.flush()?;
        self.mirror_run(run_id);
        tracing::debug!(
            run_id,
            seq = after.seq,
            ms = format_args!("{:.1}", began.elapsed().as_secs_f64() * 1000.0),
            "transition stored (fsync'd)"
        );
        Ok(())
    }

    fn update_meta(&self, meta: &RunMeta) -> Result<(), StoreError> {
        self.write_meta(meta, true)
    }

    fn update_meta_lazily(&self, meta: &RunMeta) -> Result<(), StoreError> {
        self.write_meta(meta, false)
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
        self.newest_first().collect()
    }

    fn newest_first(&self) -> Box<dyn Iterator<Item = Result<RunRecord, StoreError>> + '_> {
        Box::new(self.meta.iter().rev().map(|item| {
            let (key, value) = item.map_err(StoreError::sled("listing runs"))?;
            let meta = Self::decode_meta(&key, &value)?;
            let state = self.load_state(&meta.run_id)?;
            Ok(RunRecord { meta, state })
        }))
    }

    fn latest_id(&self) -> Result<Option<String>, StoreError> {
        let Some((key, _)) = self.meta.last().map_err(StoreError::sled("listing runs"))? else {
            return Ok(None);
        };
        String::from_utf8(key.to_vec())
            .map(Some)
            .map_err(|_| StoreError::Corrupt {
                run_id: String::from_utf8_lossy(&key).into_owned(),
                key: meta_key_name(&String::from_utf8_lossy(&key)),
                detail: "run id is not UTF-8".to_string(),
            })
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
