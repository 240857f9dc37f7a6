//! The state of one run: what the store snapshots after every accepted event.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::{Failure, Feedback, Spend};

/// The task a run works on: the one model of "what is to be done", shared across the engine.
///
/// It is what stages see as `task` (the WIT `types.task` record has these four fields), the
/// run's record of its task (from `--task` text or from a task source, with `--label`s added),
/// and the `work` part of a task source's task (`engine_tasks::Task`, which adds how the
/// source tracks it: status, priority, dependencies...).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Task {
    /// Stable id (from the task source, or derived from the text for `--task`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Full text (markdown).
    pub body: String,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// Where a run stands as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunStatus {
    /// Created, `RunStarted` not yet applied.
    Pending,
    /// Stages are running or scheduled.
    Running,
    /// Every stage succeeded.
    Succeeded,
    /// A stage failed for good.
    Failed {
        /// The stage that failed.
        stage: String,
        /// Its failure message.
        message: String,
    },
    /// The user cancelled the run.
    Cancelled {
        /// The reason given.
        reason: String,
    },
    /// A stage decided the run should not go on (the task is already done or too vague, an
    /// agent kept failing the same way): a human has to look.
    NeedsAttention {
        /// The stage that stopped the run.
        stage: String,
        /// Why.
        reason: String,
    },
}

impl RunStatus {
    /// Whether the run has ended (succeeded, failed or cancelled).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded
                | RunStatus::Failed { .. }
                | RunStatus::Cancelled { .. }
                | RunStatus::NeedsAttention { .. }
        )
    }

    /// A one-word name: `pending`, `running`, `succeeded`, `failed`, `cancelled`,
    /// `needs_attention`.
    pub fn name(&self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed { .. } => "failed",
            RunStatus::Cancelled { .. } => "cancelled",
            RunStatus::NeedsAttention { .. } => "needs_attention",
        }
    }
}

/// Where one stage stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum StagePhase {
    /// Waiting for its `needs` (or for the run to start).
    Pending,
    /// An attempt is running.
    Running {
        /// The running attempt.
        attempt: u32,
    },
    /// A retry is scheduled.
    RetryWaiting {
        /// The attempt that will start.
        attempt: u32,
        /// When, in ms since the epoch.
        due_at_ms: u64,
    },
    /// An approval stage waits for a human (`engine approve` / `engine reject`).
    AwaitingApproval {
        /// The attempt that waits.
        attempt: u32,
        /// When the wait began (ms since the epoch).
        since_ms: u64,
        /// When it times out, if it does.
        deadline_ms: Option<u64>,
    },
    /// The stage succeeded.
    Succeeded,
    /// The stage's `if:` was false: it did not run, and counts as done for the stages that
    /// need it.
    Skipped,
    /// The stage failed for good.
    Failed,
    /// The run was cancelled before the stage finished.
    Cancelled,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// Still running.
    Running,
    /// Succeeded with this summary.
    Succeeded {
        /// One-line summary.
        summary: String,
    },
    /// Failed.
    Failed {
        /// Why.
        failure: Failure,
    },
    /// The driver stopped (crash, kill) while the attempt ran; its effects are unknown.
    Interrupted,
    /// Stopped by a cancellation or because the run went back past it.
    Cancelled,
    /// Not run: the stage's `if:` was false.
    Skipped {
        /// The condition and why it did not hold.
        reason: String,
    },
}

/// One attempt of a stage, for the history shown by `engine show`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// Attempt number.
    pub attempt: u32,
    /// When it started (ms since the epoch).
    pub started_at_ms: u64,
    /// When it ended, if it has.
    pub ended_at_ms: Option<u64>,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// What it spent.
    #[serde(default = "Spend::default_known")]
    pub spend: Spend,
    /// Commits it added to the run's branch, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<String>,
}

/// The state of one stage within a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageState {
    /// Where it stands.
    pub phase: StagePhase,
    /// The highest attempt number ever started (0 = never started). Only goes up.
    pub attempts: u32,
    /// Attempts in the current round, counted against `retry.max_attempts`; reset when the run
    /// is sent back to or past this stage. Interrupted attempts do not count.
    pub round_attempts: u32,
    /// How many times this stage sent the run back (`on_failure`).
    pub loops: u32,
    /// Summary of the successful attempt.
    pub summary: Option<String>,
    /// Outputs of the successful attempt.
    pub outputs: Option<serde_json::Value>,
    /// The latest failure.
    pub last_failure: Option<Failure>,
    /// Feedback for the next attempt, from a later stage that sent the run back.
    pub feedback: Option<Feedback>,
    /// The previous attempt was interrupted by a crash.
    pub interrupted: bool,
    /// Every attempt so far.
    pub history: Vec<AttemptRecord>,
}

impl StageState {
    /// Everything this stage's attempts spent.
    pub fn spend(&self) -> Spend {
        self.history
            .iter()
            .fold(Spend::NONE, |acc, r| acc + r.spend)
    }

