//! What the store keeps about a run besides its event log.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Fixed facts about a run, written when it is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMeta {
    /// The run's id (a ULID: lexicographic order is creation order).
    pub run_id: String,
    /// Absolute path of the workflow file.
    pub workflow_file: PathBuf,
    /// The workflow's name.
    pub workflow_name: String,
    /// The workflow YAML as it was when the run was created; resume uses this, not the file.
    pub workflow_source: String,
    /// When the run was created (ms since the Unix epoch).
    pub created_at_ms: u64,
    /// The repository's root.
    pub repo_root: PathBuf,
    /// The run's worktree; `None` after cleanup.
    pub worktree: Option<PathBuf>,
    /// The run's branch.
    pub branch: String,
    /// The branch the run started from.
    pub base_branch: String,
    /// The commit the run started from.
    pub base_commit: String,
    /// The task source the run's task came from (`engine run` without an inline task, `--all`,
    /// `watch`); `None` for an inline task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_source: Option<TaskLink>,
}

/// Where a run's task came from, and what was written back to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskLink {
    /// The source (`builtin:tasks-md`, or a plugin's path).
    pub source: String,
    /// The status written back when the run ended (`done`, `todo`, `blocked`), or `not
    /// claimed` for a run that never started because its task's claim was refused; `None`
    /// while the run goes on, when the source is read-only, or when writing it failed (engine
    /// tries again before it next picks a task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_back: Option<String>,
}

/// A run as loaded: its fixed facts and its latest snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Fixed facts.
    pub meta: RunMeta,
    /// The snapshot after the latest committed event.
    pub state: engine_core::RunState,
}

/// What picking a task needs of a run, without its workflow, stages and attempts: the run
/// queue reads this for every run before each task it starts ([`crate::Store::summaries`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// The run's id.
    pub run_id: String,
    /// When the run was created (ms since the Unix epoch).
    pub created_at_ms: u64,
    /// Its task's id.
    pub task_id: String,
    /// Where the run stands.
    pub status: engine_core::RunStatus,
    /// The task source its task came from, and what was written back to it.
    pub task_source: Option<TaskLink>,
}

impl RunSummary {
    /// The summary of `record`.
    pub fn of(record: &RunRecord) -> RunSummary {
        RunSummary {
            run_id: record.meta.run_id.clone(),
            created_at_ms: record.meta.created_at_ms,
            task_id: record.state.task.id.clone(),
            status: record.state.status.clone(),
            task_source: record.meta.task_source.clone(),
        }
    }
}
