//! The driver: feeds events to the pure state machine, stores every accepted transition durably,
//! and only then carries out the commands that follow from it (start attempts, schedule retries,
//! cancel attempts). It is the only place where the run meets the clock, tokio and the store.

mod attempt_log;
mod commits;
mod debug_hold;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use engine_core::{Command, Event, RunState, Spend, step};
use engine_git::Repo;
use engine_runtime::{AttemptContext, AttemptRequest, Host};
use engine_store::{RunMeta, Store};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::EngineError;
use crate::agents::{BudgetView, HostLauncher, LaunchSite, SpendMeter};
use crate::project::PreparedWorkflow;
use crate::report::Reporter;
use crate::time::now_ms;

pub use attempt_log::{AttemptLog, attempt_log_path};
pub use commits::CommitSite;

/// How often the driver looks for cancel requests from other processes.
const CONTROL_POLL: Duration = Duration::from_millis(200);

/// How a call to [`Driver::drive`] ended.
#[derive(Debug)]
pub enum DriveOutcome {
    /// The run reached a terminal state.
    Finished(RunState),
    /// The driver was stopped (SIGINT/SIGTERM) before the run ended; `engine resume` continues.
    Interrupted(RunState),
}

/// Drives one run to its end.
pub struct Driver<'a> {
    /// Where transitions are stored.
    pub store: &'a dyn Store,
    /// The wasm host.
    pub host: Arc<Host>,
    /// The workflow with its components loaded.
    pub prepared: Arc<PreparedWorkflow>,
    /// The run's fixed facts (worktree, branch...).
    pub meta: RunMeta,
    /// The state directory (for logs and control requests).
    pub state_dir: PathBuf,
    /// Who hears about progress.
    pub reporter: Arc<dyn Reporter>,
    /// Stop cleanly on SIGINT/SIGTERM (leaving the run resumable).
    pub handle_signals: bool,
    /// The repository (agent stages snapshot the worktree through it).
    pub repo: Repo,
}

/// What a `StartAttempt` command asks for.
struct AttemptStart<'a> {
    stage: &'a str,
    attempt: u32,
    interrupted: bool,
    feedback: Option<engine_core::Feedback>,
}

struct Running {
    attempt: u32,
    task: JoinHandle<()>,
    meter: Arc<SpendMeter>,
}

