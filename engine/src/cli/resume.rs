//! `engine resume RUN`: continue a run from its last stored transition. A run of a task-source
//! task writes its end back to the source, like `engine run`.

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use engine_store::Store;

use super::drive::{drive_and_report, exit_code_for, progress};
use crate::EngineError;
use crate::control::{Finish, Holding, Request};
use crate::output::Output;
use crate::queue::{self, Lifecycle, LifecycleSetup, Resumable, Started, TaskSource};
use crate::report::Reporter;

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
    let holder = format!("engine resume {} (pid {})", args.run, std::process::id());
    let request = Request::Resume {
        run: args.run,
        json: args.json,
    };
    super::hold::locate_and_execute(state_dir, request, &holder).await
}

/// `engine resume RUN` in the process holding the state directory, printing on `output`.
pub(super) async fn resume_held(
    holding: &Holding,
    run: &str,
    json: bool,
    output: Arc<dyn Output>,
    submitted: bool,
) -> Result<Finish, EngineError> {
    let run_id = holding.state_dir.store().resolve_id(run)?;
    match Box::pin(continue_stored(holding, &run_id, json, &output, submitted)).await? {
        Ok(finish) => Ok(finish),
        Err(status) => {
            output.err(&format!("run {run_id} already ended: {}", status.name()));
            Ok(Finish::Exit(exit_code_for(&status)))
        }
    }
}

/// Continues the stored run `run_id` in the state directory `holding` holds: drives an
/// unfinished run on from its last transition, or runs the `finally:` stages an ended run has
/// not run yet (then removes its worktree unless the workflow keeps it). Returns how it
/// finished, or the status of a run that ended with nothing left to do.
pub(super) async fn continue_stored(
    holding: &Holding,
    run_id: &str,
    json: bool,
    output: &Arc<dyn Output>,
    submitted: bool,
) -> Result<Result<Finish, engine_core::RunStatus>, EngineError> {
    let _driving = crate::queue::driving::claim(run_id)?;
    let reporter = progress(output, json);
    output.run_id(run_id);
    let taken_up = queue::resumable(
        &holding.repo,
        holding.state_dir.store(),
        &holding.host,
        run_id,
        holding.clock.as_ref(),
        reporter.as_ref(),
    )
    .await?;
    let resumable = match taken_up {
        Ok(resumable) => resumable,
        Err(status) => return Ok(Err(status)),
    };
    let (lifecycle, started) = lifecycle_for(holding, resumable, &reporter);
    // Boxed: the future that drives the run is kilobytes large.
    let finish = Box::pin(drive_and_report(
        &lifecycle,
        holding,
        started,
        reporter,
        (output, json, submitted),
    ))
    .await?;
    Ok(Ok(finish))
}

/// The lifecycle a stored run taken up again (`resume`, `retry`) goes on in, and the run begun
/// in it: the workflow it was started with, writing its end back to that workflow's task
/// source.
pub(super) fn lifecycle_for(
    holding: &Holding,
    resumable: Resumable,
    reporter: &Arc<dyn Reporter>,
) -> (Lifecycle, Started) {
    let source = TaskSource::of(
        &holding.host,
        &resumable.prepared,
        holding.repo.root().to_path_buf(),
    );
    let lifecycle = Lifecycle::new(LifecycleSetup {
        repo: holding.repo.clone(),
        state_dir: holding.state_dir.clone(),
        host: holding.host.clone(),
        prepared: Arc::new(resumable.prepared),
        workflow_file: resumable.meta.workflow_file.clone(),
        source,
        base: None,
        labels: Vec::new(),
        retry_failed: false,
        clock: holding.clock.clone(),
        reporter: reporter.clone(),
    });
    let started = Started {
        prepared: None,
        meta: resumable.meta,
        state: resumable.state,
        first: resumable.first,
        // The caller took the run to drive it.
        driving: None,
    };
    (lifecycle, started)
}
