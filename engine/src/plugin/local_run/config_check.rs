//! The config check of `engine plugin run`, made by the code `engine validate` runs: the config
//! and the grants become a one-stage workflow (or its `tasks:` section, for a task source),
//! loaded by [`engine_workflow::load_str`] and checked against what the component declares
//! with [`engine_workflow::LoadedWorkflow::check_plugins`] (or `check_task_source`). The
//! diagnostics' fields are then named the way the command line names them: `config.x` for
//! `stages.<id>.with.x`, `--exec` for `permissions.exec`.

use std::path::Path;

use engine_core::{Permissions, PluginRef};
use engine_workflow::{Diagnostic, PluginInfo, TASKS_ENGINE_KEYS};
use serde_json::{Map, Value, json};

/// A stand-in pin for a file component (the file itself is not read by the check).
const ANY_PIN: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Problems (`field: message`, one each) of running the stage `label` as `stage_id` with
/// `config` and `granted`; empty when the run fits the component.
pub(super) fn check_stage(
    label: &str,
    stage_id: &str,
    config: &Value,
    granted: &Permissions,
    info: &PluginInfo,
) -> Vec<String> {
    let mut stage = Map::new();
    if label.starts_with("builtin:") {
        stage.insert("uses".into(), json!(label));
    } else {
        stage.insert("uses".into(), json!("plugin.wasm"));
        stage.insert("sha256".into(), json!(ANY_PIN));
    }
    stage.insert("with".into(), config.clone());
    stage.insert("permissions".into(), permissions_json(granted));
    let mut stages = Map::new();
    stages.insert(stage_id.to_string(), Value::Object(stage));
    let document = json!({ "name": "plugin-run", "stages": stages });
    let prefix = format!("stages.{stage_id}");
    let diagnostics = match load(&document) {
        Ok(loaded) => loaded.check_plugins(|_| Ok::<_, String>(info.clone())),
        Err(diagnostics) => diagnostics,
    };
    let problems: Vec<String> = diagnostics
        .iter()
        .map(|d| problem(d, &stage_field(&d.field, &prefix)))
        .collect();
    with_grant_hint(problems)
}

/// `problems`, and when one is about a grant, how to give it on the command line.
fn with_grant_hint(mut problems: Vec<String>) -> Vec<String> {
    if problems.iter().any(|p| p.contains("permissions")) {
        problems.push(
            "(here a workflow's permissions are given with --exec PROGRAM and \
             --workspace-access ACCESS)"
                .to_string(),
        );
    }
    problems
}

/// Problems of listing the tasks of the source `plugin` with `config` and `granted`.
pub(super) fn check_source(
    plugin: &PluginRef,
    config: &Value,
    granted: &Permissions,
    info: &PluginInfo,
) -> Vec<String> {
    let Some(entries) = config.as_object() else {
        return vec![format!(
            "config: a task source's config is a JSON object (got {})",
            kind_of(config)
        )];
    };
    if let Some(reserved) = entries
        .keys()
        .find(|key| TASKS_ENGINE_KEYS.contains(&key.as_str()))
    {
        return vec![format!(
            "config.{reserved}: `{reserved}` belongs to the workflow's tasks: section, not to \
             the source's config"
        )];
    }
    let mut section = entries.clone();
    match plugin {
        PluginRef::Builtin { name } => {
            section.insert("source".into(), json!(format!("builtin:{name}")));
        }
        PluginRef::Path { .. } => {
            section.insert("source".into(), json!("source.wasm"));
            section.insert("sha256".into(), json!(ANY_PIN));
        }
    }
    section.insert("permissions".into(), permissions_json(granted));
    let document = json!({
        "name": "plugin-run",
        "tasks": section,
        "stages": { "stage": { "uses": "builtin:gate", "with": { "commands": [] } } },
    });
    let diagnostics = match load(&document) {
        Ok(loaded) => loaded.check_task_source(Ok::<_, String>(info.clone())),
        Err(diagnostics) => diagnostics,
    };
    let problems: Vec<String> = diagnostics
        .iter()
        .filter(|d| !d.field.starts_with("stages"))
        .map(|d| problem(d, &source_field(&d.field)))
        .collect();
    with_grant_hint(problems)
}

/// The one-stage workflow loaded (JSON is YAML).
fn load(document: &Value) -> Result<engine_workflow::LoadedWorkflow, Vec<Diagnostic>> {
    let text = serde_json::to_string_pretty(document).unwrap_or_default();
    engine_workflow::load_str("plugin-run", Path::new("."), &text).map_err(|d| d.0)
}

/// A workflow `permissions:` mapping.
fn permissions_json(granted: &Permissions) -> Value {
    json!({
        "workspace": super::access_name(granted.workspace),
        "exec": granted.exec,
        "net": granted.net,
    })
}

