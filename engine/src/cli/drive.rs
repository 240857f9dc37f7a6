//! Shared by `engine run` and `engine resume`: drive a run to its end and report how it went.

use std::sync::Arc;

use engine_core::{Event, RunState, RunStatus};
use engine_runtime::Host;
use engine_store::{RunMeta, StateDir, Store};

use crate::driver::{DriveOutcome, Driver};
use crate::project::PreparedWorkflow;
use crate::report::{Human, Quiet, Reporter};
use crate::{EngineError, exit};

/// Drives the run and prints the result; returns the exit code for the run's outcome.
#[allow(clippy::too_many_arguments)]
pub(super) async fn drive_run(
    repo: &engine_git::Repo,
    state_dir: &StateDir,
    host: Arc<Host>,
    prepared: PreparedWorkflow,
    meta: RunMeta,
    state: RunState,
    first: Event,
    json: bool,
) -> Result<u8, EngineError> {
    let reporter: Arc<dyn Reporter> = if json {
        Arc::new(Quiet)
    } else {
        Arc::new(Human::stderr())
    };
    reporter.run_started(&meta, !matches!(first, Event::RunStarted { .. }));
    let driver = Driver {
        store: state_dir.store(),
        host,
        prepared: Arc::new(prepared),
        meta,
        state_dir: state_dir.path().to_path_buf(),
        reporter,
        handle_signals: true,
        repo: repo.clone(),
    };
    let outcome = driver.drive(state, first).await?;
    let (state, interrupted) = match outcome {
        DriveOutcome::Finished(state) => (state, false),
        DriveOutcome::Interrupted(state) => (state, true),
    };
    if json {
        let record = state_dir.store().load(&state.run_id)?;
        super::print_json(&serde_json::json!({
            "run_id": state.run_id,
            "status": state.status.name(),
            "interrupted": interrupted,
            "run": record,
        }))?;
    } else if interrupted {
        eprintln!(
            "run {} stopped before it finished; continue it with `engine resume {}`",
            state.run_id, state.run_id
        );
    }
    Ok(if interrupted {
        exit::RUN_INTERRUPTED
    } else {
        exit_code_for(&state.status)
    })
}

/// The exit code that reports a run's status.
pub(super) fn exit_code_for(status: &RunStatus) -> u8 {
    match status {
        RunStatus::Succeeded => exit::SUCCESS,
        RunStatus::Failed { .. } => exit::RUN_FAILED,
        RunStatus::Cancelled { .. } => exit::RUN_CANCELLED,
        RunStatus::Pending | RunStatus::Running => exit::RUN_INTERRUPTED,
    }
}
