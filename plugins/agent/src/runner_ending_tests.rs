//! The attempt loop against scripted sessions: stalls, usage limits, auth, overflow, kills,
//! budgets.

use engine_stage_sdk::Failure;
use engine_stage_sdk::agent::{AgentError, Event, Outcome};
use serde_json::json;

use super::*;
use crate::fake_host::*;
use crate::plan::tests::context;

#[test]
fn a_stall_cancels_the_session_and_forces_the_top_tier() {
    let mut events = vec![Event::SessionStarted("sess-1".into())];
    for i in 0..10 {
        events.extend(tool(
            &format!("t{i}"),
            "Read",
            &json!({"file_path": "src/lib.rs"}),
            true,
        ));
    }
    let mut host = FakeHost::new(vec![Script {
        events,
        summary: summary(Outcome::Completed, "", &[], 0.3),
    }]);
    let err = run(&mut host, &plan(json!({"backend": "claude"}))).unwrap_err();
    assert!(err.retryable);
    assert_eq!(err.detail["stall"], "repeated_call");
    assert_eq!(err.detail["force_tier"], "genius");
    assert_eq!(
        err.detail["cost_usd"], 0.3,
        "the cancelled session's spend is counted"
    );
    assert_eq!(
        host.ends(),
        [SessionEnd {
            pulled: 1 + 2 * 3 + 1,
            cancelled: true
        }],
        "cancelled at the fourth identical call"
    );
}

#[test]
fn the_forced_tier_is_what_the_next_attempt_asks_for() {
    let mut ctx = context(json!({"backend": "claude", "model": "smart"}));
    ctx.previous_failure = Some(Failure {
        message: "stalled".into(),
        detail: json!({"force_tier": "genius"}).to_string(),
    });
    let plan = Plan::new(&ctx).unwrap();
    let mut host = FakeHost::new(vec![session(Outcome::Completed, "ok", &["a"])]);
    run(&mut host, &plan).unwrap();
    assert_eq!(host.requests[0].model.as_deref(), Some("genius"));
}

#[test]
fn a_usage_limit_fails_retryably_with_the_retry_time() {
    let mut s = session(Outcome::RateLimited, "You've hit your limit", &[]);
    s.events
        .insert(1, Event::RateLimited(Some(NOW + 3_600_000)));
    s.summary.resets_at_ms = None;
    let mut host = FakeHost::new(vec![s]);
    let err = run(&mut host, &plan(json!({"backend": "claude"}))).unwrap_err();
    assert!(err.retryable);
    assert_eq!(err.detail["usage_limit"], true);
    assert_eq!(
        err.detail["retry_at_ms"],
        NOW + 3_600_000 + failures::RESET_SLACK_MS
    );
    assert_eq!(host.requests.len(), 1, "a usage limit is not continued");
}

#[test]
fn a_usage_limit_past_max_wait_has_no_retry_time() {
    let mut s = session(Outcome::RateLimited, "", &[]);
    s.summary.resets_at_ms = Some(NOW + 3 * 3_600_000);
    let mut host = FakeHost::new(vec![s]);
    let err = run(
        &mut host,
        &plan(json!({"backend": "claude", "usage_limit": {"max_wait": "2h"}})),
    )
    .unwrap_err();
    assert!(err.retryable);
    assert!(err.detail.get("retry_at_ms").is_none());
}

#[test]
fn a_rate_limit_warning_in_a_completed_session_is_ignored() {
    let mut s = session(Outcome::Completed, "done", &["a"]);
    s.events.insert(1, Event::RateLimited(None));
    let mut host = FakeHost::new(vec![s]);
    assert!(run(&mut host, &plan(json!({"backend": "claude"}))).is_ok());
}

#[test]
fn auth_failure_is_fatal_with_the_fix() {
    let mut s = session(Outcome::Errored, "", &[]);
    s.events
        .insert(1, Event::AuthFailed("OAuth token has expired".into()));
    let mut host = FakeHost::new(vec![s]);
    let err = run(&mut host, &plan(json!({"backend": "claude"}))).unwrap_err();
    assert!(!err.retryable);
    assert!(err.message.contains("claude /login"), "{}", err.message);
    assert_eq!(host.requests.len(), 1);
}

