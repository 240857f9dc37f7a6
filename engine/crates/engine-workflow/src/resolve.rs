//! Building the typed [`Workflow`] and each stage's [`StageSpec`] from a parsed document: defaults
//! resolved, durations and sizes converted, and the value checks JSON Schema cannot express (zero timeouts, units, builtin
//! names). Tolerant: a field the schema already rejected is skipped or defaulted here, so every
//! problem in the file is reported in one pass.

use std::collections::BTreeMap;

use engine_core::{
    Delivery, OnFailure, Permissions, PluginRef, RetryPolicy, Stage, Workflow, WorkspaceAccess,
};
use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::limits::{memory, merge_retry, timeout};
use crate::stage_spec::{DEFAULT_MEMORY_LIMIT_BYTES, DEFAULT_TIMEOUT_MS, StageSpec};

/// A workflow built from a document, with where each `needs` entry was written.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The typed workflow (meaningful only when no problem was found).
    pub(crate) workflow: Workflow,
    /// The spec of each stage of `workflow.stages`, in the same order. (Kept in order rather
    /// than by id: ids are not yet known to be unique while the checks run.)
    pub(crate) stage_specs: Vec<StageSpec>,
    /// The spec of each stage of `workflow.finally`, in the same order.
    pub(crate) finally_specs: Vec<StageSpec>,
    /// The `env:` mapping.
    pub(crate) env: BTreeMap<String, String>,
    /// The `description:`.
    pub(crate) description: Option<String>,
    /// Models, budgets, prices and agent settings.
    pub(crate) agents: crate::agents::AgentSettings,
    /// The `git:` settings.
    pub(crate) git: crate::git_settings::GitSettings,
    /// The `tasks:` section.
    pub(crate) tasks: Option<crate::task_source::TaskSourceSpec>,
    /// The `limits:` section.
    pub(crate) limits: crate::run_limits::RunLimits,
    /// The `sandbox:` section and stages' grants.
    pub(crate) sandbox: crate::sandbox_settings::SandboxSettings,
    /// The `caches:` section.
    pub(crate) caches: crate::cache_settings::CacheSettings,
    /// The `concurrency:` section, if any.
    pub(crate) concurrency: Option<crate::concurrency_settings::Concurrency>,
    /// For each stage, the field of each of its `needs` entries.
    pub(crate) needs_fields: Vec<Vec<FieldPath>>,
}

/// Stage settings that `defaults:` provides.
#[derive(Debug, Clone, Copy)]
struct StageDefaults {
    timeout_ms: u64,
    memory_bytes: u64,
    retry: RetryPolicy,
}

