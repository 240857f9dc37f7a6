//! `--epic ID`: only the tasks of one epic run, in dependency order. An epic is a task's
//! `milestone` as its source fills it in: a `## Milestone ...` heading of `tasks.md`, a GitHub
//! milestone's title, a Beads issue's parent (the epic it is a child of).
//!
//! `ID` names an epic when, ignoring case and repeated spaces, it is
//! - the milestone's full text (`Milestone 1: Foundations`, `v1.2`, `bd-4`),
//! - its label, the text before the first `:`, ` - ` or ` — ` (`Milestone 1`),
//! - or that label without its leading word `Milestone` (`1`).
//!
//! A task belongs to the epic when its milestone names it, when its milestone is the id of a
//! task that belongs to it (a Beads child of a child of the epic), or when it is the epic's
//! own issue (Beads: the epic, which waits for its children). The other tasks are not started,
//! but they still count as dependencies: a task of the epic that waits for a task of another
//! epic that is not done waits (it is reported blocked), it is not run.

use std::collections::{BTreeMap, BTreeSet};

use engine_tasks::{Known, Task, TaskStatus};

use crate::EngineError;
use crate::terminal::safe;

/// How many parents up a milestone chain is followed (Beads nesting is shallow; a cycle of
/// parents ends here).
const MAX_DEPTH: usize = 16;

/// The milestones of `tasks`, each once, in the order they first appear.
pub fn known_epics(tasks: &[Task]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    tasks
        .iter()
        .filter_map(|t| t.milestone.as_deref())
        .map(str::trim)
        .filter(|m| !m.is_empty() && seen.insert(m.to_string()))
        .map(str::to_string)
        .collect()
}

/// Lower case, spaces collapsed.
fn normal(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<&str>>()
        .join(" ")
        .to_lowercase()
}

/// Whether `wanted` names `milestone` (see the module documentation).
pub fn names(wanted: &str, milestone: &str) -> bool {
    let wanted = normal(wanted);
    if wanted.is_empty() {
        return false;
    }
    let full = normal(milestone);
    let label = [":", " - ", " — ", " – "]
        .iter()
        .filter_map(|sep| full.find(sep))
        .min()
        .map_or(full.as_str(), |at| full[..at].trim());
    let number = label
        .strip_prefix("milestone")
        .map(str::trim)
        .filter(|n| !n.is_empty());
    wanted == full || wanted == label || Some(wanted.as_str()) == number
}

/// Which of `tasks` belong to the epic `wanted` names (see the module documentation).
pub fn members(tasks: &[Task], wanted: &str) -> Vec<bool> {
    let milestone_of: BTreeMap<&str, &str> = tasks
        .iter()
        .filter_map(|t| Some((t.id.as_str(), t.milestone.as_deref()?)))
        .collect();
    tasks
        .iter()
        .map(|task| {
            if task.id == wanted.trim() {
                return true;
            }
            let mut current = task.milestone.as_deref();
            for _ in 0..MAX_DEPTH {
                let Some(milestone) = current else {
                    return false;
                };
                if names(wanted, milestone) {
                    return true;
                }
                current = milestone_of.get(milestone.trim()).copied();
            }
            false
        })
        .collect()
}

/// Checks that `wanted` names exactly one epic of `tasks` (`source` names the task source in
/// the message). An epic no task has, or one that names several milestones, is a usage error
/// listing the known epics.
pub fn check(tasks: &[Task], wanted: &str, source: &str) -> Result<(), EngineError> {
    let epics = known_epics(tasks);
    let named: Vec<&String> = epics.iter().filter(|m| names(wanted, m)).collect();
    let list = |epics: &[&String]| {
        epics
            .iter()
            .map(|m| format!("{:?}", safe(m)))
            .collect::<Vec<String>>()
            .join(", ")
    };
    match named.len() {
        1 => Ok(()),
        0 if tasks.iter().any(|t| t.id == wanted.trim()) => Ok(()),
        0 if epics.is_empty() => Err(EngineError::Usage(format!(
            "--epic {:?}: no task of {source} has an epic or milestone (tasks.md: a \
             `## Milestone ...` heading; GitHub: a milestone; Beads: a parent epic)",
            safe(wanted)
        ))),
        0 => Err(EngineError::Usage(format!(
            "--epic {:?}: no such epic in {source}; its epics: {}",
            safe(wanted),
            list(&epics.iter().collect::<Vec<_>>())
        ))),
        _ => Err(EngineError::Usage(format!(
            "--epic {:?} names several milestones of {source}: {}; give one's full text",
            safe(wanted),
            list(&named)
        ))),
    }
}

