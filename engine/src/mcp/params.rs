//! The parameters of the MCP tools, with the JSON schemas clients see (field doc comments become
//! the schemas' descriptions).

use rmcp::schemars::JsonSchema;
use serde::Deserialize;

/// How many ready tasks `next_ready_tasks` lists when not told.
pub const DEFAULT_READY_LIMIT: usize = 5;

/// How many runs `runs` lists when not told.
pub const DEFAULT_RUNS_LIMIT: usize = 50;

/// How many log lines `logs` gives when not told (the last ones).
pub const DEFAULT_LOG_TAIL: usize = 200;

/// `next_ready_tasks`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ReadyParams {
    /// At most this many tasks (default 5).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `task`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct TaskParams {
    /// The task's id in the workflow's task source (e.g. `T-3`).
    pub id: String,
}

/// `runs`: the filters of `engine runs`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct RunsParams {
    /// Only runs of these statuses, comma-separated: `pending`, `running`, `paused`,
    /// `interrupted`, `succeeded`, `failed`, `cancelled`, `needs_attention`.
    #[serde(default)]
    pub status: Option<String>,
    /// At most this many runs, newest first (default 50).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Only runs created since: a date (`2026-12-01`), a date and time, or a duration back
    /// from now (`2h`, `3d`).
    #[serde(default)]
    pub since: Option<String>,
    /// Only runs of this workflow (its name or file).
    #[serde(default)]
    pub workflow: Option<String>,
}

/// A tool that names one run.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct RunParams {
    /// The run id (a unique prefix is enough).
    pub run: String,
}

/// `logs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct LogsParams {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// Only this stage's attempts.
    #[serde(default)]
    pub stage: Option<String>,
    /// Only attempts with this number (from 1).
    #[serde(default)]
    pub attempt: Option<u32>,
    /// Only the last N lines (default 200; 0 for all).
    #[serde(default)]
    pub tail: Option<usize>,
}

/// `costs`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct CostsParams {
    /// Sum by `day` (default), `task`, `stage` or `model`.
    #[serde(default)]
    pub by: Option<String>,
    /// Only runs created since: a date, a date and time, or a duration back from now.
    #[serde(default)]
    pub since: Option<String>,
}

/// `start_run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct StartRunParams {
    /// The task: the id of a task of the workflow's task source, or the task as text (first
    /// line = title).
    pub task: String,
    /// The base branch to start from and merge into (default: the workflow's `git.base`, else
    /// the repository's default branch).
    #[serde(default)]
    pub base: Option<String>,
    /// Labels of the task (`if:` conditions and triage rules read them).
    #[serde(default)]
    pub labels: Vec<String>,
}

/// `run_all_ready`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct SessionParams {
    /// Up to this many runs at once, each in its own worktree (1 to 64, default 1).
    #[serde(default)]
    pub parallel: Option<u16>,
}

/// `cancel_run`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct CancelParams {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// Why (recorded in the run; default "cancelled by user").
    #[serde(default)]
    pub reason: Option<String>,
}

/// `approve`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ApproveParams {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// A note recorded with the approval.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `reject`. Its `reason` is required in the schema, yet read as empty when missing: the
/// refusal is then the CLI's own, as a tool error.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars", extend("required" = ["run", "reason"]))]
pub struct RejectParams {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// Why (required, not empty): recorded, and given as feedback to the stage the run goes
    /// back to.
    #[serde(default)]
    pub reason: String,
}

/// `retry`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct RetryParams {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// The stage to start again from (default: the stage that failed; for a cancelled run,
    /// the first that had not succeeded).
    #[serde(default)]
    pub from: Option<String>,
}
