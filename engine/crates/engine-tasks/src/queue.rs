//! The run modes' queue: which tasks may start now, given what their source says and what the
//! engine knows besides (runs going on, runs that ended in this session, unfinished runs in
//! the state directory), and in which order a whole queue would run (`--dry-run`).
//!
//! Rules, on top of [`readiness`]:
//!
//! - a task whose run succeeded counts as done even while its source does not say so (the
//!   source is read-only, or writing the status failed): its dependents may start, and it is
//!   never started again;
//! - a task a run is working on is never started a second time, and its dependents wait until
//!   that run succeeded;
//! - a task is not started again by the process that saw its run end without success (or its
//!   claim refused);
//! - a ready task with an unfinished run in the state directory is started by resuming that
//!   run, never by a new one;
//! - tasks start in readiness order (urgent first), as many as there are free slots.
//!
//! Pure: no I/O, no clock.

use std::collections::BTreeMap;

use crate::model::{Task, TaskStatus};
use crate::readiness::{Blocker, readiness};

/// What the engine knows about tasks beyond their source: task id -> run id (or reason).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// Tasks a run of this process is working on now.
    pub running: BTreeMap<String, String>,
    /// Tasks whose run succeeded while the source does not say `done`: they count as done.
    pub succeeded: BTreeMap<String, String>,
    /// Tasks this process does not start again, with why (the run failed, the claim was
    /// refused...).
    pub settled: BTreeMap<String, String>,
    /// Tasks with an unfinished run in the state directory: starting one resumes that run.
    pub unfinished: BTreeMap<String, String>,
    /// Tasks another engine process is working on (its unfinished runs, seen while it holds
    /// the state directory).
    pub elsewhere: BTreeMap<String, String>,
}

/// The verdict on one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Start it now; `resume` names its unfinished run, which is continued instead of
    /// starting a new one.
    Start {
        /// The unfinished run to resume.
        resume: Option<String>,
    },
    /// Ready, but every slot is taken: it starts when one frees up.
    Queued {
        /// The unfinished run it would resume.
        resume: Option<String>,
    },
    /// A run of this process is working on it.
    Running {
        /// The run.
        run_id: String,
    },
    /// Another engine process is working on it.
    Elsewhere {
        /// Its run.
        run_id: String,
    },
    /// Its run succeeded; the source does not say `done` (yet).
    Succeeded {
        /// The run.
        run_id: String,
    },
    /// Not started again by this process.
    Settled {
        /// Why.
        why: String,
    },
    /// The source says it is done.
    Done,
    /// Not ready.
    Blocked {
        /// Why, as [`readiness`] says, with running tasks seen as `in_progress`.
        blocked_by: Vec<Blocker>,
        /// The tasks it depends on that a run of this process is working on now: it starts
        /// once they succeeded.
        waits_for: Vec<String>,
    },
}

/// One task's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Index of the task in the list given to [`plan`].
    pub index: usize,
    /// What happens to it now.
    pub verdict: Verdict,
}

/// What may start now: every task's verdict, in readiness order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One entry per task.
    pub entries: Vec<Planned>,
}

impl Plan {
    /// The tasks to start now, in order, with the run each resumes.
    pub fn starts(&self) -> impl Iterator<Item = (usize, Option<&str>)> + '_ {
        self.entries.iter().filter_map(|e| match &e.verdict {
            Verdict::Start { resume } => Some((e.index, resume.as_deref())),
            _ => None,
        })
    }

    /// Whether some task is ready but waits for a free slot.
    pub fn has_queued(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e.verdict, Verdict::Queued { .. }))
    }
}

/// The tasks as the runs engine knows about see them: a task whose run succeeded is done, one
/// with a run going on (here or in another process) is in progress.
pub(crate) fn effective_tasks(tasks: &[Task], known: &Known) -> Vec<Task> {
    tasks
        .iter()
        .map(|task| {
            let mut task = task.clone();
            if known.succeeded.contains_key(&task.id) {
                task.status = TaskStatus::Done;
            } else if known.running.contains_key(&task.id) || known.elsewhere.contains_key(&task.id)
            {
                task.status = TaskStatus::InProgress;
            }
            task
        })
        .collect()
}

/// Decides what may start now with `slots` free run slots.
pub fn plan(tasks: &[Task], known: &Known, slots: usize) -> Plan {
    let effective = effective_tasks(tasks, known);
    let verdict = readiness(&effective);
    let mut free = slots;
    let entries = verdict
        .order
        .into_iter()
        .map(|entry| {
            let task = &tasks[entry.index];
            let id = &task.id;
            let resume = known.unfinished.get(id).cloned();
            let verdict = if let Some(run_id) = known.running.get(id) {
                Verdict::Running {
                    run_id: run_id.clone(),
                }
            } else if let Some(run_id) = known.elsewhere.get(id) {
                Verdict::Elsewhere {
                    run_id: run_id.clone(),
                }
            } else if task.status == TaskStatus::Done {
                Verdict::Done
            } else if let Some(run_id) = known.succeeded.get(id) {
                Verdict::Succeeded {
                    run_id: run_id.clone(),
                }
            } else if let Some(why) = known.settled.get(id) {
                Verdict::Settled { why: why.clone() }
            } else if entry.ready && free > 0 {
                free -= 1;
                Verdict::Start { resume }
            } else if entry.ready {
                Verdict::Queued { resume }
            } else {
                let waits_for = entry
                    .blocked_by
                    .iter()
                    .filter_map(|b| match b {
                        Blocker::Dependency { id, .. } if known.running.contains_key(id) => {
                            Some(id.clone())
                        }
                        _ => None,
                    })
                    .collect();
                Verdict::Blocked {
                    blocked_by: entry.blocked_by,
                    waits_for,
                }
            };
            Planned {
                index: entry.index,
                verdict,
            }
        })
        .collect();
    Plan { entries }
}

/// A run in a [`Schedule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// Index of the task.
    pub index: usize,
    /// The round it starts in (1-based): the runs of one round go on together, and each round
    /// starts once the one before it succeeded.
    pub round: usize,
    /// The unfinished run it resumes.
    pub resume: Option<String>,
    /// The tasks it depends on that run earlier in the schedule.
    pub after: Vec<String>,
}

/// What working off the queue would do if every run succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The runs, in the order they would start.
    pub runs: Vec<Scheduled>,
    /// Every other task's verdict once those runs succeeded, in readiness order.
    pub rest: Vec<Planned>,
}

/// The order in which the queue would be worked off with `parallel` runs at once, at most
/// `limit` runs (one for a plain `engine run`), if every run succeeded.
pub fn schedule(tasks: &[Task], known: &Known, parallel: usize, limit: Option<usize>) -> Schedule {
    crate::schedule::simulate(tasks, known, parallel, limit)
}
