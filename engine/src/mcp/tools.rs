//! The tools: reads through the [`Board`], commands through the
//! [`crate::cli::console::Console`] (the CLI's own requests, built by [`requests`]).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use serde_json::{Value, json};

use super::params::{
    ApproveParams, CancelParams, CostsParams, DEFAULT_LOG_TAIL, DEFAULT_READY_LIMIT,
    DEFAULT_RUNS_LIMIT, LogsParams, ReadyParams, RejectParams, RetryParams, RunParams, RunsParams,
    SessionParams, StartRunParams, TaskParams,
};
use super::{EngineMcp, answer, failure, performed};
use crate::EngineError;
use crate::board::{Board, RunsQuery};
use crate::cli::console::{Wait, requests};
use crate::control::Request;
use crate::logs::read::Selection;

/// Who an approval or rejection given through MCP is recorded as.
const ANSWERED_BY: &str = "mcp";

#[tool_router(vis = "pub(super)")]
impl EngineMcp {
    /// `status`.
    #[tool(
        description = "The engine's state for this repository: version, repository, state \
                       directory, workflow, how many runs are in each status, the runs driven \
                       now, and the day's budget.",
        annotations(title = "Status", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn status(&self) -> CallToolResult {
        let watching = self.watching;
        self.read(move |board| board.status(watching)).await
    }

    /// `tasks`.
    #[tool(
        description = "The task board: every task of the workflow's task source in readiness \
                       order, with its status, priority, dependencies, what blocks it, its \
                       column (blocked, ready, in_progress, done) and its newest run.",
        annotations(title = "Task board", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn tasks(&self) -> CallToolResult {
        answer(self.board.tasks(&self.host).await)
    }

    /// `next_ready_tasks`.
    #[tool(
        description = "The tasks that would run next: the ready tasks (no run going, nothing \
                       blocking them) in the order the engine picks them.",
        annotations(
            title = "Next ready tasks",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn next_ready_tasks(&self, params: Parameters<ReadyParams>) -> CallToolResult {
        let limit = params.0.limit.unwrap_or(DEFAULT_READY_LIMIT);
        answer(
            self.board
                .tasks(&self.host)
                .await
                .map(|board| ready_tasks(&board, limit)),
        )
    }

    /// `task`.
    #[tool(
        description = "One task of the workflow's task source, by id, with its board column \
                       and every run for it (newest first).",
        annotations(title = "Task", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn task(&self, params: Parameters<TaskParams>) -> CallToolResult {
        let id = params.0.id;
        let board = match self.board.tasks(&self.host).await {
            Ok(board) => board,
            Err(e) => return failure(&e),
        };
        let Some(task) = find_task(&board, &id) else {
            return failure(&EngineError::Usage(format!(
                "no task {id:?} in the workflow's task source (the `tasks` tool lists them)"
            )));
        };
        self.read(move |board| {
            let runs = board.runs(&RunsQuery::default())?;
            let runs: Vec<Value> = runs
                .as_array()
                .into_iter()
                .flatten()
                .filter(|row| row.get("task_id").and_then(Value::as_str) == Some(id.as_str()))
                .cloned()
                .collect();
            Ok(json!({"task": task, "runs": runs}))
        })
        .await
    }

    /// `runs`.
    #[tool(
        description = "Runs, newest first (default: the last 50), as `engine runs --json`: \
                       run_id, status, workflow, task, task_id, branch, created_at, \
                       duration_ms, spend. Filters as `engine runs`.",
        annotations(title = "Runs", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn runs(&self, params: Parameters<RunsParams>) -> CallToolResult {
        let p = params.0;
        let query = RunsQuery {
            status: p.status,
            limit: Some(p.limit.unwrap_or(DEFAULT_RUNS_LIMIT)),
            since: p.since,
            workflow: p.workflow,
        };
        self.read(move |board| board.runs(&query)).await
    }

    /// `run`.
    #[tool(
        description = "One run: its status, meta (task, branch, base, workflow), state, and \
                       its stages in pipeline order with their attempts (outcome, times, \
                       spend, whether a log and transcripts exist).",
        annotations(title = "Run", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn run(&self, params: Parameters<RunParams>) -> CallToolResult {
        let run = params.0.run;
        self.read(move |board| board.run(&run)).await
    }

    /// `logs`.
    #[tool(
        description = "What a run's stages printed (command output, log lines, the agent's \
                       text and tool calls), as `engine logs`: the last lines (default 200), \
                       optionally of one stage or attempt number.",
        annotations(title = "Run logs", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn logs(&self, params: Parameters<LogsParams>) -> CallToolResult {
        let p = params.0;
        let selection = Selection {
            stage: p.stage,
            attempt: p.attempt,
        };
        let tail = p.tail.unwrap_or(DEFAULT_LOG_TAIL);
        self.read(move |board| Ok(tailed(board.logs(&p.run, &selection)?, tail)))
            .await
    }

    /// `diff`.
    #[tool(
        description = "What a run changed: its branch against the commit it started from \
                       (`git diff BASE...BRANCH`), cut at 2 MiB (`cut` says so).",
        annotations(title = "Run diff", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn diff(&self, params: Parameters<RunParams>) -> CallToolResult {
        let run = params.0.run;
        self.read(move |board| board.diff(&run)).await
    }

    /// `costs`.
    #[tool(
        description = "What the runs spent (USD and tokens), summed by day, task, stage or \
                       model, as `engine costs --json`.",
        annotations(title = "Costs", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn costs(&self, params: Parameters<CostsParams>) -> CallToolResult {
        let p = params.0;
        self.read(move |board| board.costs(p.by.as_deref(), p.since.as_deref()))
            .await
    }

    /// `start_run`.
    #[tool(
        description = "Start a run of the workflow for a task (`engine run WORKFLOW --task \
                       TASK`): a task id of the task source, or the task as text. Answers once \
                       the run is recorded, with its run_id; the run goes on in the engine \
                       process holding the state directory (follow it with `run` and `logs`).",
        annotations(
            title = "Start a run",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    pub async fn start_run(&self, params: Parameters<StartRunParams>) -> CallToolResult {
        let p = params.0;
        let request = requests::run(&self.board.workflow_file, &p.task, p.base, p.labels);
        self.command(request, Wait::ForRun).await
    }

    /// `run_all_ready`.
    #[tool(
        description = "Run every ready task of the workflow's task source, one after another \
                       or `parallel` at once, until none is ready (`engine run WORKFLOW \
                       --all`). Answers once the first run is recorded (or when there was \
                       nothing to run); the session goes on in the engine process holding the \
                       state directory.",
        annotations(
            title = "Run all ready tasks",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    pub async fn run_all_ready(&self, params: Parameters<SessionParams>) -> CallToolResult {
        let parallel = params.0.parallel.unwrap_or(1);
        let request = match requests::run_all(&self.board.workflow_file, parallel) {
            Ok(request) => request,
            Err(e) => return failure(&e),
        };
        self.session(request).await
    }

    /// `cancel_run`.
    #[tool(
        description = "Cancel a run (`engine cancel RUN`): its agent is stopped, its \
                       `finally:` stages run. Cannot be undone (`retry` runs it again).",
        annotations(
            title = "Cancel a run",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn cancel_run(&self, params: Parameters<CancelParams>) -> CallToolResult {
        let p = params.0;
        self.command(Ok(requests::cancel(&p.run, p.reason)), Wait::ForEnd)
            .await
    }

    /// `approve`.
    #[tool(
        description = "Approve the stage of a run that waits for a human (`engine approve \
                       RUN`); the run goes on.",
        annotations(
            title = "Approve",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn approve(&self, params: Parameters<ApproveParams>) -> CallToolResult {
        let p = params.0;
        let request = requests::answer(&p.run, true, p.reason, ANSWERED_BY);
        self.command(request, Wait::ForEnd).await
    }

    /// `reject`.
    #[tool(
        description = "Reject the stage of a run that waits for a human (`engine reject RUN \
                       --reason R`): the reason (required) becomes the feedback the run goes \
                       back with.",
        annotations(
            title = "Reject",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    pub async fn reject(&self, params: Parameters<RejectParams>) -> CallToolResult {
        let p = params.0;
        let request = requests::answer(&p.run, false, Some(p.reason), ANSWERED_BY);
        self.command(request, Wait::ForEnd).await
    }

    /// `retry`.
    #[tool(
        description = "Run an ended run (failed, cancelled, needs attention) again from a stage \
                       (default: the one that failed), keeping what succeeded before it \
                       (`engine retry RUN [--from STAGE]`). Answers once it goes on.",
        annotations(
            title = "Retry a run",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    pub async fn retry(&self, params: Parameters<RetryParams>) -> CallToolResult {
        let p = params.0;
        self.command(Ok(requests::retry(&p.run, p.from)), Wait::ForRun)
            .await
    }

    /// `pause`.
    #[tool(
        description = "Pause a run (`engine pause RUN`): no new attempt starts (one running \
                       finishes); survives restarts. `unpause` lets it go on.",
        annotations(
            title = "Pause a run",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn pause(&self, params: Parameters<RunParams>) -> CallToolResult {
        self.command(Ok(requests::pause(&params.0.run, true)), Wait::ForEnd)
            .await
    }

    /// `unpause`.
    #[tool(
        description = "Let a paused run go on (`engine unpause RUN`).",
        annotations(
            title = "Unpause a run",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    pub async fn unpause(&self, params: Parameters<RunParams>) -> CallToolResult {
        self.command(Ok(requests::pause(&params.0.run, false)), Wait::ForEnd)
            .await
    }
}

impl EngineMcp {
    /// Reads with `read` off the async threads (the store and the logs are files).
    async fn read(
        &self,
        read: impl FnOnce(&Board) -> Result<Value, EngineError> + Send + 'static,
    ) -> CallToolResult {
        let board = self.board.clone();
        match tokio::task::spawn_blocking(move || read(&board)).await {
            Ok(read) => answer(read),
            Err(e) => failure(&EngineError::Internal(format!("the read failed: {e}"))),
        }
    }

    /// Carries `request` out as the CLI would, answering as `wait` says.
    async fn command(&self, request: Result<Request, EngineError>, wait: Wait) -> CallToolResult {
        let request = match request {
            Ok(request) => request,
            Err(e) => return failure(&e),
        };
        match self.console.perform(request, wait).await {
            Ok(done) => performed(&done),
            Err(e) => failure(&e),
        }
    }

    /// Starts session `request`; answers when it ended (nothing was ready, or it failed), or
    /// once a run it started is recorded (the console says so, or a new run shows up in the
    /// store), whichever comes first. The session goes on.
    /// A session (`run --all`): answered once it recorded its first run (the session reports
    /// it like a single run does), or with its end when no task was ready.
    async fn session(&self, request: Request) -> CallToolResult {
        match self.console.perform(request, Wait::ForRun).await {
            Ok(done) => performed(&done),
            Err(e) => failure(&e),
        }
    }
}

/// The first `limit` tasks of the task board's `ready` column, in readiness order.
pub(super) fn ready_tasks(board: &Value, limit: usize) -> Value {
    let ready: Vec<&Value> = board
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|task| task.get("column").and_then(Value::as_str) == Some("ready"))
        .collect();
    json!({
        "source": board.get("source"),
        "ready": ready.len(),
        "tasks": ready.into_iter().take(limit).collect::<Vec<_>>(),
    })
}

/// The task with id `id` on the task board.
pub(super) fn find_task(board: &Value, id: &str) -> Option<Value> {
    board
        .get("tasks")
        .and_then(Value::as_array)?
        .iter()
        .find(|task| task.get("id").and_then(Value::as_str) == Some(id))
        .cloned()
}

/// `logs` with only its last `tail` lines (all for 0), saying how many were left out.
pub(super) fn tailed(mut logs: Value, tail: usize) -> Value {
    let Some(lines) = logs.get_mut("lines").and_then(Value::as_array_mut) else {
        return logs;
    };
    let total = lines.len();
    let cut = if tail == 0 {
        0
    } else {
        total.saturating_sub(tail)
    };
    lines.drain(..cut);
    if let Some(object) = logs.as_object_mut() {
        object.insert("total_lines".into(), json!(total));
        object.insert("left_out".into(), json!(cut));
    }
    logs
}
