//! Gemini CLI (the pinned @google/gemini-cli) against the mock Gemini API (mock/gemini.py),
//! driven by real `engine run` workflows: agent -> gate -> merge.
//!
//! Setup: `GEMINI_API_KEY` and `GOOGLE_GEMINI_BASE_URL` in `agents.env`; the auth type pinned to
//! `gemini-api-key` in ~/.gemini/settings.json (with `GOOGLE_GEMINI_BASE_URL` alone, 0.61.0 picks
//! its `gateway` auth type and refuses it headless: "Invalid auth method selected"), telemetry,
//! usage statistics and update checks off there and in the environment. The backend trusts
//! each fresh worktree itself (`GEMINI_CLI_TRUST_WORKSPACE=true`).
//!
//! What Gemini counts: every call it completed, its stats summed in the result (thinking tokens
//! only in `total_tokens`); Gemini reports no USD, so the engine prices the tokens with the
//! workflow's `prices:`.

use serde_json::{Value, json};

use crate::checks::{
    Prices, assert_killed_inactive, assert_recorded_as_sent, assert_review_recorded, first_failure,
    stage_text,
};
use crate::harness::{Conformance, NetnsRun, agents_block};
use crate::turns::{APPROVE, DONE, GATE, usage_json, write};

const MODEL: &str = "gemini-2.5-pro";
/// USD per million tokens: input, output, cache read.
const PRICES: Prices = Prices::per_million(MODEL, [2.0, 10.0, 0.5]);

/// ~/.gemini/settings.json: the API-key auth type, no telemetry, usage statistics or update
/// checks, and at most `attempts` attempts per API call.
fn settings(attempts: u32) -> String {
    json!({
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "telemetry": {"enabled": false},
        "privacy": {"usageStatisticsEnabled": false},
        "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false,
                    "maxAttempts": attempts},
    })
    .to_string()
}

/// The `agents:` block; `limits` is a YAML flow mapping (or empty).
fn agents(limits: &str) -> String {
    agents_block(
        &[
            ("GEMINI_API_KEY", "test-key"),
            ("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:8765"),
            ("GEMINI_TELEMETRY_ENABLED", "false"),
        ],
        limits,
    )
}

/// A final text turn; `thoughts` of its output tokens are thinking.
fn text(text: &str, usage: [u64; 3], thoughts: u64) -> Value {
    let mut turn = crate::turns::text(text, usage);
    turn["thoughts"] = thoughts.into();
    turn
}

fn with(extra: &str) -> String {
    format!("{{ backend: gemini, model: {MODEL}, completion: promise{extra} }}")
}

fn run(
    c: &Conformance,
    scenario: &Value,
    attempts: u32,
    limits: &str,
    with: &str,
) -> (NetnsRun, Value) {
    c.write_home(".gemini/settings.json", &settings(attempts));
    c.run_gated(scenario, &PRICES.yaml(), &agents(limits), with, GATE)
}

#[track_caller]
fn assert_merged(c: &Conformance, r: &NetnsRun) {
    crate::checks::assert_merged(c, r, "hello");
    assert!(r.mock_problems().is_empty(), "{}", r.context());
}

/// Recorded tokens equal what the mock sent (all requests), and USD = tokens x prices.
#[track_caller]
fn assert_spend(show: &Value, r: &NetnsRun, expected: [u64; 4]) {
    let (tokens, usd) = assert_recorded_as_sent(show, r, |_| true, expected);
    let want = PRICES.usd(tokens);
    assert!(
        (usd - want).abs() < 1e-9,
        "recorded {usd} USD, want {want}\n{}",
        r.context()
    );
}

#[test]
fn gemini_writes_the_file_completes_and_every_token_is_recorded_and_priced() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello", [1200, 30, 500]),
        text(DONE, [1500, 40, 800], 15),
    ]});
    let (r, show) = run(&c, &scenario, 3, "", &with(""));
    assert_merged(&c, &r);
    // 15 of the 40 output tokens are thinking: in the output, though Gemini's stats leave them
    // out of `output_tokens`.
    assert_spend(&show, &r, [2700, 70, 1300, 0]);
}

