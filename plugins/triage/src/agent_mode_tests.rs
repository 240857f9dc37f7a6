use super::*;
use crate::fake_host::{FakeHost, Script, context, says, session};
use crate::tier::Tier;
use serde_json::json;

fn assess_with(host: &mut FakeHost) -> Result<(Assessment, SessionTotals), StageError> {
    let ctx = context("Add a --json flag to export", &[], json!({"mode": "agent"}));
    assess(host, &ctx.config, &ctx.task)
}

const RUN_SMART: &str = "Looked around.\n```json\n{\"decision\": \"run\", \"tier\": \"smart\", \"reason\": \"two files\"}\n```";

#[test]
fn a_verdict_picks_the_tier_in_one_read_only_session() {
    let mut host = FakeHost::new(vec![says(RUN_SMART)]);
    let (a, totals) = assess_with(&mut host).unwrap();
    assert_eq!(a.decision, Decision::Run(Tier::Smart));
    assert_eq!(a.reason, "two files");
    assert_eq!(a.signals, ["agent:run -> smart"]);
    assert_eq!(totals.sessions, 1);
    assert_eq!(totals.cost_usd, Some(0.01));
    let r = &host.requests[0];
    assert_eq!(r.backend, "claude");
    assert_eq!(r.model.as_deref(), Some("smart"));
    assert_eq!(r.permission_mode, PermissionMode::Plan);
    assert_eq!(r.allowed_tools, ALLOWED_TOOLS);
    assert!(r.denied_tools.iter().any(|t| t == "Edit"));
    assert!(r.denied_tools.iter().any(|t| t == "Bash"));
    assert_eq!(r.max_turns, Some(10));
    assert!(
        r.prompt.contains("Add a --json flag to export"),
        "{}",
        r.prompt
    );
    assert_eq!(r.resume_session, None);
}

#[test]
fn an_unparseable_reply_gets_one_json_only_follow_up_in_the_same_session() {
    let mut host = FakeHost::new(vec![
        says("I think this is a medium task."),
        says(
            "{\"decision\": \"run\", \"tier\": \"genius\", \"reason\": \"touches the scheduler\"}",
        ),
    ]);
    let (a, totals) = assess_with(&mut host).unwrap();
    assert_eq!(a.decision, Decision::Run(Tier::Genius));
    assert_eq!(a.signals[1], "agent:verdict on the JSON-only follow-up");
    assert_eq!(totals.sessions, 2);
    assert!((totals.cost_usd.unwrap() - 0.02).abs() < 1e-9);
    let follow_up = &host.requests[1];
    assert_eq!(follow_up.resume_session.as_deref(), Some("sess-1"));
    assert!(
        follow_up.prompt.contains("no JSON object"),
        "{}",
        follow_up.prompt
    );
    assert!(
        host.logs
            .iter()
            .any(|(_, m)| m.contains("asking again for JSON only"))
    );
}

