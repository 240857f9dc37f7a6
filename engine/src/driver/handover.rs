//! Handing a request for a run (`engine cancel`, `engine approve`, `engine reject`, `engine
//! pause`, `engine unpause`) to the driver of the run in the process holding the state
//! directory: it takes the request at its next look at the control folder (see `control`).
//! Requests reach that process over its control socket (see [`crate::control`]); a run it does
//! not drive gets the request carried out on its stored state ([`commit_to_stored`]).

use std::path::Path;
use std::time::Duration;

use engine_core::{Event, Transition};
use engine_store::{ApprovalAnswer, RunRecord, Store, StoreError};

use super::commit_step;
use super::debug_hold::Hold;
use crate::EngineError;
use crate::project::stored_workflow;
use crate::time::Clock;

/// How long to wait for the process holding the state directory to take a request.
pub const HANDOVER_WAIT: Duration = Duration::from_secs(10);

/// How often to look whether it took it.
const HANDOVER_POLL: Duration = Duration::from_millis(100);

/// A request for a run another process may be driving.
#[derive(Debug, Clone, Copy)]
pub enum ControlRequest<'a> {
    /// `engine cancel RUN --reason REASON`.
    Cancel {
        /// The run id (or a unique prefix of it).
        run: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// `engine approve` / `engine reject`.
    Approval {
        /// The run id (or a unique prefix of it).
        run: &'a str,
        /// The answer.
        answer: &'a ApprovalAnswer,
    },
    /// `engine pause` (`paused` true) / `engine unpause` (false).
    Pause {
        /// The run id (or a unique prefix of it).
        run: &'a str,
        /// Pause, or let it go on.
        paused: bool,
    },
}

impl ControlRequest<'_> {
    fn run(&self) -> &str {
        match self {
            ControlRequest::Cancel { run, .. }
            | ControlRequest::Approval { run, .. }
            | ControlRequest::Pause { run, .. } => run,
        }
    }

    /// Leaves the request in the control folder for the holder.
    fn queue(&self, state_dir: &Path) -> Result<(), StoreError> {
        match self {
            ControlRequest::Cancel { run, reason } => {
                engine_store::request_cancel(state_dir, run, reason)
            }
            ControlRequest::Approval { run, answer } => {
                engine_store::request_approval(state_dir, run, answer)
            }
            ControlRequest::Pause { run, paused } => {
                engine_store::request_pause(state_dir, run, *paused)
            }
        }
    }

    /// Whether the request is still waiting in the control folder.
    fn pending(&self, state_dir: &Path) -> bool {
        match self {
            ControlRequest::Cancel { run, .. } => engine_store::cancel_pending(state_dir, run),
            ControlRequest::Approval { run, .. } => engine_store::approval_pending(state_dir, run),
            ControlRequest::Pause { run, .. } => engine_store::pause_pending(state_dir, run),
        }
    }

    /// `(what it is, what stays queued)` for messages.
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            ControlRequest::Cancel { .. } => ("the cancel request", "the request"),
            ControlRequest::Approval { .. } => ("the answer", "the answer"),
            ControlRequest::Pause { paused: true, .. } => ("the pause request", "the request"),
            ControlRequest::Pause { paused: false, .. } => ("the unpause request", "the request"),
        }
    }
}

/// Leaves `request` for the driver of its run in this process (the holder of the state
/// directory at `state_dir`), which takes it at its next look at the control folder, and waits
/// (on `clock`, up to [`HANDOVER_WAIT`]) for it to be taken. A request not taken in time stays
/// queued, and the error says so.
pub async fn hand_to_driver(
    state_dir: &Path,
    request: ControlRequest<'_>,
    clock: &dyn Clock,
) -> Result<(), EngineError> {
    request.queue(state_dir)?;
    let wait_ms = u64::try_from(HANDOVER_WAIT.as_millis()).unwrap_or(u64::MAX);
    let deadline = clock.now_ms().saturating_add(wait_ms);
    while clock.now_ms() < deadline {
        clock.sleep(HANDOVER_POLL).await;
        if !request.pending(state_dir) {
            return Ok(());
        }
    }
    let (what, left) = request.names();
    Err(EngineError::Usage(format!(
        "engine process {} drives run {} but did not take {what} within {}s; {left} stays \
         queued",
        std::process::id(),
        request.run(),
        HANDOVER_WAIT.as_secs()
    )))
}

/// The stored run `run` names (its id or a unique prefix of it), for a request carried out
/// here.
pub fn stored_run(store: &dyn Store, run: &str) -> Result<RunRecord, EngineError> {
    let run_id = store.resolve_id(run)?;
    store
        .load(&run_id)?
        .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))
}

/// The stored run `run` names, refused when it already ended (a request such as cancel or
/// pause has nothing left to act on).
pub fn unended_run(store: &dyn Store, run: &str) -> Result<RunRecord, EngineError> {
    let record = stored_run(store, run)?;
    if record.state.status.is_terminal() {
        return Err(EngineError::Usage(format!(
            "run {} already ended: {}",
            record.meta.run_id,
            record.state.status.name()
        )));
    }
    Ok(record)
}

/// Applies `event` to a stored run no process drives, with the workflow the run was started
/// with (not the file as it is now), and stores the transition; `engine resume` carries its
/// commands out.
pub async fn commit_to_stored(
    store: &dyn Store,
    record: &RunRecord,
    event: &Event,
) -> Result<Transition, EngineError> {
    let loaded = stored_workflow(&record.meta)?;
    Ok(commit_step(store, &loaded.workflow, &record.state, event, &Hold::none()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::TestClock;

    const CANCEL: ControlRequest<'static> = ControlRequest::Cancel {
        run: "01RUN",
        reason: "user",
    };

    #[tokio::test]
    async fn a_request_nobody_takes_stays_queued_and_the_wait_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let state_dir = dir.path().join(".engine");
        std::fs::create_dir_all(&state_dir).unwrap();
        let clock = TestClock::jumping(0);
        let Err(e) = hand_to_driver(&state_dir, CANCEL, &*clock).await else {
            panic!("no driver takes the request");
        };
        assert_eq!(
            e.to_string(),
            format!(
                "engine process {} drives run 01RUN but did not take the cancel request within \
                 10s; the request stays queued",
                std::process::id()
            )
        );
        assert!(engine_store::cancel_pending(&state_dir, "01RUN"));
        assert!(clock.now_ms() >= 10_000);
    }
}
