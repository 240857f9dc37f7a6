//! `engine retry RUN [--from STAGE]`: run an ended run (failed, cancelled, needs attention)
//! again from a stage — by default the one that failed. The stage and everything after it run
//! again with new attempt numbers; what succeeded before it is kept. This process drives the
//! run to its end, like `engine resume`, and exits with the run's exit code.

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use engine_store::{StateDir, Store};

use super::drive::{drive_and_report, progress};
use super::resume::lifecycle_for;
use crate::EngineError;
use crate::project::{Project, host};
use crate::queue;
use crate::terminal::safe;
use crate::time::{Clock, SystemClock};

/// Arguments of `engine retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// The stage to start again from (default: the stage that failed; for a cancelled run,
    /// the first that had not succeeded).
    #[arg(long, value_name = "STAGE")]
    pub from: Option<String>,
    /// Print only a JSON document describing the finished run on stdout.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn execute(args: RetryArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let project = Project::locate(state_dir)?;
    let holder = format!("engine retry {} (pid {})", args.run, std::process::id());
    let state_dir = StateDir::open_locked(&project.state_dir, &holder)?;
    let run_id = state_dir.store().resolve_id(&args.run)?;
    let host = host()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let reporter = progress(args.json);
    let (resumable, plan) = queue::retryable(
        &project.repo,
        &state_dir,
        &host,
        &run_id,
        args.from.as_deref(),
        &*clock,
        reporter.as_ref(),
    )
    .await?;
    if !args.json {
        for line in plan.describe(&run_id) {
            eprintln!("{}", safe(&line));
        }
    }
    let task_id = resumable.state.task.id.clone();
    let meta = resumable.meta.clone();
    let (lifecycle, started) = lifecycle_for(project, state_dir, host, resumable, clock, &reporter);
    lifecycle.claim_again(&meta, &task_id).await?;
    drive_and_report(&lifecycle, started, reporter, args.json).await
}
