//! The `with:` config of the agent stage, its defaults and its checks. The JSON Schema is in
//! [`crate::schema`].

use std::time::Duration;

use engine_stage_sdk::agent::PermissionMode;
use serde::Deserialize;

/// The highest `continuation.max_iterations` accepted.
pub const MAX_ITERATIONS_CAP: u32 = 50;

/// Polling-style commands the stall rules ignore unless `stall.exempt` says otherwise.
pub const DEFAULT_EXEMPT: &[&str] = &[
    "sleep",
    "watch",
    "wait",
    "gh run watch",
    "gh run view",
    "gh run list",
    "gh pr checks",
    "gh pr view",
    "git status",
    "git log",
    "git diff",
    "kubectl get",
    "kubectl rollout status",
    "docker ps",
    "tail",
];

/// `with:` of `builtin:agent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Backend name (`claude`, `codex`, ... or a custom backend of the workflow).
    pub backend: String,
    /// Model id or tier name (`genius`, `smart`, `primitive`); none: the backend's default.
    #[serde(default)]
    pub model: Option<String>,
    /// minijinja template of the prompt; none: the built-in template.
    #[serde(default)]
    pub prompt: Option<String>,
    /// minijinja template of text appended to the agent's system prompt.
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// How much the agent may do without asking (default `bypass`).
    #[serde(default)]
    pub permission_mode: PermissionModeName,
    /// Tools the agent may use (CLI syntax); empty: the CLI's default.
    #[serde(default)]
    pub allowed_tools: Vec<String>,
    /// Tools the agent may not use.
    #[serde(default)]
    pub denied_tools: Vec<String>,
    /// Turn limit of each session (default 50).
    #[serde(default = "default_max_turns")]
    pub max_turns: u32,
    /// How the agent says it is done (default `none`).
    #[serde(default)]
    pub completion: Dialect,
    /// The text inside `<promise>...</promise>` for the `promise` dialect.
    #[serde(default = "default_promise")]
    pub promise: String,
    /// Continuation limits (the circuit breaker).
    #[serde(default)]
    pub continuation: ContinuationConfig,
    /// Stall rules.
    #[serde(default)]
    pub stall: StallConfig,
    /// What to do when the account hits a usage limit.
    #[serde(default)]
    pub usage_limit: UsageLimitConfig,
    /// This stage's spending cap in USD, over all its sessions in one attempt.
    #[serde(default)]
    pub budget_usd: Option<f64>,
}

/// `permission_mode:` as written in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionModeName {
    /// Everything allowed: an unattended agent must be able to build and test its change.
    #[default]
    Bypass,
    /// File edits accepted; other tools (shell) only when listed in `allowed_tools`.
    AcceptEdits,
    /// Read-only planning.
    Plan,
    /// The CLI's default (tools needing approval are unavailable headless).
    Default,
}

impl From<PermissionModeName> for PermissionMode {
    fn from(name: PermissionModeName) -> Self {
        match name {
            PermissionModeName::Bypass => PermissionMode::Bypass,
            PermissionModeName::AcceptEdits => PermissionMode::AcceptEdits,
            PermissionModeName::Plan => PermissionMode::Plan,
            PermissionModeName::Default => PermissionMode::Default,
        }
    }
}

/// A completion dialect: how the agent signals that the task is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// `<promise>TEXT</promise>` in the final text.
    Promise,
    /// A `<COMPLETION_GATE>` block with `ready: true`.
    Gate,
    /// Whole lines `TASK_COMPLETE`, `TASK_FAILED: why`, `TASK_BLOCKED: why`.
    Markers,
    /// A final fenced json block starting with `"TASKRUNNER_RESULT": true`.
    ResultJson,
    /// Done when the session completed.
    #[default]
    None,
}

impl Dialect {
    /// The dialect's name as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Promise => "promise",
            Dialect::Gate => "gate",
            Dialect::Markers => "markers",
            Dialect::ResultJson => "result_json",
            Dialect::None => "none",
        }
    }
}

