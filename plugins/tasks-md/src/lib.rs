//! Built-in task source `tasks-md`: tasks from a spec-runner compatible `tasks.md` in the
//! repository, with status write-back.
//!
//! Config (the workflow's `tasks:` mapping): `path` (relative to the repository root, default
//! `spec/tasks.md`) and `tick_checklist` (tick a task's checklist when it is marked done).
//! The format is described in `docs/tasks.md`; [`parse`] reads it and [`writeback`] changes a
//! task's status in the text. This file only does the I/O: reading the file and replacing it
//! atomically (a temporary file, then a rename) after checking nobody changed it meanwhile.

pub mod checklist;
mod export;
mod ids;
mod metadata;
mod parse;
pub mod writeback;

use std::path::{Component, Path, PathBuf};

use engine_source_sdk::{
    Diagnostic, Location, Source, SourceDescriptor, SourceError, Task, TaskList, TaskStatus,
};
use engine_source_sdk::{Permissions, WORKSPACE, WorkspaceAccess};
use serde::Deserialize;
use serde_json::json;

/// The default `path`, as spec-runner has it.
pub const DEFAULT_PATH: &str = "spec/tasks.md";

/// How often a write-back starts over when the file changed while it was being written.
const WRITE_ATTEMPTS: usize = 5;

/// The source's config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The file, relative to the repository root.
    #[serde(default = "default_path")]
    pub path: String,
    /// Tick the checklist of a task marked done.
    #[serde(default)]
    pub tick_checklist: bool,
}

fn default_path() -> String {
    DEFAULT_PATH.to_string()
}

/// The `tasks-md` source.
pub struct TasksMd;

impl Source for TasksMd {
    type Config = Config;

    fn describe() -> SourceDescriptor {
        SourceDescriptor::new(
            "tasks-md",
            env!("CARGO_PKG_VERSION"),
            "Tasks from a spec-runner compatible tasks.md, with status write-back",
        )
        .config_schema(&json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "path": {
                    "type": "string",
                    "minLength": 1,
                    "default": DEFAULT_PATH,
                    "description": "The tasks file, relative to the repository root."
                },
                "tick_checklist": {
                    "type": "boolean",
                    "default": false,
                    "description": "Tick a task's checklist items when it is marked done."
                }
            }
        }))
        .permissions(Permissions {
            workspace: WorkspaceAccess::Write,
            ..Permissions::default()
        })
    }

    fn list(config: Config) -> Result<TaskList, SourceError> {
        list_in(Path::new(WORKSPACE), &config)
    }

    fn claim(config: Config, id: &str, _claimant: &str) -> Result<Task, SourceError> {
        claim_in(Path::new(WORKSPACE), &config, id)
    }

    fn update(
        config: Config,
        id: &str,
        status: TaskStatus,
        _note: Option<&str>,
    ) -> Result<Task, SourceError> {
        write_status(Path::new(WORKSPACE), &config, id, status)
    }

    fn check_item(config: Config, id: &str, index: u32, done: bool) -> Result<Task, SourceError> {
        check_item_in(Path::new(WORKSPACE), &config, id, index, done)
    }
}

/// `list` with the repository at `root`.
pub fn list_in(root: &Path, config: &Config) -> Result<TaskList, SourceError> {
    let (path, file) = resolve(root, config)?;
    let text = read(&path, &file)?;
    list_text(&text, &file)
}

/// `claim` with the repository at `root`: a `TODO` task becomes `IN_PROGRESS`; one already in
/// progress is returned as it is (a retried claim, or a run being resumed).
pub fn claim_in(root: &Path, config: &Config, id: &str) -> Result<Task, SourceError> {
    let (path, file) = resolve(root, config)?;
    let text = read(&path, &file)?;
    let doc = parse::parse(&text, &file);
    let index = writeback::target(&doc, &file, id)?;
    let task = &doc.tasks[index].task;
    match task.status {
        TaskStatus::Todo => write_status(root, config, id, TaskStatus::InProgress),
        // Already taken (by an earlier attempt of this claim, or a run being resumed).
        TaskStatus::InProgress => Ok(task.clone()),
        TaskStatus::Done => Err(SourceError::Conflict(format!("{id} is already done"))),
        TaskStatus::Blocked => Err(SourceError::Conflict(format!(
            "{id} is marked {}; remove the mark before running it",
            task.raw_status
        ))),
    }
}

/// Every task of `text`, or every error in it. Pure (used by `list` and the benchmarks).
pub fn list_text(text: &str, file: &str) -> Result<TaskList, SourceError> {
    let doc = parse::parse(text, file);
    if !doc.errors.is_empty() {
        let mut errors: Vec<Diagnostic> = doc.errors.into_iter().map(|p| p.diagnostic).collect();
        errors.sort_by_key(|d| d.location.as_ref().and_then(|l| l.line));
        return Err(SourceError::Malformed(errors));
    }
    Ok(TaskList {
        tasks: doc.tasks.into_iter().map(|p| p.task).collect(),
        warnings: doc.warnings,
    })
}

