//! What the driver hands the host for one stage attempt, and what it gets back.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use engine_core::{Failure, Feedback, Permissions, Task};

use crate::bindings::engine::stage::types as wit;

/// Everything the stage sees about this attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptContext {
    /// The run's id.
    pub run_id: String,
    /// The stage's id in the workflow.
    pub stage_id: String,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// The task.
    pub task: Task,
    /// The stage's `with:` config.
    pub config: serde_json::Value,
    /// Outputs of the stages that already succeeded, by stage id.
    pub outputs: BTreeMap<String, serde_json::Value>,
    /// Feedback from a later stage that sent the run back here.
    pub feedback: Option<Feedback>,
    /// An earlier attempt was interrupted by a crash; its effects are unknown.
    pub interrupted: bool,
    /// How the attempt right before this one failed, if it did.
    pub previous_failure: Option<Failure>,
    /// The run's git facts, when it works in a worktree.
    pub git: Option<RunGit>,
}

/// The run's branch and base (`branch`, `base_branch`, `base_commit`, `repo_root`): the WIT
/// `run-git` record itself, as the host hands it to stages.
pub type RunGit = wit::RunGit;

impl AttemptContext {
    /// `RUN/STAGE`: the same for every attempt of the stage in the run.
    pub fn stage_key(&self) -> String {
        format!("{}/{}", self.run_id, self.stage_id)
    }

    /// `RUN/STAGE/ATTEMPT`: unique to this attempt.
    pub fn attempt_key(&self) -> String {
        format!("{}/{}/{}", self.run_id, self.stage_id, self.attempt)
    }

    /// The WIT `context` record; `workspace` is `/workspace` when the worktree is mounted.
    pub(crate) fn to_wit(&self, workspace_mounted: bool) -> wit::Context {
        wit::Context {
            run_id: self.run_id.clone(),
            stage_id: self.stage_id.clone(),
            attempt: self.attempt,
            keys: wit::IdempotencyKeys {
                stage: self.stage_key(),
                attempt: self.attempt_key(),
            },
            task: (&self.task).into(),
            config: self.config.to_string(),
            outputs: self
                .outputs
                .iter()
                .map(|(stage, outputs)| wit::StageOutputs {
                    stage: stage.clone(),
                    outputs: outputs.to_string(),
                })
                .collect(),
            feedback: self.feedback.as_ref().map(|f| wit::Feedback {
                from_stage: f.from_stage.clone(),
                attempt: f.attempt,
                message: f.message.clone(),
                detail: f.detail.to_string(),
            }),
            interrupted: self.interrupted,
            workspace: workspace_mounted.then(|| crate::sandbox::GUEST_WORKSPACE.to_string()),
            previous_failure: self.previous_failure.as_ref().map(|f| wit::Failure {
                message: f.message.clone(),
                detail: f.detail.to_string(),
            }),
            git: self.git.clone(),
        }
    }
}

/// One attempt of a stage.
#[derive(Clone)]
pub struct AttemptRequest {
    /// What the stage sees.
    pub context: AttemptContext,
    /// Host path of the run's worktree, mounted at `/workspace` with `permissions.workspace`
    /// (`None`, or an access of `none`, mounts nothing).
    pub workspace: Option<PathBuf>,
    /// What the workflow grants the stage.
    pub permissions: Permissions,
    /// Time limit of the attempt, host calls (`exec`) included.
    pub timeout: Duration,
    /// Limit of each linear memory of the component instance, in bytes.
    pub memory_limit_bytes: u64,
    /// Extra environment for programs the stage runs (the workflow's `env:`).
    pub exec_env: Vec<(String, String)>,
    /// Receives logs, progress and exec reports while the attempt runs.
    pub observer: Arc<dyn AttemptObserver>,
    /// Starts agent sessions for the stage (used only when `permissions.agent` is granted).
    pub agent: Option<Arc<dyn crate::agent::AgentLauncher>>,
    /// Confinement of every program the stage runs (`None` only when the workflow turns
    /// confinement off).
    pub confinement: Option<Arc<engine_confine::Sandbox>>,
}

impl std::fmt::Debug for AttemptRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttemptRequest")
            .field("context", &self.context)
            .field("workspace", &self.workspace)
            .field("permissions", &self.permissions)
            .field("timeout", &self.timeout)
            .field("memory_limit_bytes", &self.memory_limit_bytes)
            .field("exec_env", &self.exec_env)
            .field("confined", &self.confinement.is_some())
            .finish_non_exhaustive()
    }
}

/// A successful attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptSuccess {
    /// One-line summary.
    pub summary: String,
    /// Outputs; always a JSON object.
    pub outputs: serde_json::Value,
}

/// How an attempt ended. Every failure (plugin error, trap, timeout, memory) is a
/// [`Failure`] with a kind the state machine acts on.
pub type AttemptResult = Result<AttemptSuccess, Failure>;

/// Severity of a stage's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Very detailed.
    Trace,
    /// Debugging detail (the stage's captured stdout/stderr arrive at this level).
    Debug,
    /// Normal.
    Info,
    /// Something looks wrong.
    Warn,
    /// Something failed.
    Error,
}

/// Receives what a stage reports while an attempt runs. Called from the attempt's task; keep
/// the methods quick (queue, don't block).
pub trait AttemptObserver: Send + Sync {
    /// A log line from the stage.
    fn log(&self, level: LogLevel, message: &str);
    /// A progress report; `fraction` is `0.0..=1.0` when known.
    fn progress(&self, message: &str, fraction: Option<f32>);
    /// The stage started a program.
    fn exec_started(&self, program: &str, args: &[String]);
    /// A program the stage started ended (`exit_code` is `None` when killed by a signal).
    fn exec_finished(&self, program: &str, exit_code: Option<i32>, duration: Duration);
    /// Bytes a program the stage started wrote on `stream` (`"stdout"` or `"stderr"`), as they
    /// arrive: in any chunks (a line may be split across calls), between its
    /// [`AttemptObserver::exec_started`] and its [`AttemptObserver::exec_finished`].
    fn exec_output(&self, _stream: &'static str, _bytes: &[u8]) {}
}

/// An observer that drops everything (for `describe` and for callers that do not care).
#[derive(Debug, Clone, Copy, Default)]
pub struct NullObserver;

impl AttemptObserver for NullObserver {
    fn log(&self, _level: LogLevel, _message: &str) {}
    fn progress(&self, _message: &str, _fraction: Option<f32>) {}
    fn exec_started(&self, _program: &str, _args: &[String]) {}
    fn exec_finished(&self, _program: &str, _exit_code: Option<i32>, _duration: Duration) {}
}
