//! End-to-end pipeline semantics with the fixture-echo component: outputs flow to later stages,
//! retryable failures are retried with backoff, `on_failure: goto` loops back with feedback,
//! idempotency keys and attempt numbers reach the component.

use crate::support::{TestRepo, Workflow, uses_fixture};

/// A fixture-echo stage configured by `more` (unindented stage keys, may be empty).
fn echo(more: &str) -> String {
    format!("{}\n{more}", uses_fixture("fixture_echo"))
}

#[test]
fn outputs_keys_and_task_reach_later_stages() {
    let repo = TestRepo::new();
    Workflow::named("flow")
        .stage("first", &echo("with: { greeting: hello }"))
        .stage("second", &echo("needs: [first]"))
        .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Say hello\nwith a body")
        .run();
    r.succeeds();
    let run_id = r.run_id();
    let report = r.report();
    let first = &report.stage("first").outputs;
    assert_eq!(first["config"]["greeting"], "hello");
    assert_eq!(first["keys"]["stage"], format!("{run_id}/first"));
    assert_eq!(first["keys"]["attempt"], format!("{run_id}/first/1"));
    assert_eq!(first["task"]["title"], "Say hello");
    assert_eq!(first["task"]["body"], "Say hello\nwith a body");
    assert_eq!(
        first["workspace"],
        serde_json::Value::Null,
        "no workspace granted"
    );
    let second = &report.stage("second").outputs;
    assert_eq!(second["outputs"]["first"]["config"]["greeting"], "hello");
    // The stage's log lines went to its log file.
    let log = std::fs::read_to_string(
        repo.path()
            .join(".engine/runs")
            .join(&run_id)
            .join("logs/first.1.log"),
    )
    .unwrap();
    assert!(log.contains("fixture-echo attempt 1"), "{log}");
}

#[test]
fn retryable_failures_are_retried_with_backoff_until_they_pass() {
    let repo = TestRepo::new();
    Workflow::named("flaky")
        .stage(
            "flaky",
            &echo(
                "with: { fail_until_attempt: 3, fail_message: \"network hiccup\" }\n\
                 retry: { max_attempts: 3, initial_interval: 50ms, backoff: 2 }",
            ),
        )
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.succeeds();
    // Each retry is told.
    insta::assert_snapshot!("retried_until_it_passed", r.stderr_normalised());
    let report = r.report();
    let flaky = report.stage("flaky");
    assert_eq!(flaky.outcomes(), ["failed", "failed", "succeeded"]);
    // Backoff: the second retry waited at least twice the initial interval.
    let gap = |i: usize| flaky.history[i + 1].started_at_ms - flaky.history[i].ended_at_ms.unwrap();
    assert!(gap(0) >= 50, "first retry after {}ms", gap(0));
    assert!(gap(1) >= 100, "second retry after {}ms", gap(1));
}

#[test]
fn retries_are_bounded_by_max_attempts() {
    let repo = TestRepo::new();
    Workflow::named("hopeless")
        .stage(
            "flaky",
            &echo("with: { fail: retryable }\nretry: { max_attempts: 2, initial_interval: 10ms }"),
        )
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.exits(1);
    assert_eq!(r.report().stage("flaky").outcomes(), ["failed", "failed"]);
}

#[test]
fn on_failure_goto_sends_the_run_back_with_feedback_and_is_bounded() {
    let repo = TestRepo::new();
    // `check` fails fatally on its first two attempts; each failure sends the run back to
    // `work` with the failure as feedback. max_loops 2 allows exactly that.
    Workflow::named("loop")
        .stage("work", &echo(""))
        .stage(
            "check",
            &echo(
                "needs: [work]\nwith: { fail_until_attempt: 3, fail_message: \"tests failed: 2 of 10\" }\n\
                 retry: { max_attempts: 1 }\non_failure: { goto: work, max_loops: 2 }",
            ),
        )
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.succeeds();
    // Each time the run is sent back, it says by whom and why.
    insta::assert_snapshot!("sent_back_twice", r.stderr_normalised());
    let report = r.report();
    let o = report.outcomes();
    assert_eq!(o["work"], ["succeeded", "succeeded", "succeeded"]);
    assert_eq!(o["check"], ["failed", "failed", "succeeded"]);
    // The work stage saw the feedback of check's second failure on its third attempt.
    let work = &report.stage("work").outputs;
    assert_eq!(work["attempt"], 3);
    assert_eq!(work["feedback"]["from_stage"], "check");
    assert_eq!(work["feedback"]["attempt"], 2);
    assert_eq!(work["feedback"]["message"], "tests failed: 2 of 10");
    assert_eq!(report.stage("check").loops, 2);

    // One loop fewer than needed: the run fails after the budget is spent.
    Workflow::named("loop")
        .stage("work", &echo(""))
        .stage(
            "check",
            &echo(
                "needs: [work]\nwith: { fail_until_attempt: 3 }\nretry: { max_attempts: 1 }\n\
                 on_failure: { goto: work, max_loops: 1 }",
            ),
        )
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.exits(1);
    assert_eq!(r.report().stage("check").outcomes(), ["failed", "failed"]);
}

#[test]
fn a_retry_scheduled_before_a_crash_keeps_its_due_time_after_resume() {
    let repo = TestRepo::new();
    Workflow::named("later")
        .stage(
            "flaky",
            &echo(
                "with: { fail_until_attempt: 2 }\nretry: { max_attempts: 2, initial_interval: 2s }",
            ),
        )
        .write(&repo);
    // Transition 2 stores the failure and the retry schedule; kill right after it.
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .hold("after:2")
        .spawn();
    engine.wait_for_stderr("holding after storing transition 2");
    let run_id = engine.kill9().trim().to_string();

    repo.run(&["resume", &run_id]).succeeds();
    let report = repo.report(&run_id);
    let flaky = report.stage("flaky");
    assert_eq!(flaky.outcomes(), ["failed", "succeeded"]);
    let failed_at = flaky.history[0].ended_at_ms.unwrap();
    let retried_at = flaky.history[1].started_at_ms;
    assert!(
        retried_at >= failed_at + 2000,
        "the retry ran {}ms after the failure, before its due time",
        retried_at - failed_at
    );
}
