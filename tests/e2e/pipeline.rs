//! End-to-end pipeline semantics with the fixture-echo component: outputs flow to later stages,
//! retryable failures are retried with backoff, `on_failure: goto` loops back with feedback,
//! idempotency keys and attempt numbers reach the component.

mod support;

use support::{TestRepo, fixture_uses, outcomes};

#[test]
fn outputs_keys_and_task_reach_later_stages() {
    let repo = TestRepo::new();
    let wf = repo.workflow(&format!(
        r#"
name: flow
stages:
  first:
    {echo}
    with: {{ greeting: hello }}
  second:
    {echo}
    needs: [first]
"#,
        echo = fixture_uses("fixture_echo")
    ));
    let r = repo.run(&[
        "run",
        wf.to_str().unwrap(),
        "--task",
        "Say hello\nwith a body",
    ]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let run_id = r.run_id();
    let show = repo.show(&run_id);
    let first = &show["state"]["stages"]["first"]["outputs"];
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
    let second = &show["state"]["stages"]["second"]["outputs"];
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
    let wf = repo.workflow(&format!(
        r#"
name: flaky
stages:
  flaky:
    {echo}
    with: {{ fail_until_attempt: 3, fail_message: "network hiccup" }}
    retry: {{ max_attempts: 3, initial_interval: 50ms, backoff: 2 }}
"#,
        echo = fixture_uses("fixture_echo")
    ));
    let r = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stderr().contains("↻ flaky: attempt 2"), "{}", r.stderr());
    let show = repo.show(&r.run_id());
    assert_eq!(
        outcomes(&show)["flaky"],
        vec!["failed", "failed", "succeeded"]
    );
    let history = show["state"]["stages"]["flaky"]["history"]
        .as_array()
        .unwrap();
    // Backoff: the second retry waited at least twice the initial interval.
    let gap = |i: usize| {
        history[i + 1]["started_at_ms"].as_u64().unwrap()
            - history[i]["ended_at_ms"].as_u64().unwrap()
    };
    assert!(gap(0) >= 50, "first retry after {}ms", gap(0));
    assert!(gap(1) >= 100, "second retry after {}ms", gap(1));
}

#[test]
fn retries_are_bounded_by_max_attempts() {
    let repo = TestRepo::new();
    let wf = repo.workflow(&format!(
        r#"
name: hopeless
stages:
  flaky:
    {echo}
    with: {{ fail: retryable }}
    retry: {{ max_attempts: 2, initial_interval: 10ms }}
"#,
        echo = fixture_uses("fixture_echo")
    ));
    let r = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert_eq!(
        outcomes(&repo.show(&r.run_id()))["flaky"],
        vec!["failed", "failed"]
    );
}

#[test]
fn on_failure_goto_sends_the_run_back_with_feedback_and_is_bounded() {
    let repo = TestRepo::new();
    let echo = fixture_uses("fixture_echo");
    // `check` fails fatally on its first two attempts; each failure sends the run back to
    // `work` with the failure as feedback. max_loops 2 allows exactly that.
    let wf = repo.workflow(&format!(
        r#"
name: loop
stages:
  work:
    {echo}
  check:
    {echo}
    needs: [work]
    with: {{ fail_until_attempt: 3, fail_message: "tests failed: 2 of 10" }}
    retry: {{ max_attempts: 1 }}
    on_failure: {{ goto: work, max_loops: 2 }}
"#
    ));
    let r = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(
        r.stderr()
            .contains("sent back by check: tests failed: 2 of 10"),
        "{}",
        r.stderr()
    );
    let show = repo.show(&r.run_id());
    let o = outcomes(&show);
    assert_eq!(o["work"], vec!["succeeded", "succeeded", "succeeded"]);
    assert_eq!(o["check"], vec!["failed", "failed", "succeeded"]);
    // The work stage saw the feedback of check's second failure on its third attempt.
    let work = &show["state"]["stages"]["work"];
    assert_eq!(work["outputs"]["attempt"], 3);
    assert_eq!(work["outputs"]["feedback"]["from_stage"], "check");
    assert_eq!(work["outputs"]["feedback"]["attempt"], 2);
    assert_eq!(
        work["outputs"]["feedback"]["message"],
        "tests failed: 2 of 10"
    );
    assert_eq!(show["state"]["stages"]["check"]["loops"], 2);

    // One loop fewer than needed: the run fails after the budget is spent.
    let tight = repo.workflow(&format!(
        r#"
name: loop
stages:
  work:
    {echo}
  check:
    {echo}
    needs: [work]
    with: {{ fail_until_attempt: 3 }}
    retry: {{ max_attempts: 1 }}
    on_failure: {{ goto: work, max_loops: 1 }}
"#
    ));
    let r = repo.run(&["run", tight.to_str().unwrap()]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert_eq!(
        outcomes(&repo.show(&r.run_id()))["check"],
        vec!["failed", "failed"]
    );
}

#[test]
fn a_retry_scheduled_before_a_crash_keeps_its_due_time_after_resume() {
    let repo = TestRepo::new();
    let wf = repo.workflow(&format!(
        r#"
name: later
stages:
  flaky:
    {echo}
    with: {{ fail_until_attempt: 2 }}
    retry: {{ max_attempts: 2, initial_interval: 2s }}
"#,
        echo = fixture_uses("fixture_echo")
    ));
    // Transition 2 stores the failure and the retry schedule; kill right after it.
    let mut child = repo.spawn(
        &["run", wf.to_str().unwrap()],
        &[("ENGINE_DEBUG_HOLD", "after:2")],
    );
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    assert!(
        support::wait_for_line(&mut stderr, "holding after storing transition 2", &mut seen),
        "{seen}"
    );
    support::kill9(&mut child);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let run_id = out.trim().to_string();

    let r = repo.run(&["resume", &run_id]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let show = repo.show(&run_id);
    assert_eq!(outcomes(&show)["flaky"], vec!["failed", "succeeded"]);
    let history = show["state"]["stages"]["flaky"]["history"]
        .as_array()
        .unwrap();
    let failed_at = history[0]["ended_at_ms"].as_u64().unwrap();
    let retried_at = history[1]["started_at_ms"].as_u64().unwrap();
    assert!(
        retried_at >= failed_at + 2000,
        "the retry ran {}ms after the failure, before its due time",
        retried_at - failed_at
    );
}
