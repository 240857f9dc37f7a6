//! Claiming a task before its run and writing the run's end back to the task source:
//! `done` when the run succeeded (for a workflow with a merge stage: merged), `todo` with a note
//! when it failed or was cancelled (a later session may try again), `blocked` with a note when
//! it needs attention (a human has to look). A run stopped by a signal writes nothing: the task
//! stays claimed and the run resumable.
//!
//! Writing back never decides a run's outcome: a failure is reported, and remembered in the
//! run (`RunMeta::task_source.written_back` stays `None`) so engine writes it again before it
//! next picks a task ([`reconcile`]).

use engine_core::{RunState, RunStatus};
use engine_store::{RunMeta, RunSummary, Store};
use engine_tasks::{SourceError, TaskStatus};

use super::TaskSource;

/// The status a run's end writes back, with the note that goes with it; `None` while the run
/// has not ended.
pub fn end_status(state: &RunState) -> Option<(TaskStatus, String)> {
    let id = &state.run_id;
    match &state.status {
        RunStatus::Succeeded => Some((TaskStatus::Done, format!("done by engine run {id}"))),
        RunStatus::Failed { stage, message } => Some((
            TaskStatus::Todo,
            format!("engine run {id} failed at {stage}: {message}"),
        )),
        RunStatus::Cancelled { reason } => Some((
            TaskStatus::Todo,
            format!("engine run {id} was cancelled: {reason}"),
        )),
        RunStatus::NeedsAttention { stage, reason } => Some((
            TaskStatus::Blocked,
            format!("engine run {id} needs attention ({stage}): {reason}"),
        )),
        RunStatus::Pending | RunStatus::Running => None,
    }
}

/// What became of a task's status when its run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteBack {
    /// The source now says `status`.
    Written {
        /// The status written.
        status: TaskStatus,
    },
    /// The source may not write (for tasks-md: `tasks.permissions.workspace` is not
    /// `write`), or answered that it cannot.
    ReadOnly,
    /// Writing `status` failed; engine tries again before it next picks a task.
    Failed {
        /// The status that should have been written.
        status: TaskStatus,
        /// Why it failed.
        error: String,
    },
}

impl WriteBack {
    /// For `--json` documents: `{"written": "done"}`, `{"read_only": true}` or
    /// `{"failed": "done", "error": "..."}`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            WriteBack::Written { status } => serde_json::json!({ "written": status }),
            WriteBack::ReadOnly => serde_json::json!({ "read_only": true }),
            WriteBack::Failed { status, error } => {
                serde_json::json!({ "failed": status, "error": error })
            }
        }
    }

    /// One line for people.
    pub fn describe(&self, task_id: &str) -> String {
        match self {
            WriteBack::Written { status } => format!("{task_id} is now {status} in the source"),
            WriteBack::ReadOnly => format!(
                "{task_id}: the task source is read-only (for tasks-md: \
                 tasks.permissions.workspace is not write), so its status was not written"
            ),
            WriteBack::Failed { status, error } => format!(
                "warning: could not mark {task_id} {status} in the task source: {error} (the \
                 run's outcome stands; engine tries again before it next picks a task)"
            ),
        }
    }
}

