//! `engine tasks sync --to github` and `--from github`: tasks mirrored as GitHub issues, and
//! issues imported as tasks. Both are a dry run unless applied: the plan (one entry per task or
//! issue: create, update, unchanged or skip) is made first, from what both sides say now, and
//! applying carries it out. Both are idempotent: an exported issue carries the marker
//! `<!-- engine-task: ID -->` as the last line of its body and an imported task the line
//! `**GitHub:** #N`, so a second sync finds them and updates instead of duplicating.
//!
//! [`gh`] runs the user's `gh`; [`markdown`] writes and neutralises text; [`to_github`] and
//! [`from_github`] plan and apply each direction.

pub mod from_github;
pub mod gh;
pub mod markdown;
pub mod to_github;

use serde::Serialize;

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A `gh` call failed.
    #[error("{command} failed: {message}")]
    Gh {
        /// The command (`gh issue list`).
        command: String,
        /// What went wrong, with gh's stderr.
        message: String,
    },
    /// The tasks file cannot take the imported tasks.
    #[error("{0}")]
    TasksFile(String),
}

impl From<SyncError> for crate::EngineError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Gh { .. } => {
                crate::EngineError::TaskSource(engine_tasks::SourceError::Failed(e.to_string()))
            }
            SyncError::TasksFile(message) => crate::EngineError::Usage(message),
        }
    }
}

/// Options of both directions.
#[derive(Debug, Clone)]
pub struct Options {
    /// Labels: put on created issues (`--to`), required of imported ones (`--from`).
    pub labels: Vec<String>,
    /// `--repo OWNER/NAME` for `gh`; default: the repository of the current directory.
    pub repo: Option<String>,
    /// How many issues `gh issue list` returns at most.
    pub limit: u32,
    /// Carry the plan out (otherwise only print it).
    pub apply: bool,
}

/// What happens to one task or issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    /// A new issue (`--to`) or a new task (`--from`).
    Create,
    /// The other side changes to match.
    Update,
    /// Both sides already agree.
    Unchanged,
    /// Left alone, with why.
    Skip,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Unchanged => "unchanged",
            Verb::Skip => "skip",
        }
    }
}

/// One entry of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// What happens.
    pub action: Verb,
    /// The task's id (for `--from` create: the id it gets).
    pub task: Option<String>,
    /// The issue's number (for `--to` create: known once applied).
    pub issue: Option<u64>,
    /// What changes (`title`, `body`, `close`, `reopen`, `labels`, `status: todo -> done`),
    /// or why it is skipped.
    pub detail: Vec<String>,
}

/// A plan, and whether it was carried out.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `to_github` or `from_github`.
    pub direction: &'static str,
    /// Whether the changes were made.
    pub applied: bool,
    /// One entry per task (`--to`) or issue (`--from`).
    pub entries: Vec<Entry>,
}

impl Report {
    /// For people: one line per entry, then a count and, for a dry run, how to apply it.
    pub fn text(&self) -> String {
        use crate::terminal::cell;
        use std::fmt::Write as _;
        let mut out = String::new();
        for e in &self.entries {
            let task = e.task.as_deref().map_or("-".to_string(), cell);
            let issue = e.issue.map_or("-".to_string(), |n| format!("#{n}"));
            let detail = if e.detail.is_empty() {
                String::new()
            } else {
                format!("  ({})", cell(&e.detail.join(", ")))
            };
            let _ = writeln!(out, "{:<9}  {task}  {issue}{detail}", e.action.as_str());
        }
        let count = |v: Verb| self.entries.iter().filter(|e| e.action == v).count();
        let changes = count(Verb::Create) + count(Verb::Update);
        let (create, update) = if self.applied {
            ("created", "updated")
        } else {
            ("to create", "to update")
        };
        let _ = write!(
            out,
            "{} {create}, {} {update}, {} unchanged, {} skipped",
            count(Verb::Create),
            count(Verb::Update),
            count(Verb::Unchanged),
            count(Verb::Skip)
        );
        if self.applied {
            out.push('\n');
        } else if changes > 0 {
            out.push_str(" (dry run: nothing was changed; run again with --apply)\n");
        } else {
            out.push_str(" (dry run)\n");
        }
        out
    }
}
