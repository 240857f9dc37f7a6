//! `engine resume RUN`: continue a run from its last stored transition.

use std::path::Path;

use clap::Args;
use engine_core::{Event, RunStatus};
use engine_store::{StateDir, Store};

use super::drive::{drive_run, exit_code_for};
use crate::EngineError;
use crate::project::{PreparedWorkflow, Project, host, stored_workflow};
use crate::time::now_ms;

/// Arguments of `engine resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// Print only a JSON document describing the finished run on stdout.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn execute(args: ResumeArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let project = Project::locate(state_dir)?;
    let holder = format!("engine resume {} (pid {})", args.run, std::process::id());
    let state_dir = StateDir::open_locked(&project.state_dir, &holder)?;
    let run_id = state_dir.store().resolve_id(&args.run)?;
    let record = state_dir
        .store()
        .load(&run_id)?
        .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
    // The workflow as it was when the run started, not as it is on disk now.
    let loaded = stored_workflow(&record.meta)?;
    let finally_left = !record.state.pending_finally(&loaded.workflow).is_empty();
    if record.state.status.is_terminal() && !finally_left {
        eprintln!("run {run_id} already ended: {}", record.state.status.name());
        return Ok(exit_code_for(&record.state.status));
    }
    let host = host()?;
    let prepared = PreparedWorkflow::prepare(&host, loaded).await?;
    if let Some(worktree) = record
        .meta
        .worktree
        .as_ref()
        .filter(|_| !record.state.status.is_terminal())
    {
        project
            .repo
            .add_worktree(worktree, &record.meta.branch, &record.meta.base_commit)?;
    }
    let first = if record.state.status.is_terminal() {
        None
    } else if record.state.status == RunStatus::Pending {
        Some(Event::RunStarted { at_ms: now_ms() })
    } else {
        Some(Event::Resumed { at_ms: now_ms() })
    };
    drive_run(
        &project.repo,
        &state_dir,
        host,
        prepared,
        record.meta,
        record.state,
        first,
        args.json,
    )
    .await
}