#[test]
fn no_verdict_after_the_follow_up_is_retryable_never_a_pass() {
    let mut host = FakeHost::new(vec![
        says("Medium, I'd say."),
        says("{\"decision\": \"run\", \"tier\": \"huge\"}"),
    ]);
    let err = assess_with(&mut host).unwrap_err();
    assert!(err.retryable);
    assert!(
        err.message.contains("even when asked for JSON only"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("unknown tier \"huge\""),
        "{}",
        err.message
    );
    assert_eq!(err.detail["verdict_unparsed"], true);
    assert_eq!(err.detail["agent"]["sessions"], 2);
    assert!(err.detail["last_text"].as_str().unwrap().contains("huge"));
}

#[test]
fn without_a_session_id_there_is_no_follow_up() {
    let mut script = says("no verdict here");
    script.events.remove(0);
    script.summary.session_id = None;
    let mut host = FakeHost::new(vec![script]);
    let err = assess_with(&mut host).unwrap_err();
    assert!(err.retryable);
    assert!(err.message.contains("cannot be resumed"), "{}", err.message);
    assert_eq!(host.requests.len(), 1);
}

#[test]
fn already_done_and_too_vague_stop_with_the_agents_reason() {
    let mut host = FakeHost::new(vec![says(
        "{\"decision\": \"already_done\", \"reason\": \"src/cli.rs has --json\"}",
    )]);
    let (a, _) = assess_with(&mut host).unwrap();
    assert_eq!(a.decision, Decision::Stop(StopKind::AlreadyDone));
    assert_eq!(
        a.reason,
        "the agent says the task is already done: src/cli.rs has --json"
    );
    let mut host = FakeHost::new(vec![says("{\"decision\": \"too_vague\"}")]);
    let (a, _) = assess_with(&mut host).unwrap();
    assert_eq!(
        a.reason,
        "the agent says the task is too vague: the agent gave no reason"
    );
}

#[test]
fn a_missing_grant_is_fatal_and_says_how_to_fix_it() {
    let mut host = FakeHost::default();
    host.scripts
        .push_back(Err(AgentError::NotPermitted("no agent".into())));
    let err = assess_with(&mut host).unwrap_err();
    assert!(!err.retryable);
    assert!(
        err.message.contains("permissions: { agent: true }"),
        "{}",
        err.message
    );
    assert!(err.message.contains("mode: rules"), "{}", err.message);
    assert_eq!(err.detail["error"], "not-permitted");
}

#[test]
fn session_endings_map_to_clear_failures() {
    let cases: Vec<(Script, bool, &str)> = vec![
        (
            session(Outcome::AuthFailed, "login"),
            false,
            "not logged in",
        ),
        (session(Outcome::BudgetExceeded, ""), false, "budget"),
        (
            session(Outcome::QuotaExhausted, ""),
            false,
            "has no quota left",
        ),
        (
            session(Outcome::Misconfigured, ""),
            false,
            "fix its configuration",
        ),
        (
            session(Outcome::Crashed, ""),
            true,
            "ended without a verdict: crashed",
        ),
        (
            session(Outcome::KilledInactive, ""),
            true,
            "killed_inactive",
        ),
        (session(Outcome::RateLimited, ""), true, "usage limit"),
    ];
    for (script, retryable, needle) in cases {
        let mut host = FakeHost::new(vec![script]);
        let err = assess_with(&mut host).unwrap_err();
        assert_eq!(err.retryable, retryable, "{}", err.message);
        assert!(err.message.contains(needle), "{needle}: {}", err.message);
    }
    let mut limited = session(Outcome::RateLimited, "");
    limited.summary.resets_at_ms = Some(1_000);
    let mut host = FakeHost::new(vec![limited]);
    let err = assess_with(&mut host).unwrap_err();
    assert_eq!(err.detail["retry_at_ms"], 61_000);
}

#[test]
fn a_max_turns_reply_is_still_read_and_the_budget_carries_over() {
    let mut host = FakeHost::new(vec![
        session(Outcome::MaxTurns, "ran out of turns"),
        says(RUN_SMART),
    ]);
    let ctx = context(
        "Add a --json flag to export",
        &[],
        json!({"mode": "agent", "agent": {"budget_usd": 0.5, "model": "primitive", "max_turns": 3}}),
    );
    let (a, _) = assess(&mut host, &ctx.config, &ctx.task).unwrap();
    assert_eq!(a.tier(), Some(Tier::Smart));
    assert_eq!(host.requests[0].budget_usd, Some(0.5));
    assert!((host.requests[1].budget_usd.unwrap() - 0.49).abs() < 1e-9);
    assert_eq!(host.requests[0].model.as_deref(), Some("primitive"));
    assert_eq!(host.requests[0].max_turns, Some(3));
}

#[test]
fn other_backends_get_a_plan_session_without_claude_tool_names() {
    for backend in ["codex", "gemini", "opencode", "aider", "cursor", "my-agent"] {
        let mut host = FakeHost::new(vec![says(RUN_SMART)]);
        let ctx = context(
            "Add a --json flag to export",
            &[],
            json!({"mode": "agent", "agent": {"backend": backend}}),
        );
        let (a, _) = assess(&mut host, &ctx.config, &ctx.task).unwrap();
        assert_eq!(a.decision, Decision::Run(Tier::Smart));
        let r = &host.requests[0];
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

#[test]
fn an_empty_account_or_a_refused_configuration_fails_fatally_with_what_to_do() {
    let mut empty = session(Outcome::QuotaExhausted, "");
    empty.summary.detail = "quota or billing exhausted: insufficient_quota".into();
    let mut host = FakeHost::new(vec![empty, says(RUN_SMART)]);
    let err = assess_with(&mut host).unwrap_err();
    assert!(!err.retryable);
    assert_eq!(
        err.message,
        "the triage agent's account has no quota left (quota or billing exhausted: \
         insufficient_quota): add credits or raise the spending limit at the provider, then \
         run the task again"
    );
    assert_eq!(err.detail["quota_exhausted"], true);
    assert_eq!(
        err.detail["detail"],
        "quota or billing exhausted: insufficient_quota"
    );
    assert_eq!(host.requests.len(), 1, "no second session");

    let mut refused = session(Outcome::Misconfigured, "");
    refused.summary.detail =
        "the agent CLI is misconfigured: set GEMINI_CLI_TRUST_WORKSPACE".into();
    let mut host = FakeHost::new(vec![refused, says(RUN_SMART)]);
    let err = assess_with(&mut host).unwrap_err();
    assert!(!err.retryable);
    assert!(
        err.message.contains("GEMINI_CLI_TRUST_WORKSPACE"),
        "{}",
        err.message
    );
    assert_eq!(err.detail["misconfigured"], true);
    assert_eq!(host.requests.len(), 1, "no second session");
}
