//! Which task a plain `engine run` works on.
//!
//! - `--task-file F`: the file's text, inline.
//! - `--task VALUE` with a task source: VALUE is the id of one of its tasks → that task (it
//!   must be ready). Otherwise, when VALUE looks like an id (one word with a digit, such as
//!   `TASK-12`, `bd-a1b2` or `#42`) → an error, so a typo never runs as an inline task;
//!   anything else → inline text.
//! - `--task VALUE` without a source: inline text.
//! - nothing, with a source: the next ready task (urgent first); an interrupted run of that
//!   task is resumed rather than replaced.
//! - nothing, without a source: a task named after the workflow.

use engine_tasks::{Known, Plan, Task, Verdict, plan};

use super::verdict_text;
use crate::EngineError;
use crate::tasks::Listing;

/// What a plain `engine run` works on.
#[derive(Debug)]
pub enum Pick {
    /// Inline text (or the workflow's name): no source involved.
    Inline,
    /// A task of the source; `resume` names its unfinished run.
    Source {
        /// The task.
        task: Box<Task>,
        /// The run to resume instead of starting a new one.
        resume: Option<String>,
    },
    /// No task is ready; the plan says why for each.
    Nothing(Plan),
}

/// Whether `text` reads as a task id rather than a task: one word of letters, digits, `-`,
/// `_`, `.` or `#` with at least one digit (`TASK-12`, `bd-a1b2.3`, `#42`).
pub fn looks_like_id(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text.len() <= 64
        && text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '#'))
}

/// Decides what a plain `engine run` works on, from the listed source, what the state
/// directory knows, and `--task` (`requested`).
pub fn pick(
    listing: &Listing,
    known: &Known,
    requested: Option<&str>,
) -> Result<Pick, EngineError> {
    let tasks = &listing.tasks;
    let verdicts = plan(tasks, known, usize::MAX);
    let Some(requested) = requested else {
        let next = verdicts
            .starts()
            .next()
            .map(|(i, r)| (i, r.map(str::to_string)));
        return Ok(match next {
            Some((index, resume)) => Pick::Source {
                task: Box::new(tasks[index].clone()),
                resume,
            },
            None => Pick::Nothing(verdicts),
        });
    };
    let wanted = requested.trim();
    let found = verdicts
        .entries
        .iter()
        .find(|e| tasks[e.index].id == wanted);
    let Some(entry) = found else {
        if looks_like_id(wanted) {
            return Err(EngineError::Usage(format!(
                "no task {wanted} in {}; a one-word --task that looks like an id must name a \
                 task of the workflow's source (see `engine tasks`); for an inline task, \
                 describe it in words or use --task-file",
                listing.source
            )));
        }
        return Ok(Pick::Inline);
    };
    let task = &tasks[entry.index];
    match &entry.verdict {
        Verdict::Start { resume } => Ok(Pick::Source {
            task: Box::new(task.clone()),
            resume: resume.clone(),
        }),
        other => Err(EngineError::Usage(format!(
            "{} is not ready: {}",
            task.id,
            verdict_text(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_tasks::{TaskStatus, readiness};

    fn task(id: &str, status: TaskStatus, deps: &[&str]) -> Task {
        Task {
            work: engine_core::Task {
                id: id.into(),
                title: format!("title of {id}"),
                body: String::new(),
                labels: Vec::new(),
            },
            status,
            raw_status: String::new(),
            priority: 1,
            depends_on: deps.iter().map(std::string::ToString::to_string).collect(),
            milestone: None,
            estimate: None,
            checklist: Vec::new(),
            traces: Vec::new(),
            location: None,
        }
    }

    fn listing(tasks: Vec<Task>) -> Listing {
        Listing {
            source: "builtin:tasks-md".into(),
            readiness: readiness(&tasks),
            tasks,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn ids_look_like_ids_and_sentences_do_not() {
        for id in ["TASK-12", "bd-a1b2", "bd-a1b2.3", "#42", "42", "KAP_7"] {
            assert!(looks_like_id(id), "{id}");
        }
        for text in [
            "refactor",
            "Add a --json flag",
            "fix bug 2",
            "",
            "TASK-1: do it",
        ] {
            assert!(!looks_like_id(text), "{text}");
        }
    }

    #[test]
    fn a_named_task_an_unknown_id_and_inline_text() {
        let l = listing(vec![
            task("TASK-1", TaskStatus::Done, &[]),
            task("TASK-2", TaskStatus::Todo, &["TASK-1"]),
            task("TASK-3", TaskStatus::Todo, &["TASK-2"]),
        ]);
        let known = Known::default();
        match pick(&l, &known, Some("TASK-2")).unwrap() {
            Pick::Source { task, resume } => {
                assert_eq!(task.id, "TASK-2");
                assert_eq!(resume, None);
            }
            other => panic!("{other:?}"),
        }
        let err = pick(&l, &known, Some("TASK-3")).unwrap_err().to_string();
        assert_eq!(err, "TASK-3 is not ready: blocked by TASK-2 (todo)");
        let err = pick(&l, &known, Some("TASK-1")).unwrap_err().to_string();
        assert_eq!(err, "TASK-1 is not ready: done");
        let err = pick(&l, &known, Some("TASK-33")).unwrap_err().to_string();
        assert!(
            err.starts_with("no task TASK-33 in builtin:tasks-md;"),
            "{err}"
        );
        assert!(matches!(
            pick(&l, &known, Some("Add a greeting")).unwrap(),
            Pick::Inline
        ));
    }

    #[test]
    fn the_next_ready_task_resumes_its_unfinished_run() {
        let l = listing(vec![
            task("A", TaskStatus::Todo, &[]),
            task("B", TaskStatus::InProgress, &[]),
        ]);
        let mut known = Known::default();
        known.unfinished.insert("B".into(), "R1".into());
        match pick(&l, &known, None).unwrap() {
            Pick::Source { task, resume } => {
                assert_eq!(task.id, "B");
                assert_eq!(resume.as_deref(), Some("R1"));
            }
            other => panic!("{other:?}"),
        }
        known.succeeded.insert("A".into(), "R0".into());
        known.settled.insert("B".into(), "failed".into());
        assert!(matches!(pick(&l, &known, None).unwrap(), Pick::Nothing(_)));
    }
}
