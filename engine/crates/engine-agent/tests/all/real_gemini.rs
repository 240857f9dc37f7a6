//! The Gemini parser on real transcripts of Gemini CLI 0.61.0 (tests/fixtures/gemini/real/,
//! recorded against the conformance mock; see its README.md). Stdout lines are fed first, then
//! stderr lines, then the exit code from exit-codes.txt.

use crate::common::count;

use std::path::PathBuf;

use engine_agent::backends::GeminiParser;
use engine_agent::{AgentEvent, StreamParser, Usage};

/// Token counts of a CLI that reports no cache writes.
fn tokens(input: u64, output: u64, cache_read: u64) -> Usage {
    crate::common::tokens(input, output, cache_read, 0)
}

/// The parser's clock in these tests (ms since the epoch).
const NOW_MS: u64 = 1_800_000_000_000;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemini/real")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_default()
}

fn exit_code(name: &str) -> i32 {
    read("exit-codes.txt")
        .lines()
        .find_map(|l| {
            let (n, code) = l.split_once(' ')?;
            (n == name).then(|| code.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("no exit code for {name}"))
}

/// Every event the parser makes of fixture `name`.
fn events(name: &str) -> Vec<AgentEvent> {
    let mut p = GeminiParser::with_clock(|| NOW_MS);
    let mut out = Vec::new();
    for line in read(&format!("{name}.jsonl")).lines() {
        out.extend(p.stdout_line(line));
    }
    for line in read(&format!("{name}.stderr")).lines() {
        out.extend(p.stderr_line(line));
    }
    out.extend(p.finish(Some(exit_code(name))));
    out
}

/// The one Result of a session.
fn result(events: &[AgentEvent]) -> (bool, String, String, Option<Usage>) {
    let results: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Result {
                is_error,
                subtype,
                text,
                usage,
                ..
            } => Some((*is_error, subtype.clone(), text.clone(), *usage)),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 1, "{events:#?}");
    results[0].clone()
}

/// Sent: main 1300 uncached + 1400 cached input, 70 output of which 5 thinking; the router's
/// side call 40 in, 7 out. `output_tokens` (72) leaves the 5 thinking tokens out.
#[test]
fn normal_session_counts_thinking_tokens_as_output() {
    let ev = events("normal");
    let (is_error, subtype, text, usage) = result(&ev);
    assert!(!is_error);
    assert_eq!(subtype, "success");
    assert_eq!(text, "Done. <promise>COMPLETE</promise>");
    assert_eq!(usage, Some(tokens(1340, 77, 1400)));
    assert!(ev.iter().any(|e| matches!(e,
        AgentEvent::ToolStarted { name, input, .. }
            if name == "write_file" && input["file_path"] == "hello.txt")));
    assert!(ev.iter().any(|e| matches!(e,
        AgentEvent::ToolFinished { name: Some(name), ok: true, .. } if name == "write_file")));
    assert!(
        matches!(&ev[0], AgentEvent::SessionStarted { session_id, .. }
        if !session_id.is_empty())
    );
}

/// A resumed session's stats are its own calls only: nothing to subtract.
#[test]
fn resumed_session_reports_only_its_own_calls() {
    let ev = events("resumed");
    let (is_error, _, text, usage) = result(&ev);
    assert!(!is_error);
    assert_eq!(text, "Done. <promise>COMPLETE</promise>");
    assert_eq!(usage, Some(tokens(400, 30, 1500)));
}

/// A stream that ended without a finish reason is retried by the CLI, and the partial call's
/// tokens are in its stats: 1000+1000+300 uncached, 200+200+1200 cached, 0+50+20 out.
#[test]
fn cut_and_retried_stream_keeps_every_token() {
    let (is_error, _, _, usage) = result(&events("cut_retried"));
    assert!(!is_error);
    assert_eq!(usage, Some(tokens(2300, 70, 1600)));
}

/// A per-minute 429 the CLI retried: an `ApiRetry` from its stderr notice, no rate limit.
#[test]
fn per_minute_limit_retried_by_the_cli_is_a_retry_not_a_limit() {
    let ev = events("rate_limit_retried");
    let (is_error, _, _, _) = result(&ev);
    assert!(!is_error);
    assert!(
        ev.iter().any(|e| matches!(e,
            AgentEvent::ApiRetry { attempt: 1, delay_ms: Some(d), .. } if *d >= 1000)),
        "{ev:#?}"
    );
    assert_eq!(
        count(&ev, |e| matches!(e, AgentEvent::RateLimited { .. })),
        0
    );
}

/// The CLI gave up on a per-minute 429: a rate limit that resets after the delay it asked for
/// (1s), not an exhausted quota.
#[test]
fn per_minute_limit_the_cli_gave_up_on_resets_after_its_delay() {
    let ev = events("rate_limit_gave_up");
    let resets: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            AgentEvent::RateLimited { resets_at_ms, .. } => Some(*resets_at_ms),
            _ => None,
        })
        .collect();
    assert_eq!(resets, [Some(NOW_MS + 1000)], "{ev:#?}");
    assert_eq!(
        count(&ev, |e| matches!(e, AgentEvent::QuotaExhausted { .. })),
        0
    );
    assert!(result(&ev).0);
}

