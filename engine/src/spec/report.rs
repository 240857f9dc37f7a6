//! `engine spec report`: the requirement → design → tasks → runs matrix.
//!
//! Each requirement (requirements.md order) with its title, the design items that trace to
//! it, the tasks that cover it (directly or via a design item, see [`super::trace`]) with their
//! status in the tasks file, and each task's runs from the state store.
//!
//! `--milestone M` keeps only tasks of milestone M and only the requirements they cover (the
//! milestone's scope). `--uncovered-only` keeps the requirements that are not done: no task
//! covers them, or none of the tasks covering them is done.

use std::collections::HashMap;
use std::hash::BuildHasher;

use engine_tasks::{Task, TaskStatus};
use serde::Serialize;

use super::SpecSet;
use super::runs::RunEntry;
use super::trace::Links;

/// How far a requirement is along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// No task covers it.
    Uncovered,
    /// Tasks cover it and none is done.
    Open,
    /// Some of the tasks covering it are done.
    Partial,
    /// Every task covering it is done.
    Done,
}

impl Coverage {
    /// The name shown (`uncovered`, `open`, `partial`, `done`).
    pub fn name(self) -> &'static str {
        match self {
            Coverage::Uncovered => "uncovered",
            Coverage::Open => "open",
            Coverage::Partial => "partial",
            Coverage::Done => "done",
        }
    }

    /// Whether `--uncovered-only` keeps it: no task, or no task done.
    pub fn is_uncovered(self) -> bool {
        matches!(self, Coverage::Uncovered | Coverage::Open)
    }
}

/// A task covering a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRow {
    /// The task's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its status in the tasks file.
    pub status: TaskStatus,
    /// Its milestone.
    pub milestone: Option<String>,
    /// The design item it covers the requirement through; `None`: it traces to it directly.
    pub via: Option<String>,
    /// Its runs, oldest first.
    pub runs: Vec<RunEntry>,
}

/// One requirement of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The id.
    pub id: String,
    /// The title.
    pub title: String,
    /// Where it is defined (`spec/requirements.md:12`).
    pub location: String,
    /// The design items that trace to it.
    pub design: Vec<String>,
    /// How far it is along.
    pub coverage: Coverage,
    /// The tasks covering it, in tasks-file order.
    pub tasks: Vec<TaskRow>,
}

/// Totals over the requirements in scope (before `--uncovered-only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Requirements in scope.
    pub requirements: usize,
    /// Those some task covers.
    pub covered: usize,
    /// Those every covering task of is done.
    pub done: usize,
}

/// The matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matrix {
    /// The milestone asked for, if any.
    pub milestone: Option<String>,
    /// Whether only requirements not done are listed.
    pub uncovered_only: bool,
    /// Totals.
    pub totals: Totals,
    /// The requirements listed.
    pub requirements: Vec<Row>,
}

/// What to keep.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only tasks of this milestone, and the requirements they cover.
    pub milestone: Option<String>,
    /// Only requirements not done.
    pub uncovered_only: bool,
}

/// Why a report cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// No task belongs to the milestone asked for.
    #[error("--milestone {given:?}: no task of {file} is in that milestone (milestones: {known})")]
    UnknownMilestone {
        /// The milestone asked for.
        given: String,
        /// The tasks file.
        file: String,
        /// The milestones there are.
        known: String,
    },
}

impl From<ReportError> for crate::EngineError {
    fn from(e: ReportError) -> Self {
        crate::EngineError::Usage(crate::terminal::safe(&e.to_string()).into_owned())
    }
}

/// Whether milestone `written` (`Milestone 1: MVP`) is the one `asked` names: the whole text,
/// the part before its `:` (`Milestone 1`), the part after (`MVP`) or its number (`1`), in any
/// case.
pub fn milestone_matches(written: &str, asked: &str) -> bool {
    let asked = asked.trim();
    let same = |a: &str| a.trim().eq_ignore_ascii_case(asked);
    if same(written) {
        return true;
    }
    let (label, name) = written.split_once(':').unwrap_or((written, ""));
    if same(label) || (!name.trim().is_empty() && same(name)) {
        return true;
    }
    let number: String = label
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) && same(&number)
}

