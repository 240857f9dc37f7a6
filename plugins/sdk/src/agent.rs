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
//! The types are the WIT `agent` interface's, with a builder and a few readings added here.
//! Only [`SessionRequest::start`] and the methods of [`Session`] call the host; dropping a
//! [`Session`] lets the host stop the process.

use crate::bindings::engine::stage::agent as raw;
use crate::context::json_or_string;

pub use raw::{
    AgentError, Event, Outcome, PermissionMode, ResultInfo, Session, SessionRequest, Summary,
    ToolCall, ToolResult, Usage,
};

/// The CLI's default (tools that need approval are unavailable headless).
impl Default for PermissionMode {
    fn default() -> Self {
        PermissionMode::Default
    }
}

/// No tokens, unknown cost.
impl Default for Usage {
    fn default() -> Self {
        Usage {
            input_tokens: 0,
            output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            cost_usd: None,
        }
    }
}

impl SessionRequest {
    /// A request for `backend` with `prompt`: the backend's default model and permission mode,
    /// the CLI's default tools, no turn limit, a new session and no budget of its own.
    pub fn new(backend: impl Into<String>, prompt: impl Into<String>) -> Self {
        SessionRequest {
            backend: backend.into(),
            model: None,
            prompt: prompt.into(),
            system_prompt: None,
            permission_mode: PermissionMode::default(),
            allowed_tools: Vec::new(),
            denied_tools: Vec::new(),
            max_turns: None,
            resume_session: None,
            budget_usd: None,
        }
    }

    /// Sets the model id or tier name (`genius`, `smart`, `primitive`).
    #[must_use]
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the text appended to the system prompt.
    #[must_use]
    pub fn system_prompt(mut self, text: impl Into<String>) -> Self {
        self.system_prompt = Some(text.into());
        self
    }

    /// Sets the permission mode.
    #[must_use]
    pub fn permission_mode(mut self, mode: PermissionMode) -> Self {
        self.permission_mode = mode;
        self
    }

    /// Resumes an earlier session.
    #[must_use]
    pub fn resume(mut self, session_id: impl Into<String>) -> Self {
        self.resume_session = Some(session_id.into());
        self
    }

    /// Starts the session on the host.
    pub fn start(&self) -> Result<Session, AgentError> {
        raw::start(self)
    }
}

impl ToolCall {
    /// The call's input, parsed: a JSON string value when the host's text is not JSON, `null`
    /// when it is empty.
    pub fn input_json(&self) -> serde_json::Value {
        json_or_string(&self.input)
    }
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

    /// The error for people: `kind: message` (wit-bindgen's `Display` is the `Debug` form).
    pub fn text(&self) -> String {
        format!("{}: {}", self.kind(), self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_fills_every_field() {
        let request = SessionRequest::new("claude", "do it")
            .model("smart")
            .system_prompt("be brief")
            .permission_mode(PermissionMode::AcceptEdits)
            .resume("s-1");
        assert_eq!(request.backend, "claude");
        assert_eq!(request.model.as_deref(), Some("smart"));
        assert_eq!(request.prompt, "do it");
        assert_eq!(request.system_prompt.as_deref(), Some("be brief"));
        assert_eq!(request.permission_mode, PermissionMode::AcceptEdits);
        assert_eq!(request.resume_session.as_deref(), Some("s-1"));
        let plain = SessionRequest::new("codex", "p");
        assert_eq!(plain.permission_mode, PermissionMode::Default);
        assert!(plain.allowed_tools.is_empty() && plain.denied_tools.is_empty());
        assert_eq!((plain.max_turns, plain.budget_usd), (None, None));
    }

    #[test]
    fn tool_input_is_parsed_leniently() {
        let call = |input: &str| ToolCall {
            id: "t1".into(),
            name: "Bash".into(),
            input: input.into(),
        };
        assert_eq!(call(r#"{"command":"ls"}"#).input_json()["command"], "ls");
        assert_eq!(call("not json").input_json(), "not json");
        assert_eq!(call("").input_json(), serde_json::Value::Null);
    }

    #[test]
    fn outcomes_and_errors_read_in_words() {
        assert_eq!(Outcome::RateLimited.as_str(), "rate_limited");
        assert_eq!(
            Outcome::KilledToolCeiling.to_string(),
            "killed_tool_ceiling"
        );
        let error = AgentError::BudgetExhausted("none left".into());
        assert_eq!(error.kind(), "budget-exhausted");
        assert_eq!(error.message(), "none left");
        assert_eq!(error.text(), "budget-exhausted: none left");
        assert_eq!(Usage::default().cost_usd, None);
    }
}
