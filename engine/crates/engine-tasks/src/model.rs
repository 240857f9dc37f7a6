//! Tasks as task sources report them (the host's side of the WIT `source-types` interface).
//!
//! These are the host's own types rather than the records `wasmtime::component::bindgen!`
//! generates in `engine-runtime`: this crate is pure (no wasmtime), its types are serialized
//! (`engine tasks --json`) and carry the readiness rules. `engine-runtime` converts the WIT
//! records into them in one place (`source_convert.rs`).

use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// Where a task stands, normalized across sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started.
    Todo,
    /// Started and not finished.
    InProgress,
    /// Finished.
    Done,
    /// Marked blocked by someone; not run until the mark is removed.
    Blocked,
}

impl TaskStatus {
    /// `todo`, `in_progress`, `done` or `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
            TaskStatus::Blocked => "blocked",
        }
    }

    /// Whether a task with this status still has to be worked on (todo or in progress).
    pub fn is_open(self) -> bool {
        matches!(self, TaskStatus::Todo | TaskStatus::InProgress)
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item of a task's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    /// The text as written.
    pub text: String,
    /// Whether it is ticked.
    pub done: bool,
}

/// Where something is written in a source.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    /// Path relative to the repository root, or a reference such as an issue URL.
    pub file: String,
    /// 1-based line, for text files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// A task as its source has it: the work a run would do ([`engine_core::Task`]: the source's
/// id such as `TASK-001` or `bd-a1b2`, title, markdown body and labels) and how the source
/// tracks it (status, priority, dependencies...).
///
/// It dereferences to that work, so `task.id`, `task.title`, `task.body` and `task.labels`
/// read as fields; serialized, the work's fields sit beside the tracking fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// What is to be done: the part of the task a run works on and stages see as `task`.
    #[serde(flatten)]
    pub work: engine_core::Task,
    /// The status, normalized.
    pub status: TaskStatus,
    /// The status as the source writes it (`IN_PROGRESS`, `open`...).
    pub raw_status: String,
    /// Priority, 0 the highest.
    pub priority: u8,
    /// Ids of the tasks this one waits for.
    pub depends_on: Vec<String>,
    /// Milestone or epic.
    pub milestone: Option<String>,
    /// Estimate as written (`2d`, `1-2d`).
    pub estimate: Option<String>,
    /// Checklist, in order.
    pub checklist: Vec<ChecklistItem>,
    /// Requirements or design items it traces to.
    pub traces: Vec<String>,
    /// Where it is written.
    pub location: Option<Location>,
}

/// The label that makes a task urgent: it ranks like priority 0 (see [`Task::rank`]).
pub const URGENT_LABEL: &str = "urgent";

impl Task {
    /// Whether the task carries the [`URGENT_LABEL`] (any case).
    pub fn is_urgent(&self) -> bool {
        self.labels
            .iter()
            .any(|l| l.eq_ignore_ascii_case(URGENT_LABEL))
    }

    /// Where the task's priority puts it in the queue: its priority, or 0 when it is urgent
    /// (priority 0 and the `urgent` label both jump the queue).
    pub fn rank(&self) -> u8 {
        if self.is_urgent() { 0 } else { self.priority }
    }

    /// The task a run works on (what stages see as `task`): a copy of [`Task::work`].
    pub fn to_run_task(&self) -> engine_core::Task {
        self.work.clone()
    }
}

impl Deref for Task {
    type Target = engine_core::Task;

    fn deref(&self) -> &engine_core::Task {
        &self.work
    }
}

/// A problem found in a source's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Where, when known.
    pub location: Option<Location>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What a source's `list` returns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TaskList {
    /// Every task, in the source's order.
    pub tasks: Vec<Task>,
    /// Problems that did not stop the listing.
    pub warnings: Vec<Diagnostic>,
}

/// Why a call to a task source failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The config does not fit the source.
    #[error("invalid task source config: {0}")]
    InvalidConfig(String),
    /// The source's data is malformed; every problem, located.
    #[error("{}", malformed_text(.0))]
    Malformed(Vec<Diagnostic>),
    /// No task has this id.
    #[error("{0}")]
    NotFound(String),
    /// The task's state does not allow the change.
    #[error("{0}")]
    Conflict(String),
    /// The source cannot do this.
    #[error("{0}")]
    Unsupported(String),
    /// A temporary failure: trying again may succeed.
    #[error("{0} (temporary; trying again may succeed)")]
    Unavailable(String),
    /// Anything else, including a source component that trapped.
    #[error("{0}")]
    Failed(String),
}

impl SourceError {
    /// Whether trying again later may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, SourceError::Unavailable(_))
    }
}

fn malformed_text(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    if lines.is_empty() {
        "the task source's data is malformed".to_string()
    } else {
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_diagnostics_read_like_compiler_messages() {
        let at = Location {
            file: "spec/tasks.md".into(),
            line: Some(12),
        };
        assert_eq!(at.to_string(), "spec/tasks.md:12");
        let d = Diagnostic {
            location: Some(at),
            message: "duplicate id".into(),
        };
        assert_eq!(d.to_string(), "spec/tasks.md:12: duplicate id");
        let e = SourceError::Malformed(vec![
            d.clone(),
            Diagnostic {
                location: None,
                message: "x".into(),
            },
        ]);
        assert_eq!(e.to_string(), "spec/tasks.md:12: duplicate id\nx");
        assert!(SourceError::Unavailable("gh timed out".into()).is_temporary());
        assert!(!SourceError::Failed("no".into()).is_temporary());
    }

    #[test]
    fn a_task_reads_and_serializes_its_work_as_its_own_fields() {
        let task = Task {
            work: engine_core::Task {
                id: "TASK-1".into(),
                title: "t".into(),
                body: "b".into(),
                labels: vec!["urgent".into()],
            },
            status: TaskStatus::Todo,
            raw_status: "TODO".into(),
            priority: 3,
            depends_on: vec![],
            milestone: None,
            estimate: None,
            checklist: vec![],
            traces: vec![],
            location: None,
        };
        assert_eq!((task.id.as_str(), task.rank()), ("TASK-1", 0));
        assert_eq!(task.to_run_task(), task.work);
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(json["id"], "TASK-1");
        assert_eq!(json["labels"], serde_json::json!(["urgent"]));
        assert!(json.get("work").is_none(), "{json}");
        let back: Task = serde_json::from_value(json).unwrap();
        assert_eq!(back, task);
    }

    #[test]
    fn statuses_serialize_in_snake_case() {
        let text = serde_json::to_string(&TaskStatus::InProgress).unwrap();
        assert_eq!(text, "\"in_progress\"");
        assert_eq!(TaskStatus::InProgress.to_string(), "in_progress");
        assert!(TaskStatus::InProgress.is_open() && !TaskStatus::Blocked.is_open());
    }
}
