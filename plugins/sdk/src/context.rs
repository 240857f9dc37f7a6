//! What a stage receives for one attempt.

use std::collections::BTreeMap;

/// Everything a stage gets for one attempt, with its config already deserialized.
#[derive(Debug, Clone)]
pub struct Context<C> {
    /// The run's id.
    pub run_id: String,
    /// This stage's id in the workflow.
    pub stage_id: String,
    /// Attempt number, from 1; only goes up across retries, loops and resumes.
    pub attempt: u32,
    /// Idempotency keys: use them to make effects happen once.
    pub keys: IdempotencyKeys,
    /// The task the run works on.
    pub task: Task,
    /// The stage's `with:` config.
    pub config: C,
    /// Outputs of the stages that already succeeded, by stage id.
    pub outputs: BTreeMap<String, serde_json::Value>,
    /// Set when a later stage sent the run back here.
    pub feedback: Option<Feedback>,
    /// True when an earlier attempt of this stage was interrupted by a crash; an at-most-once
    /// stage must check whether its effect already happened before acting.
    pub interrupted: bool,
    /// Where the worktree is mounted (`/workspace`), when the stage has access to it.
    pub workspace: Option<String>,
    /// How this stage's previous attempt in this run failed, when it did (a retry): lets the
    /// stage adapt, e.g. `builtin:agent` moves to the top model tier after a stall.
    pub previous_failure: Option<PreviousFailure>,
    /// The run's branch and base, when the run works in a git worktree.
    pub git: Option<RunGit>,
}

/// The run's git facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunGit {
    /// The run's branch, checked out in the worktree.
    pub branch: String,
    /// The branch the run started from and merges into.
    pub base_branch: String,
    /// The base branch's commit when the run started.
    pub base_commit: String,
    /// The repository's root on the host (the user's checkout), for git commands only: the
    /// stage cannot read it, but a granted `git` run through `exec` can be pointed at it.
    pub repo_root: String,
}

/// Keys a stage uses to make its effects happen once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKeys {
    /// `RUN/STAGE`: the same for every attempt of this stage in this run.
    pub stage: String,
    /// `RUN/STAGE/ATTEMPT`: unique to this attempt.
    pub attempt: String,
}

/// The task the run works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Stable id.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Full text (markdown).
    pub body: String,
    /// Labels from the task source.
    pub labels: Vec<String>,
}

/// Why a later stage sent the run back to this stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    /// The stage that failed.
    pub from_stage: String,
    /// Its attempt number.
    pub attempt: u32,
    /// Its failure message.
    pub message: String,
    /// Its structured detail (`null` when there is none).
    pub detail: serde_json::Value,
}

/// How this stage's previous attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousFailure {
    /// Its failure message.
    pub message: String,
    /// Its structured detail (`null` when there is none).
    pub detail: serde_json::Value,
}
