//! opencode (the pinned opencode-ai) against the mock `OpenAI` Chat Completions API
//! (`mock/opencode_api.py`), driven by real `engine run` workflows: agent -> gate -> merge.
//!
//! opencode is pointed at the mock by a provider in `$HOME/.config/opencode/opencode.json`
//! using its bundled `@ai-sdk/openai-compatible` package (nothing is installed at run time),
//! `baseURL` <http://127.0.0.1:8765/opencode/v1> and `apiKey` `{env:MOCK_API_KEY}` (from
//! `agents.env`). The model is declared in the config with its `cost` (USD per million tokens),
//! so opencode prices every step itself and needs no models.dev lookup;
//! `OPENCODE_DISABLE_MODELS_FETCH`, `OPENCODE_DISABLE_AUTOUPDATE`, `OPENCODE_DISABLE_LSP_DOWNLOAD`,
//! `autoupdate: false` and `share: "disabled"` switch off its other network use. The session
//! title request is disabled (`agent.title.disable`): opencode never prints that request's
//! usage, so with it on the tokens it spends are not seen.
//!
//! What opencode counts: each `step_finish` has that step's usage and cost (input excluding
//! cached input), also after `-s SESSION`. It retries every failed call itself, forever and
//! silently on stdout: a dropped stream, a per-minute 429 (after its `retry-after`) and a quota
//! 429 alike; `--print-logs --log-level ERROR` makes each failure a stderr line.

use serde_json::{Value, json};

use crate::checks::{
    Prices, assert_fatal, assert_merged, assert_recorded_as_sent, assert_resets_within_two_minutes,
    assert_review_recorded, failure, outcomes, stage_text,
};
use crate::harness::{Conformance, NetnsRun, agents_block, recorded};
use crate::turns::{APPROVE, DONE, GATE, shell, text, write};

const MODEL: &str = "mock/mock-model";
/// USD per million tokens: input (not cached), output, cache reads.
const PRICES: Prices = Prices::per_million(MODEL, [3.0, 15.0, 0.3]);

/// opencode's global config: the mock as a provider, the model with its prices, no title
/// request, no update check, no sharing.
fn opencode_config() -> String {
    json!({
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": false,
        "share": "disabled",
        "provider": {"mock": {
            "npm": "@ai-sdk/openai-compatible",
            "name": "Mock",
            "options": {"baseURL": "http://127.0.0.1:8765/opencode/v1", "apiKey": "{env:MOCK_API_KEY}"},
            "models": {"mock-model": {
                "name": "Mock Model",
                "limit": {"context": 200_000, "output": 8192},
                "cost": {"input": PRICES.input, "output": PRICES.output, "cache_read": PRICES.cache_read}
            }}
        }},
        "model": MODEL,
        "agent": {"title": {"disable": true}}
    })
    .to_string()
}

/// The `agents:` block: the key, opencode's switches; `limits` a YAML flow mapping.
fn agents(limits: &str) -> String {
    agents_block(
        &[
            ("MOCK_API_KEY", "test-key"),
            ("OPENCODE_DISABLE_AUTOUPDATE", "1"),
            ("OPENCODE_DISABLE_MODELS_FETCH", "1"),
            ("OPENCODE_DISABLE_LSP_DOWNLOAD", "1"),
        ],
        limits,
    )
}

/// Watchdog limits for the kill tests: opencode says nothing while it starts (over 10 s on a
/// loaded machine), so the inactivity limit leaves it room for that.
const WATCHDOG: &str = "{ inactivity: 30s, frozen_warning: 10s, silence_backstop: 45s }";

/// Runs the workflow (`with` for the agent stage, model and promise completion included) on
/// `scenario`; returns the run and its show.
fn run_with(
    c: &Conformance,
    scenario: &Value,
    limits: &str,
    with: &str,
    gate: &str,
) -> (NetnsRun, Value) {
    c.write_home(".config/opencode/opencode.json", &opencode_config());
    let with = format!("{{ backend: opencode, model: {MODEL}, completion: promise, {with} }}");
    c.run_gated(scenario, "", &agents(limits), &with, gate)
}