/// Keeps every task outside the epic from starting: each that is not done is settled in
/// `known` ("not in epic ..."), so it is never started but still blocks the tasks of the epic
/// that depend on it.
pub fn keep_to(tasks: &[Task], wanted: &str, known: &mut Known) {
    for (task, member) in tasks.iter().zip(members(tasks, wanted)) {
        if !member && task.status != TaskStatus::Done {
            known
                .settled
                .entry(task.id.clone())
                .or_insert_with(|| format!("not in epic {}", wanted.trim()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_tasks::{Verdict, plan};

    fn task(id: &str, milestone: Option<&str>, deps: &[&str], status: TaskStatus) -> Task {
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
            depends_on: deps.iter().map(ToString::to_string).collect(),
            milestone: milestone.map(str::to_string),
            estimate: None,
            checklist: Vec::new(),
            traces: Vec::new(),
            location: None,
        }
    }

    #[test]
    fn an_epic_is_named_by_its_text_its_label_or_its_number() {
        let m = "Milestone 1: Foundations";
        for wanted in [m, "milestone 1:  foundations", "Milestone 1", "1", " 1 "] {
            assert!(names(wanted, m), "{wanted}");
        }
        for wanted in ["2", "Foundations", "Milestone", "", "11"] {
            assert!(!names(wanted, m), "{wanted}");
        }
        assert!(names("v1.2", "v1.2"));
        assert!(names("MVP", "Milestone MVP — the first cut"));
        assert!(names("bd-4", "bd-4"));
        assert!(!names("bd-4", "bd-40"));
    }

    #[test]
    fn members_follow_parents_and_include_the_epic_itself() {
        let tasks = [
            task("bd-4", None, &[], TaskStatus::Todo),
            task("bd-4.1", Some("bd-4"), &[], TaskStatus::Todo),
            task("bd-4.1.1", Some("bd-4.1"), &[], TaskStatus::Todo),
            task("bd-5", Some("bd-9"), &[], TaskStatus::Todo),
            task("bd-6", None, &[], TaskStatus::Todo),
        ];
        assert_eq!(members(&tasks, "bd-4"), [true, true, true, false, false]);
        // A cycle of parents ends.
        let cycle = [
            task("a", Some("b"), &[], TaskStatus::Todo),
            task("b", Some("a"), &[], TaskStatus::Todo),
        ];
        assert_eq!(members(&cycle, "z"), [false, false]);
    }

    #[test]
    fn unknown_and_ambiguous_epics_are_refused_with_the_known_ones() {
        let tasks = [
            task("T-1", Some("Milestone 1: A"), &[], TaskStatus::Todo),
            task("T-2", Some("Milestone 2: B"), &[], TaskStatus::Todo),
            task("T-3", Some("Milestone 2: C"), &[], TaskStatus::Todo),
        ];
        assert!(check(&tasks, "1", "tasks.md").is_ok());
        let err = check(&tasks, "7", "tasks.md").unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::INVALID_INPUT);
        assert_eq!(
            err.to_string(),
            "--epic \"7\": no such epic in tasks.md; its epics: \"Milestone 1: A\", \
             \"Milestone 2: B\", \"Milestone 2: C\""
        );
        let err = check(&tasks, "2", "tasks.md").unwrap_err().to_string();
        assert!(err.contains("names several milestones"), "{err}");
        assert!(check(&tasks, "Milestone 2: C", "tasks.md").is_ok());
        let none = [task("T-1", None, &[], TaskStatus::Todo)];
        let err = check(&none, "1", "x").unwrap_err().to_string();
        assert!(err.contains("no task of x has an epic"), "{err}");
    }

    #[test]
    fn only_the_epic_starts_and_a_dependency_outside_it_still_blocks() {
        let tasks = [
            task("A-1", Some("Milestone 1"), &[], TaskStatus::Todo),
            task("B-1", Some("Milestone 2"), &[], TaskStatus::Todo),
            task("B-2", Some("Milestone 2"), &["A-1"], TaskStatus::Todo),
            task("B-3", Some("Milestone 2"), &[], TaskStatus::Todo),
            task("A-0", Some("Milestone 1"), &[], TaskStatus::Done),
        ];
        let mut known = Known::default();
        keep_to(&tasks, "2", &mut known);
        let p = plan(&tasks, &known, usize::MAX);
        let started: Vec<&str> = p.starts().map(|(i, _)| tasks[i].id.as_str()).collect();
        assert_eq!(started, ["B-1", "B-3"]);
        let verdict = |id: &str| {
            p.entries
                .iter()
                .find(|e| tasks[e.index].id == id)
                .map(|e| e.verdict.clone())
                .unwrap()
        };
        assert!(matches!(verdict("B-2"), Verdict::Blocked { .. }));
        assert_eq!(
            verdict("A-1"),
            Verdict::Settled {
                why: "not in epic 2".into()
            }
        );
        assert_eq!(verdict("A-0"), Verdict::Done);
    }
}