#[test]
fn context_overflow_starts_a_fresh_session_with_a_handoff() {
    let mut host = FakeHost::new(vec![
        session(
            Outcome::ContextOverflow,
            "I changed a.rs; next the docs",
            &["a.rs"],
        ),
        session(Outcome::Completed, "all done", &["docs.md"]),
    ]);
    let report = run(&mut host, &plan(json!({"backend": "claude"}))).unwrap();
    let second = &host.requests[1];
    assert_eq!(second.resume_session, None, "a fresh session, not a resume");
    assert!(second.prompt.starts_with(&host.requests[0].prompt));
    assert!(second.prompt.contains("ran out of context"));
    assert!(second.prompt.contains("- a.rs"));
    assert!(second.prompt.contains("> I changed a.rs; next the docs"));
    assert!(
        !second.prompt.contains("> Prompt is too long"),
        "the error result is not the agent's last message"
    );
    assert_eq!(report.totals.files(), ["a.rs", "docs.md"]);
}

#[test]
fn host_kills_are_retryable() {
    for outcome in [
        Outcome::KilledInactive,
        Outcome::KilledToolCeiling,
        Outcome::KilledSilence,
        Outcome::Crashed,
    ] {
        let mut host = FakeHost::new(vec![session(outcome, "", &[])]);
        let err = run(&mut host, &plan(json!({"backend": "claude"}))).unwrap_err();
        assert!(err.retryable, "{outcome}");
        assert_eq!(err.detail["outcome"], outcome.as_str());
    }
}

#[test]
fn the_host_budget_kill_is_fatal() {
    let mut host = FakeHost::new(vec![session(Outcome::BudgetExceeded, "", &["a"])]);
    let err = run(&mut host, &plan(json!({"backend": "claude"}))).unwrap_err();
    assert!(!err.retryable);
    assert_eq!(err.detail["budget_exceeded"], true);
}

#[test]
fn the_stage_budget_shrinks_and_stops_continuations() {
    let mut first = session(Outcome::Completed, "wip", &["a"]);
    first.summary.usage.cost_usd = Some(0.7);
    let mut second = session(Outcome::Completed, "wip", &["b"]);
    second.summary.usage.cost_usd = Some(0.4);
    let mut host = FakeHost::new(vec![first, second]);
    let config = json!({"backend": "claude", "completion": "promise", "budget_usd": 1.0});
    let err = run(&mut host, &plan(config)).unwrap_err();
    assert_eq!(host.requests[0].budget_usd, Some(1.0));
    let left = host.requests[1].budget_usd.unwrap();
    assert!((left - 0.3).abs() < 1e-9, "{left}");
    assert!(!err.retryable);
    assert_eq!(err.detail["budget_exceeded"], true);
    assert_eq!(host.requests.len(), 2);
}

#[test]
fn start_errors_fail_without_a_session() {
    let mut host = FakeHost::default();
    host.scripts
        .push_back(Err(AgentError::SpawnFailed("claude: not found".into())));
    let err = run(&mut host, &plan(json!({"backend": "claude"}))).unwrap_err();
    assert!(!err.retryable);
    assert!(err.message.contains("is it installed"), "{}", err.message);
}

#[test]
fn a_context_overflow_event_in_an_errored_session_starts_fresh() {
    let mut first = session(Outcome::Errored, "", &["a.rs"]);
    first
        .events
        .insert(1, Event::ContextOverflow("prompt is too long".into()));
    let mut host = FakeHost::new(vec![first, session(Outcome::Completed, "done", &[])]);
    run(&mut host, &plan(json!({"backend": "claude"}))).unwrap();
    assert_eq!(host.requests[1].resume_session, None);
    assert!(host.requests[1].prompt.contains("## Handoff"));
    assert!(
        host.logs
            .iter()
            .any(|(level, m)| *level == LogLevel::Warn && m.contains("prompt is too long"))
    );
}

#[test]
fn the_earliest_reported_reset_wins() {
    let mut s = session(Outcome::RateLimited, "", &[]);
    s.events.insert(1, Event::RateLimited(Some(NOW + 2_000)));
    s.summary.resets_at_ms = Some(NOW + 86_400_000);
    let mut host = FakeHost::new(vec![s]);
    let err = run(&mut host, &plan(json!({"backend": "claude"}))).unwrap_err();
    assert_eq!(
        err.detail["retry_at_ms"],
        NOW + 2_000 + failures::NEAR_RESET_SLACK_MS
    );
}