fn run(c: &Conformance, scenario: &Value, with: &str) -> (NetnsRun, Value) {
    run_with(c, scenario, "", with, GATE)
}

#[track_caller]
fn assert_clean(r: &NetnsRun) {
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    assert!(
        r.log.iter().all(|e| e["role"] == "main"),
        "only the agent loop's requests (no title request)\n{}",
        r.context()
    );
}

/// The USD opencode itself reported: the sum of `step_finish.part.cost` over every session's
/// transcript of the run.
fn reported_usd(c: &Conformance, r: &NetnsRun) -> f64 {
    c.stdout_events(r)
        .iter()
        .filter(|event| event["type"] == "step_finish")
        .map(|event| event["part"]["cost"].as_f64().unwrap_or(0.0))
        .sum()
}

/// Recorded USD == what opencode reported == the tokens at the config's prices.
#[track_caller]
fn assert_usd(c: &Conformance, usd: f64, tokens: [u64; 4], r: &NetnsRun) {
    let want = PRICES.usd(tokens);
    let reported = reported_usd(c, r);
    assert!(
        want > 0.0 && (usd - want).abs() < 1e-12 && (reported - want).abs() < 1e-12,
        "recorded {usd} USD, opencode reported {reported}, tokens at the prices: {want}\n{}",
        r.context()
    );
}

/// The JSON bodies of the main requests the mock received, in order.
fn main_bodies(r: &NetnsRun) -> Vec<Value> {
    r.main_bodies("chat_completions")
}

#[test]
fn opencode_writes_the_file_completes_and_every_token_is_recorded_and_priced() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [1200, 30, 500]),
        shell("cat hello.txt", [1300, 20, 1700]),
        // 10 of the 40 output tokens are reasoning: opencode reports them apart (and prices
        // them as output).
        {"do": "text", "text": DONE,
         "usage": {"input": 1500, "output": 40, "cache_read": 800, "reasoning": 10}},
    ]});
    let (r, show) = run(&c, &scenario, "");
    assert_merged(&c, &r, "hello\n");
    assert_clean(&r);
    let (tokens, usd) = assert_recorded_as_sent(&show, &r, |_| true, [4000, 90, 3000, 0]);
    assert_usd(&c, usd, tokens, &r);
}

#[test]
fn opencode_a_resumed_session_records_only_its_own_tokens() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [1200, 30, 500]),
        text("I wrote the file but have not checked it yet.", [1300, 50, 600]),
        text(DONE, [1500, 40, 800]),
    ]});
    let (r, show) = run(&c, &scenario, "");
    assert_merged(&c, &r, "hello\n");
    assert_clean(&r);
    // The second session is `opencode run -s SESSION`: its request carries the first's
    // conversation.
    let bodies = main_bodies(&r);
    assert_eq!(bodies.len(), 3, "{}", r.context());
    assert!(
        bodies[2]["messages"]
            .to_string()
            .contains("have not checked it yet"),
        "the resumed request carries the session\n{}",
        r.context()
    );
    let (tokens, usd) = assert_recorded_as_sent(&show, &r, |_| true, [4000, 120, 1900, 0]);
    assert_usd(&c, usd, tokens, &r);
}

#[test]
fn opencode_a_cut_stream_is_retried_and_the_totals_are_exact() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        {"do": "cut", "after": 3, "turn": write("hello.txt", "hello\n", [1200, 80, 500])},
        write("hello.txt", "hello\n", [1200, 30, 500]),
        text(DONE, [1500, 40, 800]),
    ]});
    let (r, show) = run(&c, &scenario, "");
    assert_merged(&c, &r, "hello\n");
    assert_clean(&r);
    assert_eq!(
        r.main_requests(),
        3,
        "opencode retried the cut call\n{}",
        r.context()
    );
    // The cut stream never reached its usage chunk: it reported nothing.
    let (tokens, usd) = assert_recorded_as_sent(&show, &r, |_| true, [2700, 70, 1300, 0]);
    assert_usd(&c, usd, tokens, &r);
}

