//! `engine pause RUN` / `engine unpause RUN`: hold a run (no new attempt starts, neither a
//! stage nor a retry; an attempt already running finishes and its result is recorded), or let
//! it go on. Durable: the pause is an event in the run's log, so it survives a restart. If an
//! engine process is driving the run, the request is handed to it (it holds the state lock)
//! and this command waits for it to be taken; otherwise it is recorded directly and, for an
//! unpause, `engine resume RUN` continues the run — as `engine approve` does.

use std::path::Path;

use clap::Args;
use engine_core::Event;
use engine_store::StateDir;

use super::streams::print_line;
use crate::driver::{ControlRequest, HandedOver, commit_to_stored, hand_over, stored_run};
use crate::project::Project;
use crate::terminal::safe;
use crate::time::{Clock, SystemClock};
use crate::{EngineError, exit};

/// Arguments of `engine pause` and `engine unpause`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
}

pub(super) async fn pause(args: PauseArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    request(&args.run, true, state_dir).await
}

pub(super) async fn unpause(args: PauseArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    request(&args.run, false, state_dir).await
}

async fn request(run: &str, paused: bool, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let project = Project::locate(state_dir)?;
    let verb = if paused { "pause" } else { "unpause" };
    let holder = format!("engine {verb} {run} (pid {})", std::process::id());
    let request = ControlRequest::Pause { run, paused };
    let directly = async |state_dir: &StateDir| record_directly(state_dir, run, paused).await;
    let run_text = safe(run);
    match hand_over(&project.state_dir, &holder, request, &SystemClock, directly).await? {
        HandedOver::Taken { pid } if paused => print_line(&format!(
            "pause requested; engine process {pid} driving run {run_text} took it: no new \
             attempt starts, running ones finish"
        )),
        HandedOver::Taken { pid } => print_line(&format!(
            "unpause requested; engine process {pid} driving run {run_text} took it"
        )),
        HandedOver::Done(run_id) if paused => print_line(&format!(
            "run {run_id} paused: no new attempt starts until `engine unpause {run_id}`"
        )),
        HandedOver::Done(run_id) => print_line(&format!(
            "run {run_id} unpaused; no engine process drives it: continue it with `engine \
             resume {run_id}`"
        )),
    }
    Ok(exit::SUCCESS)
}

/// No engine process drives the run: records the pause or unpause; returns the run's id.
async fn record_directly(
    state_dir: &StateDir,
    run: &str,
    paused: bool,
) -> Result<String, EngineError> {
    let store = state_dir.store();
    let record = stored_run(store, run)?;
    let run_id = record.meta.run_id.clone();
    if record.state.status.is_terminal() {
        return Err(EngineError::Usage(format!(
            "run {run_id} already ended: {}",
            record.state.status.name()
        )));
    }
    let at_ms = SystemClock.now_ms();
    let event = if paused {
        Event::Paused { at_ms }
    } else {
        Event::Unpaused { at_ms }
    };
    commit_to_stored(store, &record, &event).await?;
    Ok(run_id)
}
