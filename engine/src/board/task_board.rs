//! The task board: the workflow's task source as four columns (blocked, ready, in progress,
//! done), each task with the newest run for it.

use std::collections::BTreeMap;

use engine_runtime::Host;
use engine_store::RunRecord;
use engine_tasks::TaskStatus;
use serde_json::{Value, json};

use super::Board;
use crate::EngineError;
use crate::history::{Drivers, shown_status_of};

/// A task board column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    /// Not ready: a dependency is not done, or it is marked blocked.
    Blocked,
    /// Ready to run.
    Ready,
    /// A run for it has not ended (or the source says it is in progress).
    InProgress,
    /// The source says it is done.
    Done,
}

/// The column of a task: `status` as the source says, `ready` as readiness says, and whether a
/// run for it has not ended.
pub fn column_of(status: TaskStatus, ready: bool, run_going: bool) -> Column {
    match status {
        TaskStatus::Done => Column::Done,
        _ if run_going => Column::InProgress,
        TaskStatus::InProgress => Column::InProgress,
        TaskStatus::Todo if ready => Column::Ready,
        TaskStatus::Blocked | TaskStatus::Todo => Column::Blocked,
    }
}

impl Board {
    /// `GET /api/tasks`: `engine tasks --json`, each task with its `column` and newest `run`.
    pub async fn tasks(&self, host: &Host) -> Result<Value, EngineError> {
        let loaded = engine_workflow::load_file(&self.workflow_file)?;
        let prepared = match crate::tasks::prepare_source(host, &loaded).await {
            Ok(Some(prepared)) => prepared,
            Ok(None) => {
                return Ok(json!({"source": null, "tasks": [], "warnings": [], "problems": []}));
            }
            Err(diagnostics) => return Err(engine_workflow::Diagnostics(diagnostics).into()),
        };
        let listing = crate::tasks::list(host, &prepared, &self.repo_root).await?;
        let (records, drivers) = self.records()?;
        let newest = newest_runs(&records, &drivers);
        let mut document = crate::tasks::render::json(&listing);
        if let Some(tasks) = document.get_mut("tasks").and_then(Value::as_array_mut) {
            for (task, entry) in tasks.iter_mut().zip(
                listing
                    .readiness
                    .order
                    .iter()
                    .filter(|e| listing.tasks.get(e.index).is_some()),
            ) {
                let Some(source_task) = listing.tasks.get(entry.index) else {
                    continue;
                };
                let run = newest.get(source_task.id.as_str());
                let going = run.is_some_and(|(_, status, _)| !is_ended(status));
                let column = column_of(source_task.status, entry.ready, going);
                if let Some(object) = task.as_object_mut() {
                    object.insert("column".into(), json!(column));
                    object.insert(
                        "run".into(),
                        run.map_or(
                            Value::Null,
                            |(id, status, _)| json!({"run_id": id, "status": status}),
                        ),
                    );
                }
            }
        }
        Ok(document)
    }
}

fn is_ended(status: &str) -> bool {
    matches!(
        status,
        "succeeded" | "failed" | "cancelled" | "needs_attention"
    )
}

/// For each task id, its newest run: id, shown status, created time.
fn newest_runs<'a>(
    records: &'a [RunRecord],
    drivers: &Drivers,
) -> BTreeMap<&'a str, (&'a str, &'static str, u64)> {
    let mut newest: BTreeMap<&str, (&str, &'static str, u64)> = BTreeMap::new();
    for record in records {
        let task = record.state.task.id.as_str();
        if task.is_empty() {
            continue;
        }
        let created = record.meta.created_at_ms;
        if newest.get(task).is_none_or(|(_, _, at)| *at < created) {
            newest.insert(
                task,
                (
                    record.meta.run_id.as_str(),
                    shown_status_of(&record.state, drivers),
                    created,
                ),
            );
        }
    }
    newest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_follow_status_readiness_and_runs() {
        assert_eq!(column_of(TaskStatus::Done, true, true), Column::Done);
        assert_eq!(column_of(TaskStatus::Todo, true, true), Column::InProgress);
        assert_eq!(column_of(TaskStatus::Todo, true, false), Column::Ready);
        assert_eq!(column_of(TaskStatus::Todo, false, false), Column::Blocked);
        assert_eq!(column_of(TaskStatus::Blocked, true, false), Column::Blocked);
        assert_eq!(
            column_of(TaskStatus::InProgress, false, false),
            Column::InProgress
        );
    }
}
