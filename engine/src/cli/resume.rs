//! `engine resume RUN`: continue a run from its last stored transition. A run of a task-source
//! task writes its end back to the source, like `engine run`.

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use engine_store::{StateDir, Store};

use super::drive::{drive_and_report, exit_code_for, progress};
use crate::EngineError;
use crate::project::{Project, host};
use crate::queue::{self, Lifecycle, LifecycleSetup, Resumable, Started, TaskSource};
use crate::report::Reporter;
use crate::time::{Clock, SystemClock};
use engine_runtime::Host;

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
    match Box::pin(continue_stored(project, state_dir, &run_id, args.json)).await? {
        Ok(code) => Ok(code),
        Err(status) => {
            eprintln!("run {run_id} already ended: {}", status.name());
            Ok(exit_code_for(&status))
        }
    }
}

/// Continues the stored run `run_id` in `state_dir` (held): drives an unfinished run on from
/// its last transition, or runs the `finally:` stages an ended run has not run yet (then
/// removes its worktree unless the workflow keeps it). Returns the exit code, or the status of
/// a run that ended with nothing left to do.
pub(super) async fn continue_stored(
    project: Project,
    state_dir: StateDir,
    run_id: &str,
    json: bool,
) -> Result<Result<u8, engine_core::RunStatus>, EngineError> {
    let host = host()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let reporter = progress(json);
    let store = state_dir.store();
    let taken_up = queue::resumable(
        &project.repo,
        store,
        &host,
        run_id,
        &*clock,
        reporter.as_ref(),
    )
    .await?;
    let resumable = match taken_up {
        Ok(resumable) => resumable,
        Err(status) => return Ok(Err(status)),
    };
    let (lifecycle, started) = lifecycle_for(project, state_dir, host, resumable, clock, &reporter);
    Ok(Ok(
        drive_and_report(&lifecycle, started, reporter, json).await?
    ))
}

/// The lifecycle a stored run taken up again (`resume`, `retry`) goes on in, and the run begun
/// in it: the workflow it was started with, writing its end back to that workflow's task
/// source.
pub(super) fn lifecycle_for(
    project: Project,
    state_dir: StateDir,
    host: Arc<Host>,
    resumable: Resumable,
    clock: Arc<dyn Clock>,
    reporter: &Arc<dyn Reporter>,
) -> (Lifecycle, Started) {
    let source = TaskSource::of(
        &host,
        &resumable.prepared,
        project.repo.root().to_path_buf(),
    );
    let lifecycle = Lifecycle::new(LifecycleSetup {
        repo: project.repo,
        state_dir,
        host,
        prepared: Arc::new(resumable.prepared),
        workflow_file: resumable.meta.workflow_file.clone(),
        source,
        base: None,
        labels: Vec::new(),
        clock,
        reporter: reporter.clone(),
    });
    let started = Started {
        prepared: None,
        meta: resumable.meta,
        state: resumable.state,
        first: resumable.first,
    };
    (lifecycle, started)
}
