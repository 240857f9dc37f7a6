//! The Claude parser on real transcripts: `tests/fixtures/claude/real/*.jsonl` are Claude Code's
//! own stdout (`-p --output-format stream-json --verbose --include-partial-messages`, version in
//! `real/VERSION`), recorded by `real/record.sh` against the conformance suite's mock Anthropic
//! API. The mock's usage per call is known, so every token count here is exact.

use crate::common::{costing, count, tokens};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use engine_agent::{AgentEvent, BackendSettings, Usage, backend};

fn parse(name: &str) -> Vec<AgentEvent> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude/real");
    let stdout = std::fs::read_to_string(dir.join(format!("{name}.jsonl")))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let b = backend("claude", &BackendSettings::default(), &BTreeMap::new()).unwrap();
    let mut parser = b.parser();
    let mut out = Vec::new();
    for line in stdout.lines() {
        out.extend(parser.stdout_line(line));
    }
    if let Ok(stderr) = std::fs::read_to_string(dir.join(format!("{name}.stderr"))) {
        for line in stderr.lines() {
            out.extend(parser.stderr_line(line));
        }
    }
    out.extend(parser.finish(Some(0)));
    out
}

/// The session's Result event (exactly one).
fn result(events: &[AgentEvent]) -> (&str, bool, &str, Option<&str>, Option<Usage>) {
    let results: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Result {
                is_error,
                subtype,
                text,
                session_id,
                usage,
                ..
            } => Some((
                subtype.as_str(),
                *is_error,
                text.as_str(),
                session_id.as_deref(),
                *usage,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 1, "{events:#?}");
    results[0]
}

/// The last live usage (cumulative) before the result.
fn last_live_usage(events: &[AgentEvent]) -> Option<Usage> {
    events.iter().rev().find_map(|e| match e {
        AgentEvent::Usage { usage } => Some(*usage),
        _ => None,
    })
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[test]
fn normal_session_writes_the_file_and_counts_exactly() {
    let events = parse("normal");
    assert!(
        matches!(&events[0], AgentEvent::SessionStarted { model: Some(m), .. } if m.starts_with("claude-"))
    );
    let texts: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::AssistantText { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        [
            "Writing the file.",
            "The file is written. <promise>COMPLETE</promise>"
        ]
    );
    let started: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolStarted { name, input, .. } => Some((name.as_str(), input)),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].0, "Write");
    assert!(
        started[0].1["file_path"]
            .as_str()
            .unwrap()
            .ends_with("/hello.txt")
    );
    assert_eq!(
        count(&events, |e| matches!(
            e,
            AgentEvent::ToolFinished {
                ok: true,
                name: Some(n),
                ..
            } if n == "Write"
        )),
        1
    );
    // The per-token delta lines are skipped, not reported as unknown lines.
    assert_eq!(
        count(
            &events,
            |e| matches!(e, AgentEvent::Unknown { raw } if raw.contains("stream_event"))
        ),
        0
    );
    let (subtype, is_error, text, _, usage) = result(&events);
    assert_eq!((subtype, is_error), ("success", false));
    assert!(text.ends_with("<promise>COMPLETE</promise>"));
    assert_eq!(usage, Some(costing(tokens(2700, 70, 1300, 300), 0.017_775)));
    // The live count (message_start + message_delta) matches the result to the token.
    assert_eq!(last_live_usage(&events), Some(tokens(2700, 70, 1300, 300)));
}

#[test]
fn a_cut_stream_retried_counts_both_calls_from_model_usage() {
    let events = parse("cut_retried");
    let (subtype, _, _, _, usage) = result(&events);
    assert_eq!(subtype, "success");
    // The line's own `usage` says 1500/40/800/0: the last call only.
    assert_eq!(usage, Some(costing(tokens(2700, 70, 1300, 300), 0.017_775)));
}

#[test]
fn a_hung_session_has_the_true_live_count_when_killed() {
    let events = parse("hang");
    assert_eq!(count(&events, AgentEvent::is_terminal), 0);
    // First call complete (30 output tokens from its message_delta, where its `assistant`
    // lines say 1), the hung call's input from its message_start.
    assert_eq!(last_live_usage(&events), Some(tokens(2700, 31, 1300, 300)));
}