/// Claims `task_id` in the name of run `run_id` before the run starts (a no-op for a
/// read-only source; a source that cannot write after all, answering `unsupported`, counts as
/// read-only). Claiming again for the same run is harmless.
pub async fn claim(source: &TaskSource, task_id: &str, run_id: &str) -> Result<(), SourceError> {
    if !source.writes_back() {
        return Ok(());
    }
    let claimed = source
        .host
        .claim_task(&source.prepared.source, &source.call(), task_id, run_id)
        .await;
    match claimed {
        Ok(_) | Err(SourceError::Unsupported(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes the end of the run (`meta`, `state`) back to its task and records in the run that
/// it was written. `None` while the run has not ended.
pub async fn write_back(
    source: &TaskSource,
    store: &dyn Store,
    meta: &mut RunMeta,
    state: &RunState,
) -> Option<WriteBack> {
    let (status, note) = end_status(state)?;
    if !source.writes_back() {
        return Some(WriteBack::ReadOnly);
    }
    let result = source
        .host
        .update_task(
            &source.prepared.source,
            &source.call(),
            &state.task.id,
            status,
            Some(&note),
        )
        .await;
    match result {
        Ok(_) => {}
        Err(SourceError::Unsupported(_)) => return Some(WriteBack::ReadOnly),
        Err(e) => {
            return Some(WriteBack::Failed {
                status,
                error: e.to_string(),
            });
        }
    }
    if let Some(link) = meta.task_source.as_mut() {
        link.written_back = Some(status.as_str().to_string());
        // Lazily: the source has it; a crash that loses the record only means it is written
        // once more by the next reconcile (idempotent).
        if let Err(e) = store.update_meta_lazily(meta) {
            tracing::warn!(run = %meta.run_id, "could not record the write-back: {e}");
        }
    }
    Some(WriteBack::Written { status })
}

/// Writes back the ends of runs of this source whose status was not written (engine stopped
/// or the source failed right after the run ended): the newest ended run of each task whose
/// newer runs are not going on. Returns what happened, per task.
pub async fn reconcile(
    source: &TaskSource,
    store: &dyn Store,
    summaries: &[RunSummary],
) -> Vec<(String, WriteBack)> {
    if !source.writes_back() {
        return Vec::new();
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut done = Vec::new();
    // Newest first: only a task's newest run speaks for it. Only a run whose end is still to
    // be written back is read whole.
    for summary in summaries {
        let Some(link) = &summary.task_source else {
            continue;
        };
        if link.source != source.label() || !seen.insert(summary.task_id.clone()) {
            continue;
        }
        if link.written_back.is_some() || !summary.status.is_terminal() {
            continue;
        }
        let record = match store.load(&summary.run_id) {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(
                    "cannot read run {} to write its end back: {e}",
                    summary.run_id
                );
                continue;
            }
        };
        let mut meta = record.meta.clone();
        if let Some(outcome) = write_back(source, store, &mut meta, &record.state).await {
            done.push((record.state.task.id.clone(), outcome));
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: RunStatus) -> RunState {
        RunState {
            run_id: "R1".into(),
            task: engine_core::Task::default(),
            status,
            stages: std::collections::BTreeMap::new(),
            seq: 3,
            started_at_ms: Some(1),
            finished_at_ms: Some(2),
            finally: std::collections::BTreeMap::new(),
            paused_at_ms: None,
            deadline_ms: None,
        }
    }

    #[test]
    fn each_end_has_its_status_and_note() {
        let cases = [
            (RunStatus::Succeeded, Some(TaskStatus::Done)),
            (
                RunStatus::Failed {
                    stage: "test".into(),
                    message: "2 tests failed".into(),
                },
                Some(TaskStatus::Todo),
            ),
            (
                RunStatus::Cancelled {
                    reason: "by hand".into(),
                },
                Some(TaskStatus::Todo),
            ),
            (
                RunStatus::NeedsAttention {
                    stage: "triage".into(),
                    reason: "too vague".into(),
                },
                Some(TaskStatus::Blocked),
            ),
            (RunStatus::Running, None),
            (RunStatus::Pending, None),
        ];
        for (status, expected) in cases {
            let got = end_status(&state(status.clone()));
            assert_eq!(got.as_ref().map(|(s, _)| *s), expected, "{status:?}");
            if let Some((_, note)) = got {
                assert!(note.contains("engine run R1"), "{note}");
            }
        }
        let (_, note) = end_status(&state(RunStatus::Failed {
            stage: "test".into(),
            message: "2 tests failed".into(),
        }))
        .unwrap();
        assert_eq!(note, "engine run R1 failed at test: 2 tests failed");
    }
}
