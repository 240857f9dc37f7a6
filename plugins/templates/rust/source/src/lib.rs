//! {{name}}: an engine task source. It lists the tasks of a text file in the repository, one
//! per line:
//!
//! ```text
//! # comments and blank lines are skipped
//! - [ ] hello: Say hello in the README
//! - [x] setup: Set up the project
//! ```
//!
//! `engine plugin build` builds it into dist/{{name}}.wasm; workflow.yaml takes its tasks from
//! it. The parsing is a plain function ([`parse_tasks`]), tested on the host with `cargo test`.

use engine_source_sdk::{
    Diagnostic, Location, Permissions, Source, SourceDescriptor, SourceError, Task, TaskList,
    TaskStatus, WORKSPACE, WorkspaceAccess,
};
use serde::Deserialize;
use serde_json::json;

/// The source.
struct Plugin;

/// The source's config: the workflow's `tasks:` mapping without `source`, `sha256` and
/// `permissions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The tasks file, relative to the repository's root.
    #[serde(default = "default_path")]
    path: String,
}

fn default_path() -> String {
    "tasks.txt".to_string()
}

impl Source for Plugin {
    type Config = Config;

    fn describe() -> SourceDescriptor {
        SourceDescriptor::new(
            "{{name}}",
            env!("CARGO_PKG_VERSION"),
            "Tasks from a text file, one `- [ ] ID: title` per line",
        )
        .config_schema(&json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "path": { "type": "string", "minLength": 1, "default": "tasks.txt" }
            }
        }))
        // `list` reads the repository (mounted read-only at /workspace); nothing else.
        .permissions(Permissions {
            workspace: WorkspaceAccess::Read,
            ..Permissions::default()
        })
    }

    fn list(config: Config) -> Result<TaskList, SourceError> {
        let path = config.path.trim_start_matches("./");
        let text = std::fs::read_to_string(format!("{WORKSPACE}/{path}"))
            .map_err(|e| SourceError::InvalidConfig(format!("cannot read {path}: {e}")))?;
        let tasks = parse_tasks(&text, path).map_err(SourceError::Malformed)?;
        Ok(TaskList {
            tasks,
            warnings: Vec::new(),
        })
    }
}

/// The tasks of `text` (the content of `file`), or every malformed line, located.
fn parse_tasks(text: &str, file: &str) -> Result<Vec<Task>, Vec<Diagnostic>> {
    let mut tasks: Vec<Task> = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let at = || Location::line(file, number);
        let (status, rest) = if let Some(rest) = line.strip_prefix("- [ ] ") {
            (TaskStatus::Todo, rest)
        } else if let Some(rest) = line.strip_prefix("- [x] ") {
            (TaskStatus::Done, rest)
        } else {
            problems.push(Diagnostic::at(
                at(),
                "expected `- [ ] ID: title` (or `- [x]` for a done task)",
            ));
            continue;
        };
        let Some((id, title)) = rest
            .split_once(':')
            .map(|(id, title)| (id.trim(), title.trim()))
            .filter(|(id, title)| !id.is_empty() && !id.contains(' ') && !title.is_empty())
        else {
            problems.push(Diagnostic::at(at(), "expected `ID: title` after the box"));
            continue;
        };
        if tasks.iter().any(|t| t.id == id) {
            problems.push(Diagnostic::at(at(), format!("task {id} is listed twice")));
            continue;
        }
        tasks.push(Task {
            id: id.to_string(),
            title: title.to_string(),
            body: String::new(),
            raw_status: status.as_str().to_string(),
            status,
            priority: 1,
            labels: Vec::new(),
            depends_on: Vec::new(),
            milestone: None,
            estimate: None,
            checklist: Vec::new(),
            traces: Vec::new(),
            location: Some(at()),
        });
    }
    if problems.is_empty() {
        Ok(tasks)
    } else {
        Err(problems)
    }
}

engine_source_sdk::export_source!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_is_a_task_with_its_status() {
        let tasks = parse_tasks(
            "# tasks\n\n- [x] setup: Set up\n- [ ] hello: Say hello: twice\n",
            "tasks.txt",
        )
        .unwrap();
        let got: Vec<(&str, &str, TaskStatus)> = tasks
            .iter()
            .map(|t| (t.id.as_str(), t.title.as_str(), t.status))
            .collect();
        assert_eq!(
            got,
            vec![
                ("setup", "Set up", TaskStatus::Done),
                ("hello", "Say hello: twice", TaskStatus::Todo)
            ]
        );
        assert_eq!(tasks[1].location, Some(Location::line("tasks.txt", 4)));
    }

    #[test]
    fn malformed_lines_are_all_reported_with_their_line() {
        let problems = parse_tasks("- [ ] a: A\nfree text\n- [ ] a: again\n", "t.txt")
            .unwrap_err();
        let lines: Vec<Option<u32>> = problems
            .iter()
            .map(|d| d.location.as_ref().and_then(|l| l.line))
            .collect();
        assert_eq!(lines, vec![Some(2), Some(3)]);
    }
}