/// Resolves `document` (stages taken in `stage_order`, `finally:` stages in `finally_order`),
/// adding value problems to `problems`.
pub(crate) fn resolve(
    document: &Value,
    stage_order: &[String],
    finally_order: &[String],
    problems: &mut Vec<Problem>,
) -> Resolved {
    let empty = Map::new();
    let root = document.as_object().unwrap_or(&empty);
    let defaults = read_defaults(root.get("defaults"), problems);
    let stages_map = root
        .get("stages")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut stages = Vec::with_capacity(stage_order.len());
    let mut stage_specs = Vec::with_capacity(stage_order.len());
    let mut needs_fields = Vec::with_capacity(stage_order.len());
    for id in stage_order {
        let path = FieldPath::keys(&["stages", id]);
        let body = stages_map
            .get(id)
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let (stage, spec, fields) = read_stage(id, body, &path, &defaults, problems);
        stages.push(stage);
        stage_specs.push(spec);
        needs_fields.push(fields);
    }
    let (finally, finally_specs) = read_finally(root, finally_order, &stages, &defaults, problems);
    let env = root
        .get("env")
        .and_then(Value::as_object)
        .map(|vars| {
            vars.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    crate::env_checks::check_env_names(root, problems);
    Resolved {
        workflow: Workflow {
            name: text(root.get("name")).unwrap_or_default(),
            stages,
            finally,
            timeout_ms: timeout(
                root.get("timeout"),
                &FieldPath::keys(&["timeout"]),
                problems,
            ),
        },
        stage_specs,
        finally_specs,
        env,
        description: text(root.get("description")),
        agents: crate::agents::read_agent_settings(root, problems),
        git: crate::git_settings::read_git_settings(root, problems),
        tasks: crate::task_source::read_tasks(root),
        limits: crate::run_limits::read_run_limits(root, problems),
        sandbox: crate::sandbox_settings::read_sandbox_settings(root, problems),
        caches: crate::cache_settings::read_cache_settings(root, problems),
        concurrency: crate::concurrency_settings::read_concurrency(root, problems),
        needs_fields,
    }
}

/// The `finally:` stages and their specs, in file order. Their `needs` and `on_failure` are never read (the
/// schema rejects them); an id that is also a stage id is a problem.
fn read_finally(
    root: &Map<String, Value>,
    finally_order: &[String],
    stages: &[Stage],
    defaults: &StageDefaults,
    problems: &mut Vec<Problem>,
) -> (Vec<Stage>, Vec<StageSpec>) {
    let empty = Map::new();
    let section = root.get("finally").and_then(Value::as_object);
    let mut finally = Vec::with_capacity(finally_order.len());
    let mut specs = Vec::with_capacity(finally_order.len());
    for id in finally_order {
        let path = FieldPath::keys(&["finally", id]);
        if stages.iter().any(|s| s.id == *id) {
            problems.push(Problem::at_key(
                path.clone(),
                path.clone(),
                format!(
                    "\"{id}\" is already the id of a stage under stages; give this finally stage \
                     an id of its own (results and outputs are looked up by id)"
                ),
            ));
        }
        let body = section
            .and_then(|s| s.get(id))
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let (mut stage, spec, _) = read_stage(id, body, &path, defaults, problems);
        stage.needs.clear();
        stage.on_failure = None;
        if stage.approval.is_some() {
            problems.push(Problem::at(
                path.key("uses"),
                "a finally stage cannot be an approval stage: finally stages run once the run \
                 has ended, with nobody left to wait for",
            ));
        }
        finally.push(stage);
        specs.push(spec);
    }
    (finally, specs)
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_string)
}

fn read_defaults(value: Option<&Value>, problems: &mut Vec<Problem>) -> StageDefaults {
    let path = FieldPath::keys(&["defaults"]);
    let body = value.and_then(Value::as_object);
    let field = |name: &str| body.and_then(|b| b.get(name));
    StageDefaults {
        timeout_ms: timeout(field("timeout"), &path.key("timeout"), problems)
            .unwrap_or(DEFAULT_TIMEOUT_MS),
        memory_bytes: memory(field("memory"), &path.key("memory"), problems)
            .unwrap_or(DEFAULT_MEMORY_LIMIT_BYTES),
        retry: merge_retry(
            RetryPolicy::default(),
            field("retry"),
            &path.key("retry"),
            problems,
        ),
    }
}

fn read_stage(
    id: &str,
    body: &Map<String, Value>,
    path: &FieldPath,
    defaults: &StageDefaults,
    problems: &mut Vec<Problem>,
) -> (Stage, StageSpec, Vec<FieldPath>) {
    let (needs, needs_fields) = read_needs(body.get("needs"), &path.key("needs"));
    let with = match body.get("with") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(config) => config.clone(),
    };
    // Fields are read in the order the problems they find were always reported in.
    let uses = plugin_ref(body, path, problems);
    let timeout_ms =
        timeout(body.get("timeout"), &path.key("timeout"), problems).unwrap_or(defaults.timeout_ms);
    let memory_limit_bytes =
        memory(body.get("memory"), &path.key("memory"), problems).unwrap_or(defaults.memory_bytes);
    let stage = Stage {
        id: id.to_string(),
        needs,
        retry: merge_retry(
            defaults.retry,
            body.get("retry"),
            &path.key("retry"),
            problems,
        ),
        on_failure: on_failure(body.get("on_failure")),
        delivery: match body.get("delivery").and_then(Value::as_str) {
            Some("at_most_once") => Delivery::AtMostOnce,
            _ => Delivery::AtLeastOnce,
        },
        approval: crate::approval::read_approval(body, path, problems),
    };
    let spec = StageSpec {
        uses,
        with,
        permissions: permissions(body.get("permissions")),
        timeout_ms,
        memory_limit_bytes,
        budget_usd: body.get("budget_usd").and_then(Value::as_f64),
        condition: text(body.get("if")),
        secrets: strings(body.get("secrets")),
    };
    (stage, spec, needs_fields)
}

