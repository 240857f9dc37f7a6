//! `engine plugin run`: one stage attempt of a real fixture component (or a built-in) in the
//! sandbox a run gives it, without a workflow — its context, its grants, its outcome and
//! exit code; a task source's tasks listed.

use std::path::Path;

use crate::support::{TestRepo, fixture};

/// `engine ARGS` in `repo` without compile progress lines (a first compile of a component
/// longer than a second is announced on stderr; whether it is depends on the machine).
fn engine<'r>(repo: &'r TestRepo, args: &[&str]) -> crate::support::EngineOutput<'r> {
    repo.engine()
        .args(args)
        .env("ENGINE_COMPILE_PROGRESS_AFTER_MS", "off")
        .run()
}

/// `engine plugin run` of a fixture plugin in `repo` (the workspace), with `args` after it.
fn run_fixture<'r>(
    repo: &'r TestRepo,
    name: &str,
    args: &[&str],
) -> crate::support::EngineOutput<'r> {
    let (path, _) = fixture(name);
    let path = path.display().to_string();
    let mut all = vec!["plugin", "run", path.as_str(), "--workspace", "."];
    all.extend_from_slice(args);
    engine(repo, &all)
}

#[test]
fn a_stage_succeeds_and_its_outputs_are_printed() {
    let repo = TestRepo::new();
    let r = run_fixture(
        &repo,
        "fixture_echo",
        &[
            "--config",
            r#"{"greeting": "hi"}"#,
            "--task",
            "Fix the login\nIt fails on Mondays.",
        ],
    );
    r.succeeds();
    r.stderr_is(
        "▶ fixture-echo (attempt 1)\n  fixture-echo · fixture-echo attempt 1\n  fixture-echo · \
         echoing (50%)\n✓ fixture-echo (attempt 1) [DURATION]  echoed attempt 1\n",
    );
    let outputs = r.json();
    assert_eq!(outputs["config"], serde_json::json!({"greeting": "hi"}));
    assert_eq!(outputs["stage_id"], "fixture-echo");
    assert_eq!(outputs["attempt"], 1);
    let run_id = outputs["run_id"].as_str().unwrap();
    assert!(
        run_id.starts_with("local-") && run_id.len() == 32,
        "{run_id}"
    );
    assert_eq!(
        outputs["keys"]["attempt"],
        format!("{run_id}/fixture-echo/1")
    );
    assert_eq!(outputs["task"]["title"], "Fix the login");
    assert_eq!(
        outputs["task"]["body"],
        "Fix the login\nIt fails on Mondays."
    );
    // The id `engine run --task` gives the same text.
    let id = outputs["task"]["id"].as_str().unwrap();
    assert!(id.starts_with('t') && id.len() == 9, "{id}");
    // fixture-echo declares no workspace access: nothing is mounted.
    assert_eq!(outputs["workspace"], serde_json::Value::Null);
}

#[test]
fn earlier_outputs_the_stage_id_and_the_git_facts_are_the_context() {
    let repo = TestRepo::new();
    let first = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    repo.write("CHANGELOG.md", "# changes\n")
        .commit_all("changelog");
    let head = repo.git(&["rev-parse", "HEAD"]).trim().to_string();
    let r = run_fixture(
        &repo,
        "fixture_echo",
        &[
            "--stage-id",
            "echo",
            "--output",
            r#"build={"ok": true}"#,
            "--json",
        ],
    );
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["stage_id"], "echo");
    assert_eq!(
        doc["outputs"]["outputs"]["build"],
        serde_json::json!({"ok": true})
    );
    // The run's facts, as a run gives them to its stages.
    let facts = &doc["outputs"]["outputs"]["@run"];
    assert_eq!(facts["run_id"], doc["run_id"]);
    assert_eq!(facts["branch"], "main");
    assert_eq!(facts["status"], "running");
    let root = repo.path().canonicalize().unwrap().display().to_string();
    assert_eq!(
        doc["git"],
        serde_json::json!({
            "branch": "main", "base_branch": "main", "base_commit": head, "repo_root": root,
        })
    );
    // `--base` moves the base commit.
    let r = run_fixture(&repo, "fixture_echo", &["--base", "main~1", "--json"]);
    r.succeeds();
    assert_eq!(r.json()["git"]["base_commit"], first);
    let r = run_fixture(&repo, "fixture_echo", &["--base", "nope"]);
    r.exits(2)
        .stderr_has("--base nope: no branch, tag or commit of that name");
    // Outside a repository: no git facts.
    let plain = tempfile::tempdir().unwrap();
    let (path, _) = fixture("fixture_echo");
    let r = engine(
        &repo,
        &[
            "plugin",
            "run",
            &path.display().to_string(),
            "--workspace",
            &plain.path().display().to_string(),
            "--json",
        ],
    );
    r.succeeds();
    assert_eq!(r.json()["git"], serde_json::Value::Null);
}

