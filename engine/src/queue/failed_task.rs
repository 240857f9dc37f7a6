//! A task of the source whose last run failed, picked again: that run goes on from the stage
//! that failed (see [`super::LifecycleSetup::retry_failed`]).

use super::known::RunFacts;
use super::lifecycle::{Begun, Lifecycle, Started};
use super::{TaskSource, driving};
use crate::EngineError;

impl Lifecycle {
    /// Opens `run_id`, the failed last run of `task`, again from its failed stage (claiming the
    /// task in its name); `Ok(Err(why))` when it cannot be (its branch is gone, ...): the caller
    /// starts a new run instead.
    pub(super) async fn retry_failed(
        &self,
        source: &TaskSource,
        task: &engine_tasks::Task,
        run_id: &str,
    ) -> Result<Result<Begun, String>, EngineError> {
        let setup = &self.setup;
        let taken = driving::claim(run_id)?;
        if let Err(e) = self.claim(source, &task.id, run_id).await {
            return Ok(Ok(Begun::Refused(format!(
                "the claim of {} was refused: {e}",
                task.id
            ))));
        }
        let (clock, reporter) = (setup.clock.as_ref(), setup.reporter.as_ref());
        let opened = super::retryable(
            &setup.repo,
            &setup.state_dir,
            &setup.host,
            run_id,
            None,
            clock,
            reporter,
        )
        .await;
        let (resumable, plan) = match opened {
            Ok(opened) => opened,
            Err(e) => return Ok(Err(e.to_string())),
        };
        for line in plan.describe(run_id) {
            reporter.message(&line);
        }
        Ok(Ok(Begun::Run(Box::new(Started {
            prepared: Some(resumable.prepared),
            meta: resumable.meta,
            state: resumable.state,
            first: resumable.first,
            driving: Some(taken),
        }))))
    }
}

/// The newest run of task `task_id` of source `label` when it failed (not when it was
/// cancelled, needs attention, succeeded or has not ended).
pub(super) fn failed_last_run<'a, R: RunFacts>(
    records: &'a [R],
    label: &str,
    task_id: &str,
) -> Option<&'a R> {
    records
        .iter()
        .filter(|record| {
            record.task_id() == task_id
                && record.task_link().is_some_and(|link| link.source == label)
        })
        .max_by_key(|record| (record.created_at_ms(), record.run_id()))
        .filter(|record| matches!(record.status(), engine_core::RunStatus::Failed { .. }))
}
