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

/// Every stage and `finally:` stage comes with its spec, found by id; an unknown id has none.
#[test]
fn every_stage_has_its_spec() {
    for path in common::fixtures("valid") {
        let loaded = load_file(&path).unwrap();
        let workflow = &loaded.workflow;
        let defs: Vec<&str> = loaded
            .stage_defs()
            .chain(loaded.finally_defs())
            .map(|def| def.stage.id.as_str())
            .collect();
        let ids: Vec<&str> = workflow
            .stages
            .iter()
            .chain(&workflow.finally)
            .map(|stage| stage.id.as_str())
            .collect();
        assert_eq!(defs, ids, "{}", path.display());
        for id in ids {
            let def = loaded.stage_def(id).unwrap();
            assert_eq!(def.stage.id, id);
            assert_eq!(loaded.spec(id), Some(def.spec));
        }
        assert_eq!(loaded.spec("no-such-stage"), None);
        assert!(loaded.stage_def("no-such-stage").is_none());
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
    let stage = |id: &str| loaded.stage_def(id).unwrap();

    let triage = stage("triage");
    assert_eq!(triage.spec.timeout_ms, 20 * 60_000);
    assert_eq!(triage.spec.memory_limit_bytes, 128 << 20);
    assert_eq!(triage.stage.retry, defaults_retry);
    assert_eq!(triage.spec.with, serde_json::json!({}));
    assert_eq!(triage.spec.permissions, Permissions::default());
    assert_eq!(triage.stage.delivery, Delivery::AtLeastOnce);

    let execute = stage("execute");
    assert_eq!(execute.spec.timeout_ms, 45 * 60_000);
    assert_eq!(execute.spec.memory_limit_bytes, 512 << 20);
    assert_eq!(execute.spec.permissions.workspace, WorkspaceAccess::Write);
    assert!(execute.spec.permissions.agent);
    assert_eq!(execute.spec.permissions.exec, ["git"]);
    assert_eq!(
        execute.spec.with["tier"],
        "{{ stages.triage.outputs.tier }}"
    );

    // Retry merges key by key over defaults.retry.
    assert_eq!(
        stage("review").stage.retry,
        RetryPolicy {
            max_attempts: 1,
            ..defaults_retry
        }
    );
    assert_eq!(
        stage("review").stage.on_failure,
        Some(OnFailure {
            goto: "execute".into(),
            max_loops: 2
        })
    );
    let test = stage("test");
    assert_eq!(
        test.stage.retry,
        RetryPolicy {
            initial_interval_ms: 1_000,
            ..defaults_retry
        }
    );
    assert_eq!(test.stage.needs, ["review"]);
    assert_eq!(test.stage.on_failure.as_ref().map(|f| f.max_loops), Some(1));
    assert_eq!(
        test.spec.with["commands"],
        serde_json::json!(["cargo test", "cargo clippy -- -D warnings"])
    );

    let lint = stage("lint");
    assert_eq!(
        lint.spec.uses,
        PluginRef::Path {
            path: "plugins/lint.wasm".into(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()
        }
    );
    assert_eq!(
        loaded.plugin_path(lint.spec),
        Some(Path::new("tests/fixtures/valid/plugins/lint.wasm").to_path_buf())
    );
    assert_eq!(loaded.plugin_path(triage.spec), None);
    assert_eq!(lint.spec.memory_limit_bytes, 1_048_576);
    assert_eq!(lint.spec.permissions.net, ["hooks.example.com"]);

    let merge = stage("merge");
    assert_eq!(merge.spec.timeout_ms, 90 * 60_000);
    assert_eq!(merge.stage.delivery, Delivery::AtMostOnce);
    assert_eq!(merge.stage.needs, ["test", "lint"]);
}

#[test]
fn engine_defaults_apply_without_a_defaults_block() {
    let loaded = load_file(Path::new("tests/fixtures/valid/minimal.yaml")).unwrap();
    let only = loaded.stage_defs().next().unwrap();
    assert_eq!(only.spec.timeout_ms, engine_workflow::DEFAULT_TIMEOUT_MS);
    assert_eq!(
        only.spec.memory_limit_bytes,
        engine_workflow::DEFAULT_MEMORY_LIMIT_BYTES
    );
    assert_eq!(only.stage.retry, RetryPolicy::default());
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
        loaded.plugin_path(loaded.spec("a").unwrap()),
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
    let execute = loaded.stage_def("execute").unwrap();
    assert_eq!(
        execute.spec.condition.as_deref(),
        Some("stages.triage.outputs.tier != \"none\" && !(\"wip\" in task.labels)")
    );
    assert_eq!(loaded.spec("triage").unwrap().condition, None);
    // Templates are kept as written; the driver renders them before each attempt.
    assert_eq!(
        execute.spec.with["tier"],
        "{{ stages.triage.outputs.tier }}"
    );

    let approve = loaded.stage_def("approve").unwrap();
    assert_eq!(
        approve.stage.approval,
        Some(ApprovalPolicy {
            timeout_ms: Some(24 * 3_600_000),
            on_timeout: OnTimeout::Reject,
            message: Some("Merge this change?".into()),
        })
    );
    assert_eq!(
        approve.spec.uses.to_string(),
        engine_workflow::APPROVAL_USES
    );
    assert_eq!(execute.stage.approval, None);

    let ids: Vec<&str> = workflow.finally.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["notify", "page"]);
    let notify = loaded.stage_def("notify").unwrap();
    assert_eq!(notify.spec.secrets, ["SLACK_WEBHOOK_URL"]);
    assert_eq!(
        notify.spec.condition, None,
        "a finally stage without if: always runs"
    );
    assert!(notify.stage.needs.is_empty() && notify.stage.on_failure.is_none());
    assert_eq!(workflow.finally_stage("notify"), Some(notify.stage));
    assert_eq!(
        loaded.spec("page").unwrap().condition.as_deref(),
        Some("failure() && stages.execute.result == \"failed\"")
    );

    let components: Vec<&str> = loaded
        .component_stages()
        .map(|s| s.stage.id.as_str())
        .collect();
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
