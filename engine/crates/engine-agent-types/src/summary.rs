//! How a session ended.

use serde::{Deserialize, Serialize};

use crate::event::Usage;

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A successful result.
    Completed,
    /// An error result.
    Errored,
    /// The turn limit was reached.
    MaxTurns,
    /// Stopped by the host: spending passed the budget.
    BudgetExceeded,
    /// A usage limit was hit.
    RateLimited,
    /// The account's quota or billing is exhausted.
    QuotaExhausted,
    /// Authentication failed.
    AuthFailed,
    /// The CLI refused to run with its configuration (e.g. an untrusted folder, a bad
    /// setting): no retry or resume helps until a person fixes it.
    Misconfigured,
    /// The prompt no longer fits the context.
    ContextOverflow,
    /// Stopped by the host: no output for too long.
    KilledInactive,
    /// Stopped by the host: a tool ran past its ceiling.
    KilledToolCeiling,
    /// Stopped by the host: absolute silence backstop.
    KilledSilence,
    /// The process ended without a result.
    Crashed,
    /// Cancelled by the stage (or the run).
    Cancelled,
}

/// The end of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// How it ended.
    pub outcome: Outcome,
    /// Final result text.
    pub result_text: String,
    /// Session id for a resume.
    pub session_id: Option<String>,
    /// Turns taken.
    pub turns: u32,
    /// Usage of the whole session.
    pub usage: Usage,
    /// Wall time.
    pub duration_ms: u64,
    /// Exit code, when the process exited.
    pub exit_code: Option<i32>,
    /// Human-readable explanation.
    pub detail: String,
    /// When rate-limited: reset time (ms since the epoch), if known.
    pub resets_at_ms: Option<u64>,
    /// Files changed in the worktree during the session.
    pub files_changed: Vec<String>,
    /// The usage's `cost_usd` was computed from its tokens and a price table (the CLI reported
    /// no cost): an estimate.
    #[serde(default)]
    pub cost_estimated: bool,
    /// The model the session ran: as the CLI named it, else as requested.
    #[serde(default)]
    pub model: Option<String>,
}
