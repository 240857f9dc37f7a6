//! Shared by `engine run` and `engine resume`: drive a run to its end and report how it went.

use std::sync::Arc;

use engine_core::{Event, RunState, RunStatus};
use engine_runtime::Host;
use engine_store::{RunMeta, StateDir, Store};

use crate::driver::{Driven, RunSetup, drive_to_end};
use crate::project::PreparedWorkflow;
use crate::queue::WriteBack;
use crate::report::{Human, Quiet, Reporter};
use crate::{EngineError, exit};

/// Drives the run (progress on stderr unless `json`) until it ends or a signal stops it.
#[allow(clippy::too_many_arguments)]
pub(super) async fn drive_run(
    repo: &engine_git::Repo,
    state_dir: &StateDir,
    host: Arc<Host>,
    prepared: PreparedWorkflow,
    meta: RunMeta,
    state: RunState,
    first: Option<Event>,
    json: bool,
) -> Result<Driven, EngineError> {
    let reporter: Arc<dyn Reporter> = if json {
        Arc::new(Quiet)
    } else {
        Arc::new(Human::stderr())
    };
    let setup = RunSetup {
        repo: repo.clone(),
        state_dir: state_dir.path().to_path_buf(),
        host,
        prepared: Arc::new(prepared),
        meta,
        state,
        first,
        reporter,
        handle_signals: true,
        stop: None,
        lanes: None,
    };
    drive_to_end(state_dir.store(), setup).await
}

/// Prints how a driven run ended (the JSON document with `json`, else a note when it was
/// stopped) and returns the exit code for it.
pub(super) fn report_end(
    state_dir: &StateDir,
    driven: &Driven,
    write_back: Option<&WriteBack>,
    json: bool,
) -> Result<u8, EngineError> {
    let state = &driven.state;
    if json {
        let record = state_dir.store().load(&state.run_id)?;
        let mut doc = serde_json::json!({
            "run_id": state.run_id,
            "status": state.status.name(),
            "interrupted": driven.interrupted,
            "run": record,
        });
        if let Some(write_back) = write_back {
            doc["task_status"] = write_back.to_json();
        }
        super::print_json(&doc)?;
    } else if driven.interrupted {
        eprintln!(
            "run {} stopped before it finished; continue it with `engine resume {}`",
            state.run_id, state.run_id
        );
    }
    Ok(if driven.interrupted {
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
        RunStatus::NeedsAttention { .. } => exit::RUN_NEEDS_ATTENTION,
        RunStatus::Pending | RunStatus::Running => exit::RUN_INTERRUPTED,
    }
}
