//! `engine watch FILE`: like `engine run FILE --all`, but it keeps looking at the task source
//! and runs tasks as they become ready, until SIGINT/SIGTERM (or `--until`) stops it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::run_modes::{Session, interval, limits, needs_source};
use crate::EngineError;
use crate::project::{PreparedWorkflow, Project, host};
use crate::queue::{QueueOptions, TaskSource};
use crate::time::{Clock, SystemClock};

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
}

pub(super) async fn execute(args: WatchArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let every = interval(&args.interval)?;
    let workflow = super::workflow_path::resolve(args.workflow.as_deref())?;
    let project = Project::locate(state_dir)?;
    let workflow_file =
        std::path::absolute(&workflow).map_err(|e| EngineError::io(&workflow, e))?;
    let loaded = engine_workflow::load_file(&workflow_file)?;
    super::run::check_base(&project.repo, args.base.as_deref(), &loaded)?;
    let host = host()?;
    let prepared = PreparedWorkflow::prepare(&host, loaded).await?;
    let source = TaskSource::of(&host, &prepared, project.repo.root().to_path_buf());
    let source = needs_source(source, &workflow, "engine watch")?;
    let limits = limits(args.until.as_deref(), &prepared, SystemClock.now_ms())?;
    if !args.json {
        eprintln!(
            "watching {} every {} (Ctrl-C stops)",
            source.describe(),
            humantime::format_duration(every)
        );
    }
    let session = Session {
        workflow,
        workflow_file,
        command: "engine watch",
        options: QueueOptions {
            parallel: usize::from(args.parallel),
            watch: Some(every),
            limits,
            human: !args.json,
            // The holding process's, set once it holds the state directory.
            lanes: Arc::default(),
            slots: Arc::default(),
        },
        base: args.base,
        labels: args.labels,
        json: args.json,
        fresh: args.fresh,
    };
    session.run(project, host, prepared, source).await
}