#[test]
fn gemini_an_unfinished_session_is_resumed_and_both_sessions_add_up() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello", [1200, 30, 500]),
        text("I wrote the file but have not checked it yet.", [1300, 50, 600], 0),
        text(DONE, [1500, 40, 800], 0),
    ]});
    let (r, show) = run(&c, &scenario, 3, "", &with(""));
    assert_merged(&c, &r);
    // The second session resumed the first: its request carries the first conversation.
    let dumps = r.dump_files("streamGenerateContent");
    let last = dumps.iter().max().unwrap();
    let body = std::fs::read_to_string(last).unwrap();
    assert!(
        body.contains("I wrote the file but have not checked it yet."),
        "{body}"
    );
    assert_spend(&show, &r, [4000, 120, 1900, 0]);
}

#[test]
fn gemini_a_stream_cut_mid_way_is_retried_and_the_totals_are_exact() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        {"do": "cut", "how": "eof", "after": 1, "turn": write("hello.txt", "hello", [1200, 30, 500])},
        write("hello.txt", "hello", [1200, 30, 500]),
        text(DONE, [1500, 40, 800], 0),
    ]});
    let (r, show) = run(&c, &scenario, 3, "", &with(""));
    assert_merged(&c, &r);
    assert_eq!(r.main_requests(), 3, "{}", r.context());
    // Gemini counts the cut call's prompt (its first chunk's usage) too.
    assert_spend(&show, &r, [3900, 70, 1800, 0]);
}

#[test]
fn gemini_a_hung_stream_is_killed_by_the_watchdog() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello", [1200, 30, 500]),
        {"do": "hang", "after": 1, "turn": text(DONE, [1500, 40, 800], 0)},
    ], "when_done": {"do": "hang", "after": 0}});
    let (r, show) = run(
        &c,
        &scenario,
        1,
        "{ inactivity: 10s, frozen_warning: 2s, silence_backstop: 30s }",
        &with(", continuation: { max_iterations: 1 }"),
    );
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    assert_killed_inactive(
        &show,
        &r,
        "the stream hung (Gemini was not killed before it)",
    );
}

#[test]
fn gemini_a_per_minute_429_is_retried_after_its_delay_not_waited_out() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        {"do": "error", "error": "rate_limit", "retry_after": 1},
        write("hello.txt", "hello", [1200, 30, 500]),
        text(DONE, [1500, 40, 800], 0),
    ]});
    let (r, show) = run(&c, &scenario, 3, "", &with(""));
    assert_merged(&c, &r);
    assert_eq!(r.main_requests(), 3, "{}", r.context());
    assert_spend(&show, &r, [2700, 70, 1300, 0]);
}

#[test]
fn gemini_a_per_minute_429_past_its_retries_waits_for_the_delay_only() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        {"do": "error", "error": "rate_limit", "retry_after": 1},
        write("hello.txt", "hello", [1200, 30, 500]),
        text(DONE, [1500, 40, 800], 0),
    ]});
    // One attempt: the CLI gives up at once and the stage waits for the reset (now + 1 s).
    let (r, show) = run(&c, &scenario, 1, "", &with(", usage_limit: { slack: 0s }"));
    assert_merged(&c, &r);
    let first = first_failure(&show, "execute");
    assert_eq!(first["detail"]["usage_limit"], true, "{first}");
    // The wait is the delay Gemini was told (1 s), not a long usage window.
    let waited = first["retry_at_ms"].as_u64().unwrap()
        - first["detail"]["waiting_since_ms"].as_u64().unwrap();
    assert!(waited <= 5_000, "waited {waited} ms: {first}");
    assert_eq!(r.main_requests(), 3, "{}", r.context());
}

#[test]
fn gemini_an_exhausted_quota_is_fatal_at_once() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done": {"do": "error", "error": "quota"}});
    let (r, show) = run(&c, &scenario, 3, "", &with(""));
    assert_ne!(r.run.code(), 0, "{}", r.context());
    let stage = stage_text(&show, "execute");
    assert!(stage.contains("plan and billing details"), "{stage}");
    assert!(stage.contains("quota"), "{stage}");
    assert_eq!(
        r.main_requests(),
        1,
        "no retry, no polling\n{}",
        r.context()
    );
}

