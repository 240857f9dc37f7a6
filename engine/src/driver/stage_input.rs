//! What a stage attempt is given besides its component: the run's facts (`@run`), the scope
//! its `if:` and templated `with:` see, and its rendered config.

use std::collections::BTreeMap;
use std::time::Duration;

use engine_core::{AttemptOutcome, RunState, RunStatus, StagePhase};
use engine_store::RunMeta;
use engine_workflow::{RenderLimits, Scope, StageDef, TerminalStatus};
use serde_json::{Map, Value, json};
use tokio::runtime::RuntimeFlavor;

/// The name of the pseudo stage whose outputs carry the run's facts.
pub const RUN_FACTS: &str = "@run";

/// The run's facts at `now_ms`: what `run.*` means in `if:` and templates, and the outputs of
/// `@run`.
pub fn run_facts(state: &RunState, meta: &RunMeta, now_ms: u64) -> Value {
    let (failed_stage, message) = match &state.status {
        RunStatus::Failed { stage, message } => (Some(stage.clone()), message.clone()),
        RunStatus::NeedsAttention { stage, reason } => (Some(stage.clone()), reason.clone()),
        RunStatus::Cancelled { reason } => (None, reason.clone()),
        _ => (None, String::new()),
    };
    let spend = state.spend();
    let duration_ms = match (state.started_at_ms, state.finished_at_ms) {
        (Some(start), Some(end)) => end.saturating_sub(start),
        (Some(start), None) => now_ms.saturating_sub(start),
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

/// The scope `if:` and templated `with:` values see at `now_ms`: `task`, `run`, `stages`, `env`
/// (no secrets: [`rendered_config`] adds the stage's own).
pub fn scope(
    state: &RunState,
    meta: &RunMeta,
    env: &BTreeMap<String, String>,
    now_ms: u64,
) -> Scope {
    Scope {
        task: json!({
            "id": state.task.id,
            "title": state.task.title,
            "body": state.task.body,
            "labels": state.task.labels,
        }),
        run: run_facts(state, meta, now_ms),
        stages: stages_view(state),
        env: json!(env),
        secrets: BTreeMap::new(),
        terminal: TerminalStatus::of(&state.status),
    }
}

/// The outputs a stage attempt sees: every succeeded stage's, plus the run's facts at `now_ms`
/// as `@run`.
pub fn attempt_outputs(state: &RunState, meta: &RunMeta, now_ms: u64) -> BTreeMap<String, Value> {
    let mut outputs: BTreeMap<String, Value> = state
        .stages
        .iter()
        .filter(|(_, s)| s.phase == StagePhase::Succeeded)
        .filter_map(|(id, s)| s.outputs.clone().map(|o| (id.clone(), o)))
        .collect();
    outputs.insert(RUN_FACTS.to_string(), run_facts(state, meta, now_ms));
    outputs
}

/// Evaluates a stage's `if:` (absent: true; `always()` for `finally:` stages).
pub fn condition_holds(def: StageDef<'_>, scope: &Scope) -> Result<bool, String> {
    let Some(source) = &def.spec.condition else {
        return Ok(true);
    };
    engine_workflow::evaluate_condition(source, scope)
        .map_err(|e| format!("the `if:` of stage {:?}: {e}", def.stage.id))
}

/// The stage's `with:` with its templates rendered (its secrets included), within the
/// [`RenderLimits`] of its `timeout:`. The fields a notifier renders itself
/// ([`plugin_rendered_fields`]) are passed as the workflow wrote them: rendering them here too
/// would make the notifier render text that came from the task (its title, say) as a template.
pub fn rendered_config(
    def: StageDef<'_>,
    scope: &Scope,
    secrets: BTreeMap<String, String>,
) -> Result<Value, String> {
    let spec = def.spec;
    let scope = scope.clone().with_secrets(secrets);
    let limits = RenderLimits::for_stage_timeout(Duration::from_millis(spec.timeout_ms));
    let (with, kept) = set_aside(&spec.with, plugin_rendered_fields(&spec.uses));
    let render = || engine_workflow::render_config_within(&def.stage.id, &with, &scope, &limits);
    // The driver's own thread waits (at most the time limit); on the multi-threaded runtime the
    // other tasks (other runs, attempts, timers) move to another worker meanwhile.
    let rendered = match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(render)
        }
        _ => render(),
    };
    let mut rendered = rendered.map_err(|e| e.to_string())?;
    if let Value::Object(map) = &mut rendered {
        map.extend(kept);
    }
    Ok(rendered)
}

pub use engine_workflow::plugin_rendered_fields;

