//! End-to-end: the real `engine` binary runs gate workflows on real temporary git repositories.

use crate::support::TestRepo;

const TWO_GATES: &str = r#"
name: ci
stages:
  build:
    uses: builtin:gate
    with:
      commands:
        - "sh -c 'echo built > built.txt'"
        - ["test", "-f", "README.md"]
    permissions: { workspace: read, exec: [sh, test] }
  check:
    uses: builtin:gate
    needs: [build]
    with: { commands: ["grep -q built built.txt"] }
    permissions: { workspace: read, exec: [grep] }
"#;

#[test]
fn gate_workflow_runs_in_its_own_worktree_and_leaves_the_checkout_alone() {
    let repo = TestRepo::new();
    // A user's dirty checkout: a modified file, a staged change, an untracked file.
    repo.write("README.md", "# demo, edited but not committed\n");
    repo.write("src/lib.txt", "staged change\n");
    repo.git(&["add", "src/lib.txt"]);
    repo.write("notes.txt", "untracked notes\n");
    repo.workflow(TWO_GATES);
    let status_before = repo.git(&["status", "--porcelain"]);
    let staged_before = repo.git(&["diff", "--cached"]);
    let head_before = repo.git(&["rev-parse", "HEAD"]);

    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Check the build")
        .run();
    run.succeeds();
    let run_id = run.run_id();
    assert_eq!(
        run_id.len(),
        26,
        "stdout starts with the run id: {}",
        run.stdout()
    );
    // Each stage's progress, the worktree removed, the summary.
    insta::assert_snapshot!("two_gates_pass", run.stderr_normalised());

    // The user's checkout is exactly as it was (byte for byte), minus nothing, plus nothing.
    repo.assert_file("README.md", "# demo, edited but not committed\n");
    repo.assert_file("src/lib.txt", "staged change\n");
    repo.assert_file("notes.txt", "untracked notes\n");
    repo.assert_no_file("built.txt");
    assert_eq!(repo.git(&["diff", "--cached"]), staged_before);
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head_before);
    let status_after = repo.git(&["status", "--porcelain"]);
    assert_eq!(
        status_after, status_before,
        ".engine must not show up in git status"
    );

    // The work happened in the run's own worktree (check found build's file there), which is
    // removed once the run succeeded; its branch stays.
    let report = run.report();
    assert_eq!(report.meta.worktree, None);
    assert!(
        !repo.path().join(".engine/worktrees").join(&run_id).exists(),
        "the worktree directory is gone"
    );
    let branch = &report.meta.branch;
    assert!(branch.starts_with("engine/"), "{branch}");
    assert!(
        repo.git(&["branch", "--list", branch])
            .contains(branch.as_str())
    );
    assert_eq!(report.meta.base_branch, "main");
    assert_eq!(report.status(), "succeeded");
    let o = report.outcomes();
    assert_eq!(o["build"], ["succeeded"]);
    assert_eq!(o["check"], ["succeeded"]);
    let outputs = &report.stage("build").outputs;
    assert_eq!(outputs["commands"].as_array().unwrap().len(), 2);
    // Events: started, two successes; numbered from 1 without gaps.
    let seqs: Vec<u64> = report.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);

    // `engine runs` lists it; `engine show` renders it for people, found by a prefix.
    let list = repo.runs();
    assert_eq!(list[0]["run_id"], run_id.as_str());
    assert_eq!(list[0]["status"], "succeeded");
    let text = repo.run(&["show", &run_id[..10]]);
    text.succeeds();
    insta::assert_snapshot!("show_two_gates", text.stdout_normalised());
}

#[test]
fn a_failing_gate_fails_the_run_with_exit_1_and_reports_the_output_tail() {
    let repo = TestRepo::new();
    repo.workflow(
        r#"
name: failing
stages:
  test:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo some context; echo boom-detail >&2; exit 3'"] }
    permissions: { workspace: read, exec: [sh] }
"#,
    );
    let run = repo.run(&["run", "workflow.yaml"]);
    run.exits(1);
    insta::assert_snapshot!("failing_gate", run.stderr_normalised());
    let report = run.report();
    assert_eq!(report.status(), "failed");
    let test = report.stage("test");
    let failure = test.failure();
    assert_eq!(failure.kind, "fatal");
    insta::assert_snapshot!("failing_gate_message", failure.message);
    // The detail holds the output's tail (and timings, so it is not compared whole).
    assert!(
        failure.detail.to_string().contains("boom-detail"),
        "{failure:?}"
    );
    // A fatal failure is not retried.
    assert_eq!(test.outcomes(), ["failed"]);
}

