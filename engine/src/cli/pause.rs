//! `engine pause RUN` / `engine unpause RUN`: hold a run (no new attempt starts, neither a
//! stage nor a retry; an attempt already running finishes and its result is recorded), or let
//! it go on. Durable: the pause is an event in the run's log, so it survives a restart. The
//! process holding the state directory (reached over its control socket, or this one) hands the
//! request to the run's driver when it drives the run, and otherwise records it (for an
//! unpause, `engine resume RUN` then continues the run — as `engine approve` does; see
//! `run_control`).

use std::path::Path;

use clap::Args;
use engine_core::Event;
use engine_store::StateDir;

use crate::EngineError;
use crate::control::{ControlCommand, Request};
use crate::driver::{commit_to_stored, unended_run};
use crate::time::{Clock, SystemClock};

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
    let verb = if paused { "pause" } else { "unpause" };
    let holder = format!("engine {verb} {run} (pid {})", std::process::id());
    let command = ControlCommand::Pause {
        run: run.to_string(),
        paused,
    };
    super::hold::locate_and_execute(state_dir, Request::Control(command), &holder).await
}

/// No engine process drives the run: records the pause or unpause; returns the run's id.
pub(super) async fn record_directly(
    state_dir: &StateDir,
    run: &str,
    paused: bool,
) -> Result<String, EngineError> {
    let store = state_dir.store();
    let record = unended_run(store, run)?;
    let run_id = record.meta.run_id.clone();
    let at_ms = SystemClock.now_ms();
    let event = if paused {
        Event::Paused { at_ms }
    } else {
        Event::Unpaused { at_ms }
    };
    commit_to_stored(store, &record, &event).await?;
    Ok(run_id)
}
