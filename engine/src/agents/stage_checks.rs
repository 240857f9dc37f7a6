//! Checks of the agent backends the built-in agent stages name, made when the workflow is
//! prepared (`engine validate`, `engine run`): a combination that cannot work is an error at its
//! place in the file, not a stage that retries for minutes.
//!
//! - Every backend named by `builtin:agent` (`with.backend`), `builtin:review` (`with.backend`
//!   and each persona's `backend`) and `builtin:triage` in mode `agent` (`with.agent.backend`)
//!   must be a built-in backend or one of the workflow's `agents.custom`.
//! - `allowed_tools` / `denied_tools` of `builtin:agent` are refused on a backend whose CLI cannot
//!   restrict tools (every one but claude): the CLI would refuse the session at every attempt.
//! - Budgets on sessions whose cost cannot be known and resumes a custom backend cannot make:
//!   [`super::session_checks`].
//!
//! Read-only sessions (review personas, agent-mode triage, `permission_mode: plan`) work with
//! every backend: a CLI with its own read-only mode keeps the session read-only, any other (aider,
//! custom backends) runs it in a throw-away copy of the worktree ([`super::readonly_copy`]).
//! So no backend is refused for them.

use std::path::Path;

use engine_agent::{BackendError, BackendSettings, InvocationContext, SessionRequest};
use engine_core::PluginRef;
use engine_workflow::{Diagnostic, LoadedWorkflow, StageDef};
use serde_json::Value;

use super::AgentConfig;

/// The backend a stage uses when its config names none (the built-in stages' default).
const DEFAULT_BACKEND: &str = "claude";

/// One backend named by a stage.
struct Use<'a> {
    /// The field naming it (dotted), or the stage's `with` when defaulted.
    field: String,
    /// The name.
    name: &'a str,
    /// The tool lists the stage asks for, with the field holding them.
    tools: Option<(String, Vec<String>, Vec<String>)>,
}

/// Problems of the backends the built-in agent stages of `loaded` name, given the workflow's
/// agent settings `config`.
pub fn check_stage_backends(loaded: &LoadedWorkflow, config: &AgentConfig) -> Vec<Diagnostic> {
    let stages = loaded
        .stage_defs()
        .map(|def| ("stages", def))
        .chain(loaded.finally_defs().map(|def| ("finally", def)));
    let mut problems = Vec::new();
    for (section, stage) in stages {
        for u in uses(section, stage) {
            let mut report =
                |field: &str, message: String| problems.push(loaded.diagnostic(field, message));
            let settings = config
                .backends
                .get(u.name)
                .cloned()
                .unwrap_or_else(BackendSettings::default);
            let backend = match engine_agent::backends::backend(u.name, &settings, &config.custom) {
                Ok(backend) => backend,
                Err(BackendError::Unknown { name, known }) => {
                    let names = engine_agent::backends::BUILTIN_BACKENDS
                        .iter()
                        .copied()
                        .chain(config.custom.keys().map(String::as_str));
                    let hint = engine_workflow::closest(&name, names)
                        .map(|near| format!("did you mean {near:?}? "))
                        .unwrap_or_default();
                    report(
                        &u.field,
                        format!(
                            "unknown agent backend {name:?} ({hint}known: {known}; declare other \
                             CLIs under agents.custom)"
                        ),
                    );
                    continue;
                }
                // Settings problems are reported where the settings are.
                Err(_) => continue,
            };
            let Some((field, allowed, denied)) = u.tools else {
                continue;
            };
            let probe = |allowed_tools: Vec<String>, denied_tools: Vec<String>| {
                let request = SessionRequest {
                    backend: u.name.to_string(),
                    prompt: "probe".into(),
                    allowed_tools,
                    denied_tools,
                    ..Default::default()
                };
                backend
                    .invocation(InvocationContext {
                        request: &request,
                        scratch_dir: Path::new("/nonexistent-scratch"),
                        tiers: &config.tiers,
                    })
                    .err()
            };
            // Only the tool lists are judged: the same request without them must be fine.
            if probe(Vec::new(), Vec::new()).is_some() {
                continue;
            }
            if let Some(BackendError::Unsupported { .. }) = probe(allowed, denied) {
                report(
                    &field,
                    format!(
                        "backend {:?} cannot restrict tools (only claude takes allowed_tools / \
                         denied_tools): every session would be refused; remove the tool lists \
                         (use `permission_mode: plan` for a read-only session) or use claude",
                        u.name
                    ),
                );
            }
        }
    }
    problems.extend(super::session_checks::check_sessions(loaded, config));
    problems
}

/// The backends the stage names, when it is one of the built-in agent stages.
fn uses<'a>(section: &str, def: StageDef<'a>) -> Vec<Use<'a>> {
    let PluginRef::Builtin { name } = &def.spec.uses else {
        return Vec::new();
    };
    let at = format!("{section}.{}.with", def.stage.id);
    let with = &def.spec.with;
    let named = |value: Option<&'a Value>, field: String| -> Option<Use<'a>> {
        match value {
            Some(Value::String(name)) => Some(Use {
                field,
                name,
                tools: None,
            }),
            // Wrong types are the schema's to report.
            Some(_) => None,
            None => Some(Use {
                field: at.clone(),
                name: DEFAULT_BACKEND,
                tools: None,
            }),
        }
    };
    match name.as_str() {
        "agent" => {
            let Some(mut u) = named(with.get("backend"), format!("{at}.backend")) else {
                return Vec::new();
            };
            let list = |key: &str| -> Vec<String> {
                with.get(key)
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let (allowed, denied) = (list("allowed_tools"), list("denied_tools"));
            if !allowed.is_empty() || !denied.is_empty() {
                let key = if allowed.is_empty() {
                    "denied_tools"
                } else {
                    "allowed_tools"
                };
                u.tools = Some((format!("{at}.{key}"), allowed, denied));
            }
            vec![u]
        }
        "review" => {
            let mut all: Vec<Use<'a>> = named(with.get("backend"), format!("{at}.backend"))
                .into_iter()
                .collect();
            let personas = with.get("personas").and_then(Value::as_array);
            for (i, persona) in personas.into_iter().flatten().enumerate() {
                if let Some(Value::String(name)) = persona.get("backend") {
                    all.push(Use {
                        field: format!("{at}.personas[{i}].backend"),
                        name,
                        tools: None,
                    });
                }
            }
            all
        }
        "triage" if with.get("mode").and_then(Value::as_str) == Some("agent") => {
            let agent = with.get("agent");
            named(
                agent.and_then(|a| a.get("backend")),
                format!("{at}.agent.backend"),
            )
            .into_iter()
            .collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[path = "stage_checks_tests.rs"]
mod tests;
