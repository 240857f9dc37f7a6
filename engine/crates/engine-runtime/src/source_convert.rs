//! Conversions between the WIT records of the `source` world and [`engine_tasks`]' types, kept
//! here in one place (`engine-tasks` is pure and has no wasmtime types), and the host's
//! [`SourceDescriptor`].

use engine_core::Permissions;
use engine_tasks::{ChecklistItem, Diagnostic, Location, SourceError, Task, TaskList, TaskStatus};

use crate::descriptor::{DescriptorError, checked_config_schema};
use crate::source_bindings::engine::stage::source_types as wit;

/// What a task source says about itself in `describe`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDescriptor {
    /// Short name, e.g. `tasks-md`.
    pub name: String,
    /// The source's own version.
    pub version: String,
    /// One line saying where the tasks come from.
    pub summary: String,
    /// JSON Schema of its config (the workflow's `tasks:` mapping without `source`, `sha256`
    /// and `permissions`).
    pub config_schema: serde_json::Value,
    /// The permissions it needs.
    pub permissions: Permissions,
}

impl SourceDescriptor {
    /// Checks the source's answer with the stage descriptor's check ([`checked_config_schema`])
    /// and converts it.
    pub(crate) fn from_wit(raw: wit::SourceDescriptor) -> Result<Self, DescriptorError> {
        Ok(SourceDescriptor {
            config_schema: checked_config_schema(&raw.name, &raw.config_schema)?,
            name: raw.name,
            version: raw.version,
            summary: raw.summary,
            permissions: raw.permissions.into(),
        })
    }
}

impl From<TaskStatus> for wit::TaskStatus {
    fn from(status: TaskStatus) -> Self {
        match status {
            TaskStatus::Todo => wit::TaskStatus::Todo,
            TaskStatus::InProgress => wit::TaskStatus::InProgress,
            TaskStatus::Done => wit::TaskStatus::Done,
            TaskStatus::Blocked => wit::TaskStatus::Blocked,
        }
    }
}

impl From<wit::TaskStatus> for TaskStatus {
    fn from(status: wit::TaskStatus) -> Self {
        match status {
            wit::TaskStatus::Todo => TaskStatus::Todo,
            wit::TaskStatus::InProgress => TaskStatus::InProgress,
            wit::TaskStatus::Done => TaskStatus::Done,
            wit::TaskStatus::Blocked => TaskStatus::Blocked,
        }
    }
}

impl From<wit::Location> for Location {
    fn from(l: wit::Location) -> Self {
        Location {
            file: l.file,
            line: l.line,
        }
    }
}

impl From<wit::Diagnostic> for Diagnostic {
    fn from(d: wit::Diagnostic) -> Self {
        Diagnostic {
            location: d.location.map(Location::from),
            message: d.message,
        }
    }
}

/// The source's id, title, body and labels become the task's work ([`engine_core::Task`]).
impl From<wit::Task> for Task {
    fn from(t: wit::Task) -> Self {
        Task {
            work: engine_core::Task {
                id: t.id,
                title: t.title,
                body: t.body,
                labels: t.labels,
            },
            status: t.status.into(),
            raw_status: t.raw_status,
            priority: t.priority,
            depends_on: t.depends_on,
            milestone: t.milestone,
            estimate: t.estimate,
            checklist: t
                .checklist
                .into_iter()
                .map(|c| ChecklistItem {
                    text: c.text,
                    done: c.done,
                })
                .collect(),
            traces: t.traces,
            location: t.location.map(Location::from),
        }
    }
}

impl From<wit::TaskList> for TaskList {
    fn from(l: wit::TaskList) -> Self {
        TaskList {
            tasks: l.tasks.into_iter().map(Task::from).collect(),
            warnings: l.warnings.into_iter().map(Diagnostic::from).collect(),
        }
    }
}

impl From<wit::SourceError> for SourceError {
    fn from(e: wit::SourceError) -> Self {
        match e {
            wit::SourceError::InvalidConfig(m) => SourceError::InvalidConfig(m),
            wit::SourceError::Malformed(d) => {
                SourceError::Malformed(d.into_iter().map(Diagnostic::from).collect())
            }
            wit::SourceError::NotFound(m) => SourceError::NotFound(m),
            wit::SourceError::Conflict(m) => SourceError::Conflict(m),
            wit::SourceError::Unsupported(m) => SourceError::Unsupported(m),
            wit::SourceError::Unavailable(m) => SourceError::Unavailable(m),
            wit::SourceError::Failed(m) => SourceError::Failed(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::engine::stage::types as stage_wit;

    #[test]
    fn every_field_and_error_converts() {
        let raw = wit::Task {
            id: "T-1".into(),
            title: "t".into(),
            body: "b".into(),
            status: wit::TaskStatus::InProgress,
            raw_status: "IN_PROGRESS".into(),
            priority: 3,
            labels: vec!["l".into()],
            depends_on: vec!["T-0".into()],
            milestone: Some("M".into()),
            estimate: Some("2d".into()),
            checklist: vec![wit::ChecklistItem {
                text: "c".into(),
                done: true,
            }],
            traces: vec!["REQ-1".into()],
            location: Some(wit::Location {
                file: "spec/tasks.md".into(),
                line: Some(4),
            }),
        };
        let task = Task::from(raw);
        assert_eq!(task.status, TaskStatus::InProgress);
        assert_eq!(
            (task.id.as_str(), task.labels.as_slice()),
            ("T-1", &["l".to_string()][..])
        );
        assert_eq!(
            task.location.map(|l| l.to_string()).as_deref(),
            Some("spec/tasks.md:4")
        );
        assert!(task.checklist[0].done);
        for status in [
            TaskStatus::Todo,
            TaskStatus::InProgress,
            TaskStatus::Done,
            TaskStatus::Blocked,
        ] {
            assert_eq!(TaskStatus::from(wit::TaskStatus::from(status)), status);
        }
        let e = SourceError::from(wit::SourceError::Malformed(vec![wit::Diagnostic {
            location: None,
            message: "m".into(),
        }]));
        assert_eq!(e.to_string(), "m");
        assert!(SourceError::from(wit::SourceError::Unavailable("x".into())).is_temporary());
    }

    #[test]
    fn source_descriptors_get_the_stage_descriptor_check() {
        let raw = |schema: &str, name: &str| wit::SourceDescriptor {
            name: name.into(),
            version: "1.0.0".into(),
            summary: "s".into(),
            config_schema: schema.into(),
            permissions: stage_wit::Permissions {
                workspace: stage_wit::WorkspaceAccess::Write,
                exec: vec!["bd".into()],
                agent: false,
                net: vec![],
            },
        };
        let d = SourceDescriptor::from_wit(raw("", "beads")).unwrap();
        assert_eq!(d.config_schema, serde_json::json!({}));
        assert_eq!(d.permissions.workspace, engine_core::WorkspaceAccess::Write);
        assert_eq!(d.permissions.exec, ["bd"]);
        assert!(SourceDescriptor::from_wit(raw("[1]", "beads")).is_err());
        assert!(SourceDescriptor::from_wit(raw("{}", "")).is_err());
    }
}