/// `continuation:` the circuit breaker of the continuation loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContinuationConfig {
    /// Sessions per attempt, the first included (default 10, at most 50).
    pub max_iterations: u32,
    /// Consecutive sessions that changed no file before giving up (default 3).
    pub max_no_progress: u32,
    /// Consecutive sessions ending in the same error before giving up (default 5).
    pub max_same_error: u32,
}

impl Default for ContinuationConfig {
    fn default() -> Self {
        ContinuationConfig {
            max_iterations: 10,
            max_no_progress: 3,
            max_same_error: 5,
        }
    }
}

/// `stall:` rules that stop a session going round in circles. A limit of 0 turns its rule off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StallConfig {
    /// Consecutive failing edit/write calls (default 3).
    pub max_failing_edits: u32,
    /// The same command failing with the same output (default 3).
    pub max_same_command_failures: u32,
    /// The same call (tool and input) within `window` calls with no file changed (default 4).
    pub max_repeated_calls: u32,
    /// How many recent calls `max_repeated_calls` looks at (default 12).
    pub window: u32,
    /// Command prefixes exempt from the stall rules (polling); replaces the default list.
    pub exempt: Vec<String>,
}

impl Default for StallConfig {
    fn default() -> Self {
        StallConfig {
            max_failing_edits: 3,
            max_same_command_failures: 3,
            max_repeated_calls: 4,
            window: 12,
            exempt: DEFAULT_EXEMPT.iter().map(ToString::to_string).collect(),
        }
    }
}

/// `usage_limit:` how long to wait for a usage limit to reset.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsageLimitConfig {
    /// The longest wait for a reset, e.g. `6h` (default); past it the attempt fails retryably.
    pub max_wait: String,
    /// Added to a known reset time before retrying (default `1m`: resets are announced to the
    /// minute).
    pub slack: String,
}

impl Default for UsageLimitConfig {
    fn default() -> Self {
        UsageLimitConfig {
            max_wait: "6h".to_string(),
            slack: "1m".to_string(),
        }
    }
}

fn default_max_turns() -> u32 {
    50
}

fn default_promise() -> String {
    "COMPLETE".to_string()
}

/// A config that deserialized but makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid agent config: `{field}` {problem}")]
pub struct ConfigError {
    /// The field, dotted (`continuation.max_iterations`).
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    fn new(field: &str, problem: impl Into<String>) -> Self {
        ConfigError {
            field: field.to_string(),
            problem: problem.into(),
        }
    }
}

