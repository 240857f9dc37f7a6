//! Conversions between the WIT records of the `source` world and [`engine_tasks`]' types.

use engine_core::{Permissions, WorkspaceAccess};
use engine_tasks::{ChecklistItem, Diagnostic, Location, SourceError, Task, TaskList, TaskStatus};

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

/// Checks and converts the WIT descriptor (the config schema must be a JSON object or boolean
/// schema; empty means `{}`).
pub(crate) fn descriptor_from_wit(raw: wit::SourceDescriptor) -> Result<SourceDescriptor, String> {
    let schema_text = raw.config_schema.trim();
    let config_schema = if schema_text.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str::<serde_json::Value>(schema_text)
            .map_err(|e| format!("config-schema is not JSON: {e}"))?
    };
    if !config_schema.is_object() && !config_schema.is_boolean() {
        return Err("config-schema must be a JSON object (or a boolean schema)".to_string());
    }
    if raw.name.trim().is_empty() {
        return Err("name is empty".to_string());
    }
    let p = raw.permissions;
    Ok(SourceDescriptor {
        name: raw.name,
        version: raw.version,
        summary: raw.summary,
        config_schema,
        permissions: Permissions {
            workspace: match p.workspace {
                crate::bindings::engine::stage::types::WorkspaceAccess::None => {
                    WorkspaceAccess::None
                }
                crate::bindings::engine::stage::types::WorkspaceAccess::Read => {
                    WorkspaceAccess::Read
                }
                crate::bindings::engine::stage::types::WorkspaceAccess::Write => {
                    WorkspaceAccess::Write
                }
            },
            exec: p.exec,
            agent: p.agent,
            net: p.net,
        },
    })
}

pub(crate) fn status_to_wit(status: TaskStatus) -> wit::TaskStatus {
    match status {
        TaskStatus::Todo => wit::TaskStatus::Todo,
        TaskStatus::InProgress => wit::TaskStatus::InProgress,
        TaskStatus::Done => wit::TaskStatus::Done,
        TaskStatus::Blocked => wit::TaskStatus::Blocked,
    }
}

fn status_from_wit(status: wit::TaskStatus) -> TaskStatus {
    match status {
        wit::TaskStatus::Todo => TaskStatus::Todo,
        wit::TaskStatus::InProgress => TaskStatus::InProgress,
        wit::TaskStatus::Done => TaskStatus::Done,
        wit::TaskStatus::Blocked => TaskStatus::Blocked,
    }
}

fn location_from_wit(l: wit::Location) -> Location {
    Location {
        file: l.file,
        line: l.line,
    }
}

fn diagnostic_from_wit(d: wit::Diagnostic) -> Diagnostic {
    Diagnostic {
        location: d.location.map(location_from_wit),
        message: d.message,
    }
}

pub(crate) fn task_from_wit(t: wit::Task) -> Task {
    Task {
        id: t.id,
        title: t.title,
        body: t.body,
        status: status_from_wit(t.status),
        raw_status: t.raw_status,
        priority: t.priority,
        labels: t.labels,
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
        location: t.location.map(location_from_wit),
    }
}

pub(crate) fn list_from_wit(l: wit::TaskList) -> TaskList {
    TaskList {
        tasks: l.tasks.into_iter().map(task_from_wit).collect(),
        warnings: l.warnings.into_iter().map(diagnostic_from_wit).collect(),
    }
}

pub(crate) fn error_from_wit(e: wit::SourceError) -> SourceError {
    match e {
        wit::SourceError::InvalidConfig(m) => SourceError::InvalidConfig(m),
        wit::SourceError::Malformed(d) => {
            SourceError::Malformed(d.into_iter().map(diagnostic_from_wit).collect())
        }
        wit::SourceError::NotFound(m) => SourceError::NotFound(m),
        wit::SourceError::Conflict(m) => SourceError::Conflict(m),
        wit::SourceError::Unsupported(m) => SourceError::Unsupported(m),
        wit::SourceError::Unavailable(m) => SourceError::Unavailable(m),
        wit::SourceError::Failed(m) => SourceError::Failed(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let task = task_from_wit(raw);
        assert_eq!(task.status, TaskStatus::InProgress);
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
            assert_eq!(status_from_wit(status_to_wit(status)), status);
        }
        let e = error_from_wit(wit::SourceError::Malformed(vec![wit::Diagnostic {
            location: None,
            message: "m".into(),
        }]));
        assert_eq!(e.to_string(), "m");
        assert!(error_from_wit(wit::SourceError::Unavailable("x".into())).is_temporary());
    }
}
