//! The driver: feeds events to the pure state machine, stores every accepted transition durably,
//! and only then carries out the commands that follow from it (start attempts, schedule retries,
//! wait for approvals, cancel attempts), then runs the `finally:` stages once the run ended. It
//! is the only place where a run meets the clock, tokio and the store: every transition is
//! stored through [`commit_step`], every time is read and waited for through the driver's
//! [`Clock`].

mod attempt;
pub(crate) use attempt::with_needs_attention;
mod attempt_log;
mod commands;
mod commit;
mod commits;
mod control;
pub(crate) mod debug_hold;
mod finally;
mod handover;
mod lanes;
mod signals;
pub mod stage_input;
mod to_end;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use engine_core::{Event, Rejected, RunState, Transition};
use engine_git::Repo;
use engine_runtime::Host;
use engine_store::{RunMeta, Store};
use tokio::sync::mpsc;

use crate::EngineError;
use crate::project::PreparedWorkflow;
use crate::report::Reporter;
use crate::secrets::Redactor;
use crate::time::Clock;

pub use attempt_log::{AttemptLog, attempt_log_path};
pub use commit::{Rejection, StepError, commit_step, rejection};
pub use commits::CommitSite;
pub use control::approval_stage;
pub use handover::{ControlRequest, commit_to_stored, hand_to_driver, stored_run, unended_run};
pub use lanes::Lanes;
pub use to_end::{Driven, RunSetup, drive_to_end, remove_ended_worktree};

use commands::InFlight;
pub(crate) use signals::Signals;

/// How often the driver looks for cancel requests and approval answers from other processes.
/// Pacing, not run time: it stays on tokio's timer whatever the driver's clock.
const CONTROL_POLL: Duration = Duration::from_millis(200);

/// How a call to [`Driver::drive`] ended.
#[derive(Debug)]
pub enum DriveOutcome {
    /// The run reached a terminal state.
    Finished(RunState),
    /// The driver was stopped (SIGINT/SIGTERM) before the run ended; `engine resume` continues.
    Interrupted(RunState),
}

/// Drives one run to its end.
pub struct Driver<'a> {
    /// Where transitions are stored.
    pub store: &'a dyn Store,
    /// The wasm host.
    pub host: Arc<Host>,
    /// The workflow with its components loaded.
    pub prepared: Arc<PreparedWorkflow>,
    /// The run's fixed facts (worktree, branch...).
    pub meta: RunMeta,
    /// The state directory (for logs and control requests).
    pub state_dir: PathBuf,
    /// Who hears about progress.
    pub reporter: Arc<dyn Reporter>,
    /// Stop cleanly on SIGINT/SIGTERM (leaving the run resumable).
    pub handle_signals: bool,
    /// Stop cleanly, as on a signal, once this turns `true` (the run modes stop every run
    /// they drive at once).
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// Turns for at-most-once stages (merges) shared by the runs this process drives at the
    /// same time, so only one of them moves a base branch at a time; `None` when it drives
    /// only this run.
    pub lanes: Option<Arc<Lanes>>,
    /// The repository (agent stages snapshot the worktree through it).
    pub repo: Repo,
    /// Replaces secret values in everything the run writes down.
    pub redactor: Arc<Redactor>,
    /// Where every time the run records comes from, and what its retries and approval
    /// timeouts wait on.
    pub clock: Arc<dyn Clock>,
}

impl Driver<'_> {
    /// Applies `first` to `state` and keeps going until the run ends or the driver is stopped.
    pub async fn drive(&self, state: RunState, first: Event) -> Result<DriveOutcome, EngineError> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        // Dropped on every way out of here: what is still running is stopped.
        let mut in_flight = InFlight::default();
        let mut state = state;
        let mut queue = VecDeque::from([first]);
        let mut signals = Signals::new(self.handle_signals, self.stop.clone())?;
        let hold = debug_hold::Hold::from_env();
        let mut poll = tokio::time::interval(CONTROL_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Set once the run reached its end; events still queued (the spend of attempts it
        // cancelled) are stored before the driver returns.
        let mut finished = false;

        loop {
            let event = if let Some(event) = queue.pop_front() {
                event
            } else {
                tokio::select! {
                    Some(event) = rx.recv() => event,
                    _ = poll.tick() => {
                        queue.extend(self.control_events(&state)?);
                        continue;
                    },
                    () = signals.recv() => return Ok(DriveOutcome::Interrupted(state)),
                }
            };
            let Some(transition) = self.apply(&state, &event, &hold).await? else {
                continue;
            };
            state = transition.state;
            for command in transition.commands {
                finished |= self.carry_out(command, &state, &mut in_flight, &tx, &mut queue)?;
            }
            if finished && queue.is_empty() {
                drop(in_flight);
                let state = self.run_finally(state).await?;
                return Ok(DriveOutcome::Finished(state));
            }
        }
    }

    /// Stores the transition `event` makes of `state` (see [`commit_step`]) and tells the
    /// reporter; `None` when the core rejected the event (see [`Driver::rejected`]).
    async fn apply(
        &self,
        state: &RunState,
        event: &Event,
        hold: &debug_hold::Hold,
    ) -> Result<Option<Transition>, EngineError> {
        let workflow = &self.prepared.loaded.workflow;
        match commit_step(self.store, workflow, state, event, hold).await {
            Ok(transition) => {
                self.reporter
                    .transition(event, &transition.state, &transition.commands);
                Ok(Some(transition))
            }
            Err(StepError::Rejected(rejected)) => {
                self.rejected(state, event, &rejected)?;
                Ok(None)
            }
            Err(StepError::Store(e)) => Err(e.into()),
        }
    }

    /// Deals with an event the core rejected (see [`Rejection`]): a race is expected and
    /// only logged; a person's answer that does not apply is a warning; anything else is a
    /// bug in the driver — an internal error in debug builds, a warning in release builds
    /// (the run goes on: the rejected event changed nothing).
    fn rejected(
        &self,
        state: &RunState,
        event: &Event,
        rejected: &Rejected,
    ) -> Result<(), EngineError> {
        match rejection(event, rejected) {
            Rejection::Race => {
                tracing::debug!(%rejected, event = event.kind(), "event raced the run");
            }
            Rejection::Answer => {
                let what = match event {
                    Event::ApprovalDecided {
                        stage,
                        approved: true,
                        ..
                    } => format!("the approval of stage {stage}"),
                    Event::ApprovalDecided { stage, .. } => {
                        format!("the rejection of stage {stage}")
                    }
                    Event::Paused { .. } => "the pause".to_string(),
                    Event::Unpaused { .. } => "the unpause".to_string(),
                    other => format!("the {} request", other.kind()),
                };
                self.reporter.warning(&format!(
                    "run {}: {what} was not taken: {rejected}",
                    state.run_id
                ));
            }
            Rejection::Bug => {
                let message = format!(
                    "run {}: the state machine rejected the driver's {} event: {rejected}",
                    state.run_id,
                    event.kind()
                );
                if cfg!(debug_assertions) {
                    return Err(EngineError::Internal(message));
                }
                self.reporter.warning(&message);
            }
        }
        Ok(())
    }
}
