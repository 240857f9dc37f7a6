//! Events that move a run, and commands the state machine hands to its driver.

use serde::{Deserialize, Serialize};

use crate::state::RunStatus;

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Transient; retried under the stage's retry policy.
    Retryable,
    /// Deterministic; not retried (the run fails or goes back per `on_failure`).
    Fatal,
    /// The attempt ran past its time limit; retried like a retryable failure.
    TimedOut,
}

impl FailureKind {
    /// Whether the retry policy applies.
    pub fn is_retryable(self) -> bool {
        matches!(self, FailureKind::Retryable | FailureKind::TimedOut)
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// Retryable, fatal or timed out.
    pub kind: FailureKind,
    /// Human-readable message.
    pub message: String,
    /// Structured detail (`null` when there is none).
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// What a stage receives when a later stage sent the run back to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// The stage that failed.
    pub from_stage: String,
    /// Its attempt number.
    pub attempt: u32,
    /// Its failure message.
    pub message: String,
    /// Its structured detail.
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// Something that happened to a run. Times are milliseconds since the Unix epoch, read by the
/// driver; the state machine never reads a clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run begins.
    RunStarted {
        /// When.
        at_ms: u64,
    },
    /// An attempt finished successfully.
    AttemptSucceeded {
        /// The stage.
        stage: String,
        /// The attempt (fencing: must be the stage's running attempt).
        attempt: u32,
        /// When.
        at_ms: u64,
        /// One-line summary.
        summary: String,
        /// Outputs (a JSON object).
        outputs: serde_json::Value,
    },
    /// An attempt failed (including timeouts).
    AttemptFailed {
        /// The stage.
        stage: String,
        /// The attempt (fencing: must be the stage's running attempt).
        attempt: u32,
        /// When.
        at_ms: u64,
        /// Why.
        failure: Failure,
    },
    /// A scheduled retry is due.
    RetryDue {
        /// The stage.
        stage: String,
        /// The attempt that was scheduled.
        attempt: u32,
        /// When.
        at_ms: u64,
    },
    /// The user asked to cancel the run.
    CancelRequested {
        /// When.
        at_ms: u64,
        /// Why, as given by the user.
        reason: String,
    },
    /// A driver takes the run up again after its previous driver stopped (crash, kill, reboot).
    /// Attempts that were running are considered interrupted.
    Resumed {
        /// When.
        at_ms: u64,
    },
    /// The user asked to run a finished run again from a stage (`engine retry RUN --from S`).
    RetryFrom {
        /// The stage to start again from; it and every stage after it run again.
        stage: String,
        /// When.
        at_ms: u64,
    },
}

impl Event {
    /// When the event happened.
    pub fn at_ms(&self) -> u64 {
        match self {
            Event::RunStarted { at_ms }
            | Event::AttemptSucceeded { at_ms, .. }
            | Event::AttemptFailed { at_ms, .. }
            | Event::RetryDue { at_ms, .. }
            | Event::CancelRequested { at_ms, .. }
            | Event::Resumed { at_ms }
            | Event::RetryFrom { at_ms, .. } => *at_ms,
        }
    }

    /// A short name of the event's kind, e.g. `attempt_failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "run_started",
            Event::AttemptSucceeded { .. } => "attempt_succeeded",
            Event::AttemptFailed { .. } => "attempt_failed",
            Event::RetryDue { .. } => "retry_due",
            Event::CancelRequested { .. } => "cancel_requested",
            Event::Resumed { .. } => "resumed",
            Event::RetryFrom { .. } => "retry_from",
        }
    }
}

/// What the state machine asks its driver to do. The driver carries a command out only after
/// the transition that produced it is durably stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Start an attempt of a stage.
    StartAttempt {
        /// The stage.
        stage: String,
        /// The attempt number (strictly greater than any earlier attempt of the stage).
        attempt: u32,
        /// An earlier attempt of this stage was interrupted by a crash; its effects are unknown.
        interrupted: bool,
        /// Feedback from a later stage that sent the run back here.
        feedback: Option<Feedback>,
    },
    /// Feed `Event::RetryDue { stage, attempt }` at `due_at_ms` (at once if that has passed).
    ScheduleRetry {
        /// The stage.
        stage: String,
        /// The attempt to start then.
        attempt: u32,
        /// When.
        due_at_ms: u64,
    },
    /// Stop a running attempt; its result, if it still arrives, will be rejected.
    CancelAttempt {
        /// The stage.
        stage: String,
        /// The attempt.
        attempt: u32,
    },
    /// The run reached a terminal state.
    FinishRun {
        /// The terminal status.
        status: RunStatus,
    },
}
