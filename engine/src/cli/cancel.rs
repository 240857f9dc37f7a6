//! `engine cancel RUN`: stop a run. The process holding the state directory (reached over its
//! control socket, or this one) hands the request to the run's driver when it drives the run,
//! and otherwise records the cancellation and runs the run's `finally:` stages (see
//! `run_control`).

use std::path::Path;
use std::sync::Arc;

use clap::Args;
use engine_core::Event;
use engine_store::StateDir;

use crate::control::{ControlCommand, Finish, Holding, Request};
use crate::driver::{commit_to_stored, unended_run};
use crate::output::Output;
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
    let holder = format!("engine cancel {} (pid {})", args.run, std::process::id());
    let command = ControlCommand::Cancel {
        run: args.run,
        reason: args.reason,
    };
    super::hold::locate_and_execute(state_dir, Request::Control(command), &holder).await
}

/// A run cancelled here ended with no process driving it: runs its `finally:` stages (the
/// notifiers) now, and tidies up as the process that drove it would have; returns the exit
/// code. The cancellation stands whatever happens here: when the stages cannot run now, they
/// wait for the next `engine resume` of the run.
pub(super) async fn finish_cancelled(
    holding: &Holding,
    run_id: &str,
    output: &Arc<dyn Output>,
) -> u8 {
    match Box::pin(super::resume::continue_stored(
        holding, run_id, false, output, false,
    ))
    .await
    {
        Ok(Ok(Finish::Exit(exit::RUN_INTERRUPTED))) => exit::RUN_INTERRUPTED,
        Ok(_) => exit::SUCCESS,
        Err(e) => {
            output.err(&format!(
                "warning: the run's finally: stages did not run: {}; `engine resume {run_id}` \
                 runs them",
                safe(&e.to_string())
            ));
            exit::SUCCESS
        }
    }
}

/// No engine process drives the run: records its cancellation; returns its id.
pub(super) async fn cancel_directly(
    state_dir: &StateDir,
    run: &str,
    reason: &str,
) -> Result<String, EngineError> {
    let store = state_dir.store();
    let record = unended_run(store, run)?;
    let run_id = record.meta.run_id.clone();
    let event = Event::CancelRequested {
        at_ms: SystemClock.now_ms(),
        reason: reason.to_string(),
    };
    commit_to_stored(store, &record, &event).await?;
    Ok(run_id)
}
