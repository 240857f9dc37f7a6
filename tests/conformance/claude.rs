//! Claude Code (the pinned @anthropic-ai/claude-code) against the mock Anthropic Messages API
//! (mock/anthropic.py), driven by real `engine run` workflows: agent -> gate -> merge.
//!
//! What Claude counts: every call it completed, summed in the result's `modelUsage` (and its
//! `total_cost_usd`); a call whose stream was cut is retried (without streaming) and the cut
//! call is not counted; a call that hangs is counted by the engine from the raw stream events
//! seen before the kill.

use serde_json::{Value, json};

use crate::checks::{
    assert_killed_inactive, assert_merged, assert_recorded_as_sent, assert_review_recorded,
    first_failure, stage_text,
};
use crate::harness::{Conformance, NetnsRun, agents_block, recorded};
use crate::turns::{APPROVE, DONE, GATE, text, write};

/// The `agents:` block: Claude on the mock, its telemetry, update checks, error reporting and
/// other nonessential traffic off, at most `retries` API retries. `limits` is a YAML flow
/// mapping (or empty).
fn agents(retries: u32, limits: &str) -> String {
    let retries = retries.to_string();
    agents_block(
        &[
            ("ANTHROPIC_BASE_URL", "http://127.0.0.1:8765"),
            ("ANTHROPIC_API_KEY", "test-key"),
            ("DISABLE_TELEMETRY", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
            ("DISABLE_ERROR_REPORTING", "1"),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("CLAUDE_CODE_MAX_RETRIES", &retries),
        ],
        limits,
    )
}

/// Runs the workflow (`with` for the agent stage) on `scenario`; returns the run and its show.
fn run(c: &Conformance, scenario: &Value, agents_yaml: &str, with: &str) -> (NetnsRun, Value) {
    run_head(c, "", scenario, agents_yaml, with)
}

/// [`run`] with extra top-level workflow keys (`budget:`...).
fn run_head(
    c: &Conformance,
    head: &str,
    scenario: &Value,
    agents_yaml: &str,
    with: &str,
) -> (NetnsRun, Value) {
    c.run_gated(scenario, head, agents_yaml, with, GATE)
}

/// Every `result` line Claude printed in the run, in session order.
fn claude_results(c: &Conformance, r: &NetnsRun) -> Vec<Value> {
    c.stdout_events(r)
        .into_iter()
        .filter(|out| out["type"] == "result")
        .collect()
}

/// Claude's own total cost over its results.
fn claude_cost(results: &[Value]) -> f64 {
    results
        .iter()
        .map(|r| r["total_cost_usd"].as_f64().unwrap())
        .sum()
}

#[track_caller]
fn assert_cost(recorded_usd: f64, claude_usd: f64, r: &NetnsRun) {
    assert!(
        claude_usd > 0.0 && (recorded_usd - claude_usd).abs() < 1e-9,
        "recorded {recorded_usd} USD, Claude reported {claude_usd}\n{}",
        r.context()
    );
}

#[test]
fn claude_writes_the_file_completes_and_every_token_and_cent_is_recorded() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello", [1200, 30, 500, 300]),
        text(DONE, [1500, 40, 800, 0]),
    ]});
    let (r, show) = run(
        &c,
        &scenario,
        &agents(2, ""),
        "{ backend: claude, completion: promise }",
    );
    assert_merged(&c, &r, "hello");
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    let (_, usd) = assert_recorded_as_sent(&show, &r, |_| true, [2700, 70, 1300, 300]);
    let results = claude_results(&c, &r);
    assert_eq!(results.len(), 1, "{results:?}");
    assert_cost(usd, claude_cost(&results), &r);
}

#[test]
fn claude_an_unfinished_session_is_resumed_and_both_sessions_add_up() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello", [1200, 30, 500, 300]),
        text("I wrote the file but have not checked it yet.", [1300, 50, 600, 0]),
        text(DONE, [1500, 40, 800, 100]),
    ]});
    let (r, show) = run(
        &c,
        &scenario,
        &agents(2, ""),
        "{ backend: claude, completion: promise }",
    );
    assert_merged(&c, &r, "hello");
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    let results = claude_results(&c, &r);
    assert_eq!(results.len(), 2, "{results:?}");
    assert_eq!(
        results[0]["session_id"], results[1]["session_id"],
        "the second session resumes the first"
    );
    let (_, usd) = assert_recorded_as_sent(&show, &r, |_| true, [4000, 120, 1900, 400]);
    assert_cost(usd, claude_cost(&results), &r);
}