/// Builds the matrix of `spec` with `runs` (by task id, see [`super::runs::by_task`]).
pub fn build<S: BuildHasher>(
    spec: &SpecSet,
    runs: &HashMap<String, Vec<RunEntry>, S>,
    options: &Options,
) -> Result<Matrix, ReportError> {
    let links = Links::new(spec);
    let in_scope = |task: &Task| {
        options.milestone.as_deref().is_none_or(|asked| {
            task.milestone
                .as_deref()
                .is_some_and(|m| milestone_matches(m, asked))
        })
    };
    if let Some(asked) = &options.milestone
        && !links.tasks().iter().any(in_scope)
    {
        let mut known: Vec<&str> = Vec::new();
        for milestone in links.tasks().iter().filter_map(|t| t.milestone.as_deref()) {
            if !known.contains(&milestone) {
                known.push(milestone);
            }
        }
        return Err(ReportError::UnknownMilestone {
            given: asked.clone(),
            file: spec.tasks.file.clone(),
            known: if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            },
        });
    }
    let mut rows = Vec::new();
    for requirement in links.requirements() {
        let tasks: Vec<TaskRow> = links
            .coverers(&requirement.id)
            .into_iter()
            .filter(|c| in_scope(c.task))
            .map(|c| TaskRow {
                id: c.task.id.clone(),
                title: c.task.title.clone(),
                status: c.task.status,
                milestone: c.task.milestone.clone(),
                via: c.via.map(str::to_string),
                runs: runs.get(&c.task.id).cloned().unwrap_or_default(),
            })
            .collect();
        if options.milestone.is_some() && tasks.is_empty() {
            continue;
        }
        let done = tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Done)
            .count();
        let coverage = match (tasks.len(), done) {
            (0, _) => Coverage::Uncovered,
            (_, 0) => Coverage::Open,
            (n, d) if d == n => Coverage::Done,
            _ => Coverage::Partial,
        };
        rows.push(Row {
            id: requirement.id.clone(),
            title: requirement.title.clone(),
            location: format!("{}:{}", spec.requirements.file, requirement.line),
            design: links
                .designs_of(&requirement.id)
                .into_iter()
                .map(|d| d.id.clone())
                .collect(),
            coverage,
            tasks,
        });
    }
    let totals = Totals {
        requirements: rows.len(),
        covered: rows
            .iter()
            .filter(|r| r.coverage != Coverage::Uncovered)
            .count(),
        done: rows.iter().filter(|r| r.coverage == Coverage::Done).count(),
    };
    if options.uncovered_only {
        rows.retain(|r| r.coverage.is_uncovered());
    }
    Ok(Matrix {
        milestone: options.milestone.clone(),
        uncovered_only: options.uncovered_only,
        totals,
        requirements: rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::trace::tests::{spec, task};

    fn sample() -> SpecSet {
        spec(
            "## REQ-001: Login\n## REQ-002: Logout\n## REQ-003: Audit\n",
            Some("## DESIGN-001: Sessions\n**Traces to:** [REQ-002]\n"),
            vec![
                task(
                    "TASK-1",
                    &["REQ-001"],
                    TaskStatus::Done,
                    Some("Milestone 1: MVP"),
                    1,
                ),
                task(
                    "TASK-2",
                    &["REQ-001"],
                    TaskStatus::Todo,
                    Some("Milestone 2: Beta"),
                    5,
                ),
                task(
                    "TASK-3",
                    &["DESIGN-001"],
                    TaskStatus::Done,
                    Some("Milestone 1: MVP"),
                    9,
                ),
            ],
        )
    }

    fn coverage(m: &Matrix) -> Vec<(&str, Coverage, Vec<&str>)> {
        m.requirements
            .iter()
            .map(|r| {
                (
                    r.id.as_str(),
                    r.coverage,
                    r.tasks.iter().map(|t| t.id.as_str()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn each_requirement_with_its_design_tasks_and_runs() {
        let runs = HashMap::from([(
            "TASK-1".to_string(),
            vec![RunEntry {
                run_id: "R1".into(),
                status: "succeeded".into(),
                created_at: "t".into(),
                commits: vec!["c1".into()],
                merged_commit: Some("m1".into()),
            }],
        )]);
        let m = build(&sample(), &runs, &Options::default()).unwrap();
        assert_eq!(
            coverage(&m),
            [
                ("REQ-001", Coverage::Partial, vec!["TASK-1", "TASK-2"]),
                ("REQ-002", Coverage::Done, vec!["TASK-3"]),
                ("REQ-003", Coverage::Uncovered, vec![]),
            ]
        );
        assert_eq!(m.requirements[0].tasks[0].runs[0].run_id, "R1");
        assert_eq!(m.requirements[1].design, ["DESIGN-001"]);
        assert_eq!(
            m.requirements[1].tasks[0].via.as_deref(),
            Some("DESIGN-001")
        );
        assert_eq!(m.requirements[2].location, "spec/requirements.md:3");
        assert_eq!(
            m.totals,
            Totals {
                requirements: 3,
                covered: 2,
                done: 1
            }
        );
    }

    #[test]
    fn a_milestone_keeps_its_tasks_and_the_requirements_they_cover() {
        let options = Options {
            milestone: Some("mvp".into()),
            uncovered_only: false,
        };
        let m = build(&sample(), &HashMap::new(), &options).unwrap();
        assert_eq!(
            coverage(&m),
            [
                ("REQ-001", Coverage::Done, vec!["TASK-1"]),
                ("REQ-002", Coverage::Done, vec!["TASK-3"]),
            ]
        );
        let options = Options {
            milestone: Some("Milestone 9".into()),
            uncovered_only: false,
        };
        let err = build(&sample(), &HashMap::new(), &options).unwrap_err();
        assert!(
            err.to_string()
                .contains("Milestone 1: MVP, Milestone 2: Beta"),
            "{err}"
        );
    }

    #[test]
    fn uncovered_only_keeps_requirements_with_no_task_or_no_done_task() {
        let options = Options {
            milestone: Some("2".into()),
            uncovered_only: true,
        };
        let m = build(&sample(), &HashMap::new(), &options).unwrap();
        assert_eq!(coverage(&m), [("REQ-001", Coverage::Open, vec!["TASK-2"])]);
        let options = Options {
            milestone: None,
            uncovered_only: true,
        };
        let m = build(&sample(), &HashMap::new(), &options).unwrap();
        assert_eq!(coverage(&m), [("REQ-003", Coverage::Uncovered, vec![])]);
        assert_eq!(m.totals.requirements, 3);
    }

    #[test]
    fn milestones_match_by_text_label_name_or_number() {
        for asked in ["Milestone 1: MVP", "milestone 1", "mvp", "1", " MVP "] {
            assert!(milestone_matches("Milestone 1: MVP", asked), "{asked}");
        }
        for asked in ["Milestone 10", "10", "MV", ""] {
            assert!(!milestone_matches("Milestone 1: MVP", asked), "{asked}");
        }
        assert!(milestone_matches("Beta", "beta"));
    }
}
