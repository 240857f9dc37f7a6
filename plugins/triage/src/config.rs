//! The `with:` config of the triage stage, its built-in defaults and the checks the JSON
//! Schema cannot express. The schema itself is in [`crate::schema`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::defaults::{
    default_genius_keywords, default_labels, default_primitive_keywords, default_skip_labels,
    default_smart_keywords, default_verbs,
};
use crate::tier::{Tier, optional_tier};

/// How the stage decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Fixed rules over labels, size, keywords and file hints (no agent, no cost).
    #[default]
    Rules,
    /// A read-only agent session reads the task and the repository and returns a verdict.
    Agent,
}

impl Mode {
    /// `rules` or `agent`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Rules => "rules",
            Mode::Agent => "agent",
        }
    }
}

/// `with:` of `builtin:triage`. Every key is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageConfig {
    /// `rules` (default) or `agent`.
    #[serde(default)]
    pub mode: Mode,
    /// The tier when no rule votes (rules mode). Default `smart`.
    #[serde(default = "default_tier")]
    pub default_tier: Tier,
    /// Use this tier whatever the rules or the agent say (a stall still forces the top tier).
    #[serde(default, deserialize_with = "optional_tier")]
    pub force_tier: Option<Tier>,
    /// Task label → tier (case-insensitive). Replaces the built-in map when given.
    #[serde(default = "default_labels")]
    pub labels: BTreeMap<String, Tier>,
    /// Labels that mean "do not run this task" (case-insensitive); such a task ends the run
    /// "needs attention". Replaces the built-in list when given.
    #[serde(default = "default_skip_labels")]
    pub skip_labels: Vec<String>,
    /// Size thresholds of the task text.
    #[serde(default)]
    pub size: SizeRules,
    /// Keywords per tier.
    #[serde(default)]
    pub keywords: KeywordRules,
    /// Thresholds on the number of existing files the task names.
    #[serde(default)]
    pub files: FileRules,
    /// When a task is too vague to run.
    #[serde(default)]
    pub vague: VagueRules,
    /// The agent session of mode `agent`.
    #[serde(default)]
    pub agent: AgentSettings,
}

impl Default for TriageConfig {
    fn default() -> Self {
        TriageConfig {
            mode: Mode::default(),
            default_tier: default_tier(),
            force_tier: None,
            labels: default_labels(),
            skip_labels: default_skip_labels(),
            size: SizeRules::default(),
            keywords: KeywordRules::default(),
            files: FileRules::default(),
            vague: VagueRules::default(),
            agent: AgentSettings::default(),
        }
    }
}

/// `size:`: a large task votes `genius`, a small one `primitive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SizeRules {
    /// A text of at most this many characters (and at most `small_lines` lines) is small.
    pub small_chars: usize,
    /// A small text has at most this many non-blank lines.
    pub small_lines: usize,
    /// A text of at least this many characters is large.
    pub large_chars: usize,
    /// A text of at least this many non-blank lines is large.
    pub large_lines: usize,
}

impl Default for SizeRules {
    fn default() -> Self {
        SizeRules {
            small_chars: 120,
            small_lines: 2,
            large_chars: 3000,
            large_lines: 60,
        }
    }
}

/// `keywords:`: words or phrases per tier, matched as whole words in the title and body
/// (case-insensitive, simple inflections too). A tier given replaces that tier's built-in
/// list; an empty list turns it off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordRules {
    /// Keywords that vote `genius`.
    #[serde(default = "default_genius_keywords")]
    pub genius: Vec<String>,
    /// Keywords that vote `smart`.
    #[serde(default = "default_smart_keywords")]
    pub smart: Vec<String>,
    /// Keywords that vote `primitive`.
    #[serde(default = "default_primitive_keywords")]
    pub primitive: Vec<String>,
}

impl Default for KeywordRules {
    fn default() -> Self {
        KeywordRules {
            genius: default_genius_keywords(),
            smart: default_smart_keywords(),
            primitive: default_primitive_keywords(),
        }
    }
}

impl KeywordRules {
    /// The keyword lists, strongest tier first.
    pub fn by_tier(&self) -> [(Tier, &[String]); 3] {
        [
            (Tier::Genius, &self.genius),
            (Tier::Smart, &self.smart),
            (Tier::Primitive, &self.primitive),
        ]
    }
}

/// `files:`: how many of the files the task names must exist in the worktree to vote a tier.
/// Needs `permissions: { workspace: read }`; without it file hints are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileRules {
    /// At least this many existing files vote `smart`.
    pub smart: usize,
    /// At least this many existing files vote `genius`.
    pub genius: usize,
}

impl Default for FileRules {
    fn default() -> Self {
        FileRules {
            smart: 3,
            genius: 8,
        }
    }
}

