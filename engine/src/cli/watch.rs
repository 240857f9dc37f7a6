//! `engine watch FILE`: like `engine run FILE --all`, but it keeps looking at the task source
//! and runs tasks as they become ready, until SIGINT/SIGTERM (or `--until`) stops it.

use std::path::{Path, PathBuf};

use clap::Args;

use super::run_modes::interval;
use crate::EngineError;
use crate::control::{Request, SessionSubmission};
use crate::project::Project;

/// Arguments of `engine watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The workflow file, with a `tasks:` section (default: `workflows/engine.yaml` of the
    /// repository, the one `engine init` writes).
    pub workflow: Option<PathBuf>,
    /// How often to look at the task source for tasks that became ready.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub interval: String,
    /// Up to N runs at once, each in its own worktree.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// Stop starting runs after this time (then end once the runs going on finished): a
    /// local clock time (`18:30`), a duration (`8h`) or an RFC 3339 time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Base branch to start from and merge into (as for `engine run`).
    #[arg(long)]
    pub base: Option<String>,
    /// A label added to every task (repeatable).
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// Print only a JSON summary of the session on stdout when it ends.
    #[arg(long)]
    pub json: bool,
    /// Start a task whose last run failed over in a new run (default: that run goes on from
    /// the stage that failed, keeping what succeeded before it, when the workflow is
    /// unchanged).
    #[arg(long)]
    pub fresh: bool,
    /// Only the tasks of this epic, in dependency order (see `engine run --epic` and
    /// docs/epics.md).
    #[arg(long, value_name = "ID")]
    pub epic: Option<String>,
}

pub(super) async fn execute(args: WatchArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let every = interval(&args.interval)?;
    let workflow = super::workflow_path::resolve(args.workflow.as_deref())?;
    let project = Project::locate(state_dir)?;
    let workflow_file =
        std::path::absolute(&workflow).map_err(|e| EngineError::io(&workflow, e))?;
    let loaded = engine_workflow::load_file(&workflow_file)?;
    super::run::check_base(&project.repo, args.base.as_deref(), &loaded)?;
    let holder = format!(
        "engine watch {} (pid {})",
        workflow.display(),
        std::process::id()
    );
    let session = SessionSubmission {
        workflow,
        workflow_file,
        watch_ms: Some(u64::try_from(every.as_millis()).unwrap_or(u64::MAX)),
        parallel: args.parallel,
        until: args.until,
        base: args.base,
        labels: args.labels,
        json: args.json,
        fresh: args.fresh,
        env: crate::secrets::environment_digests(),
        epic: args.epic,
    };
    Box::pin(super::hold::execute(
        &project,
        Request::Session(session),
        &holder,
    ))
    .await
}
