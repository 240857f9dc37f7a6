//! End-to-end: the real `engine` binary runs gate workflows on real temporary git repositories.

mod support;

use std::io::BufReader;

use support::{TestRepo, outcomes, wait_for_line};

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
    let wf = repo.workflow(TWO_GATES);
    let status_before = repo.git(&["status", "--porcelain"]);
    let staged_before = repo.git(&["diff", "--cached"]);
    let head_before = repo.git(&["rev-parse", "HEAD"]);

    let run = repo.run(&["run", wf.to_str().unwrap(), "--task", "Check the build"]);
    assert_eq!(run.code(), 0, "stderr: {}", run.stderr());
    let run_id = run.run_id();
    assert_eq!(
        run_id.len(),
        26,
        "stdout starts with the run id: {}",
        run.stdout()
    );
    assert!(run.stderr().contains("✓ build"), "{}", run.stderr());
    assert!(run.stderr().contains("✓ check"), "{}", run.stderr());

    // The user's checkout is exactly as it was (byte for byte), minus nothing, plus nothing.
    assert_eq!(repo.read("README.md"), "# demo, edited but not committed\n");
    assert_eq!(repo.read("src/lib.txt"), "staged change\n");
    assert_eq!(repo.read("notes.txt"), "untracked notes\n");
    assert!(!repo.path().join("built.txt").exists());
    assert_eq!(repo.git(&["diff", "--cached"]), staged_before);
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head_before);
    let status_after = repo.git(&["status", "--porcelain"]);
    assert_eq!(
        status_after, status_before,
        ".engine must not show up in git status"
    );

    // The work happened in the run's own worktree (check found build's file there), which is
    // removed once the run succeeded; its branch stays.
    let show = repo.show(&run_id);
    assert!(show["meta"]["worktree"].is_null(), "{}", show["meta"]);
    assert!(
        !repo.path().join(".engine/worktrees").join(&run_id).exists(),
        "the worktree directory is gone"
    );
    assert!(
        run.stderr().contains("removed the worktree"),
        "{}",
        run.stderr()
    );
    let branch = show["meta"]["branch"].as_str().unwrap();
    assert!(branch.starts_with("engine/"), "{branch}");
    assert!(repo.git(&["branch", "--list", branch]).contains(branch));
    assert_eq!(show["meta"]["base_branch"], "main");
    assert_eq!(show["state"]["status"]["status"], "succeeded");
    let o = outcomes(&show);
    assert_eq!(o["build"], vec!["succeeded"]);
    assert_eq!(o["check"], vec!["succeeded"]);
    let outputs = &show["state"]["stages"]["build"]["outputs"];
    assert_eq!(outputs["commands"].as_array().unwrap().len(), 2);
    // Events: started, two successes; numbered from 1 without gaps.
    let seqs: Vec<u64> = show["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);

    // `engine runs` lists it; `engine show` renders it for people.
    let runs = repo.run(&["runs", "--json"]);
    assert_eq!(runs.code(), 0);
    let list: serde_json::Value = serde_json::from_str(&runs.stdout()).unwrap();
    assert_eq!(list[0]["run_id"], run_id.as_str());
    assert_eq!(list[0]["status"], "succeeded");
    let text = repo.run(&["show", &run_id[..10]]);
    assert_eq!(text.code(), 0, "{}", text.stderr());
    assert!(text.stdout().contains("build"), "{}", text.stdout());
    assert!(text.stdout().contains("attempt 1"), "{}", text.stdout());
}

#[test]
fn a_failing_gate_fails_the_run_with_exit_1_and_reports_the_output_tail() {
    let repo = TestRepo::new();
    let wf = repo.workflow(
        r#"
name: failing
stages:
  test:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo some context; echo boom-detail >&2; exit 3'"] }
    permissions: { workspace: read, exec: [sh] }
"#,
    );
    let run = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(run.code(), 1, "stderr: {}", run.stderr());
    assert!(run.stderr().contains("✗ test"), "{}", run.stderr());
    let show = repo.show(&run.run_id());
    assert_eq!(show["state"]["status"]["status"], "failed");
    let failure = &show["state"]["stages"]["test"]["last_failure"];
    assert_eq!(failure["kind"], "fatal");
    assert!(
        failure["message"].as_str().unwrap().contains('3'),
        "{failure}"
    );
    assert!(
        failure["detail"].to_string().contains("boom-detail"),
        "{failure}"
    );
    // A fatal failure is not retried.
    assert_eq!(outcomes(&show)["test"], vec!["failed"]);
}