#[test]
fn a_failing_or_trapping_stage_exits_1_with_its_message() {
    let repo = TestRepo::new();
    let r = run_fixture(
        &repo,
        "fixture_echo",
        &[
            "--config",
            r#"{"fail": "fatal", "fail_message": "no changelog"}"#,
        ],
    );
    r.exits(1);
    r.stderr_is(
        "▶ fixture-echo (attempt 1)\n  fixture-echo · fixture-echo attempt 1\n  fixture-echo · \
         echoing (50%)\n✗ fixture-echo (attempt 1) [DURATION]  no changelog [fatal]\n  \
         detail.attempt: 1\n",
    );
    assert_eq!(r.stdout(), "");
    let r = run_fixture(
        &repo,
        "fixture_echo",
        &["--config", r#"{"fail": "retryable"}"#, "--json"],
    );
    r.exits(1);
    let doc = r.json();
    assert_eq!(doc["ok"], false);
    assert_eq!(
        doc["failure"],
        serde_json::json!({
            "kind": "retryable", "retryable": true,
            "message": "fixture-echo failed on purpose", "detail": {"attempt": 1},
        })
    );
    // A panic with terminal escapes in its text: the engine survives, the escapes are shown
    // as text.
    let r = run_fixture(
        &repo,
        "fixture_trap",
        &[
            "--config",
            "{\"message\": \"boom \\u001b]0;pwned\\u0007\\u001b[2J\"}",
        ],
    );
    r.exits(1);
    r.stderr_has("fixture trap: boom \\x1b]0;pwned\\x07\\x1b[2J [fatal]")
        .stderr_has("  detail.stderr:\n");
    r.never_prints("\u{1b}]0;pwned");
    let r = run_fixture(
        &repo,
        "fixture_trap",
        &["--config", r#"{"mode": "unreachable"}"#],
    );
    r.exits(1).stderr_has("stage trapped: wasm `unreachable`");
}

#[test]
fn programs_are_granted_as_declared_plus_exec_and_run_confined() {
    let repo = TestRepo::new();
    // fixture-exec declares no program: `true` is refused...
    let config = r#"{"program": "true"}"#;
    let args = ["--config", config, "--workspace-access", "read"];
    let r = run_fixture(&repo, "fixture_exec", &args);
    r.succeeds();
    let error = &r.json()["error"];
    assert_eq!(error["kind"], "not-permitted");
    assert_eq!(
        error["message"],
        "`true` is not granted to stage fixture-exec; grant it under permissions.exec"
    );
    // ...unless --exec grants it.
    let mut granted = args.to_vec();
    granted.extend(["--exec", "true"]);
    let r = run_fixture(&repo, "fixture_exec", &granted);
    r.succeeds();
    assert_eq!(r.json()["output"]["exit_code"], 0);
    // A program runs confined: with read access it cannot write the workspace.
    let write = r#"{"program": "sh", "args": ["-c", "echo made > made.txt"]}"#;
    let r = run_fixture(
        &repo,
        "fixture_exec",
        &[
            "--config",
            write,
            "--workspace-access",
            "read",
            "--exec",
            "sh",
        ],
    );
    r.succeeds();
    assert_ne!(r.json()["output"]["exit_code"], 0, "{}", r.context());
    repo.assert_no_file("made.txt");
    let r = run_fixture(
        &repo,
        "fixture_exec",
        &[
            "--config",
            write,
            "--workspace-access",
            "write",
            "--exec",
            "sh",
        ],
    );
    r.succeeds();
    assert_eq!(r.json()["output"]["exit_code"], 0, "{}", r.context());
    repo.assert_file("made.txt", "made\n");
}

#[test]
fn a_read_only_workspace_cannot_be_written() {
    let repo = TestRepo::new();
    let config = r#"{"path": "out.txt", "contents": "written"}"#;
    let r = run_fixture(
        &repo,
        "fixture_write",
        &["--config", config, "--workspace-access", "read"],
    );
    r.exits(1)
        .stderr_has("declares workspace: write; running it with read as --workspace-access asks")
        .stderr_has("cannot write /workspace/out.txt");
    repo.assert_no_file("out.txt");
    // As declared (write), it writes.
    let r = run_fixture(&repo, "fixture_write", &["--config", config]);
    r.succeeds();
    assert_eq!(r.json()["path"], "/workspace/out.txt");
    repo.assert_file("out.txt", "written");
}

#[test]
fn a_config_that_breaks_the_schema_exits_2_naming_the_field() {
    let repo = TestRepo::new();
    let r = engine(
        &repo,
        &[
            "plugin",
            "run",
            "builtin:gate",
            "--workspace",
            ".",
            "--config",
            r#"{"run": "true"}"#,
        ],
    );
    r.exits(2);
    r.stderr_is(
        "error: builtin:gate does not accept this run:\nconfig: missing required field \
         \"commands\"\nconfig: unknown field \"run\" (expected one of: baseline, commands, \
         output_tail_lines, stop_on_failure, timeout)\n",
    );
    // The gate's programs must be granted, as `engine validate` says.
    let r = engine(
        &repo,
        &[
            "plugin",
            "run",
            "builtin:gate",
            "--workspace",
            ".",
            "--config",
            r#"{"commands": ["cargo test"]}"#,
        ],
    );
    r.exits(2)
        .stderr_has("config.commands[0]: ")
        .stderr_has("cargo");
    let r = engine(
        &repo,
        &[
            "plugin",
            "run",
            "builtin:gate",
            "--workspace",
            ".",
            "--config",
            "{nope",
        ],
    );
    r.exits(2).stderr_has("error: --config: not JSON: ");
}

#[test]
fn builtin_gate_runs_with_the_programs_given_by_exec() {
    let repo = TestRepo::new();
    let gate = |commands: &str, program: &str| {
        engine(
            &repo,
            &[
                "plugin",
                "run",
                "builtin:gate",
                "--config",
                commands,
                "--exec",
                program,
                "--workspace",
                ".",
            ],
        )
    };
    let r = gate(r#"{"commands": ["true"]}"#, "true");
    r.succeeds().stderr_has("✓ gate (attempt 1) ");
    assert_eq!(r.json()["commands"][0]["exit_code"], 0);
    let r = gate(r#"{"commands": ["false"]}"#, "false");
    r.exits(1).stderr_has("✗ gate (attempt 1) ");
}

#[test]
fn the_json_report_has_the_component_context_and_outcome() {
    let repo = TestRepo::new();
    let (_, sha) = fixture("fixture_echo");
    let r = run_fixture(&repo, "fixture_echo", &["--json", "--exec", "git"]);
    r.succeeds();
    assert_eq!(r.stderr(), "");
    let doc = r.json();
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "attempt",
            "component",
            "duration_ms",
            "failure",
            "git",
            "granted",
            "kind",
            "logs",
            "ok",
            "output_tail",
            "outputs",
            "run_id",
            "stage_id",
            "summary",
            "task",
            "workspace",
        ]
    );
    assert_eq!(doc["kind"], "stage");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["component"]["sha256"], sha);
    assert_eq!(doc["component"]["name"], "fixture-echo");
    assert_eq!(doc["component"]["version"], "0.1.0");
    assert_eq!(
        doc["granted"],
        serde_json::json!({"workspace": "none", "exec": ["git"], "net": []})
    );
    assert_eq!(doc["task"]["id"], "adhoc");
    assert_eq!(doc["summary"], "echoed attempt 1");
    assert_eq!(doc["failure"], serde_json::Value::Null);
    assert_eq!(
        doc["logs"],
        serde_json::json!([
            {"level": "info", "message": "fixture-echo attempt 1"},
            {"level": "progress", "message": "echoing (50%)"},
        ])
    );
}

const TASKS: &str = "# Tasks\n\n### TASK-1: Set up the project\n🔴 P0 | ✅ DONE\n\n### TASK-2: Add \
                     a login\n🔴 P0 | ⬜ TODO\n**Depends on:** [TASK-1]\n";

#[test]
fn a_task_source_lists_the_tasks_of_the_workspace() {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", TASKS).commit_all("tasks");
    let list = |extra: &[&str]| {
        let mut args = vec![
            "plugin",
            "run",
            "builtin:tasks-md",
            "--workspace",
            ".",
            "--config",
            r#"{"path": "spec/tasks.md"}"#,
        ];
        args.extend_from_slice(extra);
        engine(&repo, &args)
    };
    let r = list(&[]);
    r.succeeds();
    r.stdout_has("TASK-2").stdout_has("Add a login");
    let r = list(&["--json"]);
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["kind"], "source");
    assert_eq!(doc["component"]["name"], "tasks-md");
    let mut ids: Vec<&str> = doc["listing"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["TASK-1", "TASK-2"], "{doc}");
    // The same source as a component file: its kind is read from the file.
    let bytes = engine_runtime::builtin("tasks-md").unwrap();
    std::fs::write(repo.path().join("tasks-source.wasm"), bytes).unwrap();
    let r = engine(
        &repo,
        &[
            "plugin",
            "run",
            "tasks-source.wasm",
            "--workspace",
            ".",
            "--config",
            r#"{"path": "spec/tasks.md"}"#,
            "--json",
        ],
    );
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["kind"], "source");
    assert_eq!(doc["component"]["label"], "tasks-source.wasm");
    assert_eq!(doc["listing"]["tasks"].as_array().unwrap().len(), 2);
    // Its config is checked against its schema.
    let r = engine(
        &repo,
        &[
            "plugin",
            "run",
            "builtin:tasks-md",
            "--workspace",
            ".",
            "--config",
            r#"{"pth": "spec/tasks.md"}"#,
        ],
    );
    r.exits(2).stderr_has("config: unknown field \"pth\"");
    // A file that is not there is the source's failure: exit 1 with its words.
    let r = engine(
        &repo,
        &[
            "plugin",
            "run",
            "builtin:tasks-md",
            "--workspace",
            ".",
            "--config",
            r#"{"path": "spec/none.md"}"#,
        ],
    );
    r.exits(1).stderr_has("✗ builtin:tasks-md: ");
}

