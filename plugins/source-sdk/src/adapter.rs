//! Glue between the raw `source` world bindings and the [`Source`] trait; used by
//! [`crate::export_source!`].

use engine_stage_sdk::bindings::engine::stage::types as stage_raw;
use engine_stage_sdk::{Permissions, WorkspaceAccess};

use crate::bindings::engine::stage::source_types as raw;
use crate::{
    ChecklistItem, Diagnostic, Location, Source, SourceDescriptor, SourceError, Task, TaskList,
    TaskStatus,
};

/// `describe` of the exported component.
pub fn describe<S: Source>() -> raw::SourceDescriptor {
    descriptor_to_raw(S::describe())
}

/// `list-tasks` of the exported component.
pub fn list<S: Source>(config: String) -> Result<raw::TaskList, raw::SourceError> {
    let config = parse_config::<S::Config>(&config).map_err(error_to_raw)?;
    S::list(config).map(list_to_raw).map_err(error_to_raw)
}

/// `claim` of the exported component.
pub fn claim<S: Source>(
    config: String,
    id: String,
    claimant: String,
) -> Result<raw::Task, raw::SourceError> {
    let config = parse_config::<S::Config>(&config).map_err(error_to_raw)?;
    S::claim(config, &id, &claimant)
        .map(task_to_raw)
        .map_err(error_to_raw)
}

/// `update` of the exported component.
pub fn update<S: Source>(
    config: String,
    id: String,
    status: raw::TaskStatus,
    note: Option<String>,
) -> Result<raw::Task, raw::SourceError> {
    let config = parse_config::<S::Config>(&config).map_err(error_to_raw)?;
    S::update(config, &id, status_from_raw(status), note.as_deref())
        .map(task_to_raw)
        .map_err(error_to_raw)
}

/// Deserializes the config; `null` or empty text falls back to `{}` when the type needs it.
pub(crate) fn parse_config<C: serde::de::DeserializeOwned>(json: &str) -> Result<C, SourceError> {
    let text = if json.trim().is_empty() { "null" } else { json };
    match serde_json::from_str::<C>(text) {
        Ok(config) => Ok(config),
        Err(first) => {
            if text.trim() == "null"
                && let Ok(config) = serde_json::from_str::<C>("{}")
            {
                return Ok(config);
            }
            Err(SourceError::InvalidConfig(first.to_string()))
        }
    }
}

fn descriptor_to_raw(d: SourceDescriptor) -> raw::SourceDescriptor {
    raw::SourceDescriptor {
        name: d.name,
        version: d.version,
        summary: d.summary,
        config_schema: d.config_schema.to_string(),
        permissions: permissions_to_raw(d.permissions),
    }
}

fn permissions_to_raw(p: Permissions) -> stage_raw::Permissions {
    stage_raw::Permissions {
        workspace: match p.workspace {
            WorkspaceAccess::None => stage_raw::WorkspaceAccess::None,
            WorkspaceAccess::Read => stage_raw::WorkspaceAccess::Read,
            WorkspaceAccess::Write => stage_raw::WorkspaceAccess::Write,
        },
        exec: p.exec,
        agent: p.agent,
        net: p.net,
    }
}

fn status_to_raw(status: TaskStatus) -> raw::TaskStatus {
    match status {
        TaskStatus::Todo => raw::TaskStatus::Todo,
        TaskStatus::InProgress => raw::TaskStatus::InProgress,
        TaskStatus::Done => raw::TaskStatus::Done,
        TaskStatus::Blocked => raw::TaskStatus::Blocked,
    }
}

pub(crate) fn status_from_raw(status: raw::TaskStatus) -> TaskStatus {
    match status {
        raw::TaskStatus::Todo => TaskStatus::Todo,
        raw::TaskStatus::InProgress => TaskStatus::InProgress,
        raw::TaskStatus::Done => TaskStatus::Done,
        raw::TaskStatus::Blocked => TaskStatus::Blocked,
    }
}

fn location_to_raw(l: Location) -> raw::Location {
    raw::Location {
        file: l.file,
        line: l.line,
    }
}

fn diagnostic_to_raw(d: Diagnostic) -> raw::Diagnostic {
    raw::Diagnostic {
        location: d.location.map(location_to_raw),
        message: d.message,
    }
}

pub(crate) fn task_to_raw(t: Task) -> raw::Task {
    raw::Task {
        id: t.id,
        title: t.title,
        body: t.body,
        status: status_to_raw(t.status),
        raw_status: t.raw_status,
        priority: t.priority,
        labels: t.labels,
        depends_on: t.depends_on,
        milestone: t.milestone,
        estimate: t.estimate,
        checklist: t
            .checklist
            .into_iter()
            .map(|ChecklistItem { text, done }| raw::ChecklistItem { text, done })
            .collect(),
        traces: t.traces,
        location: t.location.map(location_to_raw),
    }
}

fn list_to_raw(l: TaskList) -> raw::TaskList {
    raw::TaskList {
        tasks: l.tasks.into_iter().map(task_to_raw).collect(),
        warnings: l.warnings.into_iter().map(diagnostic_to_raw).collect(),
    }
}

pub(crate) fn error_to_raw(e: SourceError) -> raw::SourceError {
    match e {
        SourceError::InvalidConfig(m) => raw::SourceError::InvalidConfig(m),
        SourceError::Malformed(d) => {
            raw::SourceError::Malformed(d.into_iter().map(diagnostic_to_raw).collect())
        }
        SourceError::NotFound(m) => raw::SourceError::NotFound(m),
        SourceError::Conflict(m) => raw::SourceError::Conflict(m),
        SourceError::Unsupported(m) => raw::SourceError::Unsupported(m),
        SourceError::Unavailable(m) => raw::SourceError::Unavailable(m),
        SourceError::Failed(m) => raw::SourceError::Failed(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[serde(default)]
        path: Option<String>,
    }

    #[test]
    fn configs_parse_or_fail_as_invalid_config() {
        assert_eq!(parse_config::<Config>("null").unwrap().path, None);
        assert_eq!(
            parse_config::<Config>(r#"{"path":"a.md"}"#).unwrap().path,
            Some("a.md".into())
        );
        let err = parse_config::<Config>(r#"{"pth":"a.md"}"#).unwrap_err();
        assert!(
            matches!(&err, SourceError::InvalidConfig(m) if m.contains("unknown field")),
            "{err:?}"
        );
    }

    #[test]
    fn tasks_and_errors_keep_every_field() {
        let task = Task {
            id: "TASK-1".into(),
            title: "t".into(),
            body: "b".into(),
            status: TaskStatus::InProgress,
            raw_status: "IN_PROGRESS".into(),
            priority: 2,
            labels: vec!["l".into()],
            depends_on: vec!["TASK-0".into()],
            milestone: Some("M1".into()),
            estimate: Some("2d".into()),
            checklist: vec![ChecklistItem {
                text: "c".into(),
                done: true,
            }],
            traces: vec!["REQ-1".into()],
            location: Some(Location::line("spec/tasks.md", 3)),
        };
        let raw = task_to_raw(task);
        assert_eq!(status_from_raw(raw.status), TaskStatus::InProgress);
        assert_eq!(
            (
                raw.priority,
                raw.milestone.as_deref(),
                raw.checklist[0].done
            ),
            (2, Some("M1"), true)
        );
        assert_eq!(raw.location.map(|l| l.line), Some(Some(3)));
        match error_to_raw(SourceError::Malformed(vec![Diagnostic::at(
            Location::line("f", 1),
            "bad",
        )])) {
            raw::SourceError::Malformed(d) => assert_eq!(d[0].message, "bad"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
