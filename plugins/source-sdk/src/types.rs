//! What a source describes and returns: its descriptor, tasks, diagnostics and errors.

use serde::Serialize;

use engine_stage_sdk::Permissions;

/// Who the source is and what it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDescriptor {
    /// Short name, e.g. `tasks-md`.
    pub name: String,
    /// The source's own version (semver).
    pub version: String,
    /// One line saying where the tasks come from.
    pub summary: String,
    /// JSON Schema of the config (the workflow's `tasks:` mapping without `source`, `sha256`
    /// and `permissions`); `{}` accepts anything.
    pub config_schema: serde_json::Value,
    /// The permissions the source needs.
    pub permissions: Permissions,
}

impl SourceDescriptor {
    /// A descriptor that accepts any config and needs no permissions.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        SourceDescriptor {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            config_schema: serde_json::json!({}),
            permissions: Permissions::default(),
        }
    }

    /// Sets the JSON Schema of the config.
    pub fn config_schema(mut self, schema: serde_json::Value) -> Self {
        self.config_schema = schema;
        self
    }

    /// Sets the permissions the source needs.
    pub fn permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = permissions;
        self
    }
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started.
    Todo,
    /// Started, not finished.
    InProgress,
    /// Finished.
    Done,
    /// Marked blocked.
    Blocked,
}

/// One checklist item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistItem {
    /// The text as written.
    pub text: String,
    /// Whether it is ticked.
    pub done: bool,
}

/// Where something is written in the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Path relative to `/workspace`, or a reference such as an issue URL.
    pub file: String,
    /// 1-based line, for text files.
    pub line: Option<u32>,
}

impl Location {
    /// A line of a file.
    pub fn line(file: impl Into<String>, line: u32) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// A task as the source has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// Stable id, unique in the source.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Full text (markdown).
    pub body: String,
    /// The status, normalized.
    pub status: TaskStatus,
    /// The status as the source writes it.
    pub raw_status: String,
    /// Priority, 0 the highest.
    pub priority: u8,
    /// Labels.
    pub labels: Vec<String>,
    /// Ids of the tasks this one waits for.
    pub depends_on: Vec<String>,
    /// Milestone or epic.
    pub milestone: Option<String>,
    /// Estimate as written.
    pub estimate: Option<String>,
    /// Checklist, in order.
    pub checklist: Vec<ChecklistItem>,
    /// Requirements or design items it traces to.
    pub traces: Vec<String>,
    /// Where it is written.
    pub location: Option<Location>,
}

/// A problem in the source's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Where, when known.
    pub location: Option<Location>,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    /// A problem at a place.
    pub fn at(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            location: Some(location),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What [`Source::list`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TaskList {
    /// Every task, in the source's order.
    pub tasks: Vec<Task>,
    /// Problems that did not stop the listing.
    pub warnings: Vec<Diagnostic>,
}

/// Why a call failed. The host shows the message; `Unavailable` may be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// The config does not fit the source.
    InvalidConfig(String),
    /// The data is malformed; every problem, located. Nothing was changed.
    Malformed(Vec<Diagnostic>),
    /// No task has this id.
    NotFound(String),
    /// The task's state does not allow the change.
    Conflict(String),
    /// The source cannot do this.
    Unsupported(String),
    /// A temporary failure: trying again may succeed.
    Unavailable(String),
    /// Anything else.
    Failed(String),
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Malformed(diagnostics) => {
                let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
                f.write_str(&lines.join("\n"))
            }
            SourceError::InvalidConfig(m)
            | SourceError::NotFound(m)
            | SourceError::Conflict(m)
            | SourceError::Unsupported(m)
            | SourceError::Unavailable(m)
            | SourceError::Failed(m) => f.write_str(m),
        }
    }
}
