//! `engine tasks start|done|block|check`: changing one task of a task source by hand, through
//! the same source calls the engine's own write-back uses (`update`, see
//! [`crate::queue::writeback`]), plus `check-item` for a checklist item. The source does the
//! writing (for `tasks-md`: a minimal edit of the one line, written to a temporary file and
//! renamed over the file); this module decides whether the change makes sense first.
//!
//! Rules (docs/task-commands.md):
//! - `start`: `todo` or `blocked` becomes `in_progress` (starting a blocked task lifts the
//!   mark); `in_progress` stays; `done` is refused (reopen it in the source by hand).
//! - `done`: anything becomes `done`; `done` stays.
//! - `block`: `todo` or `in_progress` becomes `blocked`; `blocked` stays; `done` is refused.
//! - `check N` / `check N --undo`: item N (1-based) is ticked or unticked.
//!
//! An unknown id, a refused change and a source that cannot write are
//! [`EngineError::Usage`] (exit 2); nothing is written then.

use std::path::Path;

use engine_runtime::Host;
use engine_tasks::{SourceError, Task, TaskStatus};

use super::{Listing, PreparedSource};
use crate::EngineError;
use crate::terminal::safe;

/// What to do to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Mark it in progress.
    Start,
    /// Mark it done.
    Done,
    /// Mark it blocked, with why (kept by sources that keep notes).
    Block {
        /// Why it is blocked.
        reason: Option<String>,
    },
    /// Tick (`done`) or untick checklist item `index` (1-based).
    Check {
        /// The item, 1-based.
        index: u32,
        /// Tick (`true`) or untick.
        done: bool,
    },
}

impl Action {
    /// The command's name, for messages (`start`, `done`, `block`, `check`).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Done => "done",
            Action::Block { .. } => "block",
            Action::Check { .. } => "check",
        }
    }
}

/// What a change did.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The task before the change.
    pub before: Task,
    /// The task as the source has it afterwards.
    pub after: Task,
}

impl Changed {
    /// Whether anything changed (status or checklist).
    pub fn changed(&self) -> bool {
        self.before.status != self.after.status || self.before.checklist != self.after.checklist
    }

    /// The JSON document of `--json`: `id`, `action`, `changed`, `status_before`, `status`,
    /// `checklist`.
    pub fn to_json(&self, action: &Action) -> serde_json::Value {
        serde_json::json!({
            "id": self.after.id,
            "action": action.name(),
            "changed": self.changed(),
            "status_before": self.before.status,
            "status": self.after.status,
            "raw_status": self.after.raw_status,
            "checklist": self.after.checklist,
        })
    }

    /// One line for people.
    pub fn describe(&self, action: &Action) -> String {
        let id = safe(&self.after.id);
        match action {
            Action::Check { index, done } => {
                let item = self
                    .after
                    .checklist
                    .get(
                        usize::try_from(*index)
                            .unwrap_or(usize::MAX)
                            .wrapping_sub(1),
                    )
                    .map_or(String::new(), |item| format!(" ({})", safe(&item.text)));
                let verb = if *done { "ticked" } else { "unticked" };
                if self.changed() {
                    format!("{id}: item {index}{item} {verb}")
                } else {
                    format!("{id}: item {index}{item} was already {verb}; nothing changed")
                }
            }
            _ if self.changed() => format!("{id}: {} -> {}", self.before.status, self.after.status),
            _ => format!("{id} is already {}; nothing changed", self.after.status),
        }
    }
}