/// A billing 429 (`limit: 0`, "check your plan and billing details") is an exhausted quota.
#[test]
fn billing_quota_is_quota_exhausted() {
    let ev = events("quota");
    assert_eq!(
        count(&ev, |e| matches!(e, AgentEvent::QuotaExhausted { message }
            if message.contains("plan and billing details"))),
        1,
        "{ev:#?}"
    );
    assert_eq!(
        count(&ev, |e| matches!(e, AgentEvent::RateLimited { .. })),
        0
    );
    assert!(result(&ev).0);
}

/// A bad key (400), 401 UNAUTHENTICATED and 403 `PERMISSION_DENIED` all mean the login failed.
#[test]
fn refused_keys_are_auth_failures() {
    for name in ["auth_400", "auth_401", "auth_403"] {
        let ev = events(name);
        assert!(
            ev.iter()
                .any(|e| matches!(e, AgentEvent::AuthFailed { .. })),
            "{name}: {ev:#?}"
        );
        assert!(result(&ev).0, "{name}");
    }
}

/// A connection reset mid-stream the CLI did not retry: an error result, nothing else.
#[test]
fn terminated_stream_is_a_plain_error() {
    let ev = events("cut_terminated");
    let (is_error, _, text, _) = result(&ev);
    assert!(is_error);
    assert_eq!(text, "[API Error: terminated]");
    assert_eq!(
        count(&ev, |e| matches!(
            e,
            AgentEvent::RateLimited { .. }
                | AgentEvent::QuotaExhausted { .. }
                | AgentEvent::AuthFailed { .. }
        )),
        0
    );
}

/// Exit 55 (untrusted folder, nothing on stdout): a result that names the problem and the fix.
#[test]
fn untrusted_folder_says_how_to_fix_it() {
    let (is_error, subtype, text, _) = result(&events("untrusted"));
    assert!(is_error);
    assert_eq!(subtype, "error_untrusted_workspace");
    assert!(text.contains("GEMINI_CLI_TRUST_WORKSPACE=true"), "{text}");
    assert!(
        text.contains("Gemini CLI is not running in a trusted directory"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "{text}");
}

/// Plan Mode with the read-only policy: leaving it, writing and subagents are all refused.
#[test]
fn plan_mode_refuses_writes() {
    let ev = events("plan_denied");
    for tool in ["exit_plan_mode", "write_file", "invoke_agent"] {
        assert!(
            ev.iter().any(|e| matches!(e,
                AgentEvent::ToolFinished { name: Some(name), ok: false, .. } if name == tool)),
            "{tool}: {ev:#?}"
        );
        assert!(
            !ev.iter().any(|e| matches!(e,
                AgentEvent::ToolFinished { name: Some(name), ok: true, .. } if name == tool)),
            "{tool}"
        );
    }
}