#[test]
fn claude_a_cut_stream_is_retried_and_the_totals_are_claudes_not_the_last_calls() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        {"do": "cut", "after": 5, "turn": write("hello.txt", "hello", [1200, 80, 500, 300])},
        write("hello.txt", "hello", [1200, 30, 500, 300]),
        text(DONE, [1500, 40, 800, 0]),
    ]});
    let (r, show) = run(
        &c,
        &scenario,
        &agents(2, ""),
        "{ backend: claude, completion: promise }",
    );
    assert_merged(&c, &r, "hello");
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    let results = claude_results(&c, &r);
    assert_eq!(results.len(), 1, "{results:?}");
    // Claude's `usage` holds the last call only; `modelUsage` and its cost hold both calls.
    assert_eq!(results[0]["usage"]["input_tokens"], 1500, "{results:?}");
    let (_, usd) =
        assert_recorded_as_sent(&show, &r, |e| e["kind"] != "cut", [2700, 70, 1300, 300]);
    assert_cost(usd, claude_cost(&results), &r);
}

#[test]
fn claude_a_hung_stream_is_killed_by_the_watchdog_and_its_tokens_are_kept() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello", [1200, 30, 500, 300]),
        {"do": "hang", "after": 6, "turn": text(DONE, [1500, 40, 800, 0])},
    ], "when_done": {"do": "hang", "after": 0}});
    let (r, show) = run(
        &c,
        &scenario,
        &agents(
            0,
            // Long enough for Claude's start on a loaded machine (it is silent until its
            // first request), short for a test.
            "{ inactivity: 12s, frozen_warning: 3s, silence_backstop: 30s }",
        ),
        "{ backend: claude, completion: promise, continuation: { max_iterations: 1 } }",
    );
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    assert_killed_inactive(&show, &r, "the stream hung");
    // The first call's output (30, from the stream's message_delta, not the 1 of its
    // `assistant` lines) and the hung call's input are recorded.
    assert_recorded_as_sent(
        &show,
        &r,
        |e| e["turn"] == 0 || e["turn"] == 1,
        [2700, 31, 1300, 300],
    );
    // No result, so no cost from Claude: the spend is estimated from these tokens (at the
    // Opus rates Claude itself charged in the other tests: $5 / $25 / $0.50 / $6.25 per
    // million), never "unknown" (which would block every later run of the day).
    let spend = &show["state"]["stages"]["execute"]["history"][0]["spend"];
    assert_eq!(spend["cost_known"], true, "{spend}");
    assert_eq!(spend["cost_estimated"], true, "{spend}");
    let usd = spend["cost_usd"].as_f64().unwrap();
    assert!((usd - 0.0168).abs() < 1e-9, "{spend}");
}

#[test]
fn claude_a_per_minute_429_is_retried_after_retry_after_not_waited_out() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        {"do": "error", "error": "rate_limit", "retry_after": 1},
        write("hello.txt", "hello", [1200, 30, 500, 300]),
        text(DONE, [1500, 40, 800, 0]),
    ]});
    let (r, show) = run(
        &c,
        &scenario,
        &agents(2, ""),
        "{ backend: claude, completion: promise }",
    );
    assert_merged(&c, &r, "hello");
    assert_eq!(r.main_requests(), 3, "{}", r.context());
    // Claude waited the retry-after (1 s), inside the same session.
    assert_eq!(claude_results(&c, &r).len(), 1);
    let (tokens, _) = recorded(&show, "execute");
    assert_eq!(tokens, r.sent_tokens(|_| true), "{}", r.context());
}

#[test]
fn claude_a_429_past_its_retries_waits_for_retry_after_only() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        {"do": "error", "error": "rate_limit", "retry_after": 1},
        {"do": "error", "error": "rate_limit", "retry_after": 1},
        write("hello.txt", "hello", [1200, 30, 500, 300]),
        text(DONE, [1500, 40, 800, 0]),
    ]});
    let (r, show) = run(
        &c,
        &scenario,
        &agents(1, ""),
        "{ backend: claude, completion: promise, usage_limit: { slack: 0s } }",
    );
    assert_merged(&c, &r, "hello");
    let history = stage_text(&show, "execute");
    // The first attempt waited for the reset Claude's retry-after gave (1 s after the 429
    // was seen, so at most 1 s after the wait began), not a long default, then went on.
    let failure = first_failure(&show, "execute");
    assert_eq!(failure["detail"]["usage_limit"], true, "{history}");
    let resets = failure["detail"]["resets_at_ms"].as_u64().unwrap();
    let since = failure["detail"]["waiting_since_ms"].as_u64().unwrap();
    assert!(resets <= since + 1000, "{history}");
    assert_eq!(r.main_requests(), 4, "{}", r.context());
}