#[test]
fn gemini_a_refused_key_is_an_auth_failure_and_fatal() {
    for (status, words) in [
        (400, "API key not valid"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
    ] {
        let c = Conformance::new();
        let scenario =
            json!({"turns": [], "when_done": {"do": "error", "error": "auth", "status": status}});
        let (r, show) = run(&c, &scenario, 3, "", &with(""));
        assert_ne!(r.run.code(), 0, "{}", r.context());
        let stage = stage_text(&show, "execute");
        assert!(stage.contains("not logged in"), "{status}: {stage}");
        assert!(stage.contains(words), "{status}: {stage}");
        assert_eq!(
            r.main_requests(),
            1,
            "{status}: fatal, no other session\n{}",
            r.context()
        );
    }
}

#[test]
fn gemini_a_read_only_session_cannot_write_even_by_leaving_plan_mode() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        {"do": "tool", "tool": "call", "name": "exit_plan_mode", "args": {"plan_filename": "p.md"},
         "usage": usage_json([100, 10, 0])},
        write("hello.txt", "hello", [1200, 30, 500]),
        {"do": "tool", "tool": "shell", "command": "echo hello > hello.txt", "usage": usage_json([100, 10, 0])},
        text(DONE, [1500, 40, 800], 0),
    ]});
    let (r, show) = run(&c, &scenario, 3, "", &with(", permission_mode: plan"));
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    // Every write was refused: the gate finds no file, nothing is merged.
    assert_ne!(r.run.code(), 0, "{}", r.context());
    assert!(
        c.repo
            .git(&["ls-tree", "--name-only", "main"])
            .lines()
            .all(|f| f != "hello.txt"),
        "{}",
        r.context()
    );
    let test = stage_text(&show, "test");
    assert!(!test.is_empty(), "{}", r.context());
}

/// A review persona on Gemini CLI (Plan Mode, kept there by the policy file) approves and the
/// run merges; the persona's tokens are recorded on the review stage.
#[test]
fn gemini_a_review_persona_approves_and_the_run_merges() {
    let c = Conformance::new();
    c.write_home(".gemini/settings.json", &settings(2));
    let scenario = json!({"turns": [
        write("hello.txt", "hello", [1200, 30, 500]),
        text(DONE, [1500, 40, 800], 0),
        text(APPROVE, [900, 20, 0], 0),
    ]});
    let r = c.run_reviewed(
        &scenario,
        &PRICES.yaml(),
        &agents(""),
        &with(""),
        &format!("{{ backend: gemini, model: {MODEL}, personas: [quality] }}"),
    );
    assert_merged(&c, &r);
    assert_review_recorded(&c, &r, [900, 20, 0, 0]);
}

/// Gemini CLI reports usage only in its final stats: a session that went past its budget
/// finishes its turn, and the host's judgement of the final spend ends it budget-exceeded, never
/// completed.
#[test]
fn gemini_past_its_budget_ends_budget_exceeded_not_completed() {
    let c = Conformance::new();
    // 4000 input + 100 output at the prices = 0.009 USD, past the 0.005 budget.
    let scenario = json!({"turns": [
        write("hello.txt", "hello", [4000, 100, 0]),
        text(DONE, [4000, 100, 0], 0),
    ]});
    let (r, show) = run(&c, &scenario, 1, "", &with(", budget_usd: 0.005"));
    assert_ne!(r.run.code(), 0, "{}", r.context());
    let stage = show["state"]["stages"]["execute"].to_string();
    assert!(
        stage.contains("stopped at its budget"),
        "budget exceeded, not completed: {stage}\n{}",
        r.context()
    );
    assert!(!stage.contains("\"outcome\":\"succeeded\""), "{stage}");
    let (tokens, usd) = crate::harness::recorded(&show, "execute");
    assert_eq!(tokens, r.sent_tokens(|_| true), "{}", r.context());
    assert!(usd > 0.005, "{usd}");
}
