//! The `with:` config of the review stage, its defaults and its checks. The JSON Schema is in
//! [`crate::schema`].

use serde::Deserialize;
use serde_json::Value;

use crate::verdict::Severity;

/// Personas used when the config names none.
pub const DEFAULT_PERSONAS: &[&str] = &["quality", "security", "tests"];
/// Default backend of every persona.
pub const DEFAULT_BACKEND: &str = "claude";
/// Default model (a tier name) of every persona.
pub const DEFAULT_MODEL: &str = "smart";
/// Default turn limit of a persona's session.
pub const DEFAULT_MAX_TURNS: u32 = 30;
/// Default cap on the diff shown to a persona, in bytes.
pub const DEFAULT_MAX_DIFF_BYTES: u64 = 100_000;
/// The largest `max_diff_bytes` accepted (the host returns at most 1 MiB of output).
pub const MAX_DIFF_BYTES_CAP: u64 = 1_000_000;

/// `with:` of `builtin:review`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {
    /// The personas (default `[quality, security, tests]`).
    #[serde(default = "default_personas")]
    pub personas: Vec<PersonaSpec>,
    /// How many approvals the change needs (default `all`).
    #[serde(default)]
    pub require: Require,
    /// Severities that make a `request_changes` verdict block; none: every `request_changes`
    /// blocks.
    #[serde(default)]
    pub block_on: Option<Vec<SeverityName>>,
    /// Backend of personas that do not set one (default `claude`).
    #[serde(default = "default_backend")]
    pub backend: String,
    /// Model or tier of personas that do not set one (default `smart`).
    #[serde(default = "default_model")]
    pub model: String,
    /// Turn limit of each persona's session (default 30).
    #[serde(default = "default_max_turns")]
    pub max_turns: u32,
    /// Spending cap of each persona's session in USD.
    #[serde(default)]
    pub budget_usd: Option<f64>,
    /// How many personas run at the same time (default: all of them).
    #[serde(default)]
    pub max_parallel: Option<u32>,
    /// The diff shown to a persona is cut beyond this many bytes (default 100 000).
    #[serde(default = "default_max_diff_bytes")]
    pub max_diff_bytes: u64,
    /// What an empty diff means (default `fail`).
    #[serde(default)]
    pub on_empty_diff: EmptyDiff,
    /// Extra text added to every persona's prompt (project conventions, areas to skip).
    #[serde(default)]
    pub instructions: Option<String>,
}

fn default_personas() -> Vec<PersonaSpec> {
    DEFAULT_PERSONAS
        .iter()
        .map(|name| PersonaSpec::Named((*name).to_string()))
        .collect()
}

fn default_backend() -> String {
    DEFAULT_BACKEND.to_string()
}

fn default_model() -> String {
    DEFAULT_MODEL.to_string()
}

fn default_max_turns() -> u32 {
    DEFAULT_MAX_TURNS
}

fn default_max_diff_bytes() -> u64 {
    DEFAULT_MAX_DIFF_BYTES
}

/// How many personas must approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Require {
    /// Every persona.
    #[default]
    All,
    /// More than half of them.
    Majority,
    /// At least one.
    Any,
}

impl Require {
    /// `all`, `majority` or `any`.
    pub fn as_str(self) -> &'static str {
        match self {
            Require::All => "all",
            Require::Majority => "majority",
            Require::Any => "any",
        }
    }

    /// How many approvals out of `total` personas pass.
    pub fn needed(self, total: usize) -> usize {
        match self {
            Require::All => total,
            Require::Majority => total / 2 + 1,
            Require::Any => 1.min(total),
        }
    }
}

/// What a review of an empty change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmptyDiff {
    /// Fails fatally: there is nothing to review (so `on_failure` can send the run back).
    #[default]
    Fail,
    /// Succeeds with a note, running no persona.
    Approve,
}

/// A severity as written in `block_on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeverityName {
    /// `critical`.
    Critical,
    /// `high`.
    High,
    /// `medium`.
    Medium,
    /// `low`.
    Low,
    /// `info`.
    Info,
}

