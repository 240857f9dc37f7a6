//! Coding-agent sessions (the `agent` interface, granted by `permissions.agent`).
//!
//! The host runs the agent CLI as a supervised process and enforces the hard limits
//! (inactivity, tool ceilings, silence, max turns, budget); the stage pulls normalized events
//! and decides policy.
//!
//! ```ignore
//! use engine_stage_sdk::agent::{Event, SessionRequest};
//! let session = SessionRequest::new("claude", "Fix the failing test").model("smart").start()?;
//! while let Some(event) = session.next_event() {
//!     if let Event::AssistantText(text) = event { engine_stage_sdk::log::info(&text); }
//! }
//! let summary = session.finish();
//! ```
//!
//! The types here are plain Rust values: only [`SessionRequest::start`] and the methods of
//! [`Session`] call the host.

mod convert;

use crate::bindings::engine::stage::agent as raw;
use convert::request_to_raw;

/// How much the agent may do without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PermissionMode {
    /// The CLI's default (tools that need approval are unavailable headless).
    #[default]
    Default,
    /// File edits are accepted; other tools need approval.
    AcceptEdits,
    /// Read-only planning.
    Plan,
    /// Everything is allowed (the host still confines the process to the worktree).
    Bypass,
}

/// A session to start.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionRequest {
    /// Backend name: `claude`, `codex`, `gemini`, `opencode`, `aider`, `cursor`, or a custom
    /// backend declared in the workflow.
    pub backend: String,
    /// A model id or a tier name (`genius`, `smart`, `primitive`); `None`: the CLI's default.
    pub model: Option<String>,
    /// The prompt.
    pub prompt: String,
    /// Text appended to the agent's system prompt, where the CLI supports it.
    pub system_prompt: Option<String>,
    /// Permission mode.
    pub permission_mode: PermissionMode,
    /// Tools the agent may use (CLI syntax); empty: the CLI's default.
    pub allowed_tools: Vec<String>,
    /// Tools the agent may not use.
    pub denied_tools: Vec<String>,
    /// Stop after this many turns.
    pub max_turns: Option<u32>,
    /// Resume this earlier session instead of starting a new one.
    pub resume_session: Option<String>,
    /// This session's spending cap in USD (the host also applies the stage, run and day
    /// budgets and uses the smallest).
    pub budget_usd: Option<f64>,
}

impl SessionRequest {
    /// A request for `backend` with `prompt` and every other field at its default.
    pub fn new(backend: impl Into<String>, prompt: impl Into<String>) -> Self {
        SessionRequest {
            backend: backend.into(),
            prompt: prompt.into(),
            ..SessionRequest::default()
        }
    }

    /// Sets the model id or tier name.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the text appended to the system prompt.
    pub fn system_prompt(mut self, text: impl Into<String>) -> Self {
        self.system_prompt = Some(text.into());
        self
    }

    /// Sets the permission mode.
    pub fn permission_mode(mut self, mode: PermissionMode) -> Self {
        self.permission_mode = mode;
        self
    }

    /// Resumes an earlier session.
    pub fn resume(mut self, session_id: impl Into<String>) -> Self {
        self.resume_session = Some(session_id.into());
        self
    }

    /// Starts the session on the host.
    pub fn start(&self) -> Result<Session, AgentError> {
        raw::start(&request_to_raw(self))
            .map(|inner| Session { inner })
            .map_err(AgentError::from)
    }
}

/// Token and cost counters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_write_tokens: u64,
    /// Cost in USD so far, when known.
    pub cost_usd: Option<f64>,
}

/// A tool call the agent started.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The call's id.
    pub id: String,
    /// Tool name (e.g. `Bash`, `Edit`).
    pub name: String,
    /// The call's input (a JSON string value when the host's text was not JSON).
    pub input: serde_json::Value,
}

/// A tool call that finished.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// The call's id.
    pub id: String,
    /// Tool name, when known.
    pub name: Option<String>,
    /// False when the tool reported an error.
    pub ok: bool,
    /// The tool's output (truncated by the host).
    pub output: String,
}

/// The CLI's terminal result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultInfo {
    /// The CLI says the session ended in error.
    pub is_error: bool,
    /// The CLI's own kind of result (e.g. `success`, `error_max_turns`).
    pub subtype: String,
    /// The final text.
    pub text: String,
}