#[test]
fn exec_of_a_program_the_workflow_does_not_grant_is_denied() {
    let repo = TestRepo::new();
    // The program is a template, so only the running gate knows it (a literal one is refused
    // by validate: tests/e2e/validate_findings.rs).
    repo.workflow(
        r#"
name: denied
stages:
  peek:
    uses: builtin:gate
    with: { commands: ["{{ 'cat' }} README.md"] }
    permissions: { workspace: read, exec: [ls] }
"#,
    );
    let run = repo.run(&["run", "workflow.yaml"]);
    run.exits(1);
    let report = run.report();
    insta::assert_snapshot!("exec_not_granted", report.stage("peek").failure().message);
}

#[test]
fn a_state_directory_tracked_by_git_is_refused() {
    let repo = TestRepo::new();
    repo.write(".engine/oops", "tracked by mistake\n");
    repo.git(&["add", "-f", ".engine/oops"]);
    repo.git(&["commit", "-q", "-m", "track state"]);
    repo.workflow(TWO_GATES);
    let run = repo.run(&["run", "workflow.yaml"]);
    run.exits(2);
    insta::assert_snapshot!("state_directory_tracked", run.stderr_normalised());
}

#[test]
fn a_busy_state_directory_is_reported_and_cancel_reaches_the_running_engine() {
    let repo = TestRepo::new();
    repo.workflow(
        r#"
name: slow
stages:
  slow:
    uses: builtin:gate
    with: { commands: ["sleep 30"] }
    permissions: { workspace: read, exec: [sleep] }
"#,
    );
    let mut engine = repo.engine().args(["run", "workflow.yaml"]).spawn();
    engine.wait_for_stderr("▶ slow");
    let run_id = engine.read_run_id();
    let pid = engine.pid().to_string();

    // A command that needs the state directory to itself (`gc`) gets a clear error naming the
    // holder, and exit code 5 (a second `engine run` would go on in the holder: see
    // many_runs.rs).
    let second = repo.run(&["gc"]);
    second.exits(5);
    insta::assert_snapshot!(
        "state_directory_busy",
        repo.normalise(&second.stderr().replace(&pid, "[PID]"))
    );
    // Read-only commands still work, from the running engine's mirror.
    repo.run(&["runs"]).succeeds().stdout_has(&run_id);

    // Cancel goes through the running engine, which stops the stage and ends the run.
    repo.run(&["cancel", &run_id, "--reason", "changed my mind"])
        .succeeds();
    let (code, _) = engine.wait();
    assert_eq!(code, 3, "cancelled runs exit 3");
    let report = repo.report(&run_id);
    assert_eq!(report.status(), "cancelled");
    assert_eq!(
        report.state.status.reason.as_deref(),
        Some("changed my mind")
    );
    assert_eq!(report.stage("slow").outcomes(), ["cancelled"]);
}

#[test]
fn schema_prints_the_workflow_json_schema() {
    let repo = TestRepo::new();
    let run = repo.run(&["schema"]);
    run.succeeds();
    let schema = run.json();
    assert!(schema["properties"]["stages"].is_object(), "{schema}");
}

#[test]
fn unknown_run_ids_and_bad_arguments_exit_2() {
    let repo = TestRepo::new();
    repo.workflow(TWO_GATES);
    repo.run(&["run", "workflow.yaml"]).succeeds();
    let show = repo.run(&["show", "ZZZZ"]);
    show.exits(2);
    insta::assert_snapshot!("show_unknown_run", show.stderr_normalised());
    let unknown = repo.run(&["frobnicate"]);
    unknown.exits(2);
    insta::assert_snapshot!("unknown_command", unknown.stderr_normalised());
    let missing = repo.run(&["run", "missing.yaml"]);
    missing.exits(2);
    insta::assert_snapshot!("missing_workflow", missing.stderr_normalised());
}
