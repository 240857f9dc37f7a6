//! Every file in `tests/fixtures/valid` loads, with defaults resolved as documented.

use crate::common;

use std::path::Path;

use engine_core::{Delivery, OnFailure, Permissions, PluginRef, RetryPolicy, WorkspaceAccess};
use engine_workflow::{load_file, load_str};

#[test]
fn valid_fixtures_load() {
    for path in common::fixtures("valid") {
        if let Err(diagnostics) = load_file(&path) {
            panic!("{} must load:\n{diagnostics}", path.display());
        }
    }
}

#[test]
fn full_fixture_resolves_every_default() {
    let loaded = load_file(Path::new("tests/fixtures/valid/full.yaml")).unwrap();
    let workflow = &loaded.workflow;
    assert_eq!(workflow.name, "default");
    assert_eq!(
        loaded.description.as_deref(),
        Some("triage, execute, review, test, merge")
    );
    assert_eq!(
        loaded.env.get("RUST_BACKTRACE").map(String::as_str),
        Some("1")
    );
    assert_eq!(loaded.env.len(), 2);
    assert_eq!(loaded.base_dir, Path::new("tests/fixtures/valid"));
    assert_eq!(loaded.file, "tests/fixtures/valid/full.yaml");

    let ids: Vec<&str> = workflow.stages.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        ["triage", "execute", "review", "test", "lint", "merge"]
    );

    let defaults_retry = RetryPolicy {
        max_attempts: 4,
        initial_interval_ms: 5_000,
        backoff: 1.5,
        max_interval_ms: 120_000,
    };
    let stage = |id: &str| workflow.stage(id).unwrap();

    let triage = stage("triage");
    assert_eq!(triage.timeout_ms, 20 * 60_000);
    assert_eq!(triage.memory_limit_bytes, 128 << 20);
    assert_eq!(triage.retry, defaults_retry);
    assert_eq!(triage.with, serde_json::json!({}));
    assert_eq!(triage.permissions, Permissions::default());
    assert_eq!(triage.delivery, Delivery::AtLeastOnce);

    let execute = stage("execute");
    assert_eq!(execute.timeout_ms, 45 * 60_000);
    assert_eq!(execute.memory_limit_bytes, 512 << 20);
    assert_eq!(execute.permissions.workspace, WorkspaceAccess::Write);
    assert!(execute.permissions.agent);
    assert_eq!(execute.permissions.exec, ["git"]);
    assert_eq!(execute.with["tier"], "{{ stages.triage.outputs.tier }}");

    // Retry merges key by key over defaults.retry.
    assert_eq!(
        stage("review").retry,
        RetryPolicy {
            max_attempts: 1,
            ..defaults_retry
        }
    );
    assert_eq!(
        stage("review").on_failure,
        Some(OnFailure {
            goto: "execute".into(),
            max_loops: 2
        })
    );
    let test = stage("test");
    assert_eq!(
        test.retry,
        RetryPolicy {
            initial_interval_ms: 1_000,
            ..defaults_retry
        }
    );
    assert_eq!(test.needs, ["review"]);
    assert_eq!(test.on_failure.as_ref().map(|f| f.max_loops), Some(1));
    assert_eq!(
        test.with["commands"],
        serde_json::json!(["cargo test", "cargo clippy -- -D warnings"])
    );

    let lint = stage("lint");
    assert_eq!(
        lint.uses,
        PluginRef::Path {
            path: "plugins/lint.wasm".into(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()
        }
    );
    assert_eq!(
        loaded.plugin_path(lint),
        Some(Path::new("tests/fixtures/valid/plugins/lint.wasm").to_path_buf())
    );
    assert_eq!(loaded.plugin_path(triage), None);
    assert_eq!(lint.memory_limit_bytes, 1_048_576);
    assert_eq!(lint.permissions.net, ["hooks.example.com"]);

    let merge = stage("merge");
    assert_eq!(merge.timeout_ms, 90 * 60_000);
    assert_eq!(merge.delivery, Delivery::AtMostOnce);
    assert_eq!(merge.needs, ["test", "lint"]);
}

#[test]
fn engine_defaults_apply_without_a_defaults_block() {
    let loaded = load_file(Path::new("tests/fixtures/valid/minimal.yaml")).unwrap();
    let only = &loaded.workflow.stages[0];
    assert_eq!(only.timeout_ms, engine_core::model::DEFAULT_TIMEOUT_MS);
    assert_eq!(
        only.memory_limit_bytes,
        engine_core::model::DEFAULT_MEMORY_LIMIT_BYTES
    );
    assert_eq!(only.retry, RetryPolicy::default());
    assert!(loaded.env.is_empty());
    assert_eq!(loaded.description, None);
}

