//! The attempt loop against scripted sessions: completion and continuation.

use engine_stage_sdk::agent::Outcome;
use serde_json::json;

use super::*;
use crate::fake_host::*;

#[test]
fn none_dialect_completes_with_the_session() {
    let mut host = FakeHost::new(vec![session(
        Outcome::Completed,
        "Added the flag.",
        &["src/cli.rs"],
    )]);
    let report = run(
        &mut host,
        &plan(json!({"backend": "claude", "model": "smart"})),
    )
    .unwrap();
    assert_eq!(report.final_text, "Added the flag.");
    assert_eq!(report.totals.files(), ["src/cli.rs"]);
    assert_eq!(report.totals.sessions, 1);
    let request = &host.requests[0];
    assert_eq!(request.backend, "claude");
    assert_eq!(request.model.as_deref(), Some("smart"));
    assert_eq!(request.resume_session, None);
    assert_eq!(request.max_turns, Some(50));
    assert!(request.prompt.contains("Add a flag"));
}

#[test]
fn promise_missing_resumes_the_session_until_it_appears() {
    let mut host = FakeHost::new(vec![
        session(Outcome::Completed, "Halfway there.", &["a.rs"]),
        session(
            Outcome::Completed,
            "Done.\n<promise>COMPLETE</promise>",
            &["b.rs"],
        ),
    ]);
    let report = run(
        &mut host,
        &plan(json!({"backend": "claude", "completion": "promise"})),
    )
    .unwrap();
    assert_eq!(host.requests.len(), 2);
    let second = &host.requests[1];
    assert_eq!(second.resume_session.as_deref(), Some("sess-1"));
    assert!(
        second
            .prompt
            .contains("did not contain <promise>COMPLETE</promise>"),
        "{}",
        second.prompt
    );
    assert!(
        second
            .prompt
            .contains("end your final message with <promise>COMPLETE</promise>")
    );
    assert_eq!(report.totals.files(), ["a.rs", "b.rs"]);
    assert_eq!(report.totals.cost(), Some(0.2));
    assert_eq!(report.completion["promise"], "COMPLETE");
}

#[test]
fn gate_not_ready_continues_and_ready_completes() {
    let not_ready = "<COMPLETION_GATE>\nready: false\nreason: 2 tests fail\n</COMPLETION_GATE>";
    let ready = "<COMPLETION_GATE>\nready: true\nreason: green\n</COMPLETION_GATE>";
    let mut host = FakeHost::new(vec![
        session(Outcome::Completed, not_ready, &["a.rs"]),
        session(Outcome::Completed, ready, &["a.rs"]),
    ]);
    let report = run(
        &mut host,
        &plan(json!({"backend": "claude", "completion": "gate"})),
    )
    .unwrap();
    assert!(host.requests[1].prompt.contains("2 tests fail"));
    assert_eq!(report.completion["ready"], true);
}

#[test]
fn blocked_marker_is_fatal_and_never_continued() {
    let mut host = FakeHost::new(vec![session(
        Outcome::Completed,
        "TASK_COMPLETE\nTASK_BLOCKED: needs a production API key",
        &["a.rs"],
    )]);
    let err = run(
        &mut host,
        &plan(json!({"backend": "claude", "completion": "markers"})),
    )
    .unwrap_err();
    assert!(!err.retryable);
    assert_eq!(err.detail["blocked"], true);
    assert!(err.message.contains("production API key"));
    assert_eq!(host.requests.len(), 1);
}

#[test]
fn failed_marker_is_retryable() {
    let mut host = FakeHost::new(vec![session(
        Outcome::Completed,
        "TASK_FAILED: cannot reproduce",
        &[],
    )]);
    let err = run(
        &mut host,
        &plan(json!({"backend": "claude", "completion": "markers"})),
    )
    .unwrap_err();
    assert!(err.retryable);
    assert_eq!(err.detail["agent_failed"], true);
    assert_eq!(err.detail["reason"], "cannot reproduce");
}

#[test]
fn result_json_interim_then_success() {
    let done =
        "```json\n{\"TASKRUNNER_RESULT\": true, \"status\": \"success\", \"summary\": \"ok\"}\n```";
    let mut host = FakeHost::new(vec![
        session(Outcome::Completed, "```json\n{\"step\": 1}\n```", &["a.rs"]),
        session(Outcome::Completed, done, &[]),
    ]);
    let report = run(
        &mut host,
        &plan(json!({"backend": "codex", "completion": "result_json"})),
    )
    .unwrap();
    assert_eq!(report.completion["summary"], "ok");
    assert_eq!(host.requests.len(), 2);
}

#[test]
fn sessions_without_file_changes_trip_the_breaker() {
    let scripts = (0..5)
        .map(|_| session(Outcome::Completed, "thinking", &[]))
        .collect();
    let mut host = FakeHost::new(scripts);
    let err = run(
        &mut host,
        &plan(json!({"backend": "claude", "completion": "promise"})),
    )
    .unwrap_err();
    assert!(!err.retryable);
    assert_eq!(err.detail["needs_attention"], true);
    assert_eq!(err.detail["trip"], "no_progress");
    assert_eq!(host.requests.len(), 3, "max_no_progress defaults to 3");
    assert_eq!(err.detail["last_message"], "thinking");
}

#[test]
fn max_iterations_caps_the_sessions() {
    let scripts = (0..5)
        .map(|_| session(Outcome::Completed, "more to do", &["a.rs"]))
        .collect();
    let mut host = FakeHost::new(scripts);
    let config = json!({"backend": "claude", "completion": "promise", "continuation": {"max_iterations": 2}});
    let err = run(&mut host, &plan(config)).unwrap_err();
    assert_eq!(err.detail["trip"], "max_iterations");
    assert_eq!(err.detail["iterations"], 2);
    assert_eq!(host.requests.len(), 2);
}

#[test]
fn the_same_error_repeated_trips_the_breaker() {
    let scripts = (0..6)
        .map(|i| {
            let mut s = session(Outcome::Errored, "", &["a.rs"]);
            s.summary.detail = format!("API Error: 500 (request {i})");
            s
        })
        .collect();
    let mut host = FakeHost::new(scripts);
    let config = json!({"backend": "claude", "continuation": {"max_same_error": 3}});
    let err = run(&mut host, &plan(config)).unwrap_err();
    assert_eq!(err.detail["trip"], "same_error");
    assert_eq!(host.requests.len(), 3);
    assert!(
        host.requests[1]
            .prompt
            .contains("ended in an error: API Error: 500")
    );
}

#[test]
fn max_turns_without_completion_continues() {
    let mut host = FakeHost::new(vec![
        session(Outcome::MaxTurns, "", &["a.rs"]),
        session(Outcome::Completed, "done", &[]),
    ]);
    run(&mut host, &plan(json!({"backend": "claude"}))).unwrap();
    assert_eq!(host.requests[1].resume_session.as_deref(), Some("sess-1"));
    assert!(host.requests[1].prompt.contains("turn limit"));
}

#[test]
fn a_session_without_an_id_is_continued_fresh() {
    let mut first = session(Outcome::Completed, "partial", &["a.rs"]);
    first.events.remove(0);
    first.summary.session_id = None;
    let mut host = FakeHost::new(vec![
        first,
        session(Outcome::Completed, "TASK_COMPLETE", &[]),
    ]);
    run(
        &mut host,
        &plan(json!({"backend": "aider", "completion": "markers"})),
    )
    .unwrap();
    assert_eq!(host.requests[1].resume_session, None);
    assert!(host.requests[1].prompt.contains("stopped before finishing"));
}
