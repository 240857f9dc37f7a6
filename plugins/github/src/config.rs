//! The `github` source's config (the workflow's `tasks:` mapping) and its JSON Schema.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

/// How many issues are listed when the config does not say.
pub const DEFAULT_LIMIT: u32 = 100;

/// The source's config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Only open issues carrying every one of these labels are tasks (none: every open issue).
    #[serde(default)]
    pub labels: Vec<String>,
    /// `owner/name`; by default the repository of the checkout (what `gh` finds from it).
    #[serde(default)]
    pub repo: Option<String>,
    /// Most issues listed.
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Label -> priority (0 highest), compared without case; replaces the default map.
    #[serde(default)]
    pub priority_labels: Option<BTreeMap<String, u8>>,
    /// The priority of an issue without a priority label (default: the lowest of the map).
    #[serde(default)]
    pub default_priority: Option<u8>,
    /// The label that marks an issue being worked on (added by `claim`).
    #[serde(default = "in_progress")]
    pub in_progress_label: String,
    /// The label that marks an issue blocked (added by `update` to `blocked`).
    #[serde(default = "blocked")]
    pub blocked_label: String,
    /// `claim` also comments on the issue, naming the run (this is how a retried claim by the
    /// same run is told from someone else's).
    #[serde(default = "yes")]
    pub claim_comment: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            labels: Vec::new(),
            repo: None,
            limit: DEFAULT_LIMIT,
            priority_labels: None,
            default_priority: None,
            in_progress_label: in_progress(),
            blocked_label: blocked(),
            claim_comment: true,
        }
    }
}

impl Config {
    /// The label -> priority map in use (keys lowercase).
    pub fn priorities(&self) -> BTreeMap<String, u8> {
        match &self.priority_labels {
            Some(map) => map.iter().map(|(k, v)| (k.to_lowercase(), *v)).collect(),
            None => [
                ("p0", 0),
                ("p1", 1),
                ("p2", 2),
                ("p3", 3),
                ("priority:critical", 0),
                ("priority:high", 1),
                ("priority:medium", 2),
                ("priority:low", 3),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }

    /// The priority of an issue without a priority label.
    pub fn fallback_priority(&self) -> u8 {
        self.default_priority
            .or_else(|| self.priorities().values().copied().max())
            .unwrap_or(3)
    }
}

fn default_limit() -> u32 {
    DEFAULT_LIMIT
}

fn in_progress() -> String {
    "in-progress".to_string()
}

fn blocked() -> String {
    "blocked".to_string()
}

fn yes() -> bool {
    true
}

/// The JSON Schema `engine validate` checks the config against.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "labels": {
                "type": "array",
                "items": { "type": "string", "minLength": 1 },
                "description": "Only open issues carrying every one of these labels are tasks; without labels every open issue is."
            },
            "repo": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
                "description": "The repository as owner/name; by default the one gh finds from the checkout."
            },
            "limit": {
                "type": "integer", "minimum": 1, "maximum": 1000, "default": DEFAULT_LIMIT,
                "description": "Most open issues listed."
            },
            "priority_labels": {
                "type": "object",
                "additionalProperties": { "type": "integer", "minimum": 0, "maximum": 255 },
                "description": "Label -> priority (0 highest), compared without case. Default: P0..P3 and priority:critical/high/medium/low (0..3)."
            },
            "default_priority": {
                "type": "integer", "minimum": 0, "maximum": 255,
                "description": "Priority of an issue without a priority label; default the lowest priority of the map."
            },
            "in_progress_label": {
                "type": "string", "minLength": 1, "default": "in-progress",
                "description": "The label that marks an issue being worked on; claim adds it (it must exist in the repository)."
            },
            "blocked_label": {
                "type": "string", "minLength": 1, "default": "blocked",
                "description": "The label that marks an issue blocked; an update to blocked adds it."
            },
            "claim_comment": {
                "type": "boolean", "default": true,
                "description": "Claim also comments on the issue naming the run, so a claim by another run is refused."
            }
        }
    })
}