#[test]
fn span_of_accepts_dotted_paths_and_pointers() {
    let loaded = load_file(Path::new("tests/fixtures/valid/full.yaml")).unwrap();
    // `        - cargo clippy -- -D warnings` is line 34, the item starts at column 11.
    assert_eq!(loaded.span_of("stages.test.with.commands[1]"), (34, 11));
    assert_eq!(loaded.span_of("/stages/test/with/commands/1"), (34, 11));
    // A mapping is located at its key.
    assert_eq!(loaded.span_of("stages.test"), (28, 3));
    // Not in the file: the nearest enclosing node.
    assert_eq!(loaded.span_of("stages.triage.with"), (12, 3));
    assert_eq!(loaded.span_of("not..a path"), (1, 1));
    assert_eq!(loaded.span_of(""), (1, 1));
}

#[test]
fn load_str_uses_the_given_names() {
    let loaded = load_str(
        "inline.yaml",
        Path::new("/repo/.engine"),
        "name: x\nstages:\n  a: { uses: p.wasm, sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 }\n",
    )
    .unwrap();
    assert_eq!(loaded.file, "inline.yaml");
    assert_eq!(
        loaded.plugin_path(&loaded.workflow.stages[0]),
        Some(Path::new("/repo/.engine/p.wasm").to_path_buf())
    );
    assert!(loaded.source.starts_with("name: x"));
}

#[test]
fn schema_json_is_the_checked_in_file() {
    let on_disk = std::fs::read_to_string("schema/workflow.schema.json").unwrap();
    assert_eq!(engine_workflow::schema_json(), on_disk);
}

#[test]
fn git_settings_are_read_and_default() {
    use engine_workflow::{GitSettings, KeepWorktree};
    let loaded = load_file(Path::new("tests/fixtures/valid/git.yaml")).unwrap();
    let git = &loaded.git;
    assert_eq!(git.base.as_deref(), Some("main"));
    assert_eq!(git.branch_prefix, "bots/engine-");
    assert_eq!(
        git.commit_message,
        "{{ task.title }}\n\nEngine-Run: {{ run.id }}"
    );
    assert_eq!(
        git.author,
        Some(("Ada Lovelace".into(), "ada@example.invalid".into()))
    );
    assert_eq!(
        git.committer,
        Some(("Engine Bot".into(), "engine@example.invalid".into()))
    );
    assert_eq!(git.keep_worktree, KeepWorktree::Always);

    let minimal = load_file(Path::new("tests/fixtures/valid/minimal.yaml")).unwrap();
    assert_eq!(minimal.git, GitSettings::default());
    assert_eq!(
        minimal.git.commit_message,
        engine_workflow::DEFAULT_COMMIT_MESSAGE
    );
}

#[test]
fn conditions_finally_secrets_and_approvals_are_read() {
    use engine_core::{ApprovalPolicy, OnTimeout};
    let loaded = load_file(Path::new("tests/fixtures/valid/conditions.yaml")).unwrap();
    let workflow = &loaded.workflow;
    let execute = workflow.stage("execute").unwrap();
    assert_eq!(
        execute.condition.as_deref(),
        Some("stages.triage.outputs.tier != \"none\" && !(\"wip\" in task.labels)")
    );
    assert_eq!(workflow.stage("triage").unwrap().condition, None);
    // Templates are kept as written; the driver renders them before each attempt.
    assert_eq!(execute.with["tier"], "{{ stages.triage.outputs.tier }}");

    let approve = workflow.stage("approve").unwrap();
    assert_eq!(
        approve.approval,
        Some(ApprovalPolicy {
            timeout_ms: Some(24 * 3_600_000),
            on_timeout: OnTimeout::Reject,
            message: Some("Merge this change?".into()),
        })
    );
    assert_eq!(approve.uses.to_string(), engine_workflow::APPROVAL_USES);
    assert_eq!(execute.approval, None);

    let ids: Vec<&str> = workflow.finally.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["notify", "page"]);
    let notify = workflow.finally_stage("notify").unwrap();
    assert_eq!(notify.secrets, ["SLACK_WEBHOOK_URL"]);
    assert_eq!(
        notify.condition, None,
        "a finally stage without if: always runs"
    );
    assert!(notify.needs.is_empty() && notify.on_failure.is_none());
    assert_eq!(
        workflow.finally_stage("page").unwrap().condition.as_deref(),
        Some("failure() && stages.execute.result == \"failed\"")
    );

    let components: Vec<&str> = loaded.component_stages().map(|s| s.id.as_str()).collect();
    assert_eq!(components, ["triage", "execute", "merge", "notify", "page"]);
}

/// The complete example of docs/workflow-reference.md loads.
#[test]
fn the_reference_example_loads() {
    let reference =
        std::fs::read_to_string(engine_testkit::repo_root().join("docs/workflow-reference.md"))
            .unwrap();
    let section = reference.split("## A complete example").nth(1).unwrap();
    let example = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .unwrap();
    let loaded = match load_str("example.yaml", Path::new("."), example) {
        Ok(loaded) => loaded,
        Err(diagnostics) => panic!("the reference example must load:\n{diagnostics}"),
    };
    assert_eq!(loaded.workflow.finally.len(), 1);
}
