//! What a stage attempt is given besides its component: the run's facts (`@run`), the scope
//! its `if:` and templated `with:` see, and its rendered config.

use std::collections::BTreeMap;

use engine_core::{AttemptOutcome, RunState, RunStatus, StagePhase};
use engine_store::RunMeta;
use engine_workflow::{Scope, TerminalStatus};
use serde_json::{Map, Value, json};

/// The name of the pseudo stage whose outputs carry the run's facts.
pub const RUN_FACTS: &str = "@run";

/// The run's facts: what `run.*` means in `if:` and templates, and the outputs of `@run`.
pub fn run_facts(state: &RunState, meta: &RunMeta) -> Value {
    let (failed_stage, message) = match &state.status {
        RunStatus::Failed { stage, message } => (Some(stage.clone()), message.clone()),
        RunStatus::NeedsAttention { stage, reason } => (Some(stage.clone()), reason.clone()),
        RunStatus::Cancelled { reason } => (None, reason.clone()),
        _ => (None, String::new()),
    };
    let spend = state.spend();
    let duration_ms = match (state.started_at_ms, state.finished_at_ms) {
        (Some(start), Some(end)) => end.saturating_sub(start),
        (Some(start), None) => crate::time::now_ms().saturating_sub(start),
        _ => 0,
    };
    json!({
        "id": state.run_id,
        "run_id": state.run_id,
        "status": state.status.name(),
        "failed_stage": failed_stage,
        "message": message,
        "stalled": stalled(state),
        "resumed": resumed(state),
        // Rounded: sums of floats print as 0.30999999999999994.
        "cost_usd": (spend.cost_usd * 1e6).round() / 1e6,
        "cost_known": spend.cost_known,
        "duration_ms": duration_ms,
        "branch": meta.branch,
        "base_branch": meta.base_branch,
        "workflow": meta.workflow_name,
    })
}

/// Whether an agent attempt of this run stalled (it failed asking for a stronger tier).
fn stalled(state: &RunState) -> bool {
    state.stages.values().flat_map(|s| &s.history).any(|r| {
        matches!(&r.outcome, AttemptOutcome::Failed { failure }
            if failure.detail.get("force_tier").is_some())
    })
}

/// Whether a driver ever took this run up again after its previous one stopped.
fn resumed(state: &RunState) -> bool {
    state
        .stages
        .values()
        .flat_map(|s| &s.history)
        .any(|r| r.outcome == AttemptOutcome::Interrupted)
}

/// `stages.<id>` for expressions and templates: outputs, result, summary and attempts of
/// every stage.
fn stages_view(state: &RunState) -> Value {
    let mut stages = Map::new();
    for (id, st) in &state.stages {
        stages.insert(
            id.clone(),
            json!({
                "outputs": st.outputs.clone().unwrap_or_else(|| json!({})),
                "result": engine_workflow::stage_result(&st.phase),
                "summary": st.summary.clone().unwrap_or_default(),
                "attempts": st.attempts,
            }),
        );
    }
    Value::Object(stages)
}

/// The scope `if:` and templated `with:` values see: `task`, `run`, `stages`, `env` (no
/// secrets: [`rendered_config`] adds the stage's own).
pub fn scope(state: &RunState, meta: &RunMeta, env: &BTreeMap<String, String>) -> Scope {
    Scope {
        task: json!({
            "id": state.task.id,
            "title": state.task.title,
            "body": state.task.body,
            "labels": state.task.labels,
        }),
        run: run_facts(state, meta),
        stages: stages_view(state),
        env: json!(env),
        secrets: BTreeMap::new(),
        terminal: TerminalStatus::of(&state.status),
    }
}

/// The outputs a stage attempt sees: every succeeded stage's, plus the run's facts as `@run`.
pub fn attempt_outputs(state: &RunState, meta: &RunMeta) -> BTreeMap<String, Value> {
    let mut outputs: BTreeMap<String, Value> = state
        .stages
        .iter()
        .filter(|(_, s)| s.phase == StagePhase::Succeeded)
        .filter_map(|(id, s)| s.outputs.clone().map(|o| (id.clone(), o)))
        .collect();
    outputs.insert(RUN_FACTS.to_string(), run_facts(state, meta));
    outputs
}

/// Evaluates a stage's `if:` (absent: true; `always()` for `finally:` stages).
pub fn condition_holds(stage: &engine_core::Stage, scope: &Scope) -> Result<bool, String> {
    let Some(source) = &stage.condition else {
        return Ok(true);
    };
    engine_workflow::evaluate_condition(source, scope)
        .map_err(|e| format!("the `if:` of stage {:?}: {e}", stage.id))
}

/// The stage's `with:` with its templates rendered (its secrets included).
pub fn rendered_config(
    stage: &engine_core::Stage,
    scope: &Scope,
    secrets: BTreeMap<String, String>,
) -> Result<Value, String> {
    let scope = scope.clone().with_secrets(secrets);
    engine_workflow::render_config(&stage.id, &stage.with, &scope).map_err(|e| e.to_string())
}