/// `vague:`: a task is too vague when its text is empty, or shorter than `max_chars` while it
/// names no file and contains none of `verbs`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VagueRules {
    /// Check for vague tasks at all (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Only a text shorter than this (in characters) can be vague.
    #[serde(default = "default_vague_chars")]
    pub max_chars: usize,
    /// Action verbs; a short text with one of them is not vague. Replaces the built-in list.
    #[serde(default = "default_verbs")]
    pub verbs: Vec<String>,
}

impl Default for VagueRules {
    fn default() -> Self {
        VagueRules {
            enabled: true,
            max_chars: default_vague_chars(),
            verbs: default_verbs(),
        }
    }
}

/// `agent:`: the read-only session of mode `agent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// Agent backend (default `claude`).
    #[serde(default = "default_backend")]
    pub backend: String,
    /// Model id or tier of the triage session (default `smart`).
    #[serde(default = "default_agent_model")]
    pub model: String,
    /// Turn limit of each session (default 10).
    #[serde(default = "default_max_turns")]
    pub max_turns: u32,
    /// Spending cap of the stage's sessions in USD.
    #[serde(default)]
    pub budget_usd: Option<f64>,
    /// Extra instructions added to the prompt (your project's own criteria).
    #[serde(default)]
    pub instructions: Option<String>,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            backend: default_backend(),
            model: default_agent_model(),
            max_turns: default_max_turns(),
            budget_usd: None,
            instructions: None,
        }
    }
}

/// A config the schema accepts but the stage cannot use, and the field to blame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}`: {message}")]
pub struct ConfigError {
    /// Dotted path of the field, e.g. `size.small_chars`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn problem(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// The largest `agent.max_turns`: triage reads, it does not work.
pub const MAX_AGENT_TURNS: u32 = 50;

impl TriageConfig {
    /// Checks what the JSON Schema cannot (or what a templated value may have broken).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let size = &self.size;
        if size.small_chars >= size.large_chars {
            return Err(problem(
                "size.small_chars",
                format!(
                    "must be below size.large_chars ({} >= {})",
                    size.small_chars, size.large_chars
                ),
            ));
        }
        if size.small_lines >= size.large_lines {
            return Err(problem(
                "size.small_lines",
                format!(
                    "must be below size.large_lines ({} >= {})",
                    size.small_lines, size.large_lines
                ),
            ));
        }
        if self.files.smart == 0 || self.files.smart > self.files.genius {
            return Err(problem(
                "files.smart",
                format!(
                    "must be at least 1 and at most files.genius ({} vs {})",
                    self.files.smart, self.files.genius
                ),
            ));
        }
        for (tier, list) in self.keywords.by_tier() {
            if list.iter().any(|k| crate::text::words(k).is_empty()) {
                return Err(problem(
                    &format!("keywords.{tier}"),
                    "every keyword needs at least one letter or digit",
                ));
            }
        }
        if self
            .vague
            .verbs
            .iter()
            .any(|v| crate::text::words(v).len() != 1)
        {
            return Err(problem("vague.verbs", "every verb must be one word"));
        }
        if self.labels.keys().any(|l| l.trim().is_empty()) {
            return Err(problem("labels", "a label is empty"));
        }
        if self.skip_labels.iter().any(|l| l.trim().is_empty()) {
            return Err(problem("skip_labels", "a label is empty"));
        }
        let agent = &self.agent;
        if agent.backend.trim().is_empty() {
            return Err(problem("agent.backend", "is empty"));
        }
        if agent.model.trim().is_empty() {
            return Err(problem("agent.model", "is empty"));
        }
        if agent.max_turns == 0 || agent.max_turns > MAX_AGENT_TURNS {
            return Err(problem(
                "agent.max_turns",
                format!("must be 1 to {MAX_AGENT_TURNS}, not {}", agent.max_turns),
            ));
        }
        if let Some(budget) = agent.budget_usd
            && !(budget.is_finite() && budget > 0.0)
        {
            return Err(problem(
                "agent.budget_usd",
                format!("must be more than 0, not {budget}"),
            ));
        }
        Ok(())
    }

    /// The tier a label maps to (case-insensitive).
    pub fn label_tier(&self, label: &str) -> Option<Tier> {
        let label = label.trim();
        self.labels
            .iter()
            .find(|(name, _)| name.trim().eq_ignore_ascii_case(label))
            .map(|(_, tier)| *tier)
    }

    /// Whether a label means "do not run" (case-insensitive).
    pub fn is_skip_label(&self, label: &str) -> bool {
        let label = label.trim();
        self.skip_labels
            .iter()
            .any(|s| s.trim().eq_ignore_ascii_case(label))
    }
}

fn yes() -> bool {
    true
}

fn default_tier() -> Tier {
    Tier::Smart
}

fn default_vague_chars() -> usize {
    40
}

fn default_backend() -> String {
    "claude".to_string()
}

fn default_agent_model() -> String {
    "smart".to_string()
}

fn default_max_turns() -> u32 {
    10
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
