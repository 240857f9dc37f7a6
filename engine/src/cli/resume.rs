//! `engine resume RUN`: continue a run from its last stored transition. A run of a task-source
//! task writes its end back to the source, like `engine run`.

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use engine_store::{StateDir, Store};

use super::drive::{drive_and_report, exit_code_for, progress};
use crate::EngineError;
use crate::project::{Project, host};
use crate::queue::{self, Lifecycle, LifecycleSetup, Started, TaskSource};
use crate::time::{Clock, SystemClock};

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
    let host = host()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let reporter = progress(args.json);
    let store = state_dir.store();
    let taken_up = queue::resumable(
        &project.repo,
        store,
        &host,
        &run_id,
        &*clock,
        reporter.as_ref(),
    )
    .await?;
    let resumable = match taken_up {
        Ok(resumable) => resumable,
        Err(status) => {
            eprintln!("run {run_id} already ended: {}", status.name());
            return Ok(exit_code_for(&status));
        }
    };
    // The run goes on with the workflow it was started with, and writes its end back to that
    // workflow's task source.
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
    drive_and_report(&lifecycle, started, reporter, args.json).await
}
