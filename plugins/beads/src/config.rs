//! The `beads` source's config (the workflow's `tasks:` mapping) and its JSON Schema.

use std::collections::BTreeMap;

use engine_source_sdk::TaskStatus;
use serde::Deserialize;
use serde_json::{Value, json};

/// Where the export is read when `bd` is not installed.
pub const DEFAULT_EXPORT: &str = ".beads/issues.jsonl";

/// The source's config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The JSONL export read (read-only) when `bd` is not on PATH, relative to the repository.
    #[serde(default = "default_export")]
    pub export: String,
    /// What custom statuses mean (`review: in_progress`); unknown ones are `blocked`.
    #[serde(default)]
    pub statuses: BTreeMap<String, StatusName>,
    /// An open parent (an epic, or any issue with children) waits for its open children.
    #[serde(default = "yes")]
    pub parents_wait_for_children: bool,
    /// The close reason written when a task is marked done without a note.
    #[serde(default = "default_close_reason")]
    pub close_reason: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            export: default_export(),
            statuses: BTreeMap::new(),
            parents_wait_for_children: true,
            close_reason: default_close_reason(),
        }
    }
}

/// A normalized status as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusName {
    /// `todo`.
    Todo,
    /// `in_progress`.
    InProgress,
    /// `done`.
    Done,
    /// `blocked`.
    Blocked,
}

impl From<StatusName> for TaskStatus {
    fn from(name: StatusName) -> Self {
        match name {
            StatusName::Todo => TaskStatus::Todo,
            StatusName::InProgress => TaskStatus::InProgress,
            StatusName::Done => TaskStatus::Done,
            StatusName::Blocked => TaskStatus::Blocked,
        }
    }
}

fn default_export() -> String {
    DEFAULT_EXPORT.to_string()
}

fn default_close_reason() -> String {
    "Completed by engine".to_string()
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
            "export": {
                "type": "string",
                "minLength": 1,
                "default": DEFAULT_EXPORT,
                "description": "The JSONL export read (read-only) when `bd` is not installed, relative to the repository root."
            },
            "statuses": {
                "type": "object",
                "additionalProperties": { "enum": ["todo", "in_progress", "done", "blocked"] },
                "description": "What custom Beads statuses mean, e.g. `{ review: in_progress, resolved: done }`; a status not listed here and not built into Beads is `blocked` (never run)."
            },
            "parents_wait_for_children": {
                "type": "boolean",
                "default": true,
                "description": "An open parent (an epic, or any issue with parent-child children) is ready only once its children are closed."
            },
            "close_reason": {
                "type": "string",
                "minLength": 1,
                "default": "Completed by engine",
                "description": "The `bd close --reason` written when a task is marked done without a note."
            }
        }
    })
}