/// `with` without `fields` (when it is a mapping), and those fields as written. A value that is
/// entirely one `{% raw %}...{% endraw %}` block (what keeping a template from the engine took
/// before notifiers rendered these fields alone) is passed without the wrapper.
fn set_aside(with: &Value, fields: &[&str]) -> (Value, Map<String, Value>) {
    let Value::Object(map) = with else {
        return (with.clone(), Map::new());
    };
    let mut rest = map.clone();
    let mut kept = Map::new();
    for field in fields {
        if let Some(value) = rest.remove(*field) {
            let value = match value {
                Value::String(text) => Value::String(unwrap_raw(&text).to_string()),
                other => other,
            };
            kept.insert((*field).to_string(), value);
        }
    }
    (Value::Object(rest), kept)
}

/// The inside of `text` when it is exactly one `{% raw %}...{% endraw %}` block (surrounding
/// whitespace allowed), else `text`.
fn unwrap_raw(text: &str) -> &str {
    let trimmed = text.trim();
    let open = ["{% raw %}", "{%- raw %}", "{% raw -%}", "{%- raw -%}"];
    let close = [
        "{% endraw %}",
        "{%- endraw %}",
        "{% endraw -%}",
        "{%- endraw -%}",
    ];
    for start in open {
        for end in close {
            if let Some(inner) = trimmed
                .strip_prefix(start)
                .and_then(|rest| rest.strip_suffix(end))
                && !inner.contains("{% endraw")
                && !inner.contains("{%- endraw")
            {
                return inner;
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::PluginRef;
    use engine_workflow::StageSpec;

    /// The config of a stage `notify` with this `uses`, `with` and time limit, rendered in
    /// `scope` without secrets.
    fn config_of(uses: &str, with: Value, timeout_ms: u64, scope: &Scope) -> Result<Value, String> {
        let name = uses.trim_start_matches("builtin:").to_string();
        let stage = engine_core::Stage {
            id: "notify".to_string(),
            needs: Vec::new(),
            retry: engine_core::RetryPolicy::default(),
            on_failure: None,
            delivery: engine_core::Delivery::default(),
            approval: None,
        };
        let spec = StageSpec {
            uses: PluginRef::Builtin { name },
            with,
            permissions: engine_core::Permissions::default(),
            timeout_ms,
            memory_limit_bytes: 1 << 20,
            budget_usd: None,
            condition: None,
            secrets: Vec::new(),
        };
        let def = StageDef {
            stage: &stage,
            spec: &spec,
        };
        rendered_config(def, scope, BTreeMap::new())
    }

    fn scope_with_title(title: &str) -> Scope {
        Scope {
            task: json!({"id": "t1", "title": title, "body": "", "labels": []}),
            run: json!({"id": "r1", "status": "running", "branch": "engine/r1"}),
            stages: json!({}),
            env: json!({}),
            secrets: BTreeMap::new(),
            terminal: None,
        }
    }

    #[test]
    fn notifier_message_templates_reach_the_plugin_as_written() {
        let with = json!({
            "url": "http://127.0.0.1:1/{{ task.id }}",
            "message": "{{ task.title }} {{ run.status }}",
            "title": "x",
            "body": "{% raw %}{\"m\": {{ message | tojson }}}{% endraw %}",
        });
        let config = config_of(
            "builtin:webhook",
            with,
            60_000,
            &scope_with_title("{% for i in range(3) %}x{% endfor %}"),
        )
        .expect("rendered");
        assert_eq!(
            config,
            json!({
                "url": "http://127.0.0.1:1/t1",
                "message": "{{ task.title }} {{ run.status }}",
                "title": "x",
                "body": "{\"m\": {{ message | tojson }}}",
            })
        );
        // Any other stage gets every template rendered, task text inserted as data.
        let title = "{% for i in range(3) %}x{% endfor %} {{ run.branch }}";
        let config = config_of(
            "builtin:gate",
            json!({"m": "{{ task.title }}"}),
            60_000,
            &scope_with_title(title),
        );
        assert_eq!(config, Ok(json!({"m": title})));
    }

    #[test]
    fn runaway_templates_fail_the_attempt_with_a_clear_message() {
        let nested = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}\
                      {% endfor %}";
        let err = config_of(
            "builtin:gate",
            json!({"m": nested}),
            3_000,
            &scope_with_title("t"),
        )
        .unwrap_err();
        assert!(err.contains("stage \"notify\": with.m:"), "{err}");
        assert!(err.contains("fuel limit"), "{err}");
    }

    #[test]
    fn only_whole_raw_blocks_are_unwrapped() {
        assert_eq!(unwrap_raw(" {% raw %}{{ a }}{% endraw %}\n"), "{{ a }}");
        assert_eq!(unwrap_raw("{%- raw -%}{{ a }}{%- endraw -%}"), "{{ a }}");
        let two = "{% raw %}a{% endraw %}{{ b }}{% raw %}c{% endraw %}";
        assert_eq!(unwrap_raw(two), two);
        assert_eq!(unwrap_raw("plain"), "plain");
    }
}
