//! The run modes that take tasks from the workflow's task source (`tasks:`): the next ready
//! task for a plain `engine run`, `--task ID`, `--all` (with `--parallel N`), `--dry-run` and
//! `engine watch`, and the one [`Lifecycle`] every run goes through (`engine resume` too). The
//! decisions (what may start now, in which order) are pure and live in [`engine_tasks::plan`] /
//! [`engine_tasks::schedule`]; this module lists the source, asks the state directory what it
//! knows ([`known_from_runs`]), claims tasks, starts and resumes runs, and writes their ends
//! back ([`writeback`]).

mod coordinator;
pub mod driving;
pub mod epic;
mod failed_task;
mod known;
mod lifecycle;
mod limits;
mod pick;
mod render;
mod retry;
mod session;
mod slots;
mod start;
pub mod writeback;

use std::path::PathBuf;
use std::sync::Arc;

use engine_runtime::{Host, SourceCall};

pub use coordinator::{QueueOptions, run_queue};
pub use known::{RunFacts, known_from_runs};
pub use lifecycle::{
    Begun, DriveOptions, Lifecycle, LifecycleSetup, PICK_TURN, RunEnd, RunRequest, Started,
};
pub use limits::{Limits, Until, parse_until};
pub use pick::{Pick, looks_like_id, pick};
pub use render::{dry_run_json, dry_run_text, verdict_text};
pub use retry::{RetryPlan, plan_retry, retryable};
pub use session::{QueueOutcome, SessionRun, Stopped};
pub use slots::{Slots, Turn};
pub use start::{NOT_CLAIMED, Resumable, abandon_run, add_run_worktree, resumable};
pub use writeback::WriteBack;

use crate::EngineError;
use crate::project::PreparedWorkflow;
use crate::tasks::{Listing, PreparedSource};

/// The workflow's task source, ready to call, with the repository it reads.
#[derive(Clone)]
pub struct TaskSource {
    /// The wasm host.
    pub host: Arc<Host>,
    /// The source, loaded and checked.
    pub prepared: PreparedSource,
    /// The repository root, mounted at `/workspace` for the source.
    pub root: PathBuf,
}

impl TaskSource {
    /// The workflow's source; `None` without `tasks:`.
    pub fn of(host: &Arc<Host>, prepared: &PreparedWorkflow, root: PathBuf) -> Option<Self> {
        Some(TaskSource {
            host: host.clone(),
            prepared: prepared.task_source.clone()?,
            root,
        })
    }

    /// `builtin:tasks-md`, or the plugin's path.
    pub fn label(&self) -> &str {
        self.prepared.source.label()
    }

    /// For messages: the label and, when the config names one, the file (`builtin:tasks-md
    /// (spec/tasks.md)`).
    pub fn describe(&self) -> String {
        match self
            .prepared
            .spec
            .config
            .get("path")
            .and_then(|p| p.as_str())
        {
            Some(path) => format!("{} ({path})", self.label()),
            None => self.label().to_string(),
        }
    }

    /// Whether claims and statuses go to the source: it may write the repository
    /// (`tasks.permissions.workspace: write`, as `tasks-md` needs), or run programs or reach
    /// hosts (a tracker's CLI or API, as `beads` and `github` use). A source that cannot write
    /// after all (Beads read from its export) answers `unsupported`, which counts as read-only.
    pub fn writes_back(&self) -> bool {
        let grant = &self.prepared.spec.permissions;
        self.prepared.spec.writes_back() || !grant.exec.is_empty() || !grant.net.is_empty()
    }

    /// A call with the source's config and grant.
    pub fn call(&self) -> SourceCall {
        self.prepared.call(&self.root)
    }

    /// Every task, and which are ready.
    pub async fn list(&self) -> Result<Listing, EngineError> {
        crate::tasks::list(&self.host, &self.prepared, &self.root).await
    }
}
