//! `engine resume RUN`: continue a run from its last stored transition. A run of a task-source
//! task writes its end back to the source, like `engine run`.

use std::path::Path;

use clap::Args;
use engine_store::{StateDir, Store};

use super::drive::{drive_run, exit_code_for, report_end};
use super::run::write_back_end;
use crate::EngineError;
use crate::project::{Project, host};
use crate::queue::{self, TaskSource};

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
    let resumable = match queue::resumable(&project.repo, state_dir.store(), &host, &run_id).await?
    {
        Ok(resumable) => resumable,
        Err(status) => {
            eprintln!("run {run_id} already ended: {}", status.name());
            return Ok(exit_code_for(&status));
        }
    };
    let source = TaskSource::of(
        &host,
        &resumable.prepared,
        project.repo.root().to_path_buf(),
    );
    let driven = drive_run(
        &project.repo,
        &state_dir,
        host,
        resumable.prepared,
        resumable.meta,
        resumable.state,
        resumable.first,
        args.json,
    )
    .await?;
    let write_back = write_back_end(source.as_ref(), &state_dir, &driven, args.json).await;
    report_end(&state_dir, &driven, write_back.as_ref(), args.json)
}
