//! The workflow's `tasks:` section: how it is read, and the checks against the source's
//! descriptor (config schema, grants) with golden diagnostics.

use engine_core::{Permissions, PluginRef, WorkspaceAccess};
use engine_workflow::{PluginInfo, TaskSourceSpec, load_file, load_str};
use serde_json::json;

/// What `builtin:tasks-md` declares (kept in step with plugins/tasks-md by the e2e tests).
fn tasks_md_info() -> PluginInfo {
    PluginInfo {
        config_schema: json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "path": {"type": "string", "minLength": 1},
                "tick_checklist": {"type": "boolean"}
            }
        }),
        permissions: Permissions {
            workspace: WorkspaceAccess::Write,
            ..Permissions::default()
        },
    }
}

fn load(yaml: &str) -> engine_workflow::LoadedWorkflow {
    load_str("w.yaml", std::path::Path::new("."), yaml).unwrap_or_else(|d| panic!("{d}"))
}

#[test]
fn tasks_sections_are_read_with_the_config_apart() {
    let loaded = load(
        "name: x\ntasks: { source: tasks-md, path: spec/tasks.md, tick_checklist: true, \
         permissions: { workspace: write } }\nstages: { a: { uses: builtin:gate } }\n",
    );
    let spec = loaded.tasks.unwrap();
    assert_eq!(
        spec.source,
        PluginRef::Builtin {
            name: "tasks-md".into()
        }
    );
    assert_eq!(
        spec.config,
        json!({"path": "spec/tasks.md", "tick_checklist": true})
    );
    assert!(spec.writes_back());

    let loaded = load(
        "name: x\ntasks: { source: builtin:tasks-md }\nstages: { a: { uses: builtin:gate } }\n",
    );
    let spec = loaded.tasks.unwrap();
    assert_eq!(spec, TaskSourceSpec::builtin("tasks-md", json!({})));
    assert_eq!(
        spec.permissions.workspace,
        WorkspaceAccess::Read,
        "read by default"
    );
    assert!(!spec.writes_back());

    let sha = "a".repeat(64);
    let loaded = load(&format!(
        "name: x\ntasks: {{ source: sources/beads.wasm, sha256: {sha}, permissions: {{ exec: [bd] }} }}\nstages: {{ a: {{ uses: builtin:gate }} }}\n"
    ));
    let spec = loaded.tasks.unwrap();
    assert_eq!(
        spec.source,
        PluginRef::Path {
            path: "sources/beads.wasm".into(),
            sha256: sha
        }
    );
    assert_eq!(spec.permissions.exec, ["bd"]);
    assert_eq!(spec.config, json!({}));

    let loaded = load("name: x\nstages: { a: { uses: builtin:gate } }\n");
    assert!(loaded.tasks.is_none());
    assert!(loaded.check_task_source(Err("unused")).is_empty());
}

#[test]
fn a_bad_config_and_a_missing_grant_are_located() {
    let loaded = load_file(std::path::Path::new(
        "tests/fixtures/task-source/bad_config.yaml",
    ))
    .unwrap();
    let mut info = tasks_md_info();
    info.permissions.exec = vec!["bd".into()];
    let diagnostics = loaded.check_task_source(Ok::<_, String>(info));
    let rendered: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(rendered.join("\n"));
}

#[test]
fn a_source_that_cannot_load_is_reported_at_source() {
    let loaded = load("name: x\ntasks:\n  source: nope\nstages: { a: { uses: builtin:gate } }\n");
    let diagnostics = loaded.check_task_source(Err("unknown built-in \"nope\""));
    assert_eq!(
        diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "w.yaml:3:11: tasks.source: cannot load task source \"builtin:nope\": unknown built-in \"nope\""
        ]
    );
}

#[test]
fn a_read_grant_is_enough_for_a_writing_source() {
    let loaded =
        load("name: x\ntasks: { source: tasks-md }\nstages: { a: { uses: builtin:gate } }\n");
    assert!(
        loaded
            .check_task_source(Ok::<_, String>(tasks_md_info()))
            .is_empty()
    );
}
