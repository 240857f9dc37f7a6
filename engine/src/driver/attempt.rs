//! Starting one stage attempt: the context it gets (outputs, the run's facts, its rendered
//! config and secrets), its `if:`, the component call, the host's commit of its work, and the
//! event its result becomes (redacted, with needs-attention recognised).

use std::sync::Arc;
use std::time::Duration;

use engine_core::{Event, Failure, FailureKind, RunState, Spend};
use engine_runtime::{AttemptContext, AttemptRequest};
use engine_workflow::StageDef;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::commands::AttemptStart;
use super::stage_input::{attempt_outputs, condition_holds, rendered_config, scope};
use super::{AttemptLog, CommitSite, Driver, attempt_log_path};
use crate::EngineError;
use crate::agents::{BudgetView, HostLauncher, LaunchSite, SpendMeter};
use crate::confine::{AttemptSandbox, SandboxSite};
use crate::secrets::{Redactor, stage_secrets};

impl Driver<'_> {
    /// Starts an attempt as a task that sends its result (or its skip) as an event.
    pub(super) fn spawn_attempt(
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
        let Some(def) = self.prepared.loaded.stage_def(stage_id) else {
            return Err(EngineError::Internal(format!(
                "stage {stage_id:?} is not in the workflow this run was started with"
            )));
        };
        let stage = stage_id.to_string();
        let fail_now = |message: String| {
            let event = Event::AttemptFailed {
                stage: stage.clone(),
                attempt,
                at_ms: self.clock.now_ms(),
                failure: fatal(self.redactor.text(&message)),
                spend: Spend::NONE,
            };
            let _ = tx.send(event);
            Ok(tokio::spawn(async {}))
        };
        let now = self.clock.now_ms();
        let scope = scope(state, &self.meta, &self.prepared.loaded.env, now);
        match condition_holds(def, &scope) {
            Ok(true) => {}
            Ok(false) => {
                let reason = format!(
                    "skipped: `if: {}` is false",
                    def.spec.condition.as_deref().unwrap_or_default()
                );
                let _ = tx.send(Event::StageSkipped {
                    stage,
                    attempt,
                    at_ms: now,
                    reason,
                });
                return Ok(tokio::spawn(async {}));
            }
            Err(message) => return fail_now(message),
        }
        let Some(component) = self.prepared.stages.get(stage_id).cloned() else {
            return Err(EngineError::Internal(format!(
                "stage {stage_id:?} has no loaded component"
            )));
        };
        let config =
            match stage_secrets(def).and_then(|secrets| rendered_config(def, &scope, secrets)) {
                Ok(config) => config,
                Err(message) => return fail_now(message),
            };
        let mut outputs = attempt_outputs(state, &self.meta, now);
        let untouched = untouched_worktree(state, attempt, interrupted);
        match crate::skills::for_run(
            &self.meta,
            &self.prepared.loaded.rules,
            &state.task,
            untouched,
        ) {
            Ok(Some(spec)) => {
                outputs.insert(crate::skills::SPEC_OUTPUTS.to_string(), spec);
            }
            Ok(None) => {}
            Err(e) => return fail_now(e.to_string()),
        }
        let log_path = attempt_log_path(&self.state_dir, &state.run_id, stage_id, attempt);
        let observer = Arc::new(AttemptLog::create(
            &log_path,
            stage_id,
            attempt,
            self.reporter.clone(),
            self.redactor.clone(),
            self.clock.clone(),
        )?);
        let confinement = match AttemptSandbox::prepare(self.sandbox_site(def, attempt)) {
            Ok(confinement) => confinement,
            Err(message) => return fail_now(message),
        };
        let request = AttemptRequest {
            context: AttemptContext {
                run_id: state.run_id.clone(),
                stage_id: stage_id.to_string(),
                attempt,
                task: state.task.clone(),
                config,
                outputs,
                feedback,
                interrupted,
                previous_failure: previous_failure(state, stage_id),
                git: self.run_git(),
            },
            workspace: self.meta.worktree.clone(),
            permissions: def.spec.permissions.clone(),
            timeout: Duration::from_millis(def.spec.timeout_ms),
            memory_limit_bytes: def.spec.memory_limit_bytes,
            exec_env: self.exec_env(&confinement),
            // The sessions' text and tool calls go to the attempt log too.
            agent: self
                .launcher(
                    state,
                    def,
                    (attempt, untouched),
                    meter.clone(),
                    &confinement,
                )?
                .map(|launcher| {
                    Arc::new(launcher.with_log(observer.clone()))
                        as Arc<dyn engine_runtime::AgentLauncher>
                }),
            observer,
            confinement: confinement.sandbox.clone(),
        };
        let host = self.host.clone();
        let committer = self.commit_site(state, def, attempt);
        let redactor = self.redactor.clone();
        let lane = self.merge_lane(def);
        let reporter = self.reporter.clone();
        let clock = self.clock.clone();
        Ok(tokio::spawn(async move {
            // Held until the attempt's result is sent: one at-most-once stage per base branch.
            let _turn = match lane {
                Some((lane, base)) => Some(if let Ok(turn) = lane.clone().try_lock_owned() {
                    turn
                } else {
                    reporter.stage_log(
                        &stage,
                        attempt,
                        engine_runtime::LogLevel::Info,
                        &format!("waits for another run's turn to merge into {base}"),
                    );
                    lane.lock_owned().await
                }),
                None => None,
            };
            // Read-only and write-granted stages take turns in the worktree (see `commits`).
            let (worktree_turn, entered) = match &committer {
                Some(site) => match site.enter().await {
                    Ok(turn) => (Some(turn), Ok(())),
                    Err(message) => (None, Err(message)),
                },
                None => (None, Ok(())),
            };
            let before = match &committer {
                Some(site) if site.write => {
                    let site = site.clone();
                    tokio::task::spawn_blocking(move || site.head())
                        .await
                        .ok()
                        .flatten()
                }
                _ => None,
            };
            let mut result = match entered {
                Ok(()) => host.run_attempt(&component, request).await,
                Err(message) => Err(fatal(message)),
            };
            // The run branch takes what the attempt's confined processes committed; unconfined,
            // anything outside the run that moved fails the attempt.
            let finished = tokio::task::spawn_blocking(move || confinement.finish())
                .await
                .unwrap_or_else(|e| Err(format!("ending the attempt's sandbox failed: {e}")));
            if let Err(message) = finished {
                result = Err(fatal(message));
            }
            if let Some(site) = &committer {
                let site = site.clone();
                let checked = tokio::task::spawn_blocking(move || site.check_link())
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                match checked {
                    Ok(None) => {}
                    Ok(Some(warning)) => {
                        tracing::warn!("{warning}");
                        reporter.stage_log(
                            &stage,
                            attempt,
                            engine_runtime::LogLevel::Warn,
                            &warning,
                        );
                    }
                    Err(message) => result = Err(fatal(message)),
                }
            }
            let mut commits = Vec::new();
            if let (Ok(success), Some(site)) = (&result, committer.filter(|site| site.write)) {
                let summary = redactor.text(&success.summary);
                let committed =
                    tokio::task::spawn_blocking(move || site.commit(before.as_deref(), &summary))
                        .await
                        .unwrap_or_else(|e| {
                            Err(format!("committing the stage's changes failed: {e}"))
                        });
                match committed {
                    Ok(list) => commits = list,
                    Err(message) => result = Err(fatal(message)),
                }
            }
            drop(worktree_turn);
            let at_ms = clock.now_ms();
            let spend = meter.total();
            let event = match result {
                Ok(success) => {
                    let mut outputs = success.outputs;
                    redactor.json(&mut outputs);
                    Event::AttemptSucceeded {
                        stage,
                        attempt,
                        at_ms,
                        summary: redactor.text(&success.summary),
                        outputs,
                        commits,
                        spend,
                    }
                }
                Err(failure) => Event::AttemptFailed {
                    stage,
                    attempt,
                    at_ms,
                    failure: reported_failure(failure, &redactor),
                    spend,
                },
            };
            let _ = tx.send(event);
        }))
    }

    /// The lane an at-most-once stage (a merge) waits for its turn in when this process drives
    /// several runs, with the base branch it is for.
    fn merge_lane(&self, def: StageDef<'_>) -> Option<(Arc<tokio::sync::Mutex<()>>, String)> {
        let lanes = self.lanes.as_ref()?;
        let declared = self
            .prepared
            .descriptors
            .get(&def.stage.id)
            .map(|d| d.delivery);
        let at_most_once = def.stage.delivery == engine_core::Delivery::AtMostOnce
            || declared == Some(engine_core::Delivery::AtMostOnce);
        if !at_most_once {
            return None;
        }
        let key = format!(
            "{}\0{}",
            self.meta.repo_root.display(),
            self.meta.base_branch
        );
        Some((lanes.lane(&key), self.meta.base_branch.clone()))
    }

    /// Where an attempt of the stage is confined.
    pub(super) fn sandbox_site<'s>(&'s self, def: StageDef<'s>, attempt: u32) -> SandboxSite<'s> {
        SandboxSite {
            settings: &self.prepared.loaded.sandbox,
            caches: &self.prepared.loaded.caches,
            stage_id: &def.stage.id,
            attempt,
            repo: &self.repo,
            meta: &self.meta,
            state_dir: &self.state_dir,
            branch_prefix: &self.prepared.loaded.git.branch_prefix,
            starts_processes: def.spec.permissions.agent || !def.spec.permissions.exec.is_empty(),
        }
    }

    /// The workflow's `env:` and the variables naming the attempt's caches, for the programs a
    /// stage runs.
    pub(super) fn exec_env(&self, confinement: &AttemptSandbox) -> Vec<(String, String)> {
        let env = &self.prepared.loaded.env;
        env.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(confinement.cache_env.iter().cloned())
            .collect()
    }

    /// The run's git facts for a stage's context, when it works in a worktree.
    pub(super) fn run_git(&self) -> Option<engine_runtime::RunGit> {
        self.meta.worktree.as_ref().map(|_| engine_runtime::RunGit {
            branch: self.meta.branch.clone(),
            base_branch: self.meta.base_branch.clone(),
            base_commit: self.meta.base_commit.clone(),
            repo_root: self.meta.repo_root.display().to_string(),
        })
    }

    /// The stage's place in the run's worktree: a write-granted stage's changes are committed
    /// there after it succeeds; what a read-only stage's programs leave behind is removed.
    /// `None` when the run has no worktree.
    pub(super) fn commit_site(
        &self,
        state: &RunState,
        def: StageDef<'_>,
        attempt: u32,
    ) -> Option<CommitSite> {
        Some(CommitSite {
            repo: self.repo.clone(),
            worktree: self.meta.worktree.clone()?,
            settings: self.prepared.loaded.git.clone(),
            run_id: state.run_id.clone(),
            task: state.task.clone(),
            stage: def.stage.id.clone(),
            attempt,
            write: def.spec.permissions.workspace == engine_core::WorkspaceAccess::Write,
        })
    }

    /// The agent launcher of an attempt, for stages granted `agent`: budgets of the stage, the
    /// run and the day (every run of this state directory) as they stand now.
    pub(super) fn launcher(
        &self,
        state: &RunState,
        def: StageDef<'_>,
        (attempt, untouched): (u32, bool),
        meter: Arc<SpendMeter>,
        confinement: &AttemptSandbox,
    ) -> Result<Option<HostLauncher>, EngineError> {
        if !def.spec.permissions.agent {
            return Ok(None);
        }
        let Some(worktree) = self.meta.worktree.clone() else {
            return Ok(None);
        };
        let config = self.prepared.agents.clone();
        let stage_spend = state
            .stages
            .get(&def.stage.id)
            .map_or(Spend::NONE, engine_core::StageState::spend);
        let run_spend = state.spend();
        let mut budget = BudgetView::default()
            .with(
                "the stage's budget_usd",
                def.spec.budget_usd,
                stage_spend.cost_usd,
            )
            .with("budget.run_usd", config.run_budget_usd, run_spend.cost_usd);
        // Only this run's unknown spend fails it closed; other runs' count with what is known
        // (see `check_day_budget`).
        if config.day_budget_usd.is_some() {
            let day = crate::agents::budget::day_spend(
                self.store,
                &state.run_id,
                state,
                self.clock.now_ms(),
            )?;
            budget = budget.with("budget.day_usd", config.day_budget_usd, day.cost_usd);
        }
        budget.earlier_spend_unknown = !run_spend.cost_known;
        let site = LaunchSite {
            repo: self.repo.clone(),
            worktree,
            run_dir: self.state_dir.join("runs").join(&state.run_id),
            stage_id: def.stage.id.clone(),
            attempt,
            redact: self.redactor.values().to_vec(),
            sandbox: confinement.sandbox.clone(),
            env: confinement.cache_env.clone(),
            untouched_base: untouched.then(|| self.meta.base_commit.clone()),
        };
        Ok(Some(HostLauncher::new(config, site, budget, meter)))
    }
}

