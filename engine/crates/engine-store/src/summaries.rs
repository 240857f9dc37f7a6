//! The runs' [`RunSummary`]s, kept in memory by the process that holds the database: read from
//! the database once, at their first use, then updated by every write of that process (the
//! only writer: sled locks its database). Nothing of it is stored, so no crash can leave it
//! behind the runs.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use engine_core::RunState;

use crate::{RunMeta, RunSummary, StoreError};

/// A summary and the seq of the snapshot it was taken from.
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    /// The snapshot's seq: an older snapshot never replaces a newer one.
    pub(crate) seq: u64,
    /// The summary.
    pub(crate) summary: RunSummary,
}

/// The summaries by run id; `None` until first read.
#[derive(Debug, Default)]
pub(crate) struct SummaryCache {
    runs: Mutex<Option<BTreeMap<String, Cached>>>,
}

impl SummaryCache {
    /// The map, even if a thread panicked while holding the lock (each update below is one
    /// insert or one field change, so the map stays consistent).
    fn lock(&self) -> MutexGuard<'_, Option<BTreeMap<String, Cached>>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After a run was stored.
    pub(crate) fn created(&self, meta: &RunMeta, state: &RunState) {
        if let Some(runs) = self.lock().as_mut() {
            runs.insert(meta.run_id.clone(), cached(meta, state));
        }
    }

    /// After `state` was committed.
    pub(crate) fn committed(&self, state: &RunState) {
        if let Some(runs) = self.lock().as_mut()
            && let Some(entry) = runs.get_mut(&state.run_id)
            && entry.seq < state.seq
        {
            entry.seq = state.seq;
            entry.summary.status = state.status.clone();
            entry.summary.task_id.clone_from(&state.task.id);
        }
    }

    /// After a run's meta was replaced.
    pub(crate) fn meta_updated(&self, meta: &RunMeta) {
        if let Some(runs) = self.lock().as_mut()
            && let Some(entry) = runs.get_mut(&meta.run_id)
        {
            entry.summary.created_at_ms = meta.created_at_ms;
            entry.summary.task_source.clone_from(&meta.task_source);
        }
    }

    /// Every summary, newest first; `read` reads them all from the database the first time.
    /// Writes wait while they are read, so none is missed.
    pub(crate) fn list(
        &self,
        read: impl FnOnce() -> Result<BTreeMap<String, Cached>, StoreError>,
    ) -> Result<Vec<RunSummary>, StoreError> {
        let mut guard = self.lock();
        let runs = match guard.as_mut() {
            Some(runs) => runs,
            None => guard.insert(read()?),
        };
        Ok(runs.values().rev().map(|c| c.summary.clone()).collect())
    }
}

/// The cached summary of a run.
pub(crate) fn cached(meta: &RunMeta, state: &RunState) -> Cached {
    Cached {
        seq: state.seq,
        summary: RunSummary {
            run_id: meta.run_id.clone(),
            created_at_ms: meta.created_at_ms,
            task_id: state.task.id.clone(),
            status: state.status.clone(),
            task_source: meta.task_source.clone(),
        },
    }
}
