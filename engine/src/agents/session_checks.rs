//! The agent sessions the built-in agent stages will start, as far as the workflow says
//! (backend, model, budgets, whether an unfinished session is resumed), and the checks made on
//! them when the workflow is prepared:
//!
//! - a budget applies to a session whose cost cannot be known (a CLI that reports no USD and a
//!   model no price covers, or no model at all): the host would refuse the session when it
//!   starts, so the workflow is refused at its place instead;
//! - `builtin:agent` resumes an unfinished session on a custom backend whose output names
//!   sessions (`session_regex`, `format: jsonl`) but whose command has no `{session}`: the host
//!   would refuse the resume.
//!
//! Values written as templates (`model: "{{ ... }}"`) are only known when the stage starts and
//! are not judged.

use engine_agent::BackendSettings;
use engine_agent::backends::{CustomBackendConfig, CustomFormat};
use engine_core::PluginRef;
use engine_workflow::{Diagnostic, LoadedWorkflow, StageDef};
use serde_json::Value;

use super::AgentConfig;

/// The backend and tier the built-in stages use when their config names none.
const DEFAULT_BACKEND: &str = "claude";
/// The model tier `builtin:review` and agent-mode `builtin:triage` ask for by default.
const DEFAULT_TIER: &str = "smart";

/// The model a session asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// A model id or a tier name, with the field naming it (or the stage's `with` when it is
    /// the stage's default).
    Named(String, String),
    /// A template: known only when the stage starts.
    Templated,
    /// None: the CLI's own default.
    CliDefault,
}

/// One kind of agent session a built-in stage starts.
#[derive(Debug, Clone)]
pub struct Session {
    /// The stage's id.
    pub stage: String,
    /// The backend's name.
    pub backend: String,
    /// The field naming the backend (the stage's `with` when defaulted).
    pub backend_field: String,
    /// The model it asks for.
    pub model: Model,
    /// The field of the session's own budget (`with.budget_usd`...), when set.
    pub own_budget: Option<String>,
    /// The field of the stage's `budget_usd`, when set.
    pub stage_budget: Option<String>,
    /// For `builtin:agent`: how many sessions an attempt may run (`continuation.max_iterations`,
    /// `None` when templated); `Some(1)` never resumes.
    pub max_iterations: Option<u64>,
}

/// Every session the built-in agent stages of `loaded` (stages and finally stages) may start.
pub fn sessions(loaded: &LoadedWorkflow) -> Vec<Session> {
    let stages = loaded
        .stage_defs()
        .map(|def| ("stages", def))
        .chain(loaded.finally_defs().map(|def| ("finally", def)));
    stages
        .flat_map(|(section, def)| of_stage(section, def))
        .collect()
}

fn of_stage(section: &str, def: StageDef<'_>) -> Vec<Session> {
    let PluginRef::Builtin { name } = &def.spec.uses else {
        return Vec::new();
    };
    let at = format!("{section}.{}.with", def.stage.id);
    let with = &def.spec.with;
    let session = |settings: Option<&Value>, prefix: &str, default_model: Option<&str>| {
        let get = |key: &str| settings.and_then(|s| s.get(key));
        let backend = match get("backend") {
            Some(Value::String(name)) => (name.clone(), format!("{at}{prefix}.backend")),
            Some(_) => return None,
            None => (DEFAULT_BACKEND.to_string(), at.clone()),
        };
        let model = model_of(
            get("model"),
            &format!("{at}{prefix}.model"),
            default_model,
            &at,
        );
        Some(Session {
            stage: def.stage.id.clone(),
            backend: backend.0,
            backend_field: backend.1,
            model,
            own_budget: get("budget_usd")
                .filter(|v| !v.is_null())
                .map(|_| format!("{at}{prefix}.budget_usd")),
            stage_budget: def
                .spec
                .budget_usd
                .map(|_| format!("{section}.{}.budget_usd", def.stage.id)),
            max_iterations: None,
        })
    };
    match name.as_str() {
        "agent" => {
            let Some(mut s) = session(Some(with), "", None) else {
                return Vec::new();
            };
            s.max_iterations = match with.pointer("/continuation/max_iterations") {
                None => Some(10),
                Some(value) => value.as_u64(),
            };
            vec![s]
        }
        "review" => {
            let Some(stage) = session(Some(with), "", Some(DEFAULT_TIER)) else {
                return Vec::new();
            };
            let mut all = Vec::new();
            let personas = with.get("personas").and_then(Value::as_array);
            let mut inherited = personas.is_none();
            for (i, persona) in personas.into_iter().flatten().enumerate() {
                if !persona.is_object() {
                    inherited = true;
                    continue;
                }
                let backend = match persona.get("backend") {
                    Some(Value::String(name)) => {
                        (name.clone(), format!("{at}.personas[{i}].backend"))
                    }
                    _ => (stage.backend.clone(), stage.backend_field.clone()),
                };
                let model = match persona.get("model") {
                    None => stage.model.clone(),
                    some => model_of(some, &format!("{at}.personas[{i}].model"), None, &at),
                };
                all.push(Session {
                    backend: backend.0,
                    backend_field: backend.1,
                    model,
                    ..stage.clone()
                });
            }
            if inherited {
                all.push(stage);
            }
            all
        }
        "triage" if with.get("mode").and_then(Value::as_str) == Some("agent") => {
            let agent = with.get("agent");
            session(agent, ".agent", Some(DEFAULT_TIER))
                .into_iter()
                .collect()
        }
        _ => Vec::new(),
    }
}