#[test]
fn bad_input_exits_2() {
    let repo = TestRepo::new();
    repo.write("not.wasm", "hello");
    let r = engine(
        &repo,
        &["plugin", "run", "missing.wasm", "--workspace", "."],
    );
    r.exits(2).stderr_has("error: cannot read missing.wasm: ");
    let r = engine(&repo, &["plugin", "run", "not.wasm", "--workspace", "."]);
    r.exits(2).stderr_has("not.wasm");
    let r = engine(
        &repo,
        &["plugin", "run", "builtin:nope", "--workspace", "."],
    );
    r.exits(2)
        .stderr_has("unknown built-in stage `builtin:nope`");
    let (echo, _) = fixture("fixture_echo");
    let echo = echo.display().to_string();
    let r = engine(
        &repo,
        &["plugin", "run", echo.as_str(), "--workspace", "README.md"],
    );
    r.exits(2)
        .stderr_has("--workspace README.md: not a directory");
    let r = run_fixture(&repo, "fixture_agent", &[]);
    r.exits(2)
        .stderr_has("asks for agent sessions (permissions.agent)");
    let r = run_fixture(&repo, "fixture_echo", &["--stage-id", "Bad"]);
    r.exits(2).stderr_has("--stage-id Bad: ");
    let r = run_fixture(&repo, "fixture_echo", &["--output", "build=[1]"]);
    r.exits(2)
        .stderr_has("--output build: a stage's outputs are a JSON object");
    assert!(!Path::new(&repo.path().join(".engine")).exists());
}

#[test]
fn bad_input_with_json_is_one_json_document() {
    // `--json` two subcommands down (`engine plugin run`) still makes the error a document.
    let repo = TestRepo::new();
    let r = engine(
        &repo,
        &[
            "plugin",
            "run",
            "missing.wasm",
            "--workspace",
            ".",
            "--json",
        ],
    );
    r.exits(2);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout())
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", r.stdout()));
    assert_eq!(doc["error"]["exit_code"], 2, "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|e| e.contains("missing.wasm")),
        "{doc}"
    );
}