/// Something that happened in a session, normalized across CLIs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The session started; its id is what a resume takes.
    SessionStarted(String),
    /// Text from the assistant.
    AssistantText(String),
    /// A tool call started.
    ToolStarted(ToolCall),
    /// A tool call finished.
    ToolFinished(ToolResult),
    /// Cumulative usage so far.
    Usage(Usage),
    /// The account hit a usage limit; when it resets (ms since the epoch), if known.
    RateLimited(Option<u64>),
    /// The CLI is retrying an API call (the retry number).
    ApiRetry(u32),
    /// Authentication failed; the message says how.
    AuthFailed(String),
    /// The account's quota or billing is exhausted; the message says what the provider said.
    QuotaExhausted(String),
    /// The prompt no longer fits the model's context window.
    ContextOverflow(String),
    /// The CLI's terminal result.
    FinalResult(ResultInfo),
    /// A line the CLI wrote to stderr.
    StderrLine(String),
    /// A line the host could not interpret (kept raw).
    Unknown(String),
    /// A warning from the host's supervision.
    SupervisorWarning(String),
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The CLI produced a successful result.
    Completed,
    /// The CLI produced an error result.
    Errored,
    /// The turn limit was reached.
    MaxTurns,
    /// The host stopped it: its spending passed the budget.
    BudgetExceeded,
    /// A usage limit was hit.
    RateLimited,
    /// Authentication failed.
    AuthFailed,
    /// The account's quota or billing is exhausted (waiting does not help).
    QuotaExhausted,
    /// The CLI refused to run with its configuration (an untrusted folder, a bad setting):
    /// the detail says how to fix it; resuming never helps.
    Misconfigured,
    /// The prompt no longer fits the model's context.
    ContextOverflow,
    /// The host stopped it: no output for too long.
    KilledInactive,
    /// The host stopped it: a tool ran past its ceiling.
    KilledToolCeiling,
    /// The host stopped it: absolute silence backstop.
    KilledSilence,
    /// The process ended without a result.
    Crashed,
    /// The stage (or the run) cancelled it.
    Cancelled,
}

impl Outcome {
    /// The outcome's name in snake case (`completed`, `rate_limited`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Errored => "errored",
            Outcome::MaxTurns => "max_turns",
            Outcome::BudgetExceeded => "budget_exceeded",
            Outcome::RateLimited => "rate_limited",
            Outcome::AuthFailed => "auth_failed",
            Outcome::QuotaExhausted => "quota_exhausted",
            Outcome::Misconfigured => "misconfigured",
            Outcome::ContextOverflow => "context_overflow",
            Outcome::KilledInactive => "killed_inactive",
            Outcome::KilledToolCeiling => "killed_tool_ceiling",
            Outcome::KilledSilence => "killed_silence",
            Outcome::Crashed => "crashed",
            Outcome::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The end of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// How it ended.
    pub outcome: Outcome,
    /// The final result text (empty without a result).
    pub result_text: String,
    /// The session id, for a resume.
    pub session_id: Option<String>,
    /// Turns taken.
    pub turns: u32,
    /// Usage of the whole session.
    pub usage: Usage,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The process's exit code, when it exited.
    pub exit_code: Option<i32>,
    /// A human-readable explanation of the outcome.
    pub detail: String,
    /// When rate-limited: when the limit resets (ms since the epoch), if known.
    pub resets_at_ms: Option<u64>,
    /// Files in the worktree changed during the session (relative paths).
    pub files_changed: Vec<String>,
}

/// Why a session could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentError {
    /// The workflow does not grant `agent` to this stage.
    NotPermitted(String),
    /// No such backend (or custom backend) is configured.
    UnknownBackend(String),
    /// No budget is left, or the spend cannot be known while a budget applies.
    BudgetExhausted(String),
    /// The CLI could not be started (e.g. not installed).
    SpawnFailed(String),
    /// The request is invalid.
    InvalidRequest(String),
}

impl AgentError {
    /// A short name of the kind: `not-permitted`, `unknown-backend`, `budget-exhausted`,
    /// `spawn-failed` or `invalid-request`.
    pub fn kind(&self) -> &'static str {
        match self {
            AgentError::NotPermitted(_) => "not-permitted",
            AgentError::UnknownBackend(_) => "unknown-backend",
            AgentError::BudgetExhausted(_) => "budget-exhausted",
            AgentError::SpawnFailed(_) => "spawn-failed",
            AgentError::InvalidRequest(_) => "invalid-request",
        }
    }

    /// The host's explanation.
    pub fn message(&self) -> &str {
        match self {
            AgentError::NotPermitted(m)
            | AgentError::UnknownBackend(m)
            | AgentError::BudgetExhausted(m)
            | AgentError::SpawnFailed(m)
            | AgentError::InvalidRequest(m) => m,
        }
    }
}

impl std::fmt::Display for AgentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for AgentError {}

/// A running (or finished) session. Dropping it lets the host stop the process.
#[derive(Debug)]
pub struct Session {
    inner: raw::Session,
}

impl Session {
    /// The next event, waiting for it; `None` once the session has ended.
    pub fn next_event(&self) -> Option<Event> {
        self.inner.next_event().map(Event::from)
    }

    /// Stops the session (the host kills the process group). [`Session::finish`] still
    /// returns its summary, with outcome [`Outcome::Cancelled`].
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Waits for the session to end and returns its summary.
    pub fn finish(self) -> Summary {
        Summary::from(self.inner.finish())
    }
}
