//! End-to-end: steering a run. `engine retry RUN [--from STAGE]` runs an ended run again from a
//! stage, keeping what succeeded before it (also across a kill -9 of the retry); `engine pause`
//! holds a run durably (across a kill -9 and a resume) and `engine unpause` lets it go on; a
//! run-level `timeout:` fails a run that runs too long.

use crate::support::{Handshake, TestRepo, assert_no_process_under};

/// `a`, then `b`, which fails until the `gate` handshake's go is given (and then, when `hold`
/// is set, announces itself as `b` through `hold` and waits for its go), then `c`.
fn failing_middle(gate: &Handshake, hold: Option<&Handshake>) -> String {
    let then_wait = hold.map_or_else(String::new, |h| format!(" && {}", h.announce_and_wait("b")));
    let grants = match hold {
        Some(h) => format!(
            "sandbox: {{ write: [{}, {}] }}",
            gate.dir().display(),
            h.dir().display()
        ),
        None => gate.grant(),
    };
    format!(
        r#"
name: steered
stages:
  a:
    uses: builtin:gate
    with: {{ commands: ["sh -c 'echo a'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
  b:
    uses: builtin:gate
    needs: [a]
    with: {{ commands: ["sh -c 'test -e {gate}/go{then_wait}'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    retry: {{ max_attempts: 1 }}
    {grants}
  c:
    uses: builtin:gate
    needs: [b]
    with: {{ commands: ["sh -c 'echo c'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
"#,
        gate = gate.dir().display(),
    )
}

/// Runs the workflow until it fails at `b`; returns the run id.
#[track_caller]
fn failed_run(repo: &TestRepo) -> String {
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Steer it")
        .run();
    run.exits(1);
    let run_id = run.run_id();
    let report = repo.report(&run_id);
    assert_eq!(report.status(), "failed", "{:#}", report.raw);
    assert_eq!(report.outcomes()["b"], ["failed"]);
    run_id
}

#[test]
fn retry_runs_the_failed_stage_and_what_follows_and_keeps_what_succeeded() {
    let repo = TestRepo::new();
    let gate = Handshake::new();
    repo.workflow(&failing_middle(&gate, None));
    let run_id = failed_run(&repo);

    gate.release();
    let retry = repo.run(&["retry", &run_id]);
    retry.succeeds();
    retry.stderr_has(&format!("retrying run {run_id} from b: b, c run again"));
    let report = repo.report(&run_id);
    assert_eq!(report.status(), "succeeded");
    let outcomes = report.outcomes();
    assert_eq!(outcomes["a"], ["succeeded"], "a's result is kept");
    assert_eq!(outcomes["b"], ["failed", "succeeded"]);
    assert_eq!(report.stage("b").history[1].number, 2);
    assert_eq!(outcomes["c"], ["succeeded"]);
    assert!(report.event_names().contains(&"retry_from"));
    repo.report(&run_id).assert_log_replays(repo.path());

    // A run that succeeded has nothing to retry; a stage that does not exist is named.
    let again = repo.run(&["retry", &run_id]);
    again.exits(2);
    again.stderr_has("succeeded: nothing failed to retry");
    let unknown = repo.run(&["retry", &run_id, "--from", "deploy"]);
    unknown.exits(2);
    unknown.stderr_has("\"deploy\" is not a stage of the run's workflow; its stages: a, b, c");
    // Nor can an ended run be paused.
    repo.run(&["pause", &run_id])
        .exits(2)
        .stderr_has("already ended");
}

#[test]
fn retry_from_an_earlier_stage_runs_it_again_and_survives_a_kill() {
    let repo = TestRepo::new();
    let gate = Handshake::new();
    let hold = Handshake::new();
    repo.workflow(&failing_middle(&gate, Some(&hold)));
    let run_id = failed_run(&repo);

    // The retry from `a` is killed while b's new attempt runs.
    gate.release();
    let mut retry = repo
        .engine()
        .args(["retry", &run_id, "--from", "a"])
        .spawn();
    retry.wait_for_stderr(&format!("retrying run {run_id} from a: a, b, c run again"));
    retry.wait_for_file(&hold.started_file("b"));
    retry.kill9();
    assert_no_process_under(repo.path());
    assert_eq!(repo.report(&run_id).status(), "running");

    hold.release();
    repo.run(&["resume", &run_id]).succeeds();
    let report = repo.report(&run_id);
    assert_eq!(report.status(), "succeeded");
    let outcomes = report.outcomes();
    assert_eq!(outcomes["a"], ["succeeded", "succeeded"]);
    assert_eq!(outcomes["b"], ["failed", "interrupted", "succeeded"]);
    assert_eq!(outcomes["c"], ["succeeded"]);
    let numbers: Vec<u32> = report.stage("b").history.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
    repo.report(&run_id).assert_log_replays(repo.path());
}

#[test]
fn a_pause_holds_the_run_across_a_kill_and_an_unpause_lets_it_finish() {
    let repo = TestRepo::new();
    let handshake = Handshake::new();
    repo.workflow(&format!(
        r#"
name: paused
stages:
  a:
    uses: builtin:gate
    with: {{ commands: ["sh -c '{wait}'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    {grant}
  b:
    uses: builtin:gate
    needs: [a]
    with: {{ commands: ["sh -c 'echo b'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
"#,
        wait = handshake.announce_and_wait("a"),
        grant = handshake.grant(),
    ));
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Pause it")
        .spawn();
    let run_id = engine.read_run_id();
    engine.wait_for_file(&handshake.started_file("a"));

    // The process driving the run takes the pause; the running attempt goes on.
    let pause = repo.run(&["pause", &run_id]);
    pause.succeeds();
    pause.stdout_has("pause requested; engine process");
    engine.wait_for_stderr("run paused");
    // A retry goes to the process holding the state directory, which drives this very run:
    // refused, the run is not driven twice.
    repo.run(&["retry", &run_id])
        .exits(2)
        .stderr_has("is being driven by engine process");
    handshake.release();
    // a's result is stored in the transition whose report this is; b did not start with it.
    engine.wait_for_stderr("✓ a (attempt 1)");
    engine.kill9();
    assert_no_process_under(repo.path());

    let report = repo.report(&run_id);
    assert_eq!(report.outcomes()["a"], ["succeeded"]);
    assert!(report.stage("b").history.is_empty(), "{:#}", report.raw);
    assert!(report.raw["state"]["paused_at_ms"].is_u64());
    let listed = repo.runs();
    assert_eq!(listed[0]["status"], "paused");
    repo.run(&["show", &run_id])
        .stdout_has("paused (no new attempt starts");

    // Nobody drives the run: an unpause and a pause are recorded directly.
    let unpause = repo.run(&["unpause", &run_id]);
    unpause.succeeds();
    assert_eq!(
        unpause.stdout(),
        format!(
            "run {run_id} unpaused; no engine process drives it: continue it with `engine \
             resume {run_id}`\n"
        )
    );
    let pause = repo.run(&["pause", &run_id]);
    pause.succeeds();
    assert_eq!(
        pause.stdout(),
        format!("run {run_id} paused: no new attempt starts until `engine unpause {run_id}`\n")
    );
    repo.run(&["pause", &run_id])
        .exits(2)
        .stderr_has("is already paused");

    // A resume of the paused run starts nothing until the unpause reaches it.
    let mut resume = repo.engine().args(["resume", &run_id]).spawn();
    resume.wait_for_stderr("the run is paused");
    repo.run(&["unpause", &run_id])
        .stdout_has("unpause requested; engine process");
    let (code, _) = resume.wait();
    assert_eq!(code, 0, "{}", resume.seen_stderr());
    let report = repo.report(&run_id);
    assert_eq!(report.status(), "succeeded");
    assert_eq!(report.outcomes()["a"], ["succeeded"]);
    // The unpause recorded while nobody drove the run started b's attempt 1, which no process
    // ran: the resume counted it interrupted (held by the pause again), the live unpause ran
    // attempt 2.
    assert_eq!(report.outcomes()["b"], ["interrupted", "succeeded"]);
    repo.report(&run_id).assert_log_replays(repo.path());
}

#[test]
fn a_run_past_its_timeout_is_stopped_and_fails_with_the_reason() {
    let repo = TestRepo::new();
    let handshake = Handshake::new();
    repo.workflow(&format!(
        r#"
name: timed
timeout: 1s
stages:
  slow:
    uses: builtin:gate
    with: {{ commands: ["sh -c '{wait}'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    {grant}
"#,
        wait = handshake.announce_and_wait("slow"),
        grant = handshake.grant(),
    ));
    // The stage waits for a go that never comes; the run's timeout ends it.
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Too slow")
        .run();
    run.exits(1);
    run.stderr_has("failed at slow: run timeout 1s reached");
    assert_no_process_under(repo.path());
    let report = repo.report(&run.run_id());
    assert_eq!(report.status(), "failed");
    assert_eq!(
        report.state.status.message.as_deref(),
        Some("run timeout 1s reached")
    );
    assert_eq!(report.outcomes()["slow"], ["cancelled"]);

    // A zero timeout is refused before anything runs.
    repo.workflow(
        "name: timed\ntimeout: 0s\nstages:\n  s:\n    uses: builtin:gate\n    with: { commands: \
         [\"true\"] }\n    permissions: { exec: [\"true\"] }\n",
    );
    repo.run(&["validate", "workflow.yaml"])
        .exits(2)
        .stderr_has("timeout: a timeout must be at least 1ms");
}
