//! What a person or the clock does to a run as a whole: pausing and unpausing it, and its
//! deadline under the workflow's `timeout:`.

use std::fmt::Write as _;

use super::routing::downstream;
use super::{Rejected, Run, end_attempt};
use crate::event::Command;
use crate::model::Workflow;
use crate::state::{AttemptOutcome, RunState, RunStatus, StagePhase, StageState};

/// The stages `engine retry --from STAGE` runs again, in workflow order: `from` and every
/// stage downstream of it, and every other stage that had not succeeded (failed, cancelled,
/// never reached). Stages upstream of `from` that succeeded keep their results.
pub fn retried_stages(workflow: &Workflow, state: &RunState, from: &str) -> Vec<String> {
    let mut again = downstream(workflow, from);
    for s in &workflow.stages {
        let done = state.stages.get(&s.id).is_some_and(StageState::is_done);
        if !done && !again.contains(&s.id) {
            again.push(s.id.clone());
        }
    }
    workflow
        .stages
        .iter()
        .filter(|s| again.contains(&s.id))
        .map(|s| s.id.clone())
        .collect()
}

impl Run<'_> {
    /// `engine retry --from STAGE` on an ended run: the stages [`retried_stages`] names become
    /// pending (their attempt numbers go on; one whose last attempt was stopped part-way starts
    /// as interrupted), the run runs again, its `finally:` records are
    /// cleared (the new ending gets its own) and its deadline is set again from now.
    pub(super) fn retry_from(&mut self, stage: &str, at: u64) -> Result<(), Rejected> {
        if !self.state.status.is_terminal() {
            return Err(Rejected::StillRunning(self.state.run_id.clone()));
        }
        if self.workflow.stage(stage).is_none() {
            return Err(Rejected::UnknownStage(stage.to_string()));
        }
        let again = retried_stages(self.workflow, &self.state, stage);
        self.state.status = RunStatus::Running;
        self.state.finished_at_ms = None;
        self.state.finally.clear();
        self.arm_deadline(at);
        for id in again {
            if let Some(st) = self.state.stages.get_mut(&id) {
                st.phase = StagePhase::Pending;
                st.round_attempts = 0;
                st.loops = 0;
                st.summary = None;
                st.outputs = None;
                // An attempt stopped part-way (cancelled with the run) left effects nobody
                // knows: the next one is told, as after a crash, so an at-most-once stage (a
                // merge) reconciles before it acts again.
                if st.history.last().is_some_and(|r| {
                    matches!(
                        r.outcome,
                        AttemptOutcome::Cancelled | AttemptOutcome::Interrupted
                    )
                }) {
                    st.interrupted = true;
                }
            }
        }
        self.schedule_ready(at);
        Ok(())
    }

    /// `engine pause`: from now on no attempt starts. Attempts already running go on; their
    /// results are recorded as usual.
    pub(super) fn pause(&mut self, at: u64) -> Result<(), Rejected> {
        self.require_not_finished()?;
        if self.state.is_paused() {
            return Err(Rejected::AlreadyPaused(self.state.run_id.clone()));
        }
        self.state.paused_at_ms = Some(at);
        Ok(())
    }

    /// `engine unpause`: the stages that became ready (or whose retry fell due) while the run
    /// was paused start now.
    pub(super) fn unpause(&mut self, at: u64) -> Result<(), Rejected> {
        self.require_not_finished()?;
        if !self.state.is_paused() {
            return Err(Rejected::NotPaused(self.state.run_id.clone()));
        }
        self.state.paused_at_ms = None;
        self.schedule_ready(at);
        Ok(())
    }

    /// Sets the run's deadline `timeout:` from `at` (when it starts, or is retried from a
    /// stage) and asks the driver for the timer.
    pub(super) fn arm_deadline(&mut self, at: u64) {
        self.state.deadline_ms = self.workflow.timeout_ms.map(|t| at.saturating_add(t));
        self.reissue_deadline();
    }

    /// Asks the driver for the timer of the run's deadline, if it has one (a new driver after
    /// a restart).
    pub(super) fn reissue_deadline(&mut self) {
        if let Some(due_at_ms) = self.state.deadline_ms {
            self.commands
                .push(Command::ScheduleRunTimeout { due_at_ms });
        }
    }

    /// Whether the run has a deadline and `at` is at or past it.
    pub(super) fn past_deadline(&self, at: u64) -> bool {
        self.state.deadline_ms.is_some_and(|d| at >= d)
    }

    /// The deadline's timer fired: the run fails (refused before the deadline).
    pub(super) fn run_timed_out(&mut self, at: u64) -> Result<(), Rejected> {
        self.require_running()?;
        if !self.past_deadline(at) {
            return Err(Rejected::NotDue {
                run_id: self.state.run_id.clone(),
                deadline: self
                    .state
                    .deadline_ms
                    .map_or_else(|| "none".to_string(), |d| d.to_string()),
            });
        }
        self.time_out(at);
        Ok(())
    }

    /// A run taken up again after its deadline passed: the attempts the previous driver left
    /// running end as interrupted, nothing starts, and the run fails for its timeout.
    pub(super) fn resumed_past_deadline(&mut self, at: u64) {
        for st in self.state.stages.values_mut() {
            if let StagePhase::Running { attempt } = st.phase {
                end_attempt(st, attempt, at, AttemptOutcome::Interrupted);
                st.phase = StagePhase::Cancelled;
            }
        }
        self.time_out(at);
    }

    /// Ends the run as failed for its timeout: what it has going is stopped as for any end;
    /// the failed stage named is the first (in workflow order) that was still going or not
    /// reached, so `engine retry` starts again there.
    fn time_out(&mut self, at: u64) {
        let stage = self
            .workflow
            .stages
            .iter()
            .find(|s| {
                self.state.stages.get(&s.id).is_some_and(|st| {
                    matches!(
                        st.phase,
                        StagePhase::Running { .. }
                            | StagePhase::RetryWaiting { .. }
                            | StagePhase::AwaitingApproval { .. }
                            | StagePhase::Cancelled
                    )
                })
            })
            .or_else(|| {
                self.workflow
                    .stages
                    .iter()
                    .find(|s| !self.state.stages.get(&s.id).is_none_or(StageState::is_done))
            })
            .map(|s| s.id.clone())
            .unwrap_or_default();
        let limit = self.workflow.timeout_ms.unwrap_or_else(|| {
            let started = self.state.started_at_ms.unwrap_or(at);
            self.state.deadline_ms.unwrap_or(at).saturating_sub(started)
        });
        self.cancel_running(at);
        self.finish(
            RunStatus::Failed {
                stage,
                message: format!("run timeout {} reached", duration_text(limit)),
            },
            at,
        );
    }
}

/// A duration as the workflow writes it: `2h`, `1h30m`, `45s`, `1s500ms`, `0ms`.
pub(crate) fn duration_text(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")];
    let mut left = ms;
    let mut out = String::new();
    for (size, unit) in UNITS {
        if left >= size {
            // Writing into a `String` cannot fail.
            let _ = write!(out, "{}{unit}", left / size);
            left %= size;
        }
    }
    if out.is_empty() {
        out.push_str("0ms");
    }
    out
}
