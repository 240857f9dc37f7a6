//! Traceability over a spec-runner `spec/` directory: requirements (`requirements.md`,
//! `REQ-`/`NFR-` ids), design (`design.md`, `DESIGN-` ids) and tasks (`tasks.md`, read through
//! the `builtin:tasks-md` task source like `engine tasks` reads it), linked by `Traces to:`.
//!
//! [`load`] reads the three files into a [`SpecSet`]; [`trace::Links`] says what traces to
//! what; [`audit`] finds what is missing or wrong; [`report`] builds the requirement → design
//! → tasks → runs matrix; [`render`] and [`csv`] print them. `engine spec` (in `cli/`) only
//! parses arguments and prints. See docs/traceability.md.

pub mod audit;
pub mod csv;
pub mod markdown;
pub mod render;
pub mod report;
pub mod runs;
pub mod trace;

use std::collections::HashMap;
use std::path::Path;

use engine_runtime::Host;
use engine_tasks::{Diagnostic, Task};

use crate::EngineError;
use markdown::{Item, Kind};

/// The requirements file in a spec directory.
pub const REQUIREMENTS_FILE: &str = "requirements.md";
/// The design file in a spec directory (optional).
pub const DESIGN_FILE: &str = "design.md";
/// The tasks file in a spec directory.
pub const TASKS_FILE: &str = "tasks.md";
/// The largest requirements or design file read (the limit of a tasks file too).
pub const MAX_SPEC_FILE_BYTES: u64 = crate::tasks::MAX_TASKS_FILE_BYTES;

/// Why a spec directory cannot be read. Every variant names the file (and the line when there
/// is one); all but [`SpecError::Io`] are the user's to fix (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A required file is not there.
    #[error("{file}: no such file ({why})")]
    Missing {
        /// The file, as shown.
        file: String,
        /// What it is for.
        why: &'static str,
    },
    /// A path that is not a regular file, or one too large.
    #[error("{file}: {why}")]
    Unusable {
        /// The file, as shown.
        file: String,
        /// What is wrong with it.
        why: String,
    },
    /// The file is not UTF-8 text.
    #[error("{file}:{line}: not UTF-8 text")]
    NotText {
        /// The file, as shown.
        file: String,
        /// 1-based line of the first invalid byte.
        line: u32,
    },
    /// The file's content cannot be read as a spec document.
    #[error("{file}:{line}: {message}")]
    Malformed {
        /// The file, as shown.
        file: String,
        /// 1-based line.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// Reading failed (permissions, disk).
    #[error("{file}: {source}")]
    Io {
        /// The file, as shown.
        file: String,
        /// The error.
        source: std::io::Error,
    },
}

impl From<SpecError> for EngineError {
    fn from(e: SpecError) -> Self {
        match e {
            SpecError::Io { file, source } => EngineError::io(file, source),
            other => EngineError::Usage(other.to_string()),
        }
    }
}

/// A requirements or design document: where it is and its items.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file as shown (the spec directory as given, joined with the file name).
    pub file: String,
    /// Its items, in file order (duplicates included).
    pub items: Vec<Item>,
}

/// The tasks file and its tasks.
#[derive(Debug, Clone)]
pub struct TasksDocument {
    /// The file as shown.
    pub file: String,
    /// Every task, in file order.
    pub tasks: Vec<Task>,
    /// 1-based line of each task's `**Traces to:**` line, by task id (its header line when it
    /// has none).
    pub trace_lines: HashMap<String, u32>,
    /// What the task source warned about.
    pub warnings: Vec<Diagnostic>,
}

/// A spec directory, read.
#[derive(Debug, Clone)]
pub struct SpecSet {
    /// `requirements.md`.
    pub requirements: Document,
    /// `design.md`, when there is one.
    pub design: Option<Document>,
    /// `tasks.md`.
    pub tasks: TasksDocument,
}

/// Reads `spec_dir`'s requirements, design (if present) and tasks. The tasks are read by the
/// `builtin:tasks-md` source on `host` (its errors, located, come back as
/// [`EngineError::TaskSource`]).
pub async fn load(host: &Host, spec_dir: &Path) -> Result<SpecSet, EngineError> {
    let requirements_path = spec_dir.join(REQUIREMENTS_FILE);
    let requirements = read_document(
        &requirements_path,
        Kind::Requirements,
        Some("the requirements, REQ-001 headings"),
    )?
    .ok_or_else(|| EngineError::Internal("a required document read as absent".into()))?;
    let design = read_document(&spec_dir.join(DESIGN_FILE), Kind::Design, None)?;
    let tasks_path = spec_dir.join(TASKS_FILE);
    let tasks_shown = shown(&tasks_path);
    if !tasks_path.exists() {
        return Err(SpecError::Missing {
            file: tasks_shown,
            why: "the tasks, TASK-001 headings with **Traces to:** lines",
        }
        .into());
    }
    let (prepared, root) = crate::tasks::prepare_tasks_file(host, &tasks_path).await?;
    let listing = crate::tasks::list(host, &prepared, &root).await?;
    let text = read_text(&tasks_path, &tasks_shown)?;
    let trace_lines = trace_lines(&text, &listing.tasks);
    Ok(SpecSet {
        requirements,
        design,
        tasks: TasksDocument {
            file: tasks_shown,
            tasks: listing.tasks,
            trace_lines,
            warnings: listing.warnings,
        },
    })
}

