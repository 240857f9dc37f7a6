//! The storage interface the driver persists runs through.

use engine_core::{Event, RunState, Spend};

use crate::{RunMeta, RunRecord, RunSummary, StoreError, spend_by_day};

/// Durable storage of runs: fixed facts, latest snapshot and event log per run.
///
/// Run ids must be 1 to 128 ASCII letters, digits, `-` or `_` (ULIDs are); others are refused
/// with [`StoreError::InvalidRunId`].
pub trait Store: Send + Sync {
    /// Stores a new run with its initial snapshot (no events). Fails with
    /// [`StoreError::AlreadyExists`] if the id is taken. Durable when it returns.
    fn create_run(&self, meta: &RunMeta, initial: &RunState) -> Result<(), StoreError>;

    /// Appends `event` as number `after.seq` and replaces the snapshot with `after`, atomically
    /// and durably: when this returns Ok, the transition survives a crash or power loss.
    /// Rejects with [`StoreError::SeqConflict`] if `after.seq` is not the stored snapshot's seq
    /// plus one, so a transition is never applied twice.
    fn commit(&self, run_id: &str, event: &Event, after: &RunState) -> Result<(), StoreError>;

    /// Replaces the run's fixed facts (e.g. `worktree: None` after cleanup). Durable when it
    /// returns; [`StoreError::NotFound`] if the run does not exist.
    fn update_meta(&self, meta: &RunMeta) -> Result<(), StoreError>;

    /// Replaces the run's fixed facts like [`Store::update_meta`], without waiting for the disk:
    /// for facts a crash may lose because they are found again (a removed worktree that `engine
    /// gc` finds gone, a status written back that is written once more). Durable with the next
    /// durable write, or within the backend's background flush (sled: 500 ms).
    fn update_meta_lazily(&self, meta: &RunMeta) -> Result<(), StoreError> {
        self.update_meta(meta)
    }

    /// The run's facts and latest snapshot, or `None` if there is no such run.
    fn load(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError>;

    /// The run's events with their seq numbers, in order (empty for an unknown run).
    fn events(&self, run_id: &str) -> Result<Vec<(u64, Event)>, StoreError>;

    /// Every run, newest first (run ids are ULIDs: reverse lexicographic order).
    fn list(&self) -> Result<Vec<RunRecord>, StoreError>;

    /// Every run, newest first like [`Store::list`], each read only when the iterator gets to
    /// it: taking the first N reads N runs (a backend may read them all first). An error ends
    /// nothing by itself; the caller decides whether to stop.
    fn newest_first(&self) -> Box<dyn Iterator<Item = Result<RunRecord, StoreError>> + '_> {
        match self.list() {
            Ok(records) => Box::new(records.into_iter().map(Ok)),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    /// The id of the newest run (the first of [`Store::list`]), `None` without runs. A backend
    /// may answer without reading any run.
    fn latest_id(&self) -> Result<Option<String>, StoreError> {
        Ok(self.list()?.into_iter().next().map(|r| r.meta.run_id))
    }

    /// The one run id starting with `prefix` (an exact match wins). Fails with
    /// [`StoreError::NotFound`] or [`StoreError::Ambiguous`] listing the candidates.
    fn resolve_id(&self, prefix: &str) -> Result<String, StoreError>;

    /// Every run's [`RunSummary`], newest first (as [`Store::list`] orders them). A backend may
    /// answer from an index kept with every write instead of decoding every run.
    fn summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        Ok(self.list()?.iter().map(RunSummary::of).collect())
    }

    /// What each run spent on UTC day `day` ([`crate::spend_by_day`]), newest run first; runs
    /// with no attempt that day are left out. A backend may answer from an index kept with
    /// every write instead of decoding every run.
    fn spend_on_day(&self, day: u64) -> Result<Vec<(String, Spend)>, StoreError> {
        Ok(spend_on_day_of(self.list()?, day))
    }
}

/// [`Store::spend_on_day`] from every run's snapshot.
pub(crate) fn spend_on_day_of(runs: Vec<RunRecord>, day: u64) -> Vec<(String, Spend)> {
    runs.into_iter()
        .filter_map(|record| {
            let spend = spend_by_day(&record.state).get(&day).copied()?;
            Some((record.meta.run_id, spend))
        })
        .collect()
}

/// Checks that `record_run_id` (inside a meta or state) is `run_id`.
pub(crate) fn check_same_run(run_id: &str, record_run_id: &str) -> Result<(), StoreError> {
    if run_id == record_run_id {
        Ok(())
    } else {
        Err(StoreError::WrongRun {
            run_id: run_id.to_string(),
            record_run_id: record_run_id.to_string(),
        })
    }
}

/// Checks that a snapshot at `after_seq` directly follows one at `stored_seq`.
pub(crate) fn check_next_seq(
    run_id: &str,
    stored_seq: u64,
    after_seq: u64,
) -> Result<(), StoreError> {
    if stored_seq.checked_add(1) == Some(after_seq) {
        Ok(())
    } else {
        Err(StoreError::SeqConflict {
            run_id: run_id.to_string(),
            stored: stored_seq,
            got: after_seq,
        })
    }
}
