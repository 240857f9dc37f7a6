//! `engine retry RUN [--from STAGE]`: run an ended run (failed, cancelled, needs attention)
//! again from a stage — by default the one that failed. The stage and everything after it run
//! again with new attempt numbers; what succeeded before it is kept. This process drives the
//! run to its end, like `engine resume`, and exits with the run's exit code.

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use engine_store::Store;

use super::drive::{drive_and_report, progress};
use super::resume::lifecycle_for;
use crate::EngineError;
use crate::control::{Finish, Holding, Request};
use crate::output::Output;
use crate::queue;
use crate::terminal::safe;

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
    let holder = format!("engine retry {} (pid {})", args.run, std::process::id());
    let request = Request::Retry {
        run: args.run,
        from: args.from,
        json: args.json,
    };
    super::hold::locate_and_execute(state_dir, request, &holder).await
}

/// `engine retry RUN [--from STAGE]` in the process holding the state directory, printing on
/// `output`.
pub(super) async fn retry_held(
    holding: &Holding,
    run: &str,
    from: Option<&str>,
    json: bool,
    output: Arc<dyn Output>,
    submitted: bool,
) -> Result<Finish, EngineError> {
    let run_id = holding.state_dir.store().resolve_id(run)?;
    let _driving = crate::queue::driving::claim(&run_id)?;
    let reporter = progress(&output, json);
    let (resumable, plan) = queue::retryable(
        &holding.repo,
        &holding.state_dir,
        &holding.host,
        &run_id,
        from,
        holding.clock.as_ref(),
        reporter.as_ref(),
    )
    .await?;
    output.run_id(&run_id);
    if !json {
        for line in plan.describe(&run_id) {
            output.err(&safe(&line));
        }
    }
    let task_id = resumable.state.task.id.clone();
    let meta = resumable.meta.clone();
    let (lifecycle, started) = lifecycle_for(holding, resumable, &reporter);
    lifecycle.claim_again(&meta, &task_id).await?;
    // Boxed: the future that drives the run is kilobytes large.
    Box::pin(drive_and_report(
        &lifecycle,
        holding,
        started,
        reporter,
        (&output, json, submitted),
    ))
    .await
}
