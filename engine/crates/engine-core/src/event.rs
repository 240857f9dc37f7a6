//! Events that move a run, and commands the state machine hands to its driver.

use serde::{Deserialize, Serialize};

use crate::state::{FinallyOutcome, RunStatus};

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
    /// The stage decided the run should not go on: not retried, no `on_failure`; the run ends
    /// "needs attention".
    NeedsAttention,
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
    /// For a retryable failure: retry at this time (ms since the epoch) instead of after the
    /// backoff, without counting the attempt against `max_attempts` (e.g. a usage limit that
    /// resets at a known time: waiting is not the task failing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
}

/// Money and tokens an attempt spent (agent sessions).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Spend {
    /// Cost in USD of what is known.
    pub cost_usd: f64,
    /// False when some session's cost could not be known.
    pub cost_known: bool,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_tokens: u64,
    /// Tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
    /// Some of `cost_usd` was estimated from tokens and a price table (a CLI that reports no
    /// cost), not reported by the CLI.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cost_estimated: bool,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes the field by reference"
)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes the field by reference"
)]
fn is_false(b: &bool) -> bool {
    !*b
}

impl Spend {
    /// Nothing spent (and that is known).
    pub const NONE: Spend = Spend {
        cost_usd: 0.0,
        cost_known: true,
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        cost_estimated: false,
    };

    /// [`Spend::NONE`], for serde defaults.
    pub fn default_known() -> Spend {
        Spend::NONE
    }

    /// Whether anything was spent at all.
    pub fn is_zero(&self) -> bool {
        self.cost_usd == 0.0
            && self.input_tokens == 0
            && self.output_tokens == 0
            && self.cache_read_tokens == 0
            && self.cache_write_tokens == 0
    }
}

impl std::ops::Add for Spend {
    type Output = Spend;

    /// The sum of two spends (the cost is known only if both are, and estimated if either is).
    fn add(self, other: Spend) -> Spend {
        Spend {
            cost_usd: self.cost_usd + other.cost_usd,
            cost_known: self.cost_known && other.cost_known,
            input_tokens: self.input_tokens + other.input_tokens,
            output_tokens: self.output_tokens + other.output_tokens,
            cache_read_tokens: self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens: self.cache_write_tokens + other.cache_write_tokens,
            cost_estimated: self.cost_estimated || other.cost_estimated,
        }
    }
}

fn spend_is_none(spend: &Spend) -> bool {
    *spend == Spend::NONE
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
        /// Commits the attempt added to the run's branch (its own or the host's), oldest first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        commits: Vec<String>,
        /// What the attempt spent.
        #[serde(
            default = "Spend::default_known",
            skip_serializing_if = "spend_is_none"
        )]
        spend: Spend,
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
        /// What the attempt spent.
        #[serde(
            default = "Spend::default_known",
            skip_serializing_if = "spend_is_none"
        )]
        spend: Spend,
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
    /// What an attempt spent, reported apart from its result: for an attempt that was cancelled
    /// (its result will be rejected) the money is still counted. Accepted in any run state.
    SpendRecorded {
        /// The stage.
        stage: String,
        /// The attempt.
        attempt: u32,
        /// When.
        at_ms: u64,
        /// What it spent (added to what is recorded).
        spend: Spend,
    },
    /// The user asked to run a finished run again from a stage (`engine retry RUN --from S`).
    RetryFrom {
        /// The stage to start again from; it and every stage after it run again.
        stage: String,
        /// When.
        at_ms: u64,
    },
    /// A stage about to start was skipped because its `if:` did not hold.
    StageSkipped {
        /// The stage.
        stage: String,
        /// The attempt that was starting (fencing).
        attempt: u32,
        /// When.
        at_ms: u64,
        /// The condition and why it did not hold.
        reason: String,
    },
    /// A human answered an approval stage (`engine approve` / `engine reject`).
    ApprovalDecided {
        /// The approval stage.
        stage: String,
        /// When.
        at_ms: u64,
        /// Approved (true) or rejected (false).
        approved: bool,
        /// Who answered (user name as given or found).
        by: String,
        /// Why (required for a rejection; becomes the feedback when the run goes back).
        reason: String,
    },
    /// Nobody answered an approval stage in time; its `on_timeout` applies.
    ApprovalTimedOut {
        /// The approval stage.
        stage: String,
        /// The waiting attempt (fencing).
        attempt: u32,
        /// When.
        at_ms: u64,
    },
    /// The user paused the run (`engine pause`): no attempt starts (no stage, no retry) until
    /// `Unpaused`; attempts already running finish and their results are recorded.
    Paused {
        /// When.
        at_ms: u64,
    },
    /// The user let a paused run go on (`engine unpause`): the stages that became ready while
    /// it was paused start.
    Unpaused {
        /// When.
        at_ms: u64,
    },
    /// The run's deadline (the workflow's `timeout:` from its start) passed: what runs is
    /// cancelled and the run fails. Accepted only once the deadline has passed.
    RunTimedOut {
        /// When.
        at_ms: u64,
    },
    /// A `finally:` stage of a finished run ended. Accepted only once per stage, and only
    /// after the run ended.
    FinallyFinished {
        /// The `finally:` stage.
        stage: String,
        /// When.
        at_ms: u64,
        /// How it ended.
        outcome: FinallyOutcome,
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
            | Event::SpendRecorded { at_ms, .. }
            | Event::RetryFrom { at_ms, .. }
            | Event::StageSkipped { at_ms, .. }
            | Event::ApprovalDecided { at_ms, .. }
            | Event::ApprovalTimedOut { at_ms, .. }
            | Event::Paused { at_ms }
            | Event::Unpaused { at_ms }
            | Event::RunTimedOut { at_ms }
            | Event::FinallyFinished { at_ms, .. } => *at_ms,
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
            Event::SpendRecorded { .. } => "spend_recorded",
            Event::RetryFrom { .. } => "retry_from",
            Event::StageSkipped { .. } => "stage_skipped",
            Event::ApprovalDecided { .. } => "approval_decided",
            Event::ApprovalTimedOut { .. } => "approval_timed_out",
            Event::Paused { .. } => "paused",
            Event::Unpaused { .. } => "unpaused",
            Event::RunTimedOut { .. } => "run_timed_out",
            Event::FinallyFinished { .. } => "finally_finished",
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
    /// Wait for a human to approve or reject an approval stage; feed
    /// `Event::ApprovalTimedOut { stage, attempt }` at `deadline_ms` if nobody has by then.
    AwaitApproval {
        /// The approval stage.
        stage: String,
        /// The waiting attempt.
        attempt: u32,
        /// When the wait times out, if it does.
        deadline_ms: Option<u64>,
        /// What to tell the human (the stage's `message`).
        message: Option<String>,
    },
    /// Feed `Event::RunTimedOut` at `due_at_ms` (at once if that has passed): the run's
    /// deadline under the workflow's `timeout:`.
    ScheduleRunTimeout {
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
