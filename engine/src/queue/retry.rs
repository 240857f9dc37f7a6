//! `engine retry RUN [--from STAGE]`: an ended run opened again from a stage. The stage and
//! everything downstream of it run again with new attempt numbers, and so does every stage that
//! had not succeeded; what succeeded upstream is kept. The run goes on in its own worktree on
//! its own branch (created again when it was removed) with the workflow it started with, and
//! then through the same lifecycle as `engine resume`.

use std::sync::Arc;

use engine_core::{Delivery, Event, RunState, RunStatus, Workflow, retried_stages};
use engine_git::Repo;
use engine_runtime::Host;
use engine_store::{StateDir, Store};

use super::start::{Resumable, add_run_worktree, clear_stale_locks};
use crate::EngineError;
use crate::project::{PreparedWorkflow, stored_workflow};
use crate::report::Reporter;
use crate::time::Clock;

/// Where a run is retried from and what runs again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPlan {
    /// The stage the run starts again from.
    pub from: String,
    /// Every stage that runs again, in workflow order.
    pub again: Vec<String>,
    /// Those of them with `delivery: at_most_once` (merges) that had already succeeded: their
    /// effect happens a second time.
    pub at_most_once_again: Vec<String>,
}

impl RetryPlan {
    /// What the plan means, for people: one line, and one more per at-most-once stage that
    /// runs again.
    pub fn describe(&self, run_id: &str) -> Vec<String> {
        let mut lines = vec![format!(
            "retrying run {run_id} from {}: {} run{} again",
            self.from,
            self.again.join(", "),
            if self.again.len() == 1 { "s" } else { "" }
        )];
        for stage in &self.at_most_once_again {
            lines.push(format!(
                "note: stage {stage} (delivery: at_most_once) already succeeded and will run \
                 again"
            ));
        }
        lines
    }
}

/// Where `engine retry` opens `state` again: `from` when given (a stage of `workflow`), else
/// the stage its failure names, else (a cancelled run) the first stage in workflow order that
/// had not succeeded. Refused for a run that has not ended (resume it, or cancel it first) and,
/// without `from`, for a run that succeeded.
pub fn plan_retry(
    workflow: &Workflow,
    state: &RunState,
    from: Option<&str>,
) -> Result<RetryPlan, EngineError> {
    let run_id = &state.run_id;
    if !state.status.is_terminal() {
        return Err(EngineError::Usage(format!(
            "run {run_id} has not ended ({}): `engine resume {run_id}` continues it; cancel it \
             first to retry it",
            state.status.name()
        )));
    }
    let from = match from {
        Some(stage) => {
            if workflow.stage(stage).is_none() {
                let kind = if workflow.finally_stage(stage).is_some() {
                    "is a finally stage (they run again with the run's new ending)"
                } else {
                    "is not a stage of the run's workflow"
                };
                let stages: Vec<&str> = workflow.stages.iter().map(|s| s.id.as_str()).collect();
                return Err(EngineError::Usage(format!(
                    "--from {stage}: {stage:?} {kind}; its stages: {}",
                    stages.join(", ")
                )));
            }
            stage.to_string()
        }
        None => default_stage(workflow, state)?,
    };
    let again = retried_stages(workflow, state, &from);
    let at_most_once_again = again
        .iter()
        .filter(|id| {
            workflow
                .stage(id)
                .is_some_and(|s| s.delivery == Delivery::AtMostOnce)
                && state.stages.get(*id).is_some_and(|st| {
                    st.history
                        .iter()
                        .any(|r| matches!(r.outcome, engine_core::AttemptOutcome::Succeeded { .. }))
                })
        })
        .cloned()
        .collect();
    Ok(RetryPlan {
        from,
        again,
        at_most_once_again,
    })
}

/// The stage a retry without `--from` starts from.
fn default_stage(workflow: &Workflow, state: &RunState) -> Result<String, EngineError> {
    let run_id = &state.run_id;
    let named = match &state.status {
        RunStatus::Failed { stage, .. } | RunStatus::NeedsAttention { stage, .. } => {
            Some(stage.as_str())
        }
        RunStatus::Succeeded => {
            return Err(EngineError::Usage(format!(
                "run {run_id} succeeded: nothing failed to retry (name a stage with --from to \
                 run it again)"
            )));
        }
        _ => None,
    };
    if let Some(stage) = named.filter(|s| workflow.stage(s).is_some()) {
        return Ok(stage.to_string());
    }
    workflow
        .stages
        .iter()
        .find(|s| state.stages.get(&s.id).is_none_or(|st| !st.is_done()))
        .map(|s| s.id.clone())
        .ok_or_else(|| {
            EngineError::Usage(format!(
                "run {run_id}: every stage succeeded; name a stage with --from"
            ))
        })
}

