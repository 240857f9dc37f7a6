//! End-to-end: approval stages wait for a human, durably. `engine approve` / `engine reject`
//! answer a run that an engine process is driving (through the control directory) and one that
//! nobody drives (recorded directly, `engine resume` continues); a timeout follows `on_timeout`.

use crate::support::{Spawned, TestRepo};

const GATED: &str = r#"
name: gated
stages:
  build:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo build'"] }
    permissions: { workspace: read, exec: [sh] }
  ship:
    uses: builtin:approval
    needs: [build]
    with: { message: "Check the build output, then approve." }
    on_failure: { goto: build, max_loops: 1 }
  after:
    uses: builtin:gate
    needs: [ship]
    with: { commands: ["sh -c 'echo shipped'"] }
    permissions: { workspace: read, exec: [sh] }
"#;

/// Starts `engine run` and waits until the approval stage waits (the wait line, then what to
/// tell the human and how to answer); returns the engine and the run id.
#[track_caller]
fn start_waiting(repo: &TestRepo) -> (Spawned, String) {
    repo.workflow(GATED);
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Ship it")
        .spawn();
    let run_id = engine.read_run_id();
    engine.wait_for_stderr("reject:");
    (engine, run_id)
}

#[test]
fn an_approval_wait_survives_a_crash_and_an_answer_given_meanwhile_is_kept() {
    let repo = TestRepo::new();
    let (mut engine, run_id) = start_waiting(&repo);
    insta::assert_snapshot!("waiting_for_approval", repo.normalise(engine.seen_stderr()));
    // The machine dies while the run waits.
    engine.kill9();

    // Nobody drives the run now: the answer is recorded directly.
    let approve = repo.run(&["approve", &run_id, "--by", "ana"]);
    approve.succeeds();
    insta::assert_snapshot!("approved_while_nobody_drives", approve.stdout_normalised());
    // A second answer is refused: the stage no longer waits.
    let again = repo.run(&["reject", &run_id, "--reason", "too late"]);
    again.exits(2);
    insta::assert_snapshot!("answered_twice", again.stderr_normalised());

    repo.run(&["resume", &run_id]).succeeds();
    let report = repo.report(&run_id);
    let ship = report.stage("ship");
    assert_eq!(ship.phase(), "succeeded");
    assert_eq!(ship.outputs["by"], "ana");
    // `after` was due to start when the answer was recorded; no process ran it until the
    // resume, which counts that attempt as interrupted and runs the next.
    let outcomes = report.outcomes();
    assert_eq!(
        outcomes["after"].last().map(String::as_str),
        Some("succeeded")
    );
    // The build ran once: the crash did not make it run again.
    assert_eq!(outcomes["build"], ["succeeded"]);
}

#[test]
fn a_live_rejection_sends_the_run_back_and_a_live_approval_finishes_it() {
    let repo = TestRepo::new();
    let (mut engine, run_id) = start_waiting(&repo);

    // Who answers defaults to $USER.
    repo.engine()
        .args(["reject", &run_id, "--stage", "ship"])
        .args(["--reason", "build with the new flag"])
        .env("USER", "rhea")
        .run()
        .succeeds();
    engine.wait_for_stderr("waits for approval");

    repo.engine()
        .args(["approve", &run_id])
        .env("USER", "sam")
        .run()
        .succeeds();
    let (code, _) = engine.wait();
    assert_eq!(code, 0, "{}", engine.seen_stderr());
    // What the user saw: the rejection, the run sent back, the build again, the second wait.
    insta::assert_snapshot!(
        "rejected_then_approved",
        repo.normalise(engine.seen_stderr())
    );
    let report = repo.report(&run_id);
    let outcomes = report.outcomes();
    assert_eq!(outcomes["build"], ["succeeded", "succeeded"]);
    assert_eq!(outcomes["ship"], ["failed", "succeeded"]);
    let feedback = report.stage("ship").failure_of(0);
    assert!(
        feedback.message.contains("build with the new flag"),
        "{feedback:?}"
    );
}

#[test]
fn a_timeout_follows_on_timeout() {
    let repo = TestRepo::new();
    for (policy, code, status) in [("approve", 0, "succeeded"), ("fail", 1, "failed")] {
        repo.workflow(&format!(
            r"
name: timed
stages:
  ship:
    uses: builtin:approval
    with: {{ timeout: 1s, on_timeout: {policy} }}
"
        ));
        let run = repo
            .engine()
            .args(["run", "workflow.yaml"])
            .task("Wait a bit")
            .run();
        run.exits(code);
        // Nobody answered in time.
        insta::assert_snapshot!(format!("timeout_then_{policy}"), run.stderr_normalised());
        assert_eq!(run.report().status(), status);
    }
}

#[test]
fn reject_needs_a_reason_and_unknown_runs_are_refused() {
    let repo = TestRepo::new();
    let no_reason = repo.run(&["reject", "01ABC", "--reason", " "]);
    no_reason.exits(2);
    insta::assert_snapshot!("reject_without_a_reason", no_reason.stderr_normalised());
    let unknown = repo.run(&["approve", "01NOSUCHRUN"]);
    unknown.exits(2);
    insta::assert_snapshot!("approve_an_unknown_run", unknown.stderr_normalised());
}
