//! The `finally:` stages: run once the run ended, each when its `if:` holds (`always()` by
//! default). What they do is recorded with the run; it never changes the run's outcome. A crash
//! before a finally stage's record is stored runs it again on the next `engine resume`
//! (at-least-once, like any stage).

use crate::confine::AttemptSandbox;
use std::sync::Arc;
use std::time::Duration;

use engine_core::{Event, FinallyOutcome, RunState};
use engine_runtime::{AttemptContext, AttemptRequest};
use engine_workflow::StageDef;

use super::attempt::reported_failure;
use super::debug_hold::Hold;
use super::stage_input::{attempt_outputs, condition_holds, rendered_config, scope};
use super::{AttemptLog, Driver, attempt_log_path};
use crate::EngineError;
use crate::secrets::stage_secrets;

impl Driver<'_> {
    /// Runs every `finally:` stage the ended run has no record of, storing each record.
    pub async fn run_finally(&self, state: RunState) -> Result<RunState, EngineError> {
        let loaded = &self.prepared.loaded;
        let mut state = state;
        let hold = Hold::from_env();
        for stage in state.pending_finally(&loaded.workflow) {
            let Some(spec) = loaded.spec(&stage.id) else {
                return Err(EngineError::Internal(format!(
                    "finally stage {:?} has no spec in the workflow this run was started with",
                    stage.id
                )));
            };
            let outcome = self.finally_outcome(&state, StageDef { stage, spec }).await;
            let event = Event::FinallyFinished {
                stage: stage.id.clone(),
                at_ms: self.clock.now_ms(),
                outcome,
            };
            let Some(transition) = self.apply(&state, &event, &hold).await? else {
                continue;
            };
            state = transition.state;
        }
        Ok(state)
    }

    /// Runs one finally stage (with its retry policy) and says how it ended.
    async fn finally_outcome(&self, state: &RunState, def: StageDef<'_>) -> FinallyOutcome {
        let scope = scope(
            state,
            &self.meta,
            &self.prepared.loaded.env,
            self.clock.now_ms(),
        );
        match condition_holds(def, &scope) {
            Ok(true) => {}
            Ok(false) => {
                return FinallyOutcome::Skipped {
                    reason: format!(
                        "`if: {}` is false for a run that {}",
                        def.spec.condition.as_deref().unwrap_or_default(),
                        state.status.name()
                    ),
                };
            }
            Err(message) => return self.failed(&message),
        }
        let config = match stage_secrets(def).and_then(|s| rendered_config(def, &scope, s)) {
            Ok(config) => config,
            Err(message) => return self.failed(&message),
        };
        let Some(component) = self.prepared.stages.get(&def.stage.id).cloned() else {
            return self.failed(&format!("stage {:?} has no loaded component", def.stage.id));
        };
        let attempts = def.stage.retry.max_attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                let delay = Duration::from_millis(def.stage.retry.delay_ms(attempt - 1));
                self.clock.sleep(delay).await;
            }
            let confinement = match AttemptSandbox::prepare(self.sandbox_site(def, attempt)) {
                Ok(confinement) => confinement,
                Err(message) => return self.failed(&message),
            };
            let request =
                match self.finally_request(state, def, attempt, config.clone(), &confinement) {
                    Ok(request) => request,
                    Err(e) => return self.failed(&e.to_string()),
                };
            let outcome = self.host.run_attempt(&component, request).await;
            let finished = tokio::task::spawn_blocking(move || confinement.finish())
                .await
                .unwrap_or_else(|e| Err(format!("ending the attempt's sandbox failed: {e}")));
            let outcome = match (outcome, finished) {
                (Ok(_), Err(message)) => return self.failed(&message),
                (outcome, _) => outcome,
            };
            match outcome {
                Ok(success) => {
                    return FinallyOutcome::Succeeded {
                        summary: self.redactor.text(&success.summary),
                    };
                }
                Err(failure) => {
                    let failure = reported_failure(failure, &self.redactor);
                    last = failure.message;
                    if !failure.kind.is_retryable() {
                        break;
                    }
                }
            }
        }
        FinallyOutcome::Failed { message: last }
    }

    fn failed(&self, message: &str) -> FinallyOutcome {
        FinallyOutcome::Failed {
            message: self.redactor.text(message),
        }
    }

    fn finally_request(
        &self,
        state: &RunState,
        def: StageDef<'_>,
        attempt: u32,
        config: serde_json::Value,
        confinement: &AttemptSandbox,
    ) -> Result<AttemptRequest, EngineError> {
        let log_path = attempt_log_path(&self.state_dir, &state.run_id, &def.stage.id, attempt);
        let observer = Arc::new(AttemptLog::create(
            &log_path,
            &def.stage.id,
            attempt,
            self.reporter.clone(),
            self.redactor.clone(),
            self.clock.clone(),
        )?);
        // The worktree may already be gone (a finally stage resumed after cleanup).
        let workspace = self.meta.worktree.clone().filter(|w| w.is_dir());
        Ok(AttemptRequest {
            context: AttemptContext {
                run_id: state.run_id.clone(),
                stage_id: def.stage.id.clone(),
                attempt,
                task: state.task.clone(),
                config,
                outputs: attempt_outputs(state, &self.meta, self.clock.now_ms()),
                feedback: None,
                interrupted: false,
                previous_failure: None,
                git: workspace.as_ref().and_then(|_| self.run_git()),
            },
            workspace,
            permissions: def.spec.permissions.clone(),
            timeout: Duration::from_millis(def.spec.timeout_ms),
            memory_limit_bytes: def.spec.memory_limit_bytes,
            exec_env: self.exec_env(confinement),
            observer,
            // Finally stages do not start agents: their spend would belong to no stage.
            agent: None,
            confinement: confinement.sandbox.clone(),
        })
    }
}
