//! Shared by `engine run`, `resume` and `retry`: drive a begun run through the lifecycle to its
//! end and report how it went, on the streams of whoever asked (this terminal, or the one that
//! submitted the command; see [`crate::control`]).

use std::sync::Arc;

use engine_core::RunStatus;
use engine_store::{StateDir, Store};

use crate::control::{Finish, Holding};
use crate::driver::Driven;
use crate::output::Output;
use crate::queue::{Lifecycle, Started, WriteBack};
use crate::report::{Human, Quiet, Reporter};
use crate::terminal::safe;
use crate::{EngineError, exit};

/// Who hears about a run's progress: people on `output`'s stderr, or nobody with `json`.
pub(super) fn progress(output: &Arc<dyn Output>, json: bool) -> Arc<dyn Reporter> {
    if json {
        Arc::new(Quiet)
    } else {
        Arc::new(Human::to_output(output.clone()))
    }
}

/// Drives the run (progress to `reporter`) until it ends or is stopped, says what became of
/// its task's status (with `json` only when writing it failed), and reports its end on
/// `output`. A `submitted` run stopped because the holder stops goes back to its terminal.
pub(super) async fn drive_and_report(
    lifecycle: &Lifecycle,
    holding: &Holding,
    started: Started,
    reporter: Arc<dyn Reporter>,
    (output, json, submitted): (&Arc<dyn Output>, bool, bool),
) -> Result<Finish, EngineError> {
    let options = holding.drive_options(reporter, submitted);
    let end = lifecycle.run_to_end(started, options).await?;
    if submitted && end.driven.interrupted {
        return Ok(Finish::HandBack(end.driven.state.run_id.clone()));
    }
    if let Some(outcome) = &end.write_back
        && (!json || matches!(outcome, WriteBack::Failed { .. }))
    {
        output.err(&safe(&outcome.describe(&end.driven.state.task.id)));
    }
    let code = report_end(
        &lifecycle.setup.state_dir,
        &end.driven,
        end.write_back.as_ref(),
        output,
        json,
    )?;
    Ok(Finish::Exit(code))
}

/// Prints how a driven run ended (the JSON document with `json`, else a note when it was
/// stopped) on `output` and returns the exit code for it.
pub(super) fn report_end(
    state_dir: &StateDir,
    driven: &Driven,
    write_back: Option<&WriteBack>,
    output: &Arc<dyn Output>,
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
        output.out(&super::render_json(&doc)?);
    } else if driven.interrupted {
        output.err(&format!(
            "run {} stopped before it finished; continue it with `engine resume {}`",
            state.run_id, state.run_id
        ));
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
