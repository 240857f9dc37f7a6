//! What a stage asks for when it starts a session.

use serde::{Deserialize, Serialize};

/// How much the agent may do without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionMode {
    /// The CLI's default.
    #[default]
    Default,
    /// File edits accepted.
    AcceptEdits,
    /// Read-only planning.
    Plan,
    /// Everything allowed.
    Bypass,
}

/// A session to start, with the model already resolved to an id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionRequest {
    /// Backend name (`claude`, `codex`, ... or a custom backend's name).
    pub backend: String,
    /// Model id (tiers already resolved by the host), or the CLI's default.
    pub model: Option<String>,
    /// The prompt.
    pub prompt: String,
    /// Text appended to the system prompt.
    pub system_prompt: Option<String>,
    /// Permission mode.
    pub permission_mode: PermissionMode,
    /// Allowed tools (CLI syntax).
    pub allowed_tools: Vec<String>,
    /// Denied tools.
    pub denied_tools: Vec<String>,
    /// Turn limit.
    pub max_turns: Option<u32>,
    /// Session to resume.
    pub resume_session: Option<String>,
    /// Spending cap in USD for this session (the smallest of every applicable budget).
    pub budget_usd: Option<f64>,
}
