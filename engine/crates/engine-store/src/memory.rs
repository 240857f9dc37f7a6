//! An in-memory [`Store`] with the same semantics as the sled one, for tests and benchmarks.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use engine_core::{Event, RunState};

use crate::keys::{resolve_among, validate_run_id};
use crate::store::{check_next_seq, check_same_run};
use crate::{RunMeta, RunRecord, Store, StoreError};

/// One stored run.
#[derive(Debug, Clone)]
struct MemoryRun {
    meta: RunMeta,
    state: RunState,
    events: Vec<(u64, Event)>,
}

/// A [`Store`] that keeps everything in memory (nothing survives the process).
#[derive(Debug, Default)]
pub struct MemoryStore {
    runs: Mutex<BTreeMap<String, MemoryRun>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The runs, even if a thread panicked while holding the lock (every update below is
    /// applied completely or not at all, so the data stays consistent).
    fn runs(&self) -> MutexGuard<'_, BTreeMap<String, MemoryRun>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    fn create_run(&self, meta: &RunMeta, initial: &RunState) -> Result<(), StoreError> {
        validate_run_id(&meta.run_id)?;
        check_same_run(&meta.run_id, &initial.run_id)?;
        let mut runs = self.runs();
        if runs.contains_key(&meta.run_id) {
            return Err(StoreError::AlreadyExists(meta.run_id.clone()));
        }
        runs.insert(
            meta.run_id.clone(),
            MemoryRun {
                meta: meta.clone(),
                state: initial.clone(),
                events: Vec::new(),
            },
        );
        Ok(())
    }

    fn commit(&self, run_id: &str, event: &Event, after: &RunState) -> Result<(), StoreError> {
        validate_run_id(run_id)?;
        check_same_run(run_id, &after.run_id)?;
        let mut runs = self.runs();
        let run = runs
            .get_mut(run_id)
            .ok_or_else(|| StoreError::NotFound(run_id.to_string()))?;
        check_next_seq(run_id, run.state.seq, after.seq)?;
        run.events.push((after.seq, event.clone()));
        run.state = after.clone();
        Ok(())
    }

    fn update_meta(&self, meta: &RunMeta) -> Result<(), StoreError> {
        validate_run_id(&meta.run_id)?;
        let mut runs = self.runs();
        let run = runs
            .get_mut(&meta.run_id)
            .ok_or_else(|| StoreError::NotFound(meta.run_id.clone()))?;
        run.meta = meta.clone();
        Ok(())
    }

    fn load(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        validate_run_id(run_id)?;
        Ok(self.runs().get(run_id).map(|run| RunRecord {
            meta: run.meta.clone(),
            state: run.state.clone(),
        }))
    }

    fn events(&self, run_id: &str) -> Result<Vec<(u64, Event)>, StoreError> {
        validate_run_id(run_id)?;
        Ok(self
            .runs()
            .get(run_id)
            .map(|run| run.events.clone())
            .unwrap_or_default())
    }

    fn list(&self) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self
            .runs()
            .values()
            .rev()
            .map(|run| RunRecord {
                meta: run.meta.clone(),
                state: run.state.clone(),
            })
            .collect())
    }

    fn resolve_id(&self, prefix: &str) -> Result<String, StoreError> {
        let ids = self
            .runs()
            .keys()
            .filter(|id| id.starts_with(prefix))
            .cloned()
            .collect();
        resolve_among(prefix, ids)
    }
}