/// The file under `root` (`/workspace` in the sandbox) and its path as the user wrote it (for
/// messages).
fn resolve(root: &Path, config: &Config) -> Result<(PathBuf, String), SourceError> {
    let relative = Path::new(&config.path);
    let inside = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if config.path.trim().is_empty() || !inside {
        return Err(SourceError::InvalidConfig(format!(
            "path {:?} must be a file inside the repository, relative to its root (like {DEFAULT_PATH})",
            config.path
        )));
    }
    let file: PathBuf = relative
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    Ok((root.join(&file), file.to_string_lossy().into_owned()))
}

/// The file's text; a file that is not UTF-8 is malformed at the line of the first bad byte.
fn read(path: &Path, file: &str) -> Result<String, SourceError> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::InvalidConfig(format!(
            "{file} does not exist (the path is relative to the repository root)"
        )),
        _ => SourceError::Failed(format!("cannot read {file}: {e}")),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.split(|b| *b == b'\n').count();
        SourceError::Malformed(vec![Diagnostic::at(
            Location::line(file, u32::try_from(line).unwrap_or(u32::MAX)),
            "the file is not UTF-8 text",
        )])
    })
}

/// `update` with the repository at `root`: sets the status of `id` and returns the task as it
/// is afterwards ([`rewrite`]).
pub fn write_status(
    root: &Path,
    config: &Config,
    id: &str,
    status: TaskStatus,
) -> Result<Task, SourceError> {
    rewrite(root, config, id, |text, file| {
        writeback::set_status(text, file, id, status, config.tick_checklist)
    })
}

/// `check-item` with the repository at `root`: ticks (`done`) or unticks item `index`
/// (1-based) of task `id`'s checklist and returns the task as it is afterwards ([`rewrite`]).
pub fn check_item_in(
    root: &Path,
    config: &Config,
    id: &str,
    index: u32,
    done: bool,
) -> Result<Task, SourceError> {
    rewrite(root, config, id, |text, file| {
        checklist::set_item(text, file, id, index, done)
    })
}

/// Changes the file with `change` (the text and the file's name in, the new text out) and
/// returns task `id` as it is afterwards. Re-reads the file, changes the text, writes it to a
/// temporary file and renames that over the file, unless the file changed after it was read (a
/// user saving it): then it starts over on the new content, so the user's edit is kept.
fn rewrite(
    root: &Path,
    config: &Config,
    id: &str,
    change: impl Fn(&str, &str) -> Result<String, SourceError>,
) -> Result<Task, SourceError> {
    let (path, file) = resolve(root, config)?;
    for attempt in 0..WRITE_ATTEMPTS {
        let before = read(&path, &file)?;
        let after = change(&before, &file)?;
        if after != before {
            let temp = temp_path(&path, attempt);
            write_file(&temp, &after)
                .map_err(|e| SourceError::Failed(format!("cannot write next to {file}: {e}")))?;
            if read(&path, &file)? != before {
                let _ = std::fs::remove_file(&temp);
                continue;
            }
            if let Err(e) = std::fs::rename(&temp, &path) {
                let _ = std::fs::remove_file(&temp);
                return Err(SourceError::Failed(format!("cannot replace {file}: {e}")));
            }
        }
        let doc = parse::parse(&after, &file);
        let index = writeback::target(&doc, &file, id)?;
        return Ok(doc.tasks[index].task.clone());
    }
    Err(SourceError::Unavailable(format!(
        "{file} kept changing while {id} was being updated"
    )))
}

/// A temporary file next to `path` (same directory, so the rename is atomic).
fn temp_path(path: &Path, attempt: usize) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = path
        .file_name()
        .map_or_else(|| "tasks.md".into(), |n| n.to_string_lossy());
    path.with_file_name(format!(".{name}.engine-{nanos}-{attempt}.tmp"))
}

fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside_the_repository() {
        let config = |path: &str| Config {
            path: path.into(),
            tick_checklist: false,
        };
        let root = Path::new(WORKSPACE);
        let (inside, file) = resolve(root, &config("./spec/tasks.md")).unwrap();
        assert_eq!(inside, Path::new("/workspace/spec/tasks.md"));
        assert_eq!(file, "spec/tasks.md");
        for bad in ["/etc/passwd", "../x.md", "spec/../../x.md", " "] {
            assert!(
                matches!(
                    resolve(root, &config(bad)),
                    Err(SourceError::InvalidConfig(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn errors_are_reported_together_in_line_order() {
        let text = "### TASK-2: B\nP0 | DOING\n### TASK-1 no colon\n### TASK-2: again\n";
        match list_text(text, "t.md") {
            Err(SourceError::Malformed(d)) => {
                let lines: Vec<Option<u32>> = d
                    .iter()
                    .map(|d| d.location.as_ref().and_then(|l| l.line))
                    .collect();
                assert_eq!(lines, [Some(2), Some(3), Some(4)], "{d:?}");
            }
            other => panic!("{other:?}"),
        }
    }
}
