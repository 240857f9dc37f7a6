//! The pure transition function of a run.
//!
//! Rules, in short:
//! - A stage starts when every stage it `needs` has succeeded; independent stages run in parallel.
//! - A result is accepted only for the attempt that is running (fencing); anything else is
//!   rejected and changes nothing.
//! - A retryable failure (or timeout) is retried after the backoff while the round has attempts
//!   left; then, or on a fatal failure, `on_failure.goto` sends the run back (at most
//!   `max_loops` times) with the failure as feedback; otherwise the run fails.
//! - Attempt numbers of a stage only go up, across retries, loops, resumes and `retry --from`.
//! - `Resumed` turns running attempts into interrupted ones and starts new attempts, and
//!   re-issues the schedules of pending retries and approval waits, so a restarted driver
//!   continues exactly.
//! - A stage whose `if:` does not hold is skipped (the driver evaluates it and reports
//!   `StageSkipped`); a skipped stage counts as done for the stages that need it.
//! - An approval stage waits (durably) for `ApprovalDecided` or `ApprovalTimedOut`; a rejection
//!   is a fatal failure of the stage, so `on_failure` can send the run back with the reason.
//! - A `NeedsAttention` failure ends the run at once: no retry, no `on_failure`.
//! - However a run ends (cancelled, failed, needs attention), what it still has going is
//!   stopped the same way: running attempts and approval waits are cancelled, scheduled
//!   retries dropped; stages that never started stay pending.
//! - `FinallyFinished` records what a `finally:` stage did after the run ended; it never
//!   changes the run's outcome.
//! - A paused run (`Paused` until `Unpaused`) starts no attempt: stages that become ready and
//!   retries that fall due wait as pending; attempts already running finish and are recorded.
//! - With a workflow `timeout:`, the run's deadline is set when it starts (and again by
//!   `retry --from`); `RunTimedOut` after it cancels what runs and fails the run, and a
//!   `Resumed` past it fails the run without starting anything.

mod approval;
mod control;
mod routing;

pub use control::retried_stages;

use serde::{Deserialize, Serialize};

use crate::event::{Command, Event, Spend};
use crate::model::Workflow;
use crate::state::{AttemptOutcome, FinallyRecord, RunState, RunStatus, StagePhase, StageState};

/// The result of applying an event: the new state and what the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The state after the event (its `seq` is one more than before).
    pub state: RunState,
    /// Commands to carry out once the new state is stored.
    pub commands: Vec<Command>,
}

/// Why an event was not applied. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejected {
    /// The run already reached a terminal state.
    #[error("run {run_id} has already finished ({status})")]
    RunFinished {
        /// The run.
        run_id: String,
        /// Its terminal status name.
        status: String,
    },
    /// The run has not started yet.
    #[error("run {0} has not started")]
    NotStarted(String),
    /// `RunStarted` for a run that already started.
    #[error("run {0} has already started")]
    AlreadyStarted(String),
    /// The event names a stage the workflow does not have.
    #[error("unknown stage {0:?}")]
    UnknownStage(String),
    /// A result or retry for an attempt that is not the current one (late, duplicate or
    /// superseded): fencing.
    #[error("stale attempt {attempt} of stage {stage:?}: {current}")]
    StaleAttempt {
        /// The stage.
        stage: String,
        /// The attempt the event named.
        attempt: u32,
        /// What the stage is actually doing.
        current: String,
    },
    /// `RetryFrom` on a run that is still going.
    #[error("run {0} is still running; cancel it first or wait for it to finish")]
    StillRunning(String),
    /// `Paused` for a run that is already paused.
    #[error("run {0} is already paused")]
    AlreadyPaused(String),
    /// `Unpaused` for a run that is not paused.
    #[error("run {0} is not paused")]
    NotPaused(String),
    /// `RunTimedOut` before the run's deadline (or for a run without one).
    #[error("run {run_id} has not reached its deadline ({deadline})")]
    NotDue {
        /// The run.
        run_id: String,
        /// Its deadline in ms since the epoch, or "none".
        deadline: String,
    },
    /// A `finally:` stage's result for a run that already has one.
    #[error("finally stage {0:?} has already been recorded")]
    AlreadyRecorded(String),
    /// An approval answer for a stage that is not waiting for one.
    #[error("stage {stage:?} is not waiting for approval ({current})")]
    NotAwaitingApproval {
        /// The stage.
        stage: String,
        /// What the stage is actually doing.
        current: String,
    },
}

/// Starts a run: applies `Event::RunStarted` to a fresh state.
pub fn start(workflow: &Workflow, state: &RunState, at_ms: u64) -> Result<Transition, Rejected> {
    step(workflow, state, &Event::RunStarted { at_ms })
}

