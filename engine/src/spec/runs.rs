//! The runs of the state store as the traceability report shows them: by the id of the task
//! each run worked on, with its status, commits and the commit its merge landed.

use std::collections::HashMap;

use engine_core::RunState;
use serde::Serialize;

use crate::history::Listed;

/// One run of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunEntry {
    /// The run id.
    pub run_id: String,
    /// Its status as `engine runs` shows it (`succeeded`, `failed`, `interrupted`...).
    pub status: String,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// The commits its attempts added to its branch, oldest first.
    pub commits: Vec<String>,
    /// The commit its merge stage landed on the base branch, when one did.
    pub merged_commit: Option<String>,
}

/// The runs of `listed` by task id, each task's runs oldest first.
pub fn by_task(listed: &[Listed]) -> HashMap<String, Vec<RunEntry>> {
    let mut out: HashMap<String, Vec<(u64, RunEntry)>> = HashMap::new();
    for Listed { record, status } in listed {
        let entry = RunEntry {
            run_id: record.meta.run_id.clone(),
            status: (*status).to_string(),
            created_at: crate::time::rfc3339(record.meta.created_at_ms),
            commits: record.state.commits(),
            merged_commit: merged_commit(&record.state),
        };
        out.entry(record.state.task.id.clone())
            .or_default()
            .push((record.meta.created_at_ms, entry));
    }
    out.into_iter()
        .map(|(task, mut runs)| {
            runs.sort_by(|a, b| (a.0, &a.1.run_id).cmp(&(b.0, &b.1.run_id)));
            (task, runs.into_iter().map(|(_, run)| run).collect())
        })
        .collect()
}

/// The commit a stage of the run merged: the `merged_sha` of a succeeded stage whose outputs
/// say `merged: true` (what `builtin:merge` reports).
pub fn merged_commit(state: &RunState) -> Option<String> {
    state
        .stages
        .values()
        .filter_map(|stage| stage.outputs.as_ref())
        .filter(|outputs| outputs.get("merged") == Some(&serde_json::Value::Bool(true)))
        .find_map(|outputs| outputs.get("merged_sha")?.as_str().map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::{RunStatus, StageState};
    use engine_store::RunRecord;

    fn record(run_id: &str, task: &str, created: u64, merged: Option<&str>) -> RunRecord {
        let mut state: RunState = serde_json::from_value(serde_json::json!({
            "run_id": run_id,
            "task": { "id": task, "title": "t", "body": "" },
            "status": { "status": "succeeded" },
            "stages": {},
            "seq": 1,
            "started_at_ms": created,
            "finished_at_ms": created + 1,
        }))
        .unwrap();
        assert_eq!(state.status, RunStatus::Succeeded);
        let mut merge = StageState::new();
        merge.outputs = Some(match merged {
            Some(sha) => serde_json::json!({ "merged": true, "merged_sha": sha }),
            None => serde_json::json!({ "merged": false, "merged_sha": "ignored" }),
        });
        state.stages.insert("merge".into(), merge);
        let mut meta = crate::test_fixtures::run_meta(run_id, "b");
        meta.created_at_ms = created;
        RunRecord { meta, state }
    }

    #[test]
    fn groups_runs_by_task_oldest_first_with_the_merged_commit() {
        let listed = vec![
            Listed {
                record: record("R2", "TASK-1", 2_000, Some("feed")),
                status: "succeeded",
            },
            Listed {
                record: record("R1", "TASK-1", 1_000, None),
                status: "failed",
            },
            Listed {
                record: record("R3", "TASK-2", 3_000, None),
                status: "interrupted",
            },
        ];
        let runs = by_task(&listed);
        let one: Vec<(&str, &str, Option<&str>)> = runs["TASK-1"]
            .iter()
            .map(|r| {
                (
                    r.run_id.as_str(),
                    r.status.as_str(),
                    r.merged_commit.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            one,
            [("R1", "failed", None), ("R2", "succeeded", Some("feed"))]
        );
        assert_eq!(runs["TASK-2"][0].status, "interrupted");
    }
}