/// Loads the ended run `run_id` to drive it again from a stage (see [`plan_retry`]): its
/// stored workflow prepared, its worktree created again on its branch when it was removed
/// (repairs reported), the record of its task's status cleared (the new ending is written
/// back). Its first event is `RetryFrom` at `clock`'s time; nothing is stored yet.
pub async fn retryable(
    repo: &Repo,
    state_dir: &StateDir,
    host: &Arc<Host>,
    run_id: &str,
    from: Option<&str>,
    clock: &dyn Clock,
    reporter: &dyn Reporter,
) -> Result<(Resumable, RetryPlan), EngineError> {
    let store = state_dir.store();
    let record = store
        .load(run_id)?
        .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
    let loaded = stored_workflow(&record.meta)?;
    let plan = plan_retry(&loaded.workflow, &record.state, from)?;
    // The stages that keep their results did their work on the run's branch: without it,
    // the stages run again would start from the base, not from that work.
    if !record.state.commits().is_empty() && !repo.branch_exists(&record.meta.branch)? {
        return Err(EngineError::Usage(format!(
            "run {run_id}: its branch {} is gone (`engine gc --branches` removes merged run \
             branches), and with it the work of its earlier stages; start a new run instead",
            record.meta.branch
        )));
    }
    let prepared = PreparedWorkflow::prepare(host, loaded).await?;
    let mut meta = record.meta;
    if meta.worktree.is_none() {
        meta.worktree = Some(state_dir.worktrees_dir().join(&meta.run_id));
    }
    if let Some(link) = meta.task_source.as_mut() {
        link.written_back = None;
    }
    store.update_meta(&meta)?;
    add_run_worktree(repo, &meta, reporter)?;
    clear_stale_locks(repo, &meta, reporter)?;
    let first = Event::RetryFrom {
        stage: plan.from.clone(),
        at_ms: clock.now_ms(),
    };
    let resumable = Resumable {
        prepared,
        meta,
        state: record.state,
        first: Some(first),
    };
    Ok((resumable, plan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::{FailureKind, Task, step};

    fn workflow() -> Workflow {
        engine_workflow::load_str(
            "wf.yaml",
            std::path::Path::new("."),
            "name: wf
stages:
  code: { uses: builtin:gate }
  test: { uses: builtin:gate, needs: [code] }
  merge: { uses: builtin:merge, needs: [test], delivery: at_most_once }
finally:
  notify: { uses: builtin:gate }
",
        )
        .unwrap()
        .workflow
    }

    fn ok(stage: &str, at_ms: u64) -> Event {
        Event::AttemptSucceeded {
            stage: stage.into(),
            attempt: 1,
            at_ms,
            summary: "ok".into(),
            outputs: serde_json::json!({}),
            commits: vec![],
            spend: engine_core::Spend::NONE,
        }
    }

    /// `code` and `test` succeeded, `merge` failed.
    fn failed_at_merge(wf: &Workflow) -> RunState {
        let mut state = engine_core::start(wf, &RunState::new("R1", Task::default(), wf), 0)
            .unwrap()
            .state;
        for (i, id) in ["code", "test"].into_iter().enumerate() {
            state = step(wf, &state, &ok(id, i as u64 + 1)).unwrap().state;
        }
        let failed = Event::AttemptFailed {
            stage: "merge".into(),
            attempt: 1,
            at_ms: 5,
            failure: engine_core::Failure {
                kind: FailureKind::Fatal,
                message: "conflict".into(),
                detail: serde_json::Value::Null,
                retry_at_ms: None,
            },
            spend: engine_core::Spend::NONE,
        };
        step(wf, &state, &failed).unwrap().state
    }

    #[test]
    fn a_failed_run_is_retried_from_its_failed_stage_by_default() {
        let wf = workflow();
        let state = failed_at_merge(&wf);
        let plan = plan_retry(&wf, &state, None).unwrap();
        assert_eq!(plan.from, "merge");
        assert_eq!(plan.again, ["merge"]);
        assert!(plan.at_most_once_again.is_empty());
        let plan = plan_retry(&wf, &state, Some("test")).unwrap();
        assert_eq!(plan.again, ["test", "merge"]);
    }

    #[test]
    fn a_merge_that_succeeded_and_runs_again_is_named() {
        let wf = workflow();
        let mut state = failed_at_merge(&wf);
        // As if the merge had succeeded and the run were cancelled afterwards.
        let merge = state.stages.get_mut("merge").unwrap();
        merge.history[0].outcome = engine_core::AttemptOutcome::Succeeded {
            summary: "merged".into(),
        };
        let plan = plan_retry(&wf, &state, Some("code")).unwrap();
        assert_eq!(plan.at_most_once_again, ["merge"]);
        assert_eq!(
            plan.describe("R1"),
            [
                "retrying run R1 from code: code, test, merge run again",
                "note: stage merge (delivery: at_most_once) already succeeded and will run again"
            ]
        );
    }

    #[test]
    fn unknown_and_finally_stages_and_unended_runs_are_refused() {
        let wf = workflow();
        let state = failed_at_merge(&wf);
        let unknown = plan_retry(&wf, &state, Some("deploy")).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "--from deploy: \"deploy\" is not a stage of the run's workflow; its stages: code, \
             test, merge"
        );
        let finally = plan_retry(&wf, &state, Some("notify")).unwrap_err();
        assert!(
            finally.to_string().contains("is a finally stage"),
            "{finally}"
        );
        let running = engine_core::start(&wf, &RunState::new("R2", Task::default(), &wf), 0)
            .unwrap()
            .state;
        let refused = plan_retry(&wf, &running, None).unwrap_err();
        assert!(
            refused
                .to_string()
                .starts_with("run R2 has not ended (running)"),
            "{refused}"
        );
    }
}
