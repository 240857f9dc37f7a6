use engine_stage_sdk::agent::ToolCall;
use serde_json::json;

use crate::personas::{Persona, PromptSource};
use crate::tests::{FakeHost, answers, completed, ended, verdict_json};
use crate::verdict::Decision;

use super::*;

fn persona(name: &str) -> Persona {
    Persona {
        name: name.into(),
        focus: "focus".into(),
        backend: "claude".into(),
        model: "smart".into(),
        source: PromptSource::BuiltIn,
    }
}

fn settings() -> SessionSettings {
    SessionSettings {
        max_turns: 7,
        budget_usd: Some(0.5),
    }
}

fn request(name: &str) -> (String, SessionRequest) {
    (
        name.to_string(),
        review_request(
            &persona(name),
            &settings(),
            format!("You are the `{name}` reviewer"),
        ),
    )
}

#[test]
fn review_sessions_are_read_only() {
    let r = review_request(&persona("quality"), &settings(), "p".into());
    assert_eq!(r.permission_mode, PermissionMode::Plan);
    assert_eq!(r.allowed_tools, ["Read", "Grep", "Glob"]);
    for denied in [
        "Edit",
        "Write",
        "Bash",
        "MultiEdit",
        "NotebookEdit",
        "WebFetch",
    ] {
        assert!(r.denied_tools.iter().any(|t| t == denied), "{denied}");
        assert!(!r.allowed_tools.iter().any(|t| t == denied), "{denied}");
    }
    assert_eq!(r.backend, "claude");
    assert_eq!(r.model.as_deref(), Some("smart"));
    assert_eq!(r.max_turns, Some(7));
    assert_eq!(r.budget_usd, Some(0.5));
    assert_eq!(r.resume_session, None);
    let again = resume_request(&persona("quality"), &settings(), "s-1", "json only".into());
    assert_eq!(again.allowed_tools, r.allowed_tools);
    assert_eq!(again.resume_session.as_deref(), Some("s-1"));
    assert_eq!(again.permission_mode, PermissionMode::Plan);
    assert_eq!(again.denied_tools, r.denied_tools);
    assert_eq!(again.max_turns, Some(REASK_MAX_TURNS));
    assert_eq!(again.prompt, "json only");
}

#[test]
fn every_session_starts_before_any_is_drained() {
    let mut host = FakeHost::default()
        .script("a", answers("{}", "s-a"))
        .script("b", answers("{}", "s-b"))
        .script("c", answers("{}", "s-c"));
    let ends = run_all(&mut host, &[request("a"), request("b"), request("c")], 3);
    assert_eq!(ends.len(), 3);
    assert_eq!(
        host.trace(),
        [
            "start a", "start b", "start c", "finish a", "finish b", "finish c"
        ]
    );
}

#[test]
fn max_parallel_runs_in_batches() {
    let mut host = FakeHost::default()
        .script("a", answers("{}", "s-a"))
        .script("b", answers("{}", "s-b"))
        .script("c", answers("{}", "s-c"));
    run_all(&mut host, &[request("a"), request("b"), request("c")], 2);
    assert_eq!(
        host.trace(),
        [
            "start a", "start b", "finish a", "finish b", "start c", "finish c"
        ]
    );
}

#[test]
fn a_session_that_cannot_start_does_not_stop_the_others() {
    let mut host = FakeHost::default()
        .script(
            "a",
            Err(AgentError::BudgetExhausted("no budget left".into())),
        )
        .script("b", answers(&verdict_json("approve", &[]), "s-b"));
    let ends = run_all(&mut host, &[request("a"), request("b")], 2);
    match reply(&ends[0]) {
        Reply::NoReply(why) => assert!(why.contains("budget-exhausted: no budget left"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(reply(&ends[1]), Reply::Verdict(v) if v.verdict == Decision::Approve));
}

#[test]
fn replies_are_read_from_the_result_then_the_messages() {
    // The result text is prose; an earlier message holds the verdict.
    let mut summary = completed("See above.", "s-1");
    summary.result_text = "See above.".into();
    let end = SessionEnd::Ended {
        summary,
        session_id: Some("s-1".into()),
        texts: vec![
            verdict_json("request_changes", &[("a.rs", 1, "low", "x")]),
            "See above.".into(),
        ],
    };
    assert!(matches!(reply(&end), Reply::Verdict(v) if v.verdict == Decision::RequestChanges));
}

#[test]
fn a_plan_handed_to_exit_plan_mode_counts_as_a_reply() {
    let mut host = FakeHost::default().script(
        "a",
        Ok((
            vec![Event::ToolStarted(ToolCall {
                id: "t".into(),
                name: "ExitPlanMode".into(),
                input: json!({"plan": verdict_json("approve", &[])}).to_string(),
            })],
            completed("", "s-a"),
        )),
    );
    let ends = run_all(&mut host, &[request("a")], 1);
    assert!(matches!(reply(&ends[0]), Reply::Verdict(_)));
}

#[test]
fn unreadable_and_failed_sessions_are_told_apart() {
    let mut host = FakeHost::default()
        .script("prose", answers("Looks fine to me.", "s-p"))
        .script("crash", ended(Outcome::Crashed, "exit 3 without a result"))
        .script("budget", ended(Outcome::BudgetExceeded, ""));
    let ends = run_all(
        &mut host,
        &[request("prose"), request("crash"), request("budget")],
        3,
    );
    match reply(&ends[0]) {
        Reply::Unreadable { error, session_id } => {
            assert_eq!(error, VerdictError::NoVerdict);
            assert_eq!(session_id.as_deref(), Some("s-p"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        reply(&ends[1]),
        Reply::NoReply("its session ended crashed: exit 3 without a result".into())
    );
    assert_eq!(
        reply(&ends[2]),
        Reply::NoReply("its session ended budget_exceeded".into())
    );
    assert_eq!(ends[0].cost_usd(), Some(0.01));
}

#[test]
fn a_verdict_after_the_turn_limit_still_counts() {
    let mut script = answers(&verdict_json("approve", &[]), "s-1").unwrap();
    script.1.outcome = Outcome::MaxTurns;
    let mut host = FakeHost::default().script("a", Ok(script));
    let ends = run_all(&mut host, &[request("a")], 1);
    assert!(matches!(reply(&ends[0]), Reply::Verdict(_)));
}

#[test]
fn other_backends_get_a_plan_session_without_claude_tool_names() {
    for backend in ["codex", "gemini", "opencode", "aider", "cursor", "my-agent"] {
        let p = Persona {
            backend: backend.into(),
            ..persona("quality")
        };
        for r in [
            review_request(&p, &settings(), "p".into()),
            resume_request(&p, &settings(), "s-1", "json only".into()),
        ] {
            assert_eq!(r.backend, backend);
            assert_eq!(r.permission_mode, PermissionMode::Plan, "{backend}");
            assert!(
                r.allowed_tools.is_empty(),
                "{backend}: {:?}",
                r.allowed_tools
            );
            assert!(r.denied_tools.is_empty(), "{backend}: {:?}", r.denied_tools);
        }
    }
}