#[test]
fn a_429_claude_retried_is_only_a_retry() {
    let events = parse("rate_limit_retried");
    assert!(events.contains(&AgentEvent::ApiRetry {
        attempt: 1,
        delay_ms: Some(1000),
        status: Some(429),
    }));
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::RateLimited { .. })),
        0
    );
    let (subtype, is_error, _, _, usage) = result(&events);
    assert_eq!((subtype, is_error), ("success", false));
    assert_eq!(usage, Some(costing(tokens(2700, 70, 1300, 300), 0.017_775)));
}

#[test]
fn a_429_past_claudes_retries_resets_after_its_retry_after() {
    let before = now_ms();
    let events = parse("rate_limit_exhausted");
    let after = now_ms();
    let limited: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::RateLimited {
                resets_at_ms,
                message,
            } => Some((*resets_at_ms, message.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(limited.len(), 1, "{events:#?}");
    let (at, message) = limited[0];
    assert!(message.contains("Request rejected (429)"), "{message}");
    // retry-after: 1 -> the retry waited 1000 ms; the reset is now + 1 s, not a long default.
    let at = at.expect("a reset time");
    assert!(
        (before + 1000..=after + 1000).contains(&at),
        "{at} not within [{}, {}]",
        before + 1000,
        after + 1000
    );
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::QuotaExhausted { .. })),
        0
    );
}

#[test]
fn a_credit_balance_400_is_quota_exhausted() {
    let events = parse("credit_balance");
    assert!(
        events.contains(&AgentEvent::QuotaExhausted {
            message: "Credit balance is too low".into()
        }),
        "{events:#?}"
    );
    assert_eq!(
        count(&events, |e| matches!(
            e,
            AgentEvent::AuthFailed { .. } | AgentEvent::RateLimited { .. }
        )),
        0
    );
    let (_, is_error, _, _, usage) = result(&events);
    assert!(is_error);
    assert_eq!(usage, Some(costing(Usage::default(), 0.0)));
}

#[test]
fn a_billing_429_is_quota_exhausted_not_a_rate_limit() {
    let events = parse("billing_429");
    let quota = count(
        &events,
        |e| matches!(e, AgentEvent::QuotaExhausted { message } if message.contains("credit balance is too low")),
    );
    assert_eq!(quota, 1, "{events:#?}");
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::RateLimited { .. })),
        0
    );
}

#[test]
fn an_invalid_key_is_an_auth_failure() {
    let events = parse("invalid_key");
    assert!(events.contains(&AgentEvent::ApiRetry {
        attempt: 1,
        delay_ms: events.iter().find_map(|e| match e {
            AgentEvent::ApiRetry { delay_ms, .. } => *delay_ms,
            _ => None,
        }),
        status: Some(401),
    }));
    assert_eq!(
        count(
            &events,
            |e| matches!(e, AgentEvent::AuthFailed { message } if message == "Invalid API key · Fix external API key")
        ),
        1,
        "{events:#?}"
    );
    assert_eq!(
        count(&events, |e| matches!(
            e,
            AgentEvent::QuotaExhausted { .. } | AgentEvent::RateLimited { .. }
        )),
        0
    );
}

#[test]
fn the_budget_stop_counts_model_usage_not_zeros_or_the_first_call() {
    let events = parse("max_budget");
    let (subtype, is_error, _, _, usage) = result(&events);
    assert_eq!((subtype, is_error), ("error_max_budget_usd", true));
    // The line's own `usage` holds the first call only (1200/30/500/300).
    assert_eq!(usage, Some(costing(tokens(2500, 80, 1100, 300), 0.016_925)));
}

#[test]
fn a_resumed_session_reports_only_its_own_usage() {
    let first = parse("resume_first");
    let second = parse("resume_second");
    let (_, _, text, id1, usage1) = result(&first);
    assert_eq!(text, "Not checked yet.");
    let (_, _, text, id2, usage2) = result(&second);
    assert!(text.ends_with("<promise>COMPLETE</promise>"));
    assert_eq!(id1, id2, "--resume keeps the session id");
    assert_eq!(
        usage1,
        Some(costing(tokens(2500, 80, 1100, 300), 0.016_925))
    );
    assert_eq!(usage2, Some(costing(tokens(1500, 40, 800, 0), 0.0089)));
}