/// Applies `action` to task `id` of the listed source. Refuses (exit 2, nothing written) an
/// unknown id, a change the rules above refuse, and a source that may not write or cannot do
/// it.
pub async fn apply(
    host: &Host,
    prepared: &PreparedSource,
    repo_root: &Path,
    listing: &Listing,
    id: &str,
    action: &Action,
) -> Result<Changed, EngineError> {
    let before = find(listing, id)?.clone();
    if !may_write(prepared) {
        return Err(EngineError::Usage(format!(
            "the task source {} is read-only here: grant it `tasks.permissions.workspace: \
             write` in the workflow (or pass the tasks file itself) to {} tasks",
            safe(&listing.source),
            action.name()
        )));
    }
    if matches!(action, Action::Check { .. }) && !prepared.source.can_check_items() {
        return Err(EngineError::Usage(format!(
            "{}: {} does not export `check-item` (world engine:stage/source-checklist)",
            unsupported(action),
            safe(&listing.source)
        )));
    }
    refuse_nonsense(&before, action)?;
    let call = prepared.call(repo_root);
    let result = match action {
        Action::Start => {
            host.update_task(&prepared.source, &call, id, TaskStatus::InProgress, None)
                .await
        }
        Action::Done => {
            host.update_task(&prepared.source, &call, id, TaskStatus::Done, None)
                .await
        }
        Action::Block { reason } => {
            host.update_task(
                &prepared.source,
                &call,
                id,
                TaskStatus::Blocked,
                reason.as_deref(),
            )
            .await
        }
        Action::Check { index, done } => {
            host.check_item(&prepared.source, &call, id, *index, *done)
                .await
        }
    };
    match result {
        Ok(after) => Ok(Changed { before, after }),
        Err(SourceError::Unsupported(message)) => Err(EngineError::Usage(format!(
            "{}: {}",
            unsupported(action),
            safe(&message)
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The task with exactly this id, or a usage error naming the source.
pub fn find<'a>(listing: &'a Listing, id: &str) -> Result<&'a Task, EngineError> {
    listing.tasks.iter().find(|t| t.id == id).ok_or_else(|| {
        EngineError::Usage(format!(
            "{} has no task {} (`engine tasks` lists them)",
            safe(&listing.source),
            safe(id)
        ))
    })
}

/// Whether the source may change tasks: the grant the engine's write-back needs
/// (`workspace: write`, or programs or hosts for a tracker's CLI or API).
pub fn may_write(prepared: &PreparedSource) -> bool {
    let grant = &prepared.spec.permissions;
    prepared.spec.writes_back() || !grant.exec.is_empty() || !grant.net.is_empty()
}

fn unsupported(action: &Action) -> &'static str {
    match action {
        Action::Check { .. } => "this task source cannot tick checklist items",
        _ => "this task source cannot change task statuses",
    }
}

/// The rules of the module documentation.
fn refuse_nonsense(task: &Task, action: &Action) -> Result<(), EngineError> {
    let id = safe(&task.id);
    let refuse = |why: String| Err(EngineError::Usage(why));
    match (action, task.status) {
        (Action::Start, TaskStatus::Done) => refuse(format!(
            "{id} is done; starting it again makes no sense (to reopen it, set its status to \
             TODO in the source)"
        )),
        (Action::Block { .. }, TaskStatus::Done) => refuse(format!(
            "{id} is done; a finished task cannot be blocked (to reopen it, set its status to \
             TODO in the source)"
        )),
        (Action::Check { index: 0, .. }, _) => {
            refuse("checklist items are numbered from 1".to_string())
        }
        (Action::Check { .. }, _) if task.checklist.is_empty() => {
            refuse(format!("{id} has no checklist"))
        }
        (Action::Check { index, .. }, _)
            if usize::try_from(*index).unwrap_or(usize::MAX) > task.checklist.len() =>
        {
            let n = task.checklist.len();
            refuse(format!(
                "{id} has {n} checklist item{}; item {index} does not exist",
                if n == 1 { "" } else { "s" }
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_tasks::ChecklistItem;

    fn task(status: TaskStatus, items: usize) -> Task {
        Task {
            work: engine_core::Task {
                id: "TASK-1".into(),
                title: "t".into(),
                ..engine_core::Task::default()
            },
            status,
            raw_status: String::new(),
            priority: 1,
            depends_on: Vec::new(),
            milestone: None,
            estimate: None,
            checklist: (0..items)
                .map(|i| ChecklistItem {
                    text: format!("item {i}"),
                    done: false,
                })
                .collect(),
            traces: Vec::new(),
            location: None,
        }
    }

    #[test]
    fn finished_tasks_are_neither_started_nor_blocked() {
        let done = task(TaskStatus::Done, 0);
        for action in [Action::Start, Action::Block { reason: None }] {
            let err = refuse_nonsense(&done, &action).unwrap_err();
            assert!(err.to_string().contains("TASK-1 is done"), "{err}");
            assert_eq!(err.exit_code(), crate::exit::INVALID_INPUT);
        }
        assert!(refuse_nonsense(&done, &Action::Done).is_ok());
        for status in [
            TaskStatus::Todo,
            TaskStatus::InProgress,
            TaskStatus::Blocked,
        ] {
            for action in [Action::Start, Action::Done, Action::Block { reason: None }] {
                assert!(
                    refuse_nonsense(&task(status, 0), &action).is_ok(),
                    "{status} {action:?}"
                );
            }
        }
    }

    #[test]
    fn checklist_items_must_exist() {
        let check = |index| Action::Check { index, done: true };
        let two = task(TaskStatus::Todo, 2);
        assert!(refuse_nonsense(&two, &check(1)).is_ok());
        assert!(refuse_nonsense(&two, &check(2)).is_ok());
        let err = refuse_nonsense(&two, &check(3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TASK-1 has 2 checklist items; item 3 does not exist"
        );
        let err = refuse_nonsense(&two, &check(0)).unwrap_err();
        assert_eq!(err.to_string(), "checklist items are numbered from 1");
        let err = refuse_nonsense(&task(TaskStatus::Todo, 0), &check(1)).unwrap_err();
        assert_eq!(err.to_string(), "TASK-1 has no checklist");
    }

    #[test]
    fn descriptions_say_whether_anything_changed() {
        let before = task(TaskStatus::Todo, 1);
        let mut after = before.clone();
        after.status = TaskStatus::InProgress;
        let changed = Changed {
            before: before.clone(),
            after,
        };
        assert_eq!(
            changed.describe(&Action::Start),
            "TASK-1: todo -> in_progress"
        );
        assert_eq!(changed.to_json(&Action::Start)["changed"], true);
        let done = task(TaskStatus::Done, 1);
        let same = Changed {
            before: done.clone(),
            after: done,
        };
        assert_eq!(
            same.describe(&Action::Done),
            "TASK-1 is already done; nothing changed"
        );
        let mut ticked = before.clone();
        ticked.checklist[0].done = true;
        let check = Changed {
            before,
            after: ticked,
        };
        assert_eq!(
            check.describe(&Action::Check {
                index: 1,
                done: true
            }),
            "TASK-1: item 1 (item 0) ticked"
        );
    }
}
