use super::*;
use crate::breaker::TripReason;
use crate::stall::StallKind;

const HOUR: u64 = 3_600_000;

#[test]
fn stall_is_retryable_and_forces_the_top_tier() {
    let e = stalled(
        &Stall {
            kind: StallKind::RepeatedCall,
            description: "the same Read call 4 times".into(),
        },
        &Totals::default(),
    );
    assert!(e.retryable);
    assert_eq!(e.detail["stall"], "repeated_call");
    assert_eq!(e.detail["force_tier"], "genius");
    assert_eq!(e.detail["iterations"], 0);
}

#[test]
fn needs_attention_is_fatal_and_flagged() {
    let e = needs_attention(
        &Trip {
            reason: TripReason::NoProgress,
            message: "3 sessions in a row changed no file".into(),
        },
        &Totals::default(),
        "last words",
    );
    assert!(!e.retryable);
    assert!(e.message.starts_with("needs attention: 3 sessions"));
    assert_eq!(e.detail["needs_attention"], true);
    assert_eq!(e.detail["trip"], "no_progress");
    assert_eq!(e.detail["last_message"], "last words");
}

#[test]
fn usage_limit_within_max_wait_retries_at_the_reset() {
    let now = 1_000 * HOUR;
    let e = usage_limit(Some(now + 2 * HOUR), now, now, 6 * HOUR, &Totals::default());
    assert!(e.retryable);
    assert_eq!(e.detail["usage_limit"], true);
    assert_eq!(e.detail["retry_at_ms"], now + 2 * HOUR + RESET_SLACK_MS);
    assert!(e.message.contains("not a task failure"), "{}", e.message);
}

#[test]
fn usage_limit_past_max_wait_fails_retryably_without_a_time() {
    let now = 1_000 * HOUR;
    let e = usage_limit(Some(now + 7 * HOUR), now, now, 6 * HOUR, &Totals::default());
    assert!(e.retryable);
    assert!(e.detail.get("retry_at_ms").is_none());
    assert!(
        e.message.contains("past usage_limit.max_wait"),
        "{}",
        e.message
    );
}

#[test]
fn usage_limit_wait_counts_from_the_first_limit() {
    let since = 1_000 * HOUR;
    let now = since + 5 * HOUR;
    // Resets in 2 h: 7 h after the first limit, past a 6 h max_wait.
    let e = usage_limit(
        Some(now + 2 * HOUR),
        now,
        since,
        6 * HOUR,
        &Totals::default(),
    );
    assert!(e.detail.get("retry_at_ms").is_none());
    assert_eq!(e.detail["waiting_since_ms"], since);
}

#[test]
fn unknown_reset_polls_until_the_deadline() {
    let now = 1_000 * HOUR;
    let e = usage_limit(None, now, now, 6 * HOUR, &Totals::default());
    assert_eq!(e.detail["retry_at_ms"], now + UNKNOWN_RESET_FIRST_RETRY_MS);
    let near = usage_limit(
        None,
        now,
        now - 6 * HOUR + 1_000,
        6 * HOUR,
        &Totals::default(),
    );
    assert_eq!(near.detail["retry_at_ms"], now + 1_000);
    let past = usage_limit(None, now, now - 7 * HOUR, 6 * HOUR, &Totals::default());
    assert!(past.detail.get("retry_at_ms").is_none());
}

#[test]
fn auth_failure_is_fatal_and_says_how_to_log_in() {
    let e = auth_failed("claude", "OAuth token has expired", &Totals::default());
    assert!(!e.retryable);
    assert!(e.message.contains("claude /login"), "{}", e.message);
    assert!(e.message.contains("OAuth token has expired"));
    assert_eq!(e.detail["auth_failed"], true);
    assert!(login_hint("codex").contains("codex login"));
    assert!(login_hint("my-cli").contains("my-cli"));
}

#[test]
fn start_errors_are_fatal_with_a_hint() {
    let e = start_failed(
        "claude",
        &AgentError::NotPermitted("no grant".into()),
        &Totals::default(),
    );
    assert!(!e.retryable);
    assert!(e.message.contains("agent: true"));
    let e = start_failed(
        "claude",
        &AgentError::BudgetExhausted("day budget".into()),
        &Totals::default(),
    );
    assert_eq!(e.detail["budget_exceeded"], true);
    assert_eq!(e.detail["error"], "budget-exhausted");
}

#[test]
fn times_format_as_rfc3339() {
    assert_eq!(format_ms(0), "1970-01-01T00:00:00Z");
}

#[test]
fn an_unknown_reset_is_polled_sooner_first_then_less_often() {
    let since = 1_000 * HOUR;
    let retry_in = |waited: u64| {
        let e = usage_limit(None, since + waited, since, 6 * HOUR, &Totals::default());
        e.detail["retry_at_ms"].as_u64().unwrap() - (since + waited)
    };
    // A per-minute limit without a retry-after is retried after a minute, not 15.
    assert_eq!(retry_in(0), 60_000);
    assert_eq!(retry_in(60_000), 60_000);
    assert_eq!(retry_in(4 * 60_000), 4 * 60_000);
    // An account's usage window: every 15 minutes at most.
    assert_eq!(retry_in(HOUR), UNKNOWN_RESET_RETRY_MS);
}

#[test]
fn a_near_reset_from_a_retry_after_waits_that_long_plus_a_little() {
    let now = 1_000 * HOUR;
    // `retry-after: 1`: the parser says it resets in a second.
    let e = usage_limit(Some(now + 1_000), now, now, 6 * HOUR, &Totals::default());
    assert!(e.retryable);
    assert_eq!(e.detail["retry_at_ms"], now + 1_000 + NEAR_RESET_SLACK_MS);
    // `retry-after: 30`.
    let e = usage_limit(Some(now + 30_000), now, now, 6 * HOUR, &Totals::default());
    assert_eq!(e.detail["retry_at_ms"], now + 30_000 + NEAR_RESET_SLACK_MS);
    // A reset already past: retry right away (plus the little slack).
    let e = usage_limit(Some(now - 5_000), now, now, 6 * HOUR, &Totals::default());
    assert_eq!(e.detail["retry_at_ms"], now + NEAR_RESET_SLACK_MS);
    // A usage window announced to the minute, hours away, keeps the minute's slack.
    let e = usage_limit(Some(now + 3 * HOUR), now, now, 6 * HOUR, &Totals::default());
    assert_eq!(e.detail["retry_at_ms"], now + 3 * HOUR + RESET_SLACK_MS);
    // A smaller configured slack is kept for near resets too.
    let e = usage_limit_with_slack(
        Some(now + 1_000),
        now,
        now,
        6 * HOUR,
        500,
        &Totals::default(),
    );
    assert_eq!(e.detail["retry_at_ms"], now + 1_500);
}

#[test]
fn an_exhausted_quota_is_fatal_and_says_what_to_do() {
    let e = quota_exhausted(
        "codex",
        "You exceeded your current quota (insufficient_quota)",
        &Totals::default(),
    );
    assert!(!e.retryable);
    assert!(e.message.contains("insufficient_quota"), "{}", e.message);
    assert!(
        e.message
            .contains("add credits or raise the spending limit"),
        "{}",
        e.message
    );
    assert_eq!(e.detail["quota_exhausted"], true);
    assert!(e.detail.get("retry_at_ms").is_none());
    assert!(e.detail.get("usage_limit").is_none());
}