/// Applies one event to a run. Pure: the same inputs always give the same output.
pub fn step(workflow: &Workflow, state: &RunState, event: &Event) -> Result<Transition, Rejected> {
    let mut run = Run {
        workflow,
        state: state.clone(),
        commands: Vec::new(),
    };
    run.apply(event)?;
    run.state.seq = state.seq + 1;
    Ok(Transition {
        state: run.state,
        commands: run.commands,
    })
}

struct Run<'a> {
    workflow: &'a Workflow,
    state: RunState,
    commands: Vec<Command>,
}

impl Run<'_> {
    fn apply(&mut self, event: &Event) -> Result<(), Rejected> {
        let at = event.at_ms();
        match event {
            Event::RunStarted { .. } => {
                if self.state.status != RunStatus::Pending {
                    return Err(Rejected::AlreadyStarted(self.state.run_id.clone()));
                }
                self.state.status = RunStatus::Running;
                self.state.started_at_ms = Some(at);
                self.arm_deadline(at);
                self.schedule_ready(at);
            }
            Event::AttemptSucceeded {
                stage,
                attempt,
                summary,
                outputs,
                commits,
                spend,
                ..
            } => {
                self.require_running()?;
                self.require_attempt(stage, *attempt)?;
                let st = self.stage_mut(stage)?;
                st.phase = StagePhase::Succeeded;
                st.summary = Some(summary.clone());
                st.outputs = Some(outputs.clone());
                st.feedback = None;
                st.interrupted = false;
                end_attempt(
                    st,
                    *attempt,
                    at,
                    AttemptOutcome::Succeeded {
                        summary: summary.clone(),
                    },
                );
                add_spend(st, *attempt, *spend);
                if let Some(record) = st.history.iter_mut().rev().find(|r| r.attempt == *attempt) {
                    record.commits.clone_from(commits);
                }
                self.schedule_ready(at);
            }
            Event::AttemptFailed {
                stage,
                attempt,
                failure,
                spend,
                ..
            } => {
                self.require_running()?;
                self.require_attempt(stage, *attempt)?;
                add_spend(self.stage_mut(stage)?, *attempt, *spend);
                self.on_failure(stage, *attempt, failure, at)?;
            }
            Event::SpendRecorded {
                stage,
                attempt,
                spend,
                ..
            } => {
                let st = self.stage_mut(stage)?;
                if !st.history.iter().any(|r| r.attempt == *attempt) {
                    return Err(Rejected::StaleAttempt {
                        stage: stage.clone(),
                        attempt: *attempt,
                        current: "no such attempt".into(),
                    });
                }
                add_spend(st, *attempt, *spend);
            }
            Event::RetryDue { stage, attempt, .. } => {
                self.require_running()?;
                let phase = self.stage_mut(stage)?.phase.clone();
                match phase {
                    StagePhase::RetryWaiting { attempt: due, .. } if due == *attempt => {
                        self.start_attempt(stage, at);
                    }
                    _ => {
                        return Err(Rejected::StaleAttempt {
                            stage: stage.clone(),
                            attempt: *attempt,
                            current: describe_phase(&phase),
                        });
                    }
                }
            }
            Event::CancelRequested { reason, .. } => {
                self.require_not_finished()?;
                self.cancel_running(at);
                self.finish(
                    RunStatus::Cancelled {
                        reason: reason.clone(),
                    },
                    at,
                );
            }
            Event::Resumed { .. } => {
                self.require_not_finished()?;
                if self.state.status == RunStatus::Pending {
                    return Err(Rejected::NotStarted(self.state.run_id.clone()));
                }
                if self.past_deadline(at) {
                    self.resumed_past_deadline(at);
                    return Ok(());
                }
                let ids: Vec<String> = self.state.stages.keys().cloned().collect();
                for id in ids {
                    let Some(st) = self.state.stages.get_mut(&id) else {
                        continue;
                    };
                    match st.phase {
                        StagePhase::Running { attempt } => {
                            end_attempt(st, attempt, at, AttemptOutcome::Interrupted);
                            st.interrupted = true;
                            // An interrupted attempt was not the stage's fault: it does not
                            // count against the retry policy.
                            st.round_attempts = st.round_attempts.saturating_sub(1);
                            self.start_attempt(&id, at);
                        }
                        StagePhase::RetryWaiting { attempt, due_at_ms } => {
                            self.commands.push(Command::ScheduleRetry {
                                stage: id.clone(),
                                attempt,
                                due_at_ms,
                            });
                        }
                        StagePhase::AwaitingApproval {
                            attempt,
                            deadline_ms,
                            ..
                        } => {
                            // The wait goes on where it was: same attempt, same deadline.
                            let message = self
                                .workflow
                                .stage(&id)
                                .and_then(|s| s.approval.as_ref())
                                .and_then(|a| a.message.clone());
                            self.commands.push(Command::AwaitApproval {
                                stage: id.clone(),
                                attempt,
                                deadline_ms,
                                message,
                            });
                        }
                        _ => {}
                    }
                }
                self.reissue_deadline();
                self.schedule_ready(at);
            }
            Event::Paused { .. } => self.pause(at)?,
            Event::Unpaused { .. } => self.unpause(at)?,
            Event::RunTimedOut { .. } => self.run_timed_out(at)?,
            Event::StageSkipped {
                stage,
                attempt,
                reason,
                ..
            } => {
                self.require_running()?;
                self.require_attempt(stage, *attempt)?;
                let st = self.stage_mut(stage)?;
                st.phase = StagePhase::Skipped;
                st.summary = Some(reason.clone());
                st.outputs = None;
                st.interrupted = false;
                end_attempt(
                    st,
                    *attempt,
                    at,
                    AttemptOutcome::Skipped {
                        reason: reason.clone(),
                    },
                );
                self.schedule_ready(at);
            }
            Event::ApprovalDecided {
                stage,
                approved,
                by,
                reason,
                ..
            } => {
                self.require_running()?;
                self.decide_approval(stage, *approved, by, reason, at)?;
            }
            Event::ApprovalTimedOut { stage, attempt, .. } => {
                self.require_running()?;
                self.approval_timed_out(stage, *attempt, at)?;
            }
            Event::FinallyFinished { stage, outcome, .. } => {
                if !self.state.status.is_terminal() {
                    return Err(Rejected::StillRunning(self.state.run_id.clone()));
                }
                if self.workflow.finally_stage(stage).is_none() {
                    return Err(Rejected::UnknownStage(stage.clone()));
                }
                if self.state.finally.contains_key(stage) {
                    return Err(Rejected::AlreadyRecorded(stage.clone()));
                }
                self.state.finally.insert(
                    stage.clone(),
                    FinallyRecord {
                        at_ms: at,
                        outcome: outcome.clone(),
                    },
                );
            }
            Event::RetryFrom { stage, .. } => self.retry_from(stage, at)?,
        }
        Ok(())
    }

    fn finish(&mut self, status: RunStatus, at: u64) {
        self.state.status = status.clone();
        self.state.finished_at_ms = Some(at);
        // A pause holds a run that goes on; an ended run has nothing left to hold.
        self.state.paused_at_ms = None;
        self.commands.push(Command::FinishRun { status });
    }

    fn require_running(&self) -> Result<(), Rejected> {
        match self.state.status {
            RunStatus::Running => Ok(()),
            RunStatus::Pending => Err(Rejected::NotStarted(self.state.run_id.clone())),
            _ => Err(self.finished_error()),
        }
    }

    fn require_not_finished(&self) -> Result<(), Rejected> {
        if self.state.status.is_terminal() {
            Err(self.finished_error())
        } else {
            Ok(())
        }
    }

    fn finished_error(&self) -> Rejected {
        Rejected::RunFinished {
            run_id: self.state.run_id.clone(),
            status: self.state.status.name().to_string(),
        }
    }

    fn require_attempt(&self, stage: &str, attempt: u32) -> Result<(), Rejected> {
        let st = self
            .state
            .stages
            .get(stage)
            .ok_or_else(|| Rejected::UnknownStage(stage.to_string()))?;
        if st.running_attempt() == Some(attempt) {
            Ok(())
        } else {
            Err(Rejected::StaleAttempt {
                stage: stage.to_string(),
                attempt,
                current: describe_phase(&st.phase),
            })
        }
    }

    fn stage_mut(&mut self, stage: &str) -> Result<&mut StageState, Rejected> {
        self.state
            .stages
            .get_mut(stage)
            .ok_or_else(|| Rejected::UnknownStage(stage.to_string()))
    }
}

