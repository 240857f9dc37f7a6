//! The workflow as the state machine sees it: stages, their dependencies and policies, with every
//! default already resolved. `engine-workflow` builds this from YAML; tests build it directly.

use serde::{Deserialize, Serialize};

/// A validated workflow with defaults resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// The workflow's `name:`.
    pub name: String,
    /// Stages in file order. Ids are unique and every `needs` entry names one of them; the
    /// dependency graph has no cycle (the loader guarantees it).
    pub stages: Vec<Stage>,
    /// Stages of the `finally:` section: run once the run reached its terminal state (subject to
    /// their `if:`); their outcome never changes the run's. Their `needs` are empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finally: Vec<Stage>,
    /// The run's time limit (`timeout:`), in milliseconds: once this long has passed since the
    /// run started (wall clock, whether or not a process drove it all along), what runs is
    /// cancelled and the run fails. `None`: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl Workflow {
    /// The stage with this id.
    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// The `finally:` stage with this id.
    pub fn finally_stage(&self, id: &str) -> Option<&Stage> {
        self.finally.iter().find(|s| s.id == id)
    }
}

/// Whether a stage may run again after a crash interrupted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Re-run after a crash (effects made idempotent with the idempotency keys).
    #[default]
    AtLeastOnce,
    /// After a crash the next attempt is told it was interrupted and must reconcile.
    AtMostOnce,
}

/// Retry policy for retryable failures (timeouts count as retryable).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts per round, including the first (1 = never retry).
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds.
    pub initial_interval_ms: u64,
    /// Factor applied to the delay after each retry (>= 1.0).
    pub backoff: f64,
    /// Upper bound of the delay, in milliseconds.
    pub max_interval_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_interval_ms: 10_000,
            backoff: 2.0,
            max_interval_ms: 300_000,
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retry` (1 = the first retry) in milliseconds:
    /// `initial * backoff^(retry-1)`, capped at `max_interval`.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "`delay` is finite, at least 0 and below max_interval_ms where it is cast; \
                  dropping the fraction of a millisecond is intended"
    )]
    pub fn delay_ms(&self, retry: u32) -> u64 {
        let exponent = i32::try_from(retry.saturating_sub(1)).map_or(64, |e| e.min(64));
        let factor = if self.backoff.is_finite() && self.backoff >= 1.0 {
            self.backoff
        } else {
            1.0
        };
        let delay = self.initial_interval_ms as f64 * factor.powi(exponent);
        if !delay.is_finite() || delay >= self.max_interval_ms as f64 {
            self.max_interval_ms
        } else {
            delay as u64
        }
    }
}

/// `on_failure: { goto: STAGE, max_loops: N }`: when the stage fails for good, send the run back
/// to an earlier stage with the failure as feedback, at most `max_loops` times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnFailure {
    /// The stage to go back to: this stage or one it (transitively) needs.
    pub goto: String,
    /// How many times this stage may send the run back.
    pub max_loops: u32,
}

/// One stage of a workflow, as the state machine sees it: what it waits for, how it retries,
/// where a failure sends the run, its delivery guarantee and whether it waits for a human.
/// What the host needs to run it (component, config, permissions, limits, `if:`, secrets) is
/// `engine_workflow::StageSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// The stage's id (its key under `stages:`).
    pub id: String,
    /// Stages that must succeed before this one starts.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Retry policy for retryable failures.
    pub retry: RetryPolicy,
    /// Where to send the run when the stage fails for good.
    #[serde(default)]
    pub on_failure: Option<OnFailure>,
    /// Delivery guarantee of the stage's effects.
    #[serde(default)]
    pub delivery: Delivery,
    /// Set for an approval stage (`uses: builtin:approval`): instead of running a component the
    /// stage waits for a human (`engine approve` / `engine reject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalPolicy>,
}

/// What an approval stage does when nobody answers in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnTimeout {
    /// Continue as if approved.
    Approve,
    /// Treat as a rejection: the stage fails (and `on_failure` may send the run back).
    Reject,
    /// The run fails at once (no `on_failure`).
    #[default]
    Fail,
}

/// How an approval stage waits for a human.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    /// How long to wait, in milliseconds; `None` = forever.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// What happens when the wait times out.
    #[serde(default)]
    pub on_timeout: OnTimeout,
    /// What to tell the human (shown by `engine show` and the progress output).
    #[serde(default)]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_and_caps() {
        let p = RetryPolicy {
            max_attempts: 5,
            initial_interval_ms: 100,
            backoff: 2.0,
            max_interval_ms: 350,
        };
        assert_eq!(p.delay_ms(1), 100);
        assert_eq!(p.delay_ms(2), 200);
        assert_eq!(p.delay_ms(3), 350);
        assert_eq!(p.delay_ms(60), 350);
    }
}