#[test]
fn exec_of_a_program_the_workflow_does_not_grant_is_denied() {
    let repo = TestRepo::new();
    let wf = repo.workflow(
        r#"
name: denied
stages:
  peek:
    uses: builtin:gate
    with: { commands: ["cat README.md"] }
    permissions: { workspace: read, exec: [ls] }
"#,
    );
    let run = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(run.code(), 1, "stderr: {}", run.stderr());
    let show = repo.show(&run.run_id());
    let message = show["state"]["stages"]["peek"]["last_failure"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("cat"), "{message}");
    assert!(message.contains("not permitted"), "{message}");
}

#[test]
fn a_state_directory_tracked_by_git_is_refused() {
    let repo = TestRepo::new();
    repo.write(".engine/oops", "tracked by mistake\n");
    repo.git(&["add", "-f", ".engine/oops"]);
    repo.git(&["commit", "-q", "-m", "track state"]);
    let wf = repo.workflow(TWO_GATES);
    let run = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "stderr: {}", run.stderr());
    assert!(run.stderr().contains("tracked by git"), "{}", run.stderr());
}

#[test]
fn a_busy_state_directory_is_reported_and_cancel_reaches_the_running_engine() {
    let repo = TestRepo::new();
    let wf = repo.workflow(
        r#"
name: slow
stages:
  slow:
    uses: builtin:gate
    with: { commands: ["sleep 30"] }
    permissions: { workspace: read, exec: [sleep] }
"#,
    );
    let mut child = repo.spawn(&["run", wf.to_str().unwrap()], &[]);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    assert!(
        wait_for_line(&mut stderr, "▶ slow", &mut seen),
        "never started: {seen}"
    );
    let mut stdout = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(child.stdout.take().unwrap(), 27),
        &mut stdout,
    )
    .unwrap();
    let run_id = stdout.trim().to_string();

    // A second engine on the same state directory gets a clear error and exit code 5.
    let second = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(second.code(), 5, "stderr: {}", second.stderr());
    assert!(
        second.stderr().contains(&child.id().to_string()),
        "names the holder: {}",
        second.stderr()
    );
    // Read-only commands still work, from the running engine's mirror.
    let runs = repo.run(&["runs"]);
    assert_eq!(runs.code(), 0, "stderr: {}", runs.stderr());
    assert!(runs.stdout().contains(&run_id), "{}", runs.stdout());

    // Cancel goes through the running engine, which stops the stage and ends the run.
    let cancel = repo.run(&["cancel", &run_id, "--reason", "changed my mind"]);
    assert_eq!(cancel.code(), 0, "stderr: {}", cancel.stderr());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "cancelled runs exit 3");
    let show = repo.show(&run_id);
    assert_eq!(show["state"]["status"]["status"], "cancelled");
    assert_eq!(show["state"]["status"]["reason"], "changed my mind");
    assert_eq!(outcomes(&show)["slow"], vec!["cancelled"]);
}

#[test]
fn schema_prints_the_workflow_json_schema() {
    let repo = TestRepo::new();
    let run = repo.run(&["schema"]);
    assert_eq!(run.code(), 0);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert!(schema["properties"]["stages"].is_object(), "{schema}");
}

#[test]
fn unknown_run_ids_and_bad_arguments_exit_2() {
    let repo = TestRepo::new();
    let wf = repo.workflow(TWO_GATES);
    assert_eq!(repo.run(&["run", wf.to_str().unwrap()]).code(), 0);
    let show = repo.run(&["show", "ZZZZ"]);
    assert_eq!(show.code(), 2, "{}", show.stderr());
    assert_eq!(repo.run(&["frobnicate"]).code(), 2);
    assert_eq!(repo.run(&["run", "missing.yaml"]).code(), 2);
}
