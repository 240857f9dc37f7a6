//! What the stage knows about the run, independent of the SDK's context type.

/// The run's identity, task and git facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFacts {
    /// The run's id (written as the `Engine-Run` trailer).
    pub run_id: String,
    /// The task's id (written as the `Engine-Task` trailer).
    pub task_id: String,
    /// The task's title.
    pub task_title: String,
    /// The task's body.
    pub task_body: String,
    /// The run's branch.
    pub branch: String,
    /// The base branch.
    pub base_branch: String,
    /// The base's commit when the run started.
    pub base_commit: String,
    /// The user's checkout on the host.
    pub repo_root: String,
    /// An earlier attempt of this stage was interrupted by a crash.
    pub interrupted: bool,
}

impl RunFacts {
    /// `refs/heads/<base>`.
    pub fn base_ref(&self) -> String {
        format!("refs/heads/{}", self.base_branch)
    }
}
