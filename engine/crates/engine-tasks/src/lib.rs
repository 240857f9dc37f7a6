//! Tasks from task sources: the model the host gets from a source component (`wit/source.wit`,
//! world `source`), [`readiness`]: which tasks can be worked on now, in which order, and why
//! the others cannot (dependencies not done, unknown ids, cycles, a `blocked` mark), and the
//! run modes' queue ([`plan`], [`schedule`]): what may start now given the runs going on.
//!
//! Pure: no I/O, no clock. The runtime (`engine-runtime`) converts the WIT records into these
//! types; the CLI and the driver decide with [`readiness`]. A [`Task`] holds the work a run
//! does ([`engine_core::Task`], what stages see) and the source's tracking fields.
//!
//! ```
//! use engine_tasks::{readiness, Task, TaskStatus};
//! let task = |id: &str, status, deps: &[&str]| Task {
//!     work: engine_core::Task { id: id.into(), title: id.into(), ..Default::default() },
//!     status, raw_status: String::new(), priority: 0,
//!     depends_on: deps.iter().map(|d| d.to_string()).collect(), milestone: None,
//!     estimate: None, checklist: vec![], traces: vec![], location: None,
//! };
//! let tasks = [task("A", TaskStatus::Done, &[]), task("B", TaskStatus::Todo, &["A"]),
//!              task("C", TaskStatus::Todo, &["B"])];
//! let verdict = readiness(&tasks);
//! let ready: Vec<&str> = verdict.ready().map(|i| tasks[i].id.as_str()).collect();
//! assert_eq!(ready, ["B"]);
//! ```

#![warn(missing_docs)]

mod model;
mod queue;
#[cfg(test)]
mod queue_tests;
mod readiness;
#[cfg(test)]
mod readiness_tests;
mod schedule;

pub use model::{
    ChecklistItem, Diagnostic, Location, SourceError, Task, TaskList, TaskStatus, URGENT_LABEL,
};
pub use queue::{Known, Plan, Planned, Schedule, Scheduled, Verdict, plan, schedule};
pub use readiness::{Blocker, CYCLE_IDS_SHOWN, Entry, GraphProblem, Readiness, readiness};