fn model_of(value: Option<&Value>, field: &str, default: Option<&str>, at: &str) -> Model {
    match value {
        Some(Value::String(m)) if engine_workflow::is_template(m) => Model::Templated,
        Some(Value::String(m)) => Model::Named(m.clone(), field.to_string()),
        // Wrong types are the schema's to report.
        Some(_) => Model::Templated,
        None => default.map_or(Model::CliDefault, |m| {
            Model::Named(m.to_string(), at.to_string())
        }),
    }
}

/// Budgets on sessions whose cost cannot be known, and resumes a custom backend cannot make.
/// Sessions on unknown backends are skipped (they are reported where they are named).
pub fn check_sessions(loaded: &LoadedWorkflow, config: &AgentConfig) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut report =
        |field: &str, message: String| problems.push(loaded.diagnostic(field, message));
    let workflow_budget = [
        ("budget.run_usd", config.run_budget_usd),
        ("budget.day_usd", config.day_budget_usd),
    ]
    .into_iter()
    .find_map(|(field, limit)| limit.map(|_| field));
    for s in sessions(loaded) {
        let settings = config
            .backends
            .get(&s.backend)
            .cloned()
            .unwrap_or_else(BackendSettings::default);
        let Ok(backend) = engine_agent::backends::backend(&s.backend, &settings, &config.custom)
        else {
            continue;
        };
        let budget = s
            .own_budget
            .clone()
            .or_else(|| s.stage_budget.clone())
            .or_else(|| workflow_budget.map(str::to_string));
        if let Some(budget) = budget
            && !backend.reports_cost()
        {
            let unpriced = match &s.model {
                Model::Templated => None,
                Model::CliDefault => Some((
                    s.backend_field.clone(),
                    format!(
                        "a budget applies ({budget}) but {} reports no cost and the session names \
                         no model to price: the host would refuse every session; set the stage's \
                         `model:` (a model id, or a tier under `models:`) and add a `prices:` \
                         entry for it when the built-in price table lacks it",
                        s.backend
                    ),
                )),
                Model::Named(model, field) => {
                    let resolved = config
                        .resolve_model(Some(model))
                        .unwrap_or_else(|| model.clone());
                    config.pricing.lookup(&resolved).is_none().then(|| {
                        (
                            field.clone(),
                            format!(
                                "a budget applies ({budget}) but {} reports no cost and no price \
                                 is known for model {resolved}: its spending could not be \
                                 counted and the host would refuse every session; add \
                                 `prices: {{ {resolved}: {{ input: X, output: Y }} }}` (USD per \
                                 million tokens) to the workflow",
                                s.backend
                            ),
                        )
                    })
                }
            };
            if let Some((field, message)) = unpriced {
                report(&field, message);
            }
        }
        if let Some(custom) = config.custom.get(&s.backend)
            && s.max_iterations.is_some_and(|n| n > 1)
            && let Some(why) = names_sessions_without_resume(custom)
        {
            report(
                &s.backend_field,
                format!(
                    "custom backend {:?} {why} but its command has no {{session}} placeholder: \
                     when a session ends unfinished the stage resumes it (continuation.\
                     max_iterations: {}), which the backend cannot do; add an argument such as \
                     \"--resume={{session}}\" to agents.custom.{}.command, or set \
                     `continuation: {{ max_iterations: 1 }}`",
                    s.backend,
                    s.max_iterations.unwrap_or_default(),
                    s.backend
                ),
            );
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// Why the custom backend's sessions get ids (so the stage would resume them) without a way to
/// resume: `None` when it has `{session}` or its output names no session.
fn names_sessions_without_resume(config: &CustomBackendConfig) -> Option<&'static str> {
    if config.command.iter().any(|a| a.contains("{session}")) {
        return None;
    }
    if config.session_regex.is_some() {
        Some("names its sessions (session_regex)")
    } else if config.format == CustomFormat::Jsonl {
        Some("may name its sessions (format: jsonl)")
    } else {
        None
    }
}

#[cfg(test)]
#[path = "session_checks_tests.rs"]
mod tests;