#[test]
fn an_exhausted_quota_fails_fatally_at_once_without_waiting() {
    // The CLI may call the 429 a rate limit first; the quota decides.
    let mut s = session(Outcome::QuotaExhausted, "", &[]);
    s.events.insert(1, Event::RateLimited(None));
    s.events.insert(
        2,
        Event::QuotaExhausted("You exceeded your current quota (insufficient_quota)".into()),
    );
    s.summary.detail = "quota or billing exhausted: insufficient_quota".into();
    let mut host = FakeHost::new(vec![s]);
    let err = run(&mut host, &plan(json!({"backend": "codex"}))).unwrap_err();
    assert!(!err.retryable, "{}", err.message);
    assert!(
        err.message.contains("quota or billing is exhausted"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("insufficient_quota"),
        "{}",
        err.message
    );
    assert_eq!(err.detail["quota_exhausted"], true);
    assert!(err.detail.get("retry_at_ms").is_none(), "never polled");
    assert_eq!(host.requests.len(), 1, "no other session is started");
}

#[test]
fn a_quota_outcome_without_its_event_is_fatal_too() {
    let mut s = session(Outcome::QuotaExhausted, "", &[]);
    s.summary.detail = "quota or billing exhausted: credit balance is too low".into();
    let mut host = FakeHost::new(vec![s]);
    let err = run(&mut host, &plan(json!({"backend": "claude"}))).unwrap_err();
    assert!(!err.retryable);
    assert!(
        err.message.contains("credit balance is too low"),
        "{}",
        err.message
    );
}

#[test]
fn a_per_minute_rate_limit_retries_after_its_retry_after_not_minutes_later() {
    let mut s = session(Outcome::RateLimited, "", &[]);
    // `retry-after: 1`, as the parser turns it into a reset time.
    s.events.insert(1, Event::RateLimited(Some(NOW + 1_000)));
    s.summary.resets_at_ms = Some(NOW + 1_000);
    let mut host = FakeHost::new(vec![s]);
    let err = run(&mut host, &plan(json!({"backend": "claude"}))).unwrap_err();
    assert!(err.retryable);
    assert_eq!(
        err.detail["retry_at_ms"],
        NOW + 1_000 + failures::NEAR_RESET_SLACK_MS
    );
}

#[test]
fn a_rate_limit_without_a_reset_time_is_retried_after_a_minute_first() {
    let mut s = session(Outcome::RateLimited, "", &[]);
    s.summary.resets_at_ms = None;
    let mut host = FakeHost::new(vec![s]);
    let err = run(&mut host, &plan(json!({"backend": "codex"}))).unwrap_err();
    assert!(err.retryable);
    assert_eq!(
        err.detail["retry_at_ms"],
        NOW + failures::UNKNOWN_RESET_FIRST_RETRY_MS
    );
    assert_eq!(err.detail["waiting_since_ms"], NOW);
}

#[test]
fn a_cli_refusing_its_configuration_fails_fatally_and_is_never_resumed() {
    let detail = "the agent CLI is misconfigured: Gemini CLI refused to run in an untrusted \
                  folder (exit 55). The engine trusts the worktree by setting \
                  GEMINI_CLI_TRUST_WORKSPACE=true";
    let refused = || {
        let mut s = session(Outcome::Misconfigured, "", &[]);
        s.summary.detail = detail.into();
        s.summary.exit_code = Some(55);
        s
    };
    let mut host = FakeHost::new((0..4).map(|_| refused()).collect());
    let err = run(&mut host, &plan(json!({"backend": "gemini"}))).unwrap_err();
    assert!(!err.retryable, "{}", err.message);
    assert!(err.message.contains("`gemini`"), "{}", err.message);
    assert!(
        err.message.contains("GEMINI_CLI_TRUST_WORKSPACE=true"),
        "{}",
        err.message
    );
    assert_eq!(err.detail["misconfigured"], true);
    assert_eq!(err.detail["detail"], detail);
    assert_eq!(err.detail["exit_code"], 55);
    assert_eq!(host.requests.len(), 1, "never resumed");
}
