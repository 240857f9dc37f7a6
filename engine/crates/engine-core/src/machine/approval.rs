//! Approval stages: a human's answer, or the timeout's.

use serde_json::json;

use super::{Rejected, Run, describe_phase, end_attempt};
use crate::event::{Failure, FailureKind};
use crate::model::OnTimeout;
use crate::state::{AttemptOutcome, RunStatus, StagePhase};

impl Run<'_> {
    /// `engine approve` / `engine reject`: the stage must be waiting.
    pub(super) fn decide_approval(
        &mut self,
        stage: &str,
        approved: bool,
        by: &str,
        reason: &str,
        at: u64,
    ) -> Result<(), Rejected> {
        let attempt = self.awaiting_attempt(stage)?;
        if approved {
            let summary = if reason.is_empty() {
                format!("approved by {by}")
            } else {
                format!("approved by {by}: {reason}")
            };
            let outputs = json!({ "approved": true, "by": by, "reason": reason });
            self.approve(stage, attempt, summary, outputs, at)
        } else {
            let message = if reason.is_empty() {
                format!("rejected by {by}")
            } else {
                format!("rejected by {by}: {reason}")
            };
            let failure = Failure {
                kind: FailureKind::Fatal,
                message,
                detail: json!({ "approved": false, "by": by, "reason": reason }),
                retry_at_ms: None,
            };
            self.on_failure(stage, attempt, &failure, at)
        }
    }

    /// Nobody answered in time: the stage's `on_timeout` decides.
    pub(super) fn approval_timed_out(
        &mut self,
        stage: &str,
        attempt: u32,
        at: u64,
    ) -> Result<(), Rejected> {
        let waiting = self.awaiting_attempt(stage)?;
        if waiting != attempt {
            return Err(Rejected::StaleAttempt {
                stage: stage.to_string(),
                attempt,
                current: format!("attempt {waiting} is waiting for approval"),
            });
        }
        let policy = self
            .workflow
            .stage(stage)
            .and_then(|s| s.approval.clone())
            .unwrap_or_default();
        match policy.on_timeout {
            OnTimeout::Approve => {
                let outputs = json!({ "approved": true, "by": "timeout", "reason": "" });
                self.approve(
                    stage,
                    attempt,
                    "approved: nobody answered in time".into(),
                    outputs,
                    at,
                )
            }
            OnTimeout::Reject => {
                let failure = Failure {
                    kind: FailureKind::Fatal,
                    message: "rejected: nobody answered in time".into(),
                    detail: json!({ "approved": false, "by": "timeout", "reason": "timed out" }),
                    retry_at_ms: None,
                };
                self.on_failure(stage, attempt, &failure, at)
            }
            OnTimeout::Fail => {
                let message = "nobody approved in time".to_string();
                let st = self.stage_mut(stage)?;
                let failure = Failure {
                    kind: FailureKind::TimedOut,
                    message: message.clone(),
                    detail: serde_json::Value::Null,
                    retry_at_ms: None,
                };
                end_attempt(
                    st,
                    attempt,
                    at,
                    AttemptOutcome::Failed {
                        failure: failure.clone(),
                    },
                );
                st.last_failure = Some(failure);
                st.phase = StagePhase::Failed;
                self.cancel_running(at);
                self.finish(
                    RunStatus::Failed {
                        stage: stage.to_string(),
                        message,
                    },
                    at,
                );
                Ok(())
            }
        }
    }

    fn approve(
        &mut self,
        stage: &str,
        attempt: u32,
        summary: String,
        outputs: serde_json::Value,
        at: u64,
    ) -> Result<(), Rejected> {
        let st = self.stage_mut(stage)?;
        st.phase = StagePhase::Succeeded;
        st.summary = Some(summary.clone());
        st.outputs = Some(outputs);
        st.feedback = None;
        st.interrupted = false;
        end_attempt(st, attempt, at, AttemptOutcome::Succeeded { summary });
        self.schedule_ready(at);
        Ok(())
    }

    /// The attempt of `stage` that waits for approval.
    fn awaiting_attempt(&self, stage: &str) -> Result<u32, Rejected> {
        let st = self
            .state
            .stages
            .get(stage)
            .ok_or_else(|| Rejected::UnknownStage(stage.to_string()))?;
        match st.phase {
            StagePhase::AwaitingApproval { attempt, .. } => Ok(attempt),
            ref other => Err(Rejected::NotAwaitingApproval {
                stage: stage.to_string(),
                current: describe_phase(other),
            }),
        }
    }
}