/// Whether this is the run's very first attempt (the transition that started it is applied, and
/// no other stage has started one): nothing has written the worktree since its checkout of the
/// base commit.
fn untouched_worktree(state: &RunState, attempt: u32, interrupted: bool) -> bool {
    attempt == 1 && !interrupted && state.stages.values().map(|s| s.attempts).sum::<u32>() == 1
}

/// A fatal failure with this message.
pub(super) fn fatal(message: String) -> Failure {
    Failure {
        kind: FailureKind::Fatal,
        message,
        detail: serde_json::Value::Null,
        retry_at_ms: None,
    }
}

/// A stage's failure as the run records it: secrets redacted, and a fatal failure whose detail
/// says `needs_attention` becomes a needs-attention failure (the run ends for a human to look).
pub(super) fn reported_failure(failure: Failure, redactor: &Redactor) -> Failure {
    let mut failure = with_needs_attention(failure);
    failure.message = redactor.text(&failure.message);
    redactor.json(&mut failure.detail);
    failure
}

/// A fatal failure whose detail says `needs_attention` as the needs-attention failure it asks
/// for, with its `reason` as the message; any other failure unchanged. (`engine plugin run`
/// reports a local attempt's failure the same way.)
pub(crate) fn with_needs_attention(mut failure: Failure) -> Failure {
    let needs_attention = failure.kind == FailureKind::Fatal
        && failure.detail.get("needs_attention") == Some(&serde_json::Value::Bool(true));
    if needs_attention {
        failure.kind = FailureKind::NeedsAttention;
        if let Some(reason) = failure.detail.get("reason").and_then(|r| r.as_str())
            && !reason.is_empty()
        {
            failure.message = reason.to_string();
        }
    }
    failure
}

/// The failure of the stage's latest attempt before the one starting now, skipping attempts a
/// crash interrupted (a run resumed after a stall still knows it stalled), so the stage can
/// change course. None when that attempt did not fail.
fn previous_failure(state: &RunState, stage_id: &str) -> Option<Failure> {
    let history = &state.stages.get(stage_id)?.history;
    // The last record is the attempt starting now; look at the ones before it.
    let earlier = history.len().checked_sub(1).map(|n| &history[..n])?;
    let previous = earlier
        .iter()
        .rev()
        .find(|r| r.outcome != engine_core::AttemptOutcome::Interrupted)?;
    match &previous.outcome {
        engine_core::AttemptOutcome::Failed { failure } => Some(failure.clone()),
        _ => None,
    }
}