impl Driver<'_> {
    /// Applies `first` to `state` and keeps going until the run ends or the driver is stopped.
    pub async fn drive(&self, state: RunState, first: Event) -> Result<DriveOutcome, EngineError> {
        let workflow = &self.prepared.loaded.workflow;
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let mut attempts: HashMap<String, Running> = HashMap::new();
        let mut timers: HashMap<String, JoinHandle<()>> = HashMap::new();
        let mut state = state;
        let mut queue = VecDeque::from([first]);
        let mut signals = Signals::new(self.handle_signals)?;
        let hold = debug_hold::Hold::from_env();
        let mut poll = tokio::time::interval(CONTROL_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Set once the run reached its end; events still queued (the spend of attempts it
        // cancelled) are stored before the driver returns.
        let mut finished = false;

        loop {
            let event = match queue.pop_front() {
                Some(event) => event,
                None => tokio::select! {
                    Some(event) = rx.recv() => event,
                    _ = poll.tick() => match self.cancel_request()? {
                        Some(reason) => Event::CancelRequested { at_ms: now_ms(), reason },
                        None => continue,
                    },
                    _ = signals.recv() => {
                        stop_all(attempts, timers);
                        return Ok(DriveOutcome::Interrupted(state));
                    }
                },
            };
            let transition = match step(workflow, &state, &event) {
                Ok(t) => t,
                Err(rejected) => {
                    tracing::debug!(%rejected, event = event.kind(), "event rejected");
                    continue;
                }
            };
            hold.before_commit(transition.state.seq).await;
            self.store
                .commit(&state.run_id, &event, &transition.state)
                .map_err(EngineError::from)?;
            hold.after_commit(transition.state.seq).await;
            self.reporter
                .transition(&event, &transition.state, &transition.commands);
            state = transition.state;

            for command in transition.commands {
                match command {
                    Command::StartAttempt {
                        stage,
                        attempt,
                        interrupted,
                        feedback,
                    } => {
                        let meter = Arc::new(SpendMeter::new());
                        let start = AttemptStart {
                            stage: &stage,
                            attempt,
                            interrupted,
                            feedback,
                        };
                        let task = self.spawn_attempt(&state, start, meter.clone(), tx.clone())?;
                        let running = Running {
                            attempt,
                            task,
                            meter,
                        };
                        if let Some(old) = attempts.insert(stage, running) {
                            old.task.abort();
                        }
                    }
                    Command::ScheduleRetry {
                        stage,
                        attempt,
                        due_at_ms,
                    } => {
                        let wait = Duration::from_millis(due_at_ms.saturating_sub(now_ms()));
                        let tx = tx.clone();
                        let name = stage.clone();
                        let timer = tokio::spawn(async move {
                            tokio::time::sleep(wait).await;
                            let _ = tx.send(Event::RetryDue {
                                stage: name,
                                attempt,
                                at_ms: now_ms(),
                            });
                        });
                        if let Some(old) = timers.insert(stage, timer) {
                            old.abort();
                        }
                    }
                    Command::CancelAttempt { stage, attempt } => {
                        if attempts.get(&stage).is_some_and(|r| r.attempt == attempt)
                            && let Some(running) = attempts.remove(&stage)
                        {
                            running.task.abort();
                            // Its result will be rejected; what it spent still counts.
                            let spend = running.meter.total();
                            if spend != Spend::NONE {
                                queue.push_back(Event::SpendRecorded {
                                    stage,
                                    attempt,
                                    at_ms: now_ms(),
                                    spend,
                                });
                            }
                        }
                    }
                    Command::FinishRun { .. } => finished = true,
                }
            }
            if finished && queue.is_empty() {
                stop_all(attempts, timers);
                return Ok(DriveOutcome::Finished(state));
            }
        }
    }

    fn spawn_attempt(
        &self,
        state: &RunState,
        start: AttemptStart<'_>,
        meter: Arc<SpendMeter>,
        tx: mpsc::UnboundedSender<Event>,
    ) -> Result<JoinHandle<()>, EngineError> {
        let AttemptStart {
            stage: stage_id,
            attempt,
            interrupted,
            feedback,
        } = start;
        let workflow = &self.prepared.loaded.workflow;
        let (Some(spec), Some(component)) = (
            workflow.stage(stage_id),
            self.prepared.stages.get(stage_id).cloned(),
        ) else {
            return Err(EngineError::Usage(format!(
                "stage {stage_id:?} is not in the workflow this run was started with"
            )));
        };
        let outputs = state
            .stages
            .iter()
            .filter(|(_, s)| s.phase == engine_core::StagePhase::Succeeded)
            .filter_map(|(id, s)| s.outputs.clone().map(|o| (id.clone(), o)))
            .collect();
        let log_path = attempt_log_path(&self.state_dir, &state.run_id, stage_id, attempt);
        let observer = Arc::new(AttemptLog::create(
            log_path,
            stage_id,
            attempt,
            self.reporter.clone(),
        )?);
        let request = AttemptRequest {
            context: AttemptContext {
                run_id: state.run_id.clone(),
                stage_id: stage_id.to_string(),
                attempt,
                task: state.task.clone(),
                config: spec.with.clone(),
                outputs,
                feedback,
                interrupted,
                previous_failure: previous_failure(state, stage_id),
                git: self.meta.worktree.as_ref().map(|_| engine_runtime::RunGit {
                    branch: self.meta.branch.clone(),
                    base_branch: self.meta.base_branch.clone(),
                    base_commit: self.meta.base_commit.clone(),
                    repo_root: self.meta.repo_root.display().to_string(),
                }),
            },
            workspace: self.meta.worktree.clone(),
            permissions: spec.permissions.clone(),
            timeout: Duration::from_millis(spec.timeout_ms),
            memory_limit_bytes: spec.memory_limit_bytes,
            exec_env: self
                .prepared
                .loaded
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            observer,
            agent: self.launcher(state, spec, attempt, meter.clone())?,
        };
        let host = self.host.clone();
        let stage = stage_id.to_string();
        let committer = self.commit_site(state, spec, attempt);
        Ok(tokio::spawn(async move {
            let before = match &committer {
                Some(site) => {
                    let site = site.clone();
                    tokio::task::spawn_blocking(move || site.head())
                        .await
                        .ok()
                        .flatten()
                }
                None => None,
            };
            let mut result = host.run_attempt(&component, request).await;
            let mut commits = Vec::new();
            if let (Ok(success), Some(site)) = (&result, committer) {
                let summary = success.summary.clone();
                let committed =
                    tokio::task::spawn_blocking(move || site.commit(before.as_deref(), &summary))
                        .await
                        .unwrap_or_else(|e| {
                            Err(format!("committing the stage's changes failed: {e}"))
                        });
                match committed {
                    Ok(list) => commits = list,
                    Err(message) => {
                        result = Err(engine_core::Failure {
                            kind: engine_core::FailureKind::Fatal,
                            message,
                            detail: serde_json::Value::Null,
                            retry_at_ms: None,
                        })
                    }
                }
            }
            let at_ms = now_ms();
            let spend = meter.total();
            let event = match result {
                Ok(success) => Event::AttemptSucceeded {
                    stage,
                    attempt,
                    at_ms,
                    summary: success.summary,
                    outputs: success.outputs,
                    commits,
                    spend,
                },
                Err(failure) => Event::AttemptFailed {
                    stage,
                    attempt,
                    at_ms,
                    failure,
                    spend,
                },
            };
            let _ = tx.send(event);
        }))
    }

    /// Where a write-granted stage's changes are committed after it succeeds; `None` for stages
    /// that may not write the worktree (what their programs leave behind is not committed).
    fn commit_site(
        &self,
        state: &RunState,
        spec: &engine_core::Stage,
        attempt: u32,
    ) -> Option<CommitSite> {
        if spec.permissions.workspace != engine_core::WorkspaceAccess::Write {
            return None;
        }
        Some(CommitSite {
            repo: self.repo.clone(),
            worktree: self.meta.worktree.clone()?,
            settings: self.prepared.loaded.git.clone(),
            run_id: state.run_id.clone(),
            task: state.task.clone(),
            stage: spec.id.clone(),
            attempt,
        })
    }

    /// The agent launcher of an attempt, for stages granted `agent`: budgets of the stage, the
    /// run and the day (every run of this state directory) as they stand now.
    fn launcher(
        &self,
        state: &RunState,
        spec: &engine_core::Stage,
        attempt: u32,
        meter: Arc<SpendMeter>,
    ) -> Result<Option<Arc<dyn engine_runtime::AgentLauncher>>, EngineError> {
        if !spec.permissions.agent {
            return Ok(None);
        }
        let Some(worktree) = self.meta.worktree.clone() else {
            return Ok(None);
        };
        let config = self.prepared.agents.clone();
        let stage_spend = state
            .stages
            .get(&spec.id)
            .map(|s| s.spend())
            .unwrap_or(Spend::NONE);
        let run_spend = state.spend();
        let mut budget = BudgetView::default()
            .with(
                "the stage's budget_usd",
                spec.budget_usd,
                stage_spend.cost_usd,
            )
            .with("budget.run_usd", config.run_budget_usd, run_spend.cost_usd);
        let mut unknown = !run_spend.cost_known;
        if config.day_budget_usd.is_some() {
            let day = crate::agents::budget::day_spend(self.store, &state.run_id, state, now_ms())?;
            unknown |= !day.cost_known;
            budget = budget.with("budget.day_usd", config.day_budget_usd, day.cost_usd);
        }
        budget.earlier_spend_unknown = unknown;
        let site = LaunchSite {
            repo: self.repo.clone(),
            worktree,
            run_dir: self.state_dir.join("runs").join(&state.run_id),
            stage_id: spec.id.clone(),
            attempt,
        };
        Ok(Some(Arc::new(HostLauncher::new(
            config, site, budget, meter,
        ))))
    }

    /// A cancel request for this run left by another process (`engine cancel`).
    fn cancel_request(&self) -> Result<Option<String>, EngineError> {
        let mut ours = None;
        for (run_id, reason) in engine_store::take_cancel_requests(&self.state_dir)? {
            // `engine cancel` may name the run by a prefix of its id.
            if !run_id.is_empty() && self.meta.run_id.starts_with(&run_id) {
                ours = Some(reason);
            } else {
                // Not ours: leave it for whoever drives that run.
                engine_store::request_cancel(&self.state_dir, &run_id, &reason)?;
            }
        }
        Ok(ours)
    }
}

/// The failure of the stage's attempt right before the one starting now, if that attempt
/// failed (a retry), so the stage can change course.
fn previous_failure(state: &RunState, stage_id: &str) -> Option<engine_core::Failure> {
    let history = &state.stages.get(stage_id)?.history;
    // The last record is the attempt starting now; look at the one before it.
    let previous = history.len().checked_sub(2).and_then(|i| history.get(i))?;
    match &previous.outcome {
        engine_core::AttemptOutcome::Failed { failure } => Some(failure.clone()),
        _ => None,
    }
}

fn stop_all(attempts: HashMap<String, Running>, timers: HashMap<String, JoinHandle<()>>) {
    for (_, running) in attempts {
        running.task.abort();
    }
    for (_, timer) in timers {
        timer.abort();
    }
}

/// SIGINT/SIGTERM, when the driver handles them.
struct Signals {
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new(enabled: bool) -> Result<Self, EngineError> {
        use tokio::signal::unix::{SignalKind, signal};
        if !enabled {
            return Ok(Signals { streams: None });
        }
        let int = signal(SignalKind::interrupt()).map_err(|e| EngineError::io("SIGINT", e))?;
        let term = signal(SignalKind::terminate()).map_err(|e| EngineError::io("SIGTERM", e))?;
        Ok(Signals {
            streams: Some((int, term)),
        })
    }

    async fn recv(&mut self) {
        match &mut self.streams {
            Some((int, term)) => {
                tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                }
            }
            None => std::future::pending().await,
        }
    }
}