/// `path` as shown in messages (as given, control characters escaped).
fn shown(path: &Path) -> String {
    crate::terminal::safe(&path.display().to_string()).into_owned()
}

/// Reads and parses a document; `Ok(None)` when an optional one (`required` is `None`) is
/// absent.
fn read_document(
    path: &Path,
    kind: Kind,
    required: Option<&'static str>,
) -> Result<Option<Document>, SpecError> {
    let file = shown(path);
    if !path.exists() {
        return match required {
            Some(why) => Err(SpecError::Missing { file, why }),
            None => Ok(None),
        };
    }
    let text = read_text(path, &file)?;
    let items = markdown::parse(&text, &file, kind)?;
    Ok(Some(Document { file, items }))
}

/// The text of a regular file of at most [`MAX_SPEC_FILE_BYTES`].
fn read_text(path: &Path, file: &str) -> Result<String, SpecError> {
    let io = |source| SpecError::Io {
        file: file.to_string(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(SpecError::Unusable {
            file: file.to_string(),
            why: "not a regular file".into(),
        });
    }
    if metadata.len() > MAX_SPEC_FILE_BYTES {
        return Err(SpecError::Unusable {
            file: file.to_string(),
            why: format!(
                "{} bytes; the limit is {MAX_SPEC_FILE_BYTES} bytes",
                metadata.len()
            ),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let lines = valid.split(|b| *b == b'\n').count();
        SpecError::NotText {
            file: file.to_string(),
            line: u32::try_from(lines).unwrap_or(u32::MAX),
        }
    })
}

/// The line of each task's `**Traces to:**` line: the first one in its block (from its header
/// line to the next heading of level 1 to 3, fenced code skipped); its header line when the
/// block has none.
fn trace_lines(text: &str, tasks: &[Task]) -> HashMap<String, u32> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = HashMap::new();
    for task in tasks {
        let Some(header) = task.location.as_ref().and_then(|l| l.line) else {
            continue;
        };
        let found = block_trace_line(&lines, header).unwrap_or(header);
        out.entry(task.id.clone()).or_insert(found);
    }
    out
}

fn block_trace_line(lines: &[&str], header: u32) -> Option<u32> {
    let start = usize::try_from(header).ok()?;
    let mut fenced = false;
    for (i, line) in lines.iter().enumerate().skip(start) {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let level = line.bytes().take_while(|b| *b == b'#').count();
        if (1..=3).contains(&level) && line[level..].starts_with(' ') {
            return None;
        }
        if line.contains("**Traces to:**") {
            return u32::try_from(i + 1).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, line: u32) -> Task {
        let work = engine_core::Task {
            id: id.into(),
            ..Default::default()
        };
        Task {
            work,
            status: engine_tasks::TaskStatus::Todo,
            raw_status: String::new(),
            priority: 0,
            depends_on: vec![],
            milestone: None,
            estimate: None,
            checklist: vec![],
            traces: vec![],
            location: Some(engine_tasks::Location {
                file: "spec/tasks.md".into(),
                line: Some(line),
            }),
        }
    }

    #[test]
    fn finds_each_tasks_traces_line_within_its_block() {
        let text = "## Milestone 1\n### TASK-001: a\n**Traces to:** [REQ-1]\n### TASK-002: b\n\
                    ```\n**Traces to:** [REQ-9]\n```\n### TASK-003: c\ntext\n**Traces to:** x\n";
        let lines = trace_lines(
            text,
            &[
                task("TASK-001", 2),
                task("TASK-002", 4),
                task("TASK-003", 8),
            ],
        );
        assert_eq!(lines["TASK-001"], 3);
        // No Traces line outside the fence: the header line.
        assert_eq!(lines["TASK-002"], 4);
        assert_eq!(lines["TASK-003"], 10);
    }

    #[test]
    fn a_file_that_is_not_utf8_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requirements.md");
        std::fs::write(&path, b"# R\nok\nbad \xff here\n").unwrap();
        let err = read_text(&path, "spec/requirements.md").unwrap_err();
        assert_eq!(err.to_string(), "spec/requirements.md:3: not UTF-8 text");
        let err = read_text(dir.path(), "spec").unwrap_err();
        assert_eq!(err.to_string(), "spec: not a regular file");
    }

    #[test]
    fn a_missing_requirements_file_is_a_usage_error_and_design_is_optional() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_document(
            &dir.path().join("requirements.md"),
            Kind::Requirements,
            Some("x"),
        )
        .unwrap_err();
        assert!(matches!(err, SpecError::Missing { .. }));
        assert_eq!(
            EngineError::from(err).exit_code(),
            crate::exit::INVALID_INPUT
        );
        assert!(
            read_document(&dir.path().join("design.md"), Kind::Design, None)
                .unwrap()
                .is_none()
        );
    }
}
