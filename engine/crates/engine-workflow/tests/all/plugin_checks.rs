//! Plugin-dependent checks through `check_plugins`, with a closure standing in for the host:
//! golden diagnostics for `tests/fixtures/plugin-checks`, and the rules in isolation.

use crate::common;

use std::path::Path;

use engine_core::{Permissions, PluginRef, WorkspaceAccess};
use engine_workflow::{PluginInfo, StageDef, load_file, load_str};
use serde_json::json;

/// What the fake host knows: a few builtins with their descriptors.
fn fake_host(def: StageDef<'_>) -> Result<PluginInfo, String> {
    let open_schema = json!({"type": "object"});
    match &def.spec.uses {
        PluginRef::Builtin { name } => match name.as_str() {
            "gate" => Ok(PluginInfo {
                config_schema: json!({
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["commands"],
                    "properties": {
                        "commands": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        "cwd": {"type": "string", "pattern": "^[^/]"},
                        "retries": {"type": "integer"}
                    }
                }),
                permissions: Permissions {
                    workspace: WorkspaceAccess::Read,
                    exec: vec!["cargo".into()],
                    ..Default::default()
                },
            }),
            "agent" => Ok(PluginInfo {
                config_schema: open_schema,
                permissions: Permissions {
                    workspace: WorkspaceAccess::Write,
                    agent: true,
                    exec: vec!["git".into()],
                    ..Default::default()
                },
            }),
            "webhook" => Ok(PluginInfo {
                config_schema: open_schema,
                permissions: Permissions {
                    net: vec!["hooks.example.com".into()],
                    ..Default::default()
                },
            }),
            "triage" | "review" | "merge" => Ok(PluginInfo {
                config_schema: open_schema,
                permissions: Permissions::default(),
            }),
            other => Err(format!("there is no builtin stage named \"{other}\"")),
        },
        PluginRef::Path { path, .. } => Err(format!("{path}: no such file")),
    }
}

#[test]
fn plugin_check_fixtures_match_their_snapshots() {
    for path in common::fixtures("plugin-checks") {
        let loaded = match load_file(&path) {
            Ok(loaded) => loaded,
            Err(diagnostics) => panic!("{} must load:\n{diagnostics}", path.display()),
        };
        let diagnostics = loaded.check_plugins(fake_host);
        assert!(!diagnostics.is_empty(), "{}", path.display());
        let rendered: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(common::stem(&path), rendered.join("\n"));
    }
}

#[test]
fn a_fitting_workflow_has_no_plugin_diagnostics() {
    let loaded = load_file(Path::new("tests/fixtures/valid/minimal.yaml")).unwrap();
    let diagnostics = loaded.check_plugins(|_| {
        Ok::<_, String>(PluginInfo {
            config_schema: json!({"type": "object", "additionalProperties": false}),
            permissions: Permissions::default(),
        })
    });
    assert_eq!(diagnostics, vec![]);
}

#[test]
fn config_errors_point_inside_with() {
    let source = "name: x\nstages:\n  test:\n    uses: builtin:gate\n    permissions: { workspace: read, exec: [cargo] }\n    with:\n      commands:\n        - cargo\n        - 7\n";
    let loaded = load_str("x.yaml", Path::new("."), source).unwrap();
    let diagnostics = loaded.check_plugins(fake_host);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let only = &diagnostics[0];
    assert_eq!(only.field, "stages.test.with.commands[1]");
    assert_eq!((only.line, only.col), (9, 11));
    assert_eq!(only.message, "expected a string, got the number 7");
}

#[test]
fn shortfall_without_permissions_block_points_at_the_stage() {
    let source = "name: x\nstages:\n  execute:\n    uses: builtin:agent\n";
    let loaded = load_str("x.yaml", Path::new("."), source).unwrap();
    let diagnostics = loaded.check_plugins(fake_host);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0].to_string(),
        "x.yaml:3:3: stages.execute: stage \"execute\" (builtin:agent) needs workspace: write \
         (granted: none), exec: git, agent: true, which the workflow does not grant; add them \
         under permissions"
    );
}

#[test]
fn invalid_plugin_schema_is_reported_at_uses() {
    let source = "name: x\nstages:\n  a:\n    uses: builtin:odd\n";
    let loaded = load_str("x.yaml", Path::new("."), source).unwrap();
    let diagnostics = loaded.check_plugins(|_| {
        Ok::<_, String>(PluginInfo {
            config_schema: json!({"type": "not-a-type"}),
            permissions: Permissions::default(),
        })
    });
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0].field, "stages.a.uses");
    assert_eq!((diagnostics[0].line, diagnostics[0].col), (4, 11));
    assert!(
        diagnostics[0]
            .message
            .starts_with("plugin \"builtin:odd\" declares an invalid config schema:"),
        "{}",
        diagnostics[0].message
    );
}

#[test]
fn each_stage_is_asked_once_in_file_order() {
    let loaded = load_file(Path::new("tests/fixtures/valid/full.yaml")).unwrap();
    let mut asked = Vec::new();
    let _ = loaded.check_plugins(|def| {
        asked.push(def.stage.id.clone());
        Err::<PluginInfo, _>("not loaded")
    });
    assert_eq!(
        asked,
        ["triage", "execute", "review", "test", "lint", "merge"]
    );
}

#[test]
fn approval_stages_are_not_asked_and_finally_stages_are() {
    let loaded = load_file(Path::new("tests/fixtures/valid/conditions.yaml")).unwrap();
    let mut asked = Vec::new();
    let diagnostics = loaded.check_plugins(|def| {
        asked.push(def.stage.id.clone());
        Err::<PluginInfo, _>("not loaded")
    });
    assert_eq!(asked, ["triage", "execute", "merge", "notify", "page"]);
    let fields: Vec<&str> = diagnostics.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "stages.triage.uses",
            "stages.execute.uses",
            "stages.merge.uses",
            "finally.notify.uses",
            "finally.page.uses"
        ]
    );
}

#[test]
fn templated_values_are_checked_only_as_far_as_their_type_is_known() {
    let loaded = load_file(Path::new("tests/fixtures/plugin-checks/templates.yaml")).unwrap();
    let diagnostics = loaded.check_plugins(fake_host);
    let fields: Vec<&str> = diagnostics.iter().map(|d| d.field.as_str()).collect();
    // stages.test: every value is one `{{ expression }}`, of any type once rendered.
    // stages.lint: "... times" is always a string, not the integer the schema wants; the
    // pattern of cwd cannot be judged before the template is rendered.
    assert_eq!(
        fields,
        [
            "stages.lint.with.commands[1]",
            "stages.lint.with.retries",
            "finally.report.with.commands"
        ]
    );
}