#[test]
fn opencode_a_hung_stream_is_killed_by_the_watchdog_and_earlier_tokens_are_kept() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [1200, 30, 500]),
        {"do": "hang", "after": 3, "turn": text(DONE, [1500, 40, 800])},
    ], "when_done": {"do": "hang", "after": 0}});
    let (r, show) = run_with(
        &c,
        &scenario,
        WATCHDOG,
        "continuation: { max_iterations: 1 }",
        GATE,
    );
    assert_ne!(r.run.code(), 0, "{}", r.context());
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    let f = failure(&show, "execute");
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .contains("inactivity limit 30s"),
        "killed by the watchdog: {f}\n{}",
        r.context()
    );
    let (tokens, usd) = assert_recorded_as_sent(&show, &r, |_| true, [1200, 30, 500, 0]);
    assert_usd(&c, usd, tokens, &r);
}

#[test]
fn opencode_per_minute_429s_it_retries_by_itself_do_not_disturb_the_session() {
    let c = Conformance::new();
    let limit = json!({"do": "error", "error": "rate_limit", "retry_after": 1});
    let scenario = json!({"turns": [
        limit, limit,
        write("hello.txt", "hello\n", [1200, 30, 500]),
        text(DONE, [1500, 40, 800]),
    ]});
    let (r, show) = run(&c, &scenario, "");
    assert_merged(&c, &r, "hello\n");
    assert_clean(&r);
    assert_eq!(r.main_requests(), 4, "{}", r.context());
    assert_eq!(outcomes(&show, "execute"), ["succeeded"], "{}", r.context());
    let (tokens, usd) = recorded(&show, "execute");
    assert_eq!(tokens, [2700, 70, 1300, 0], "{}", r.context());
    assert_usd(&c, usd, tokens, &r);
}

#[test]
fn opencode_waiting_out_a_long_retry_after_is_a_short_rate_limit() {
    let c = Conformance::new();
    // opencode waits the whole `retry-after` (120 s) without a word on stdout; the watchdog
    // stops it and the stderr line it printed explains why.
    let scenario = json!({"turns": [], "when_done":
        {"do": "error", "error": "rate_limit", "retry_after": 120}});
    let (r, show) = run_with(
        &c,
        &scenario,
        WATCHDOG,
        "usage_limit: { max_wait: 5s, slack: 0s }",
        GATE,
    );
    assert_ne!(r.run.code(), 0, "{}", r.context());
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    let stage = stage_text(&show, "execute");
    assert!(!stage.contains("needs attention"), "{stage}");
    let f = failure(&show, "execute");
    assert_eq!(f["kind"], "retryable", "{stage}");
    assert_eq!(f["detail"]["usage_limit"], true, "{stage}");
    assert_resets_within_two_minutes(&show, "execute");
}

#[test]
fn opencode_insufficient_quota_is_quota_exhausted_and_fatal() {
    let c = Conformance::new();
    // opencode retries a quota 429 forever; the first failure it logs ends the session.
    let scenario = json!({"turns": [], "when_done": {"do": "error", "error": "quota"}});
    let (r, show) = run_with(&c, &scenario, "{ post_result_grace: 1s }", "", GATE);
    let stage = assert_fatal(&show, &r, "exceeded your current quota", "quota_exhausted");
    assert!(!stage.contains("retry at"), "not polled: {stage}");
    // One session, stopped after the grace (1 s): opencode's second try comes 2 s after the
    // first; a third would mean the session went on or engine started another.
    assert!(r.main_requests() <= 2, "{}", r.context());
}

