//! `engine cancel RUN`: stop a run. If an engine process is driving it, ask that process (it
//! holds the state lock) and wait for it to pick the request up; otherwise record the
//! cancellation directly.

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use engine_core::Event;
use engine_store::StateDir;

use super::streams::print_line;
use crate::control::{Finish, Holding};
use crate::driver::{ControlRequest, HandedOver, commit_to_stored, hand_over, stored_run};
use crate::output::{Output, ProcessStreams};
use crate::project::Project;
use crate::terminal::safe;
use crate::time::{Clock, SystemClock};
use crate::{EngineError, exit};

/// Arguments of `engine cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// Why (recorded in the run).
    #[arg(long, default_value = "cancelled by user")]
    pub reason: String,
}

pub(super) async fn execute(args: CancelArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let project = Project::locate(state_dir)?;
    let holder = format!("engine cancel {} (pid {})", args.run, std::process::id());
    let request = ControlRequest::Cancel {
        run: &args.run,
        reason: &args.reason,
    };
    let directly = async |state_dir: &StateDir| cancel_directly(state_dir, &args).await;
    match hand_over(&project.state_dir, &holder, request, &SystemClock, directly).await? {
        HandedOver::Taken { pid } => {
            // That process runs the run's `finally:` stages once it stopped it.
            print_line(&format!(
                "cancel requested; engine process {pid} is stopping run {}",
                safe(&args.run)
            ));
            Ok(exit::SUCCESS)
        }
        HandedOver::Done(run_id) => {
            print_line(&format!("run {run_id} cancelled"));
            Box::pin(finish_cancelled(project, &run_id)).await
        }
    }
}

/// A run cancelled here ended with no process driving it: runs its `finally:` stages (the
/// notifiers) now, and tidies up as the process that drove it would have. The cancellation
/// stands whatever happens here: when another process took the state directory in the
/// meantime, or the stages cannot run now, they wait for the next `engine resume` of the run.
async fn finish_cancelled(project: Project, run_id: &str) -> Result<u8, EngineError> {
    let later = |why: &str| {
        eprintln!(
            "warning: the run's finally: stages did not run: {}; `engine resume {run_id}` runs \
             them",
            safe(why)
        );
        Ok(exit::SUCCESS)
    };
    let holder = format!("engine cancel {run_id} (pid {})", std::process::id());
    let state_dir = match StateDir::open_locked(&project.state_dir, &holder) {
        Ok(state_dir) => state_dir,
        Err(e) => return later(&e.to_string()),
    };
    let host = match crate::project::host() {
        Ok(host) => host,
        Err(e) => return later(&e.to_string()),
    };
    let (holding, _stop) = Holding::new(project.repo, state_dir, host, Arc::new(SystemClock));
    let output: Arc<dyn Output> = Arc::new(ProcessStreams);
    match Box::pin(super::resume::continue_stored(
        &holding, run_id, false, &output, false,
    ))
    .await
    {
        Ok(Ok(Finish::Exit(exit::RUN_INTERRUPTED))) => Ok(exit::RUN_INTERRUPTED),
        Ok(_) => Ok(exit::SUCCESS),
        Err(e) => later(&e.to_string()),
    }
}

/// No engine process drives the run: records its cancellation; returns its id.
async fn cancel_directly(state_dir: &StateDir, args: &CancelArgs) -> Result<String, EngineError> {
    let store = state_dir.store();
    let record = stored_run(store, &args.run)?;
    let run_id = record.meta.run_id.clone();
    if record.state.status.is_terminal() {
        return Err(EngineError::Usage(format!(
            "run {run_id} already ended: {}",
            record.state.status.name()
        )));
    }
    let event = Event::CancelRequested {
        at_ms: SystemClock.now_ms(),
        reason: args.reason.clone(),
    };
    commit_to_stored(store, &record, &event).await?;
    Ok(run_id)
}