impl AgentConfig {
    /// Checks what serde cannot: ranges, non-empty names, the duration syntax.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.backend.trim().is_empty() {
            return Err(ConfigError::new("backend", "is empty"));
        }
        if self.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Err(ConfigError::new("model", "is empty; leave it out instead"));
        }
        if self.max_turns == 0 {
            return Err(ConfigError::new("max_turns", "must be at least 1"));
        }
        if self.completion == Dialect::Promise && self.promise.trim().is_empty() {
            return Err(ConfigError::new("promise", "is empty"));
        }
        if self.promise.contains('<') || self.promise.contains('>') {
            return Err(ConfigError::new("promise", "must not contain `<` or `>`"));
        }
        let c = &self.continuation;
        if c.max_iterations == 0 || c.max_iterations > MAX_ITERATIONS_CAP {
            return Err(ConfigError::new(
                "continuation.max_iterations",
                format!("must be 1..={MAX_ITERATIONS_CAP}, got {}", c.max_iterations),
            ));
        }
        if c.max_no_progress == 0 {
            return Err(ConfigError::new(
                "continuation.max_no_progress",
                "must be at least 1",
            ));
        }
        if c.max_same_error == 0 {
            return Err(ConfigError::new(
                "continuation.max_same_error",
                "must be at least 1",
            ));
        }
        if self.stall.max_repeated_calls > self.stall.window {
            return Err(ConfigError::new(
                "stall.max_repeated_calls",
                format!(
                    "({}) cannot exceed `stall.window` ({})",
                    self.stall.max_repeated_calls, self.stall.window
                ),
            ));
        }
        if let Some(budget) = self.budget_usd
            && !(budget.is_finite() && budget > 0.0)
        {
            return Err(ConfigError::new("budget_usd", "must be a positive number"));
        }
        self.max_wait()?;
        self.reset_slack()?;
        Ok(())
    }

    /// `usage_limit.slack`, parsed.
    pub fn reset_slack(&self) -> Result<Duration, ConfigError> {
        let text = &self.usage_limit.slack;
        humantime::parse_duration(text).map_err(|e| {
            ConfigError::new(
                "usage_limit.slack",
                format!("{text:?} is not a duration ({e}); use e.g. \"1m\" or \"0s\""),
            )
        })
    }

    /// `usage_limit.max_wait`, parsed.
    pub fn max_wait(&self) -> Result<Duration, ConfigError> {
        let text = &self.usage_limit.max_wait;
        humantime::parse_duration(text).map_err(|e| {
            ConfigError::new(
                "usage_limit.max_wait",
                format!("{text:?} is not a duration ({e}); use e.g. \"90m\" or \"6h\""),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn config(v: Value) -> AgentConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let c = config(json!({"backend": "claude"}));
        c.validate().unwrap();
        assert_eq!(c.permission_mode, PermissionModeName::Bypass);
        assert_eq!(c.completion, Dialect::None);
        assert_eq!(c.promise, "COMPLETE");
        assert_eq!(c.max_turns, 50);
        assert_eq!(c.continuation, ContinuationConfig::default());
        assert_eq!(c.continuation.max_iterations, 10);
        assert_eq!(c.stall.window, 12);
        assert!(c.stall.exempt.iter().any(|e| e == "gh run watch"));
        assert_eq!(c.max_wait().unwrap(), Duration::from_hours(6));
        assert_eq!(c.budget_usd, None);
    }

    #[test]
    fn every_field_deserializes() {
        let c = config(json!({
            "backend": "codex", "model": "smart", "prompt": "Do {{ task.title }}",
            "system_prompt": "x", "permission_mode": "accept_edits",
            "allowed_tools": ["Bash(cargo *)"], "denied_tools": ["WebFetch"], "max_turns": 5,
            "completion": "result_json", "promise": "DONE",
            "continuation": {"max_iterations": 50, "max_no_progress": 2, "max_same_error": 4},
            "stall": {"max_failing_edits": 0, "max_same_command_failures": 2,
                      "max_repeated_calls": 3, "window": 6, "exempt": ["sleep"]},
            "usage_limit": {"max_wait": "90m"}, "budget_usd": 2.5
        }));
        c.validate().unwrap();
        assert_eq!(c.completion, Dialect::ResultJson);
        assert_eq!(
            PermissionMode::from(c.permission_mode),
            PermissionMode::AcceptEdits
        );
        assert_eq!(c.stall.exempt, ["sleep"]);
        assert_eq!(c.max_wait().unwrap(), Duration::from_mins(90));
    }

    #[test]
    fn unknown_keys_and_values_are_rejected() {
        let bad = [
            json!({"backend": "claude", "modle": "x"}),
            json!({"backend": "claude", "completion": "vibes"}),
            json!({"backend": "claude", "continuation": {"max_iter": 3}}),
            json!({"model": "x"}),
        ];
        for v in bad {
            assert!(
                serde_json::from_value::<AgentConfig>(v.clone()).is_err(),
                "{v}"
            );
        }
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            (json!({"backend": " "}), "backend"),
            (
                json!({"backend": "c", "continuation": {"max_iterations": 51}}),
                "continuation.max_iterations",
            ),
            (
                json!({"backend": "c", "continuation": {"max_iterations": 0}}),
                "continuation.max_iterations",
            ),
            (
                json!({"backend": "c", "usage_limit": {"max_wait": "soon"}}),
                "usage_limit.max_wait",
            ),
            (json!({"backend": "c", "budget_usd": 0.0}), "budget_usd"),
            (json!({"backend": "c", "max_turns": 0}), "max_turns"),
            (json!({"backend": "c", "promise": "<x>"}), "promise"),
            (
                json!({"backend": "c", "stall": {"max_repeated_calls": 13}}),
                "stall.max_repeated_calls",
            ),
        ];
        for (v, field) in cases {
            let err = config(v.clone()).validate().unwrap_err();
            assert_eq!(err.field, field, "{v}");
            assert!(err.to_string().contains(field));
        }
    }
}