    /// A stage that has not started.
    pub fn new() -> Self {
        StageState {
            phase: StagePhase::Pending,
            attempts: 0,
            round_attempts: 0,
            loops: 0,
            summary: None,
            outputs: None,
            last_failure: None,
            feedback: None,
            interrupted: false,
            history: Vec::new(),
        }
    }

    /// The attempt currently running, if any.
    pub fn running_attempt(&self) -> Option<u32> {
        match self.phase {
            StagePhase::Running { attempt } => Some(attempt),
            _ => None,
        }
    }

    /// Whether the stage is done in a way that lets the stages that need it start
    /// (succeeded, or skipped by its `if:`).
    pub fn is_done(&self) -> bool {
        matches!(self.phase, StagePhase::Succeeded | StagePhase::Skipped)
    }
}

/// How a `finally:` stage ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FinallyOutcome {
    /// It ran and succeeded.
    Succeeded {
        /// Its summary.
        summary: String,
    },
    /// It ran and failed (recorded; the run's outcome is unchanged).
    Failed {
        /// Why.
        message: String,
    },
    /// Its `if:` did not hold.
    Skipped {
        /// The condition and why it did not hold.
        reason: String,
    },
}

/// What a `finally:` stage did for a finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinallyRecord {
    /// When it ended.
    pub at_ms: u64,
    /// How it ended.
    pub outcome: FinallyOutcome,
}

impl Default for StageState {
    fn default() -> Self {
        Self::new()
    }
}

/// The state of a run: the store's snapshot, rebuilt exactly by replaying the run's event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The run's id.
    pub run_id: String,
    /// The task.
    pub task: Task,
    /// Where the run stands.
    pub status: RunStatus,
    /// Every stage of the workflow, by id.
    pub stages: BTreeMap<String, StageState>,
    /// Number of events applied so far.
    pub seq: u64,
    /// When the run started.
    pub started_at_ms: Option<u64>,
    /// When it reached its terminal state.
    pub finished_at_ms: Option<u64>,
    /// What each `finally:` stage did once the run ended, by id (absent: not run yet).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub finally: BTreeMap<String, FinallyRecord>,
    /// Since when the run is paused (`engine pause`); `None`: not paused. A paused run starts
    /// no attempt; the pause ends with `engine unpause` or with the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_at_ms: Option<u64>,
    /// When the run times out (the workflow's `timeout:` from the run's start, or from its
    /// latest `retry --from`); `None`: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
}

impl RunState {
    /// Every commit the run's attempts added to its branch, in the order they were recorded.
    pub fn commits(&self) -> Vec<String> {
        let mut records: Vec<_> = self
            .stages
            .values()
            .flat_map(|s| &s.history)
            .filter(|r| !r.commits.is_empty())
            .collect();
        records.sort_by_key(|r| r.ended_at_ms);
        records.iter().flat_map(|r| r.commits.clone()).collect()
    }

    /// Everything the run's attempts spent.
    pub fn spend(&self) -> Spend {
        self.stages
            .values()
            .flat_map(|s| &s.history)
            .fold(Spend::NONE, |acc, r| acc + r.spend)
    }

    /// A fresh run of `workflow` for `task`; apply `Event::RunStarted` to begin.
    pub fn new(run_id: impl Into<String>, task: Task, workflow: &crate::Workflow) -> Self {
        RunState {
            stages: workflow
                .stages
                .iter()
                .map(|s| (s.id.clone(), StageState::new()))
                .collect(),
            ..RunState::blank(run_id, task)
        }
    }

    /// A pending run without stages, nothing recorded: where runs built field by field start,
    /// and the "no current run" of questions asked about all runs (a day's spend).
    pub fn blank(run_id: impl Into<String>, task: Task) -> Self {
        RunState {
            run_id: run_id.into(),
            task,
            status: RunStatus::Pending,
            stages: BTreeMap::new(),
            seq: 0,
            started_at_ms: None,
            finished_at_ms: None,
            finally: BTreeMap::new(),
            paused_at_ms: None,
            deadline_ms: None,
        }
    }

    /// Whether the run is paused.
    pub fn is_paused(&self) -> bool {
        self.paused_at_ms.is_some()
    }

    /// The `finally:` stages of `workflow` still to run: the run has ended and they have no
    /// record yet (after a crash, the driver runs them on the next resume).
    pub fn pending_finally<'w>(&self, workflow: &'w crate::Workflow) -> Vec<&'w crate::Stage> {
        if !self.status.is_terminal() {
            return Vec::new();
        }
        workflow
            .finally
            .iter()
            .filter(|s| !self.finally.contains_key(&s.id))
            .collect()
    }

    /// The stages waiting for a human, with their attempts.
    pub fn awaiting_approval(&self) -> Vec<(&str, u32)> {
        self.stages
            .iter()
            .filter_map(|(id, st)| match st.phase {
                StagePhase::AwaitingApproval { attempt, .. } => Some((id.as_str(), attempt)),
                _ => None,
            })
            .collect()
    }
}
