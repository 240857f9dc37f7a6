//! How a run moves between stages: failures (retry, go back, fail), which stages are ready,
//! starting attempts (or approval waits) and stopping them.

use super::{Rejected, Run, end_attempt};
use crate::event::{Command, Failure, FailureKind, Feedback, Spend};
use crate::model::{Stage, Workflow};
use crate::state::{AttemptOutcome, AttemptRecord, RunStatus, StagePhase, StageState};

impl Run<'_> {
    pub(super) fn on_failure(
        &mut self,
        stage: &str,
        attempt: u32,
        failure: &Failure,
        at: u64,
    ) -> Result<(), Rejected> {
        let workflow = self.workflow;
        let spec = workflow
            .stage(stage)
            .ok_or_else(|| Rejected::UnknownStage(stage.to_string()))?;
        let st = self
            .state
            .stages
            .get_mut(stage)
            .ok_or_else(|| Rejected::UnknownStage(stage.to_string()))?;
        end_attempt(
            st,
            attempt,
            at,
            AttemptOutcome::Failed {
                failure: failure.clone(),
            },
        );
        st.last_failure = Some(failure.clone());
        st.interrupted = false;
        st.phase = StagePhase::Failed;

        if failure.kind == FailureKind::NeedsAttention {
            self.cancel_running(at);
            self.finish(
                RunStatus::NeedsAttention {
                    stage: stage.to_string(),
                    reason: failure.message.clone(),
                },
                at,
            );
            return Ok(());
        }

        if failure.kind.is_retryable()
            && let Some(retry_at) = failure.retry_at_ms
        {
            // Waiting for a known time (a usage limit's reset) is not the task failing: the
            // attempt does not count against the retry policy.
            st.round_attempts = st.round_attempts.saturating_sub(1);
            let due_at_ms = retry_at.max(at);
            let next = st.attempts + 1;
            st.phase = StagePhase::RetryWaiting {
                attempt: next,
                due_at_ms,
            };
            self.commands.push(Command::ScheduleRetry {
                stage: stage.to_string(),
                attempt: next,
                due_at_ms,
            });
            return Ok(());
        }

        if failure.kind.is_retryable() && st.round_attempts < spec.retry.max_attempts {
            let due_at_ms = at.saturating_add(spec.retry.delay_ms(st.round_attempts));
            let next = st.attempts + 1;
            st.phase = StagePhase::RetryWaiting {
                attempt: next,
                due_at_ms,
            };
            self.commands.push(Command::ScheduleRetry {
                stage: stage.to_string(),
                attempt: next,
                due_at_ms,
            });
            return Ok(());
        }

        if let Some(on_failure) = &spec.on_failure
            && st.loops < on_failure.max_loops
        {
            st.loops += 1;
            let feedback = Feedback {
                from_stage: stage.to_string(),
                attempt,
                message: failure.message.clone(),
                detail: failure.detail.clone(),
            };
            self.go_back(&on_failure.goto, feedback, at);
            return Ok(());
        }

        self.cancel_running(at);
        self.finish(
            RunStatus::Failed {
                stage: stage.to_string(),
                message: failure.message.clone(),
            },
            at,
        );
        Ok(())
    }

    /// Sends the run back to `target`: it and every stage downstream of it become pending again
    /// (running ones are cancelled), and `target` gets the feedback.
    pub(super) fn go_back(&mut self, target: &str, feedback: Feedback, at: u64) {
        // `downstream_of` lists `target` exactly once, so the feedback is handed over once.
        let mut feedback = Some(feedback);
        for id in self.downstream_of(target) {
            let Some(st) = self.state.stages.get_mut(&id) else {
                continue;
            };
            match st.phase {
                StagePhase::Running { attempt } => {
                    end_attempt(st, attempt, at, AttemptOutcome::Cancelled);
                    self.commands.push(Command::CancelAttempt {
                        stage: id.clone(),
                        attempt,
                    });
                }
                StagePhase::AwaitingApproval { attempt, .. } => {
                    end_attempt(st, attempt, at, AttemptOutcome::Cancelled);
                }
                _ => {}
            }
            st.phase = StagePhase::Pending;
            st.round_attempts = 0;
            st.summary = None;
            st.outputs = None;
            if id == target {
                st.feedback = feedback.take();
            }
        }
        self.schedule_ready(at);
    }

    /// `target` and every stage that transitively needs it, in workflow order.
    pub(super) fn downstream_of(&self, target: &str) -> Vec<String> {
        downstream(self.workflow, target)
    }

    /// Starts every pending stage whose needs have all succeeded; finishes the run when every
    /// stage has succeeded.
    pub(super) fn schedule_ready(&mut self, at: u64) {
        if self.state.status != RunStatus::Running {
            return;
        }
        let ready: Vec<String> = self
            .workflow
            .stages
            .iter()
            .filter(|s| self.is_ready(s))
            .map(|s| s.id.clone())
            .collect();
        for id in ready {
            self.start_attempt(&id, at);
        }
        let all_done = self.state.stages.values().all(StageState::is_done);
        if all_done {
            self.finish(RunStatus::Succeeded, at);
        }
    }

    pub(super) fn is_ready(&self, stage: &Stage) -> bool {
        let pending = matches!(
            self.state.stages.get(&stage.id).map(|s| &s.phase),
            Some(StagePhase::Pending)
        );
        pending
            && stage
                .needs
                .iter()
                .all(|n| self.state.stages.get(n).is_some_and(StageState::is_done))
    }

    /// Starts the next attempt of `id` (or its approval wait). In a paused run nothing
    /// starts: the stage waits as pending and starts when the run is unpaused.
    pub(super) fn start_attempt(&mut self, id: &str, at: u64) {
        let approval = self.workflow.stage(id).and_then(|s| s.approval.clone());
        let paused = self.state.is_paused();
        let Some(st) = self.state.stages.get_mut(id) else {
            return;
        };
        if paused {
            st.phase = StagePhase::Pending;
            return;
        }
        st.attempts += 1;
        st.round_attempts += 1;
        let attempt = st.attempts;
        if let Some(policy) = approval {
            let deadline_ms = policy.timeout_ms.map(|t| at.saturating_add(t));
            st.phase = StagePhase::AwaitingApproval {
                attempt,
                since_ms: at,
                deadline_ms,
            };
            st.history.push(AttemptRecord {
                attempt,
                started_at_ms: at,
                ended_at_ms: None,
                outcome: AttemptOutcome::Running,
                spend: Spend::NONE,
                commits: Vec::new(),
            });
            self.commands.push(Command::AwaitApproval {
                stage: id.to_string(),
                attempt,
                deadline_ms,
                message: policy.message,
            });
            return;
        }
        st.phase = StagePhase::Running { attempt };
        st.history.push(AttemptRecord {
            attempt,
            started_at_ms: at,
            ended_at_ms: None,
            outcome: AttemptOutcome::Running,
            spend: Spend::NONE,
            commits: Vec::new(),
        });
        self.commands.push(Command::StartAttempt {
            stage: id.to_string(),
            attempt,
            interrupted: st.interrupted,
            feedback: st.feedback.clone(),
        });
    }

    /// Stops what a run that ends now still has going, whatever ends it (a cancel, a failure,
    /// a stage that needs attention): running attempts and approval waits end as cancelled
    /// (running attempts get a `CancelAttempt`), scheduled retries are dropped (the stage is
    /// cancelled). Stages that never started stay pending: they were not stopped, they were
    /// never reached.
    pub(super) fn cancel_running(&mut self, at: u64) {
        for (id, st) in &mut self.state.stages {
            match st.phase {
                StagePhase::Running { attempt } => {
                    end_attempt(st, attempt, at, AttemptOutcome::Cancelled);
                    st.phase = StagePhase::Cancelled;
                    self.commands.push(Command::CancelAttempt {
                        stage: id.clone(),
                        attempt,
                    });
                }
                StagePhase::AwaitingApproval { attempt, .. } => {
                    end_attempt(st, attempt, at, AttemptOutcome::Cancelled);
                    st.phase = StagePhase::Cancelled;
                }
                StagePhase::RetryWaiting { .. } => st.phase = StagePhase::Cancelled,
                _ => {}
            }
        }
    }
}

/// `target` and every stage of `workflow` that transitively needs it, in workflow order.
pub(super) fn downstream(workflow: &Workflow, target: &str) -> Vec<String> {
    let mut set: Vec<String> = vec![target.to_string()];
    // Stages are few; iterate to a fixed point.
    loop {
        let before = set.len();
        for s in &workflow.stages {
            if !set.contains(&s.id) && s.needs.iter().any(|n| set.contains(n)) {
                set.push(s.id.clone());
            }
        }
        if set.len() == before {
            break;
        }
    }
    workflow
        .stages
        .iter()
        .filter(|s| set.contains(&s.id))
        .map(|s| s.id.clone())
        .collect()
}