/// `field: message`, or the message alone for no field.
fn problem(diagnostic: &Diagnostic, field: &str) -> String {
    if field.is_empty() {
        diagnostic.message.clone()
    } else {
        format!("{field}: {}", diagnostic.message)
    }
}

/// A stage field as the command line names it.
fn stage_field(field: &str, prefix: &str) -> String {
    let Some(rest) = field.strip_prefix(prefix) else {
        // `stages` itself: the id.
        return if field == "stages" {
            "--stage-id".to_string()
        } else {
            field.to_string()
        };
    };
    cli_field(rest, "")
}

/// A `tasks:` field as the command line names it.
fn source_field(field: &str) -> String {
    match field.strip_prefix("tasks") {
        Some(rest) => cli_field(rest, "config"),
        None => field.to_string(),
    }
}

/// `.with.x` → `config.x`, `.permissions.exec[0]` → `--exec`, `.permissions.workspace` →
/// `--workspace-access`; `rest` is what follows the stage's (or section's) own path, and
/// `plain` names other fields under it.
fn cli_field(rest: &str, plain: &str) -> String {
    if let Some(config) = rest.strip_prefix(".with") {
        return format!("config{config}");
    }
    if let Some(grant) = rest.strip_prefix(".permissions") {
        return if grant.starts_with(".exec") {
            "--exec".to_string()
        } else if grant.starts_with(".workspace") {
            "--workspace-access".to_string()
        } else if grant.starts_with(".net") {
            "permissions.net".to_string()
        } else {
            "permissions (--exec, --workspace-access)".to_string()
        };
    }
    match (plain, rest) {
        ("", _) | (_, "") => plain.to_string(),
        (plain, rest) => format!("{plain}{rest}"),
    }
}

/// `a list`, `a string`... for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::WorkspaceAccess;

    fn gate_info() -> PluginInfo {
        PluginInfo {
            config_schema: json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["commands"],
                "properties": { "commands": { "type": "array" } }
            }),
            permissions: Permissions {
                workspace: WorkspaceAccess::Read,
                ..Permissions::default()
            },
        }
    }

    fn read() -> Permissions {
        Permissions {
            workspace: WorkspaceAccess::Read,
            ..Permissions::default()
        }
    }

    #[test]
    fn a_config_that_fits_has_no_problem() {
        let problems = check_stage(
            "plugin.wasm",
            "s",
            &json!({"commands": []}),
            &read(),
            &gate_info(),
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn config_problems_name_the_config_field() {
        let problems = check_stage(
            "plugin.wasm",
            "s",
            &json!({"run": "true"}),
            &read(),
            &gate_info(),
        );
        let text = problems.join("\n");
        assert!(text.contains("config: "), "{text}");
        assert!(text.contains("\"run\""), "{text}");
        assert!(!text.contains("stages."), "{text}");
    }

    #[test]
    fn the_gate_checks_ask_for_exec_grants() {
        let info = gate_info();
        let config = json!({"commands": ["cargo test"]});
        let problems = check_stage("builtin:gate", "s", &config, &read(), &info);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("config.commands[0]: ")),
            "{problems:?}"
        );
        let granted = Permissions {
            exec: vec!["cargo".into()],
            ..read()
        };
        assert!(check_stage("builtin:gate", "s", &config, &granted, &info).is_empty());
    }

    #[test]
    fn bad_exec_grants_are_named_as_options() {
        let granted = Permissions {
            exec: vec!["/bin/sh".into()],
            ..read()
        };
        let problems = check_stage(
            "plugin.wasm",
            "s",
            &json!({"commands": []}),
            &granted,
            &gate_info(),
        );
        assert!(
            problems.iter().any(|p| p.starts_with("--exec: ")),
            "{problems:?}"
        );
    }

    #[test]
    fn source_configs_are_checked_and_engine_keys_refused() {
        let info = PluginInfo {
            config_schema: json!({
                "type": "object",
                "additionalProperties": false,
                "properties": { "path": { "type": "string" } }
            }),
            permissions: read(),
        };
        let plugin = PluginRef::Builtin {
            name: "tasks-md".into(),
        };
        assert!(check_source(&plugin, &json!({"path": "t.md"}), &read(), &info).is_empty());
        let problems = check_source(&plugin, &json!({"pth": "t.md"}), &read(), &info);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("config: ") && p.contains("pth")),
            "{problems:?}"
        );
        let problems = check_source(&plugin, &json!({"sha256": "x"}), &read(), &info);
        assert!(problems[0].starts_with("config.sha256: "), "{problems:?}");
        assert!(!check_source(&plugin, &json!([1]), &read(), &info).is_empty());
    }
}