fn end_attempt(st: &mut StageState, attempt: u32, at: u64, outcome: AttemptOutcome) {
    if let Some(record) = st.history.iter_mut().rev().find(|r| r.attempt == attempt) {
        record.ended_at_ms = Some(at);
        record.outcome = outcome;
    }
}

fn add_spend(st: &mut StageState, attempt: u32, spend: Spend) {
    if let Some(record) = st.history.iter_mut().rev().find(|r| r.attempt == attempt) {
        record.spend = record.spend + spend;
    }
}

fn describe_phase(phase: &StagePhase) -> String {
    match phase {
        StagePhase::Pending => "stage is pending".into(),
        StagePhase::Running { attempt } => format!("attempt {attempt} is running"),
        StagePhase::RetryWaiting { attempt, .. } => format!("retry {attempt} is scheduled"),
        StagePhase::AwaitingApproval { attempt, .. } => {
            format!("attempt {attempt} is waiting for approval")
        }
        StagePhase::Succeeded => "stage already succeeded".into(),
        StagePhase::Skipped => "stage was skipped".into(),
        StagePhase::Failed => "stage already failed".into(),
        StagePhase::Cancelled => "stage was cancelled".into(),
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "machine_outcome_tests.rs"]
mod outcome_tests;

#[cfg(test)]
#[path = "machine_control_tests.rs"]
mod control_tests;