impl From<SeverityName> for Severity {
    fn from(name: SeverityName) -> Severity {
        match name {
            SeverityName::Critical => Severity::Critical,
            SeverityName::High => Severity::High,
            SeverityName::Medium => Severity::Medium,
            SeverityName::Low => Severity::Low,
            SeverityName::Info => Severity::Info,
        }
    }
}

/// One entry of `personas:`: a built-in persona's name, or a mapping.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub enum PersonaSpec {
    /// `quality`: a built-in persona with the stage's backend and model.
    Named(String),
    /// `{name, prompt | prompt_file, backend, model}`.
    Custom(CustomPersona),
}

/// A persona written as a mapping: a custom one, or a built-in one with its own backend or
/// model.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPersona {
    /// The persona's name (a built-in name without a prompt overrides that persona's settings).
    pub name: String,
    /// What the persona looks for, as prompt text.
    #[serde(default)]
    pub prompt: Option<String>,
    /// A file in the repository holding the prompt (relative to the worktree's root).
    #[serde(default)]
    pub prompt_file: Option<String>,
    /// This persona's backend.
    #[serde(default)]
    pub backend: Option<String>,
    /// This persona's model or tier.
    #[serde(default)]
    pub model: Option<String>,
}

impl TryFrom<Value> for PersonaSpec {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        match value {
            Value::String(name) => Ok(PersonaSpec::Named(name)),
            Value::Object(_) => serde_json::from_value::<CustomPersona>(value)
                .map(PersonaSpec::Custom)
                .map_err(|e| format!("invalid persona: {e}")),
            other => Err(format!(
                "a persona is a name (`quality`) or a mapping (`{{name, prompt}}`), not {other}"
            )),
        }
    }
}

impl PersonaSpec {
    /// The persona's name as written.
    pub fn name(&self) -> &str {
        match self {
            PersonaSpec::Named(name) => name,
            PersonaSpec::Custom(custom) => &custom.name,
        }
    }
}

/// A config that deserialized but makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl ReviewConfig {
    /// Checks what the types cannot: counts, names, ranges. (Persona names, prompts and
    /// duplicates are checked when the personas are resolved.)
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.personas.is_empty() {
            return Err(ConfigError(
                "`personas` must name at least one persona".into(),
            ));
        }
        if self.backend.trim().is_empty() {
            return Err(ConfigError("`backend` must not be empty".into()));
        }
        if self.model.trim().is_empty() {
            return Err(ConfigError("`model` must not be empty".into()));
        }
        if self.max_turns == 0 {
            return Err(ConfigError("`max_turns` must be at least 1".into()));
        }
        if let Some(budget) = self.budget_usd
            && !(budget.is_finite() && budget > 0.0)
        {
            return Err(ConfigError(format!(
                "`budget_usd` must be a positive number, not {budget}"
            )));
        }
        if self.max_parallel == Some(0) {
            return Err(ConfigError("`max_parallel` must be at least 1".into()));
        }
        if self.max_diff_bytes < 1_000 || self.max_diff_bytes > MAX_DIFF_BYTES_CAP {
            return Err(ConfigError(format!(
                "`max_diff_bytes` must be between 1000 and {MAX_DIFF_BYTES_CAP}, not {}",
                self.max_diff_bytes
            )));
        }
        if self.block_on.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError(
                "`block_on` must list at least one severity (leave it out to block on every \
                 request for changes)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The blocking severities, when `block_on` is set.
    pub fn blocking_severities(&self) -> Option<Vec<Severity>> {
        self.block_on
            .as_ref()
            .map(|names| names.iter().copied().map(Severity::from).collect())
    }

    /// How many sessions run at once for `total` personas.
    pub fn parallelism(&self, total: usize) -> usize {
        let limit = self
            .max_parallel
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(total);
        limit.clamp(1, total.max(1))
    }
}

#[cfg(test)]
#[path = "tests/config_tests.rs"]
mod tests;
