//! Shared by `engine run` and `engine resume`: drive a begun run through the lifecycle to its
//! end and report how it went.

use std::sync::Arc;

use engine_core::RunStatus;
use engine_store::{StateDir, Store};

use crate::driver::Driven;
use crate::queue::{DriveOptions, Lifecycle, Started, WriteBack};
use crate::report::{Human, Quiet, Reporter};
use crate::terminal::safe;
use crate::{EngineError, exit};

/// Who hears about a run's progress: people on stderr, or nobody with `json`.
pub(super) fn progress(json: bool) -> Arc<dyn Reporter> {
    if json {
        Arc::new(Quiet)
    } else {
        Arc::new(Human::stderr())
    }
}

/// Drives the run (progress to `reporter`) until it ends or a signal stops it, says what
/// became of its task's status (on stderr; with `json` only when writing it failed), and
/// reports its end; returns the exit code.
pub(super) async fn drive_and_report(
    lifecycle: &Lifecycle,
    started: Started,
    reporter: Arc<dyn Reporter>,
    json: bool,
) -> Result<u8, EngineError> {
    let options = DriveOptions {
        reporter,
        handle_signals: true,
        stop: None,
        lanes: None,
    };
    let end = lifecycle.run_to_end(started, options).await?;
    if let Some(outcome) = &end.write_back
        && (!json || matches!(outcome, WriteBack::Failed { .. }))
    {
        eprintln!("{}", safe(&outcome.describe(&end.driven.state.task.id)));
    }
    report_end(
        &lifecycle.setup.state_dir,
        &end.driven,
        end.write_back.as_ref(),
        json,
    )
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
