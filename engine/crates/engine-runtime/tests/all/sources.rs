//! Task sources through the real host: `builtin:tasks-md` loaded as a source, described, listed
//! with the repository mounted read-only, claimed and updated with a write grant; a stage is not
//! a source and a source is not a stage.

use std::path::Path;

use crate::common::host;
use engine_core::{Permissions, PluginRef, WorkspaceAccess};
use engine_runtime::{LoadedSource, RuntimeError, SourceCall};
use engine_tasks::{SourceError, TaskStatus};
use serde_json::json;

const TASKS: &str = "\
## Milestone 1: MVP

### TASK-1: First
🔴 P0 | ⬜ TODO | Est: 1d

### TASK-10: Second
🟠 P1 | ⬜ TODO
**Depends on:** [TASK-1]
";

fn tasks_md() -> LoadedSource {
    host()
        .load_source(
            &PluginRef::Builtin {
                name: "tasks-md".into(),
            },
            Path::new("."),
        )
        .unwrap()
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("spec")).unwrap();
    std::fs::write(dir.path().join("spec/tasks.md"), TASKS).unwrap();
    dir
}

fn call(root: &Path, workspace: WorkspaceAccess) -> SourceCall {
    SourceCall::new(
        root.to_path_buf(),
        Permissions {
            workspace,
            ..Permissions::default()
        },
        json!({ "path": "spec/tasks.md" }),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_md_describes_itself_as_a_source() {
    let source = tasks_md();
    assert_eq!(source.label(), "builtin:tasks-md");
    let d = host().describe_source(&source).await.unwrap();
    assert_eq!(d.name, "tasks-md");
    assert_eq!(d.permissions.workspace, WorkspaceAccess::Write);
    assert_eq!(
        d.config_schema["properties"]["path"]["default"],
        "spec/tasks.md"
    );
    assert_eq!(d.config_schema["additionalProperties"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn list_claim_and_update_go_through_the_sandbox() {
    let dir = repo();
    let source = tasks_md();
    let write = call(dir.path(), WorkspaceAccess::Write);

    let list = host().list_tasks(&source, &write).await.unwrap();
    let ids: Vec<&str> = list.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["TASK-1", "TASK-10"]);
    assert_eq!(list.tasks[1].depends_on, ["TASK-1"]);
    assert_eq!(
        list.tasks[0]
            .location
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("spec/tasks.md:3")
    );

    let claimed = host()
        .claim_task(&source, &write, "TASK-1", "run-1")
        .await
        .unwrap();
    assert_eq!(claimed.status, TaskStatus::InProgress);
    let done = host()
        .update_task(&source, &write, "TASK-1", TaskStatus::Done, Some("merged"))
        .await
        .unwrap();
    assert_eq!(done.status, TaskStatus::Done);
    let text = std::fs::read_to_string(dir.path().join("spec/tasks.md")).unwrap();
    assert_eq!(
        text,
        TASKS.replace("🔴 P0 | ⬜ TODO | Est: 1d", "🔴 P0 | ✅ DONE | Est: 1d")
    );

    let err = host()
        .update_task(&source, &write, "TASK-2", TaskStatus::Done, None)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::NotFound("spec/tasks.md has no task TASK-2".into())
    );
    let err = host()
        .claim_task(&source, &write, "TASK-1", "run-1")
        .await
        .unwrap_err();
    assert_eq!(err, SourceError::Conflict("TASK-1 is already done".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_write_grant_nothing_is_written() {
    let dir = repo();
    let source = tasks_md();
    let read = call(dir.path(), WorkspaceAccess::Read);
    assert_eq!(
        host().list_tasks(&source, &read).await.unwrap().tasks.len(),
        2
    );
    let err = host()
        .update_task(&source, &read, "TASK-1", TaskStatus::Done, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::Failed(m) if m.contains("cannot write")),
        "{err}"
    );
    let none = call(dir.path(), WorkspaceAccess::None);
    let err = host().list_tasks(&source, &none).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::InvalidConfig(m) if m.contains("does not exist")),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("spec/tasks.md")).unwrap(),
        TASKS
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_files_and_bad_configs_come_back_typed() {
    let dir = repo();
    std::fs::write(
        dir.path().join("spec/tasks.md"),
        "### TASK-1: A\nP0 | DOING\n",
    )
    .unwrap();
    let source = tasks_md();
    let err = host()
        .list_tasks(&source, &call(dir.path(), WorkspaceAccess::Read))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec/tasks.md:2: unknown status `DOING`: use TODO, IN_PROGRESS, DONE or BLOCKED"
    );
    let mut bad = call(dir.path(), WorkspaceAccess::Read);
    bad.config = json!({ "paht": "x.md" });
    let err = host().list_tasks(&source, &bad).await.unwrap_err();
    assert!(
        matches!(&err, SourceError::InvalidConfig(m) if m.contains("unknown field `paht`")),
        "{err}"
    );
}

#[test]
fn stages_and_sources_are_not_interchangeable() {
    let err = host()
        .load_source(
            &PluginRef::Builtin {
                name: "gate".into(),
            },
            Path::new("."),
        )
        .unwrap_err();
    assert!(
        matches!(err, RuntimeError::IncompatibleSource { .. }),
        "{err}"
    );
    let err = host()
        .load_plugin(
            &PluginRef::Builtin {
                name: "tasks-md".into(),
            },
            Path::new("."),
        )
        .unwrap_err();
    assert!(matches!(err, RuntimeError::Incompatible { .. }), "{err}");
}

/// The source world lives in its own SDK crate (`engine-source-sdk`) so that stages never
/// import its interfaces: a stage built with the stage SDK imports only `types`, `log`, `exec`
/// (and `agent` when it uses it).
#[test]
fn stages_do_not_import_the_source_world() {
    let engine = wasmtime::Engine::default();
    let imports = |name: &str| -> Vec<String> {
        let bytes = engine_runtime::builtin(name).unwrap();
        let component = wasmtime::component::Component::new(&engine, bytes).unwrap();
        component
            .component_type()
            .imports(&engine)
            .map(|(import, _)| import.to_string())
            .filter(|import| import.starts_with("engine:"))
            .collect()
    };
    assert_eq!(
        imports("gate"),
        [
            "engine:stage/log@0.1.0",
            "engine:stage/exec@0.1.0",
            "engine:stage/types@0.1.0"
        ]
    );
    assert_eq!(
        imports("tasks-md"),
        [
            "engine:stage/types@0.1.0",
            "engine:stage/source-types@0.1.0"
        ]
    );
}

#[test]
fn a_source_loaded_again_in_the_same_process_is_not_read_again() {
    let cache = tempfile::tempdir().unwrap();
    let host = engine_runtime::Host::new(engine_runtime::HostOptions {
        cache_dir: cache.path().to_path_buf(),
    })
    .unwrap();
    let tasks_md = PluginRef::Builtin {
        name: "tasks-md".into(),
    };
    host.load_source(&tasks_md, Path::new(".")).unwrap();
    let first = host.cache_stats();
    assert_eq!(first.compiled + first.hits, 1, "{first:?}");
    let again = host.load_source(&tasks_md, Path::new(".")).unwrap();
    assert_eq!(again.label(), "builtin:tasks-md");
    let second = host.cache_stats();
    assert_eq!(
        (second.compiled, second.hits),
        (first.compiled, first.hits),
        "neither compiled nor read from the cache again"
    );
}