/// Whether `name` is a well-formed builtin (and stage id): `^[a-z][a-z0-9_-]*$`.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn plugin_ref(
    body: &Map<String, Value>,
    path: &FieldPath,
    problems: &mut Vec<Problem>,
) -> PluginRef {
    let uses = body.get("uses").and_then(Value::as_str).unwrap_or_default();
    match uses.strip_prefix("builtin:") {
        Some(name) => {
            if !is_identifier(name) {
                problems.push(Problem::at(
                    path.key("uses"),
                    format!(
                        "\"{name}\" is not a valid builtin name: use a lowercase letter, then \
                         lowercase letters, digits, '_' or '-' (e.g. builtin:gate)"
                    ),
                ));
            }
            PluginRef::Builtin {
                name: name.to_string(),
            }
        }
        None => PluginRef::Path {
            path: uses.to_string(),
            sha256: text(body.get("sha256")).unwrap_or_default(),
        },
    }
}

fn read_needs(value: Option<&Value>, path: &FieldPath) -> (Vec<String>, Vec<FieldPath>) {
    match value {
        Some(Value::String(one)) => (vec![one.clone()], vec![path.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| Some((item.as_str()?.to_string(), path.index(i))))
            .unzip(),
        _ => (Vec::new(), Vec::new()),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| Some(i.as_str()?.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn permissions(value: Option<&Value>) -> Permissions {
    let field = |name: &str| value.and_then(|v| v.get(name));
    Permissions {
        workspace: match field("workspace").and_then(Value::as_str) {
            Some("read") => WorkspaceAccess::Read,
            Some("write") => WorkspaceAccess::Write,
            _ => WorkspaceAccess::None,
        },
        exec: strings(field("exec")),
        agent: field("agent").and_then(Value::as_bool).unwrap_or(false),
        net: strings(field("net")),
    }
}

fn on_failure(value: Option<&Value>) -> Option<OnFailure> {
    let body = value?.as_object()?;
    Some(OnFailure {
        goto: body.get("goto")?.as_str()?.to_string(),
        max_loops: body
            .get("max_loops")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve_json(document: &Value) -> (Resolved, Vec<String>) {
        let order: Vec<String> = document["stages"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let finally_order: Vec<String> = document["finally"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let mut problems = Vec::new();
        let resolved = resolve(document, &order, &finally_order, &mut problems);
        let texts = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect();
        (resolved, texts)
    }

    #[test]
    fn defaults_apply_and_retry_merges_key_by_key() {
        let (resolved, problems) = resolve_json(&json!({
            "name": "x",
            "defaults": {"timeout": "10m", "memory": "64MiB",
                         "retry": {"max_attempts": 5, "backoff": 3.0}},
            "stages": {
                "a": {"uses": "builtin:gate", "retry": {"max_attempts": 1}},
                "b": {"uses": "builtin:gate", "timeout": "500ms", "memory": 1024,
                      "retry": {"initial_interval": "1s"}}
            }
        }));
        assert!(problems.is_empty(), "{problems:?}");
        let a = &resolved.workflow.stages[0];
        let a_spec = &resolved.stage_specs[0];
        assert_eq!(a_spec.timeout_ms, 600_000);
        assert_eq!(a_spec.memory_limit_bytes, 64 << 20);
        assert_eq!(
            a.retry,
            RetryPolicy {
                max_attempts: 1,
                initial_interval_ms: 10_000,
                backoff: 3.0,
                max_interval_ms: 300_000
            }
        );
        let b = &resolved.workflow.stages[1];
        let b_spec = &resolved.stage_specs[1];
        assert_eq!((b_spec.timeout_ms, b_spec.memory_limit_bytes), (500, 1024));
        assert_eq!(
            b.retry,
            RetryPolicy {
                max_attempts: 5,
                initial_interval_ms: 1_000,
                backoff: 3.0,
                max_interval_ms: 300_000
            }
        );
    }

    #[test]
    fn engine_defaults_without_defaults_block() {
        let (resolved, _) =
            resolve_json(&json!({"name": "x", "stages": {"a": {"uses": "builtin:gate"}}}));
        let a = &resolved.workflow.stages[0];
        let a_spec = &resolved.stage_specs[0];
        assert_eq!(a_spec.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(a_spec.memory_limit_bytes, DEFAULT_MEMORY_LIMIT_BYTES);
        assert_eq!(a.retry, RetryPolicy::default());
        assert_eq!(a_spec.with, json!({}));
        assert_eq!(a_spec.permissions, Permissions::default());
        assert_eq!(a.delivery, Delivery::AtLeastOnce);
        assert_eq!(a.on_failure, None);
    }

    #[test]
    fn value_problems_are_reported() {
        let (_, problems) = resolve_json(&json!({
            "name": "x",
            "defaults": {"timeout": "0s", "retry": {"max_attempts": 0, "backoff": 0.5}},
            "stages": {
                "a": {"uses": "builtin:Gate", "timeout": "10 parsecs", "memory": "0MiB"},
                "b": {"uses": "builtin:gate", "memory": "12 furlongs"}
            }
        }));
        let joined = problems.join("\n");
        for expected in [
            "defaults.timeout: a timeout must be at least 1ms",
            "defaults.retry.max_attempts: must be at least 1",
            "defaults.retry.backoff: must be at least 1.0 (got 0.5)",
            "stages.a.uses: \"Gate\" is not a valid builtin name",
            "stages.a.timeout: \"10 parsecs\" is not a duration",
            "stages.a.memory: a memory limit must be greater than zero",
            "stages.b.memory: \"12 furlongs\" is not a size",
        ] {
            assert!(
                joined.contains(expected),
                "missing {expected:?} in:\n{joined}"
            );
        }
        assert_eq!(problems.len(), 7, "{joined}");
    }

    #[test]
    fn stage_fields_are_read() {
        let (resolved, _) = resolve_json(&json!({"name": "x", "env": {"A": "1"}, "stages": {
            "a": {"uses": "plugins/x.wasm", "sha256": "ab", "needs": "b",
                  "with": {"k": [1]}, "permissions": {"workspace": "write", "exec": ["git"], "agent": true, "net": ["h"]},
                  "on_failure": {"goto": "b"}, "delivery": "at_most_once"},
            "b": {"uses": "builtin:gate", "needs": ["a", "c"], "with": null}
        }}));
        let a = &resolved.workflow.stages[0];
        let a_spec = &resolved.stage_specs[0];
        assert_eq!(
            a_spec.uses,
            PluginRef::Path {
                path: "plugins/x.wasm".into(),
                sha256: "ab".into()
            }
        );
        assert_eq!(a.needs, vec!["b"]);
        assert_eq!(a_spec.with, json!({"k": [1]}));
        assert_eq!(a_spec.permissions.workspace, WorkspaceAccess::Write);
        assert_eq!(
            (
                a_spec.permissions.exec.clone(),
                a_spec.permissions.agent,
                a_spec.permissions.net.clone()
            ),
            (vec!["git".to_string()], true, vec!["h".to_string()])
        );
        assert_eq!(
            a.on_failure,
            Some(OnFailure {
                goto: "b".into(),
                max_loops: 1
            })
        );
        assert_eq!(a.delivery, Delivery::AtMostOnce);
        assert_eq!(
            resolved.needs_fields[0],
            vec![FieldPath::keys(&["stages", "a", "needs"])]
        );
        assert_eq!(
            resolved.needs_fields[1][1],
            FieldPath::keys(&["stages", "b", "needs"]).index(1)
        );
        assert_eq!(resolved.stage_specs[1].with, json!({}));
        assert_eq!(resolved.env.get("A").map(String::as_str), Some("1"));
    }
}
