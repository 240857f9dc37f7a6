//! What the state directory knows about a source's tasks: unfinished runs (resumed, never
//! replaced by a second run) and succeeded runs whose `done` is not in the source (they count
//! as done). Pure over the runs' records.

use engine_core::RunStatus;
use engine_store::{RunRecord, RunSummary, TaskLink};
use engine_tasks::Known;

/// What picking a task reads of a run: a whole stored record, or the summary the store keeps
/// of it ([`engine_store::Store::summaries`], cheap to read for every run before each task).
pub trait RunFacts {
    /// The run's id.
    fn run_id(&self) -> &str;
    /// When it was created (ms since the epoch).
    fn created_at_ms(&self) -> u64;
    /// Its task's id.
    fn task_id(&self) -> &str;
    /// Where it stands.
    fn status(&self) -> &RunStatus;
    /// Its task source, and what was written back to it.
    fn task_link(&self) -> Option<&TaskLink>;
}

impl RunFacts for RunRecord {
    fn run_id(&self) -> &str {
        &self.meta.run_id
    }
    fn created_at_ms(&self) -> u64 {
        self.meta.created_at_ms
    }
    fn task_id(&self) -> &str {
        &self.state.task.id
    }
    fn status(&self) -> &RunStatus {
        &self.state.status
    }
    fn task_link(&self) -> Option<&TaskLink> {
        self.meta.task_source.as_ref()
    }
}

impl RunFacts for RunSummary {
    fn run_id(&self) -> &str {
        &self.run_id
    }
    fn created_at_ms(&self) -> u64 {
        self.created_at_ms
    }
    fn task_id(&self) -> &str {
        &self.task_id
    }
    fn status(&self) -> &RunStatus {
        &self.status
    }
    fn task_link(&self) -> Option<&TaskLink> {
        self.task_source.as_ref()
    }
}

/// The knowledge of `records` (newest first, as the store lists them) about the tasks of
/// source `label`. With `busy`, another engine process holds the state directory: its
/// unfinished runs are being worked on elsewhere rather than waiting to be resumed.
pub fn known_from_runs<R: RunFacts>(records: &[R], label: &str, busy: bool) -> Known {
    let mut known = Known::default();
    let mut ended = std::collections::BTreeSet::new();
    for record in records {
        let Some(link) = record.task_link() else {
            continue;
        };
        if link.source != label {
            continue;
        }
        let id = record.task_id();
        let run_id = record.run_id();
        if !record.status().is_terminal() {
            let map = if busy {
                &mut known.elsewhere
            } else {
                &mut known.unfinished
            };
            map.entry(id.to_string())
                .or_insert_with(|| run_id.to_string());
            continue;
        }
        // Only the newest ended run of a task speaks for it.
        if !ended.insert(id.to_string()) {
            continue;
        }
        if *record.status() == RunStatus::Succeeded && link.written_back.is_none() {
            known.succeeded.insert(id.to_string(), run_id.to_string());
        }
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::{RunState, Task};
    use engine_store::{RunMeta, TaskLink};

    fn record(
        run: &str,
        task: &str,
        status: RunStatus,
        link: Option<(&str, Option<&str>)>,
    ) -> RunRecord {
        RunRecord {
            meta: RunMeta {
                task_source: link.map(|(source, written)| TaskLink {
                    source: source.into(),
                    written_back: written.map(str::to_string),
                }),
                ..crate::test_fixtures::run_meta(run, "engine/x")
            },
            state: RunState {
                run_id: run.into(),
                task: Task {
                    id: task.into(),
                    ..Task::default()
                },
                status,
                stages: std::collections::BTreeMap::new(),
                seq: 1,
                started_at_ms: None,
                finished_at_ms: None,
                finally: std::collections::BTreeMap::new(),
                paused_at_ms: None,
                deadline_ms: None,
            },
        }
    }

    const MD: &str = "builtin:tasks-md";

    #[test]
    fn unfinished_and_unwritten_successes_are_known_per_source() {
        let failed = RunStatus::Failed {
            stage: "s".into(),
            message: "m".into(),
        };
        let records = [
            record("R9", "T1", RunStatus::Running, Some((MD, None))),
            record("R8", "T2", RunStatus::Succeeded, Some((MD, None))),
            record("R7", "T3", RunStatus::Succeeded, Some((MD, Some("done")))),
            record("R6", "T4", failed.clone(), Some((MD, None))),
            // An older success of T4 no longer speaks for it.
            record("R5", "T4", RunStatus::Succeeded, Some((MD, None))),
            record("R4", "T5", RunStatus::Succeeded, Some(("other.wasm", None))),
            record("R3", "T6", RunStatus::Running, None),
        ];
        let known = known_from_runs(&records, MD, false);
        assert_eq!(
            known.unfinished.into_iter().collect::<Vec<_>>(),
            [("T1".to_string(), "R9".to_string())]
        );
        assert_eq!(
            known.succeeded.into_iter().collect::<Vec<_>>(),
            [("T2".to_string(), "R8".to_string())]
        );
        assert!(known.running.is_empty() && known.settled.is_empty() && known.elsewhere.is_empty());

        let busy = known_from_runs(&records, MD, true);
        assert!(busy.unfinished.is_empty());
        assert_eq!(busy.elsewhere.get("T1").map(String::as_str), Some("R9"));
    }
}