#[test]
fn opencode_a_rejected_key_is_an_auth_failure_and_fatal() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done": {"do": "error", "error": "auth"}});
    let (r, show) = run(&c, &scenario, "");
    assert_fatal(&show, &r, "Incorrect API key", "auth_failed");
    // opencode does not retry a 401; engine starts no other session.
    assert_eq!(r.main_requests(), 1, "{}", r.context());
}

#[test]
fn opencode_plan_mode_refuses_writes_and_the_shell() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [1200, 30, 500]),
        shell("echo hi > shell.txt", [1200, 30, 500]),
        text("I could not write anything. <promise>COMPLETE</promise>", [1500, 40, 800]),
    ]});
    let (r, show) = run_with(
        &c,
        &scenario,
        "",
        "permission_mode: plan",
        "sh -c 'test ! -e hello.txt && test ! -e shell.txt'",
    );
    assert_clean(&r);
    assert_eq!(outcomes(&show, "execute"), ["succeeded"], "{}", r.context());
    assert_eq!(outcomes(&show, "test"), ["succeeded"], "{}", r.context());
    // opencode offered neither tool and told the model so.
    let bodies = main_bodies(&r);
    for body in &bodies {
        let tools: Vec<&str> = body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["function"]["name"].as_str())
            .collect();
        assert!(
            !tools.contains(&"write") && !tools.contains(&"bash") && !tools.contains(&"edit"),
            "{tools:?}"
        );
    }
    let told = bodies
        .iter()
        .map(|b| b["messages"].to_string())
        .collect::<String>();
    assert!(
        told.contains("Model tried to call unavailable tool 'write'")
            && told.contains("Model tried to call unavailable tool 'bash'"),
        "{}",
        r.context()
    );
    assert!(!c.repo.path().join("hello.txt").exists());
}

#[test]
fn opencode_past_its_budget_is_stopped_budget_exceeded() {
    let c = Conformance::new();
    // 4000 input + 100 output at the prices = 0.0135 USD after the first step, past the
    // 0.005 budget: opencode has no budget flag, the host stops it on the step's reported cost.
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [4000, 100, 0]),
        text(DONE, [4000, 100, 0]),
    ], "when_done": {"do": "error", "error": "auth"}});
    let (r, show) = run(&c, &scenario, "budget_usd: 0.005");
    assert_ne!(r.run.code(), 0, "{}", r.context());
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    let f = failure(&show, "execute");
    assert_eq!(f["kind"], "fatal", "{f}\n{}", r.context());
    assert_eq!(
        f["detail"]["budget_exceeded"],
        true,
        "budget exceeded, not completed: {f}\n{}",
        r.context()
    );
    // Stopped on the first step's cost (the second may have been under way).
    let (tokens, usd) = recorded(&show, "execute");
    let sent = r.sent_tokens(|_| true);
    assert!(
        tokens[0] >= 4000 && tokens[0] <= sent[0] && tokens[1] <= sent[1],
        "recorded {tokens:?}, sent {sent:?}\n{}",
        r.context()
    );
    assert!((usd - PRICES.usd(tokens)).abs() < 1e-12, "{usd}");
}

/// A review persona on opencode (its plan agent, edits and shell denied) approves and the run
/// merges; the persona's tokens are recorded on the review stage.
#[test]
fn opencode_a_review_persona_approves_and_the_run_merges() {
    let c = Conformance::new();
    c.write_home(".config/opencode/opencode.json", &opencode_config());
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [1200, 30, 500]),
        text(DONE, [1500, 40, 800]),
        text(APPROVE, [900, 20, 0]),
    ]});
    let r = c.run_reviewed(
        &scenario,
        "",
        &agents(WATCHDOG),
        &format!("{{ backend: opencode, model: {MODEL}, completion: promise }}"),
        &format!("{{ backend: opencode, model: {MODEL}, personas: [quality] }}"),
    );
    assert_merged(&c, &r, "hello\n");
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    assert_review_recorded(&c, &r, [900, 20, 0, 0]);
}
