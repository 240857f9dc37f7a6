//! The lifecycle's calls into its task source: listing, claims, write-backs, and what the state
//! directory knows about the source's tasks. Each call takes the source's turn.

use std::sync::atomic::Ordering;

use engine_store::RunMeta;
use engine_tasks::Known;

use super::Lifecycle;
use crate::EngineError;
use crate::driver::Driven;
use crate::queue::{TaskSource, WriteBack, driving, known_from_runs, writeback};
use crate::tasks::Listing;

impl Lifecycle {
    /// Writes back the ends of earlier runs whose status the source did not get (engine stopped
    /// or the source failed right after they ended), each reported; nothing without a source.
    pub async fn reconcile(&self) -> Result<(), EngineError> {
        let Some(source) = &self.setup.source else {
            return Ok(());
        };
        // The runs' summaries (kept in memory once read), not their records: this comes before
        // the first task is picked, and reading every record grew with the runs stored.
        let summaries = self.store().summaries()?;
        let _turn = self.source_turn.lock().await;
        for (id, outcome) in writeback::reconcile(source, self.store(), &summaries).await {
            self.setup.reporter.message(&outcome.describe(&id));
        }
        Ok(())
    }

    /// Every task of the source and which are ready; the listing's warnings are reported the
    /// first time.
    pub async fn list(&self) -> Result<Listing, EngineError> {
        let source = self.source()?;
        let began = std::time::Instant::now();
        let listing = {
            let _turn = self.source_turn.lock().await;
            source.list().await?
        };
        tracing::debug!(
            tasks = listing.tasks.len(),
            ms = format_args!("{:.1}", began.elapsed().as_secs_f64() * 1000.0),
            "tasks listed"
        );
        if !self.warned.swap(true, Ordering::SeqCst) {
            for warning in crate::tasks::render::warnings(&listing) {
                self.setup.reporter.message(&warning);
            }
        }
        Ok(listing)
    }

    /// What the state directory knows about the source's tasks (their runs).
    pub fn known(&self) -> Result<Known, EngineError> {
        let source = self.source()?;
        // The runs' summaries, not their records: read before every task picked, they cost
        // the same however many runs are stored.
        let mut known = known_from_runs(&self.store().summaries()?, source.label(), false);
        // An unfinished run this process drives (a run submitted from another terminal, or
        // begun and waiting for its turn) is running, not one to take up.
        let driven: Vec<String> = known
            .unfinished
            .iter()
            .filter(|(_, run_id)| driving::is_driven(run_id))
            .map(|(task, _)| task.clone())
            .collect();
        for task in driven {
            if let Some(run_id) = known.unfinished.remove(&task) {
                known.running.insert(task, run_id);
            }
        }
        Ok(known)
    }

    /// Writes the end of a driven run back to its task: nothing for a run stopped before its
    /// end, or of no source's task.
    pub(super) async fn write_back(&self, driven: &Driven) -> Option<WriteBack> {
        let source = self.setup.source.as_ref()?;
        if driven.interrupted || driven.meta.task_source.is_none() {
            return None;
        }
        let mut meta = driven.meta.clone();
        let _turn = self.source_turn.lock().await;
        writeback::write_back(source, self.store(), &mut meta, &driven.state).await
    }

    /// Claims the task of a run opened again (`engine retry`) in that run's name; nothing for a
    /// run of no task of this lifecycle's source. A refused claim is an error: the run is not
    /// retried.
    pub async fn claim_again(&self, meta: &RunMeta, task_id: &str) -> Result<(), EngineError> {
        let Some(source) = &self.setup.source else {
            return Ok(());
        };
        if meta
            .task_source
            .as_ref()
            .is_none_or(|link| link.source != source.label())
        {
            return Ok(());
        }
        self.claim(source, task_id, &meta.run_id)
            .await
            .map_err(|e| {
                EngineError::Usage(format!(
                    "the claim of {task_id} was refused: {e}; run {} was not retried",
                    meta.run_id
                ))
            })
    }

    pub(in crate::queue) async fn claim(
        &self,
        source: &TaskSource,
        task_id: &str,
        run_id: &str,
    ) -> Result<(), engine_tasks::SourceError> {
        let _turn = self.source_turn.lock().await;
        writeback::claim(source, task_id, run_id).await
    }
}
