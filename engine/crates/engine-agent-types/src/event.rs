//! Normalized events: what every backend's parser turns its CLI's output into.

use serde::{Deserialize, Serialize};

/// Token and cost counters. In [`AgentEvent::Usage`] they are cumulative for the session.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_write_tokens: u64,
    /// Cost in USD, when known.
    pub cost_usd: Option<f64>,
}

/// Something that happened in an agent session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// The session started; `session_id` is what a resume takes.
    SessionStarted {
        /// The CLI's session (thread) id.
        session_id: String,
        /// The model, when the CLI says.
        model: Option<String>,
    },
    /// Text from the assistant (not from subagents).
    AssistantText {
        /// The text.
        text: String,
    },
    /// A tool call started.
    ToolStarted {
        /// The call's id.
        id: String,
        /// Tool name.
        name: String,
        /// The call's input.
        input: serde_json::Value,
    },
    /// A tool call finished.
    ToolFinished {
        /// The call's id.
        id: String,
        /// Tool name, when known.
        name: Option<String>,
        /// False when the tool reported an error.
        ok: bool,
        /// The tool's output (may be truncated).
        output: String,
    },
    /// Cumulative usage so far.
    Usage {
        /// The counters.
        usage: Usage,
    },
    /// The account hit a usage (rate) limit.
    RateLimited {
        /// When it resets, ms since the epoch, if known.
        resets_at_ms: Option<u64>,
        /// What the CLI said.
        message: String,
    },
    /// The CLI is retrying an API call.
    ApiRetry {
        /// Retry number.
        attempt: u32,
        /// Delay before the retry, if known.
        delay_ms: Option<u64>,
        /// HTTP status of the failed call, if known.
        status: Option<u16>,
    },
    /// The account's quota or billing is exhausted (an `OpenAI` `insufficient_quota`, Anthropic's
    /// "credit balance is too low"...): waiting does not help, a person has to act.
    QuotaExhausted {
        /// What the CLI (or the API through it) said.
        message: String,
    },
    /// Authentication failed.
    AuthFailed {
        /// What the CLI said.
        message: String,
    },
    /// The prompt no longer fits the model's context window.
    ContextOverflow {
        /// What the CLI said.
        message: String,
    },
    /// The CLI's terminal result: the session is done.
    Result {
        /// The CLI says the session ended in error.
        is_error: bool,
        /// The CLI's kind of result (`success`, `error_max_turns`, ...).
        subtype: String,
        /// The final text.
        text: String,
        /// The session id, if the result carries it.
        session_id: Option<String>,
        /// Turns taken, if reported.
        turns: Option<u32>,
        /// Final usage (authoritative when present).
        usage: Option<Usage>,
    },
    /// A line the CLI wrote to stderr.
    StderrLine {
        /// The line.
        line: String,
    },
    /// A stdout line that could not be interpreted (kept raw).
    Unknown {
        /// The raw line.
        raw: String,
    },
    /// A warning from the host's supervision.
    SupervisorWarning {
        /// The warning.
        message: String,
    },
}

impl AgentEvent {
    /// Whether this is the CLI's terminal event.
    pub fn is_terminal(&self) -> bool {
        matches!(self, AgentEvent::Result { .. })
    }
}