#[test]
fn claude_a_credit_balance_error_is_quota_exhausted_and_fatal() {
    // The API's 400 "credit balance is too low" (Claude says `billing_error`), and the same
    // message as a 429 (Claude says `rate_limit`: it must not be waited out).
    for status in [400, 429] {
        let c = Conformance::new();
        let scenario =
            json!({"turns": [], "when_done": {"do": "error", "error": "quota", "status": status}});
        let (r, show) = run(
            &c,
            &scenario,
            &agents(0, ""),
            "{ backend: claude, completion: promise }",
        );
        assert_ne!(r.run.code(), 0, "{}", r.context());
        let failure = first_failure(&show, "execute");
        assert_eq!(failure["kind"], "fatal", "{status}: {failure}");
        assert_eq!(
            failure["detail"]["quota_exhausted"], true,
            "{status}: {failure}"
        );
        assert!(
            failure["message"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("credit balance is too low"),
            "{status}: {failure}"
        );
        // No retries, no polling: one request.
        assert_eq!(r.main_requests(), 1, "{}", r.context());
    }
}

#[test]
fn claude_a_rejected_key_is_an_auth_failure_and_fatal() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done": {"do": "error", "error": "auth"}});
    let (r, show) = run(
        &c,
        &scenario,
        &agents(0, ""),
        "{ backend: claude, completion: promise }",
    );
    assert_ne!(r.run.code(), 0, "{}", r.context());
    let failure = first_failure(&show, "execute");
    assert_eq!(failure["kind"], "fatal", "{failure}");
    let message = failure["message"].as_str().unwrap();
    assert!(message.contains("Invalid API key"), "{failure}");
    assert!(message.to_lowercase().contains("auth"), "{failure}");
    assert_eq!(
        r.main_requests(),
        1,
        "fatal: no other session\n{}",
        r.context()
    );
}

#[test]
fn claude_stopped_by_its_budget_records_the_model_usage_totals() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("a.txt", "a", [1200, 30, 500, 300]),
        write("b.txt", "b", [1300, 50, 600, 0]),
    ], "when_done": {"do": "error", "error": "auth"}});
    let (r, show) = run(
        &c,
        &scenario,
        &agents(0, ""),
        // A model the host has no price for, so Claude's own `--max-budget-usd` stops the
        // session (with a known model the host's estimate from the live usage stops it first).
        "{ backend: claude, model: mock-model-9, completion: promise, budget_usd: 0.01 }",
    );
    assert_ne!(r.run.code(), 0, "{}", r.context());
    let results = claude_results(&c, &r);
    assert_eq!(results[0]["subtype"], "error_max_budget_usd", "{results:?}");
    let (_, usd) = assert_recorded_as_sent(
        &show,
        &r,
        |e| e["role"] == "main" && e["kind"] == "tool",
        [2500, 80, 1100, 300],
    );
    assert_cost(usd, claude_cost(&results[..1]), &r);
}

/// The case: with the default workflow's `day_usd` and no `prices:`, one Claude session
/// killed by the watchdog before its result made the day's spend unknown and every later
/// `engine run` was refused until the next UTC day. Its tokens are now priced (estimated), so
/// the next run starts and lands.
#[test]
fn claude_a_session_killed_by_the_watchdog_leaves_later_runs_able_to_start() {
    let c = Conformance::new();
    let budget = "budget: { run_usd: 5, day_usd: 50 }";
    let hung = json!({"turns": [
        {"do": "hang", "after": 4, "turn": text(DONE, [1500, 40, 800, 0])},
    ], "when_done": {"do": "hang", "after": 0}});
    let limits = "{ inactivity: 12s, frozen_warning: 3s, silence_backstop: 30s }";
    let with = "{ backend: claude, completion: promise, continuation: { max_iterations: 1 } }";
    let (first, show) = run_head(&c, budget, &hung, &agents(0, limits), with);
    assert_ne!(first.run.code(), 0, "{}", first.context());
    let spend = &show["state"]["stages"]["execute"]["history"][0]["spend"];
    assert_eq!(
        spend["cost_estimated"],
        true,
        "{spend}\n{}",
        first.context()
    );
    let scenario = json!({"turns": [
        write("hello.txt", "hello", [1200, 30, 500, 300]),
        text(DONE, [1500, 40, 800, 0]),
    ]});
    let (second, _) = run_head(&c, budget, &scenario, &agents(0, ""), with);
    assert_eq!(second.run.code(), 0, "{}", second.context());
    assert_merged(&c, &second, "hello");
}

/// A review persona on Claude (plan mode with read-only tools) approves and the run merges.
#[test]
fn claude_a_review_persona_approves_and_the_run_merges() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello", [1200, 30, 500, 300]),
        text(DONE, [1500, 40, 800, 0]),
        text(APPROVE, [900, 20, 0, 0]),
    ]});
    let r = c.run_reviewed(
        &scenario,
        "",
        &agents(0, ""),
        "{ backend: claude, completion: promise }",
        "{ backend: claude, personas: [quality] }",
    );
    assert_eq!(r.run.code(), 0, "{}", r.context());
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    assert_merged(&c, &r, "hello");
    assert_review_recorded(&c, &r, [900, 20, 0, 0]);
}
