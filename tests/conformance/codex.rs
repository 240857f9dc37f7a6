//! Codex (the pinned @openai/codex) against the mock `OpenAI` Responses API
//! (`mock/openai_responses.py`), driven by real `engine run` workflows: agent -> gate -> merge.
//!
//! Codex is pointed at the mock by a model provider in `$HOME/.codex/config.toml` (it ignores
//! `OPENAI_BASE_URL`): `base_url = "http://127.0.0.1:8765/v1"`, `wire_api = "responses"`,
//! `supports_websockets = false` (else it first tries a WebSocket), `env_key =
//! "OPENAI_API_KEY"`; `request_max_retries`, `stream_max_retries` and `stream_idle_timeout_ms`
//! keep its own retries short. `check_for_update_on_startup = false` and `analytics.enabled =
//! false` switch off its update check and analytics. Model `gpt-5.5` is in Codex's catalog
//! (an unknown model works, with a warning item and without `apply_patch`).
//!
//! What Codex counts: `turn.completed` carries the whole THREAD's usage (every session of a
//! resumed thread), and nothing before the turn ends; its rollout file under
//! `$CODEX_HOME/sessions` has the usage after every response. Codex prices nothing: the USD
//! recorded is the tokens at the workflow's `prices:`.

use serde_json::{Value, json};

use crate::checks::{
    Prices, assert_fatal, assert_merged, assert_recorded_as_sent, assert_resets_within_two_minutes,
    assert_review_recorded, failure, outcomes, stage_text,
};
use crate::harness::{Conformance, NetnsRun, agents_block, recorded};
use crate::turns::{APPROVE, DONE, GATE, shell, text, write};

const MODEL: &str = "gpt-5.5";
/// USD per million tokens: input (not cached), output, cache reads.
const PRICES: Prices = Prices::per_million(MODEL, [1.25, 10.0, 0.125]);

/// Codex's config.toml: the mock as its model provider, `retries` request and stream
/// retries, a stream idle timeout, no update check, no analytics.
fn codex_config(retries: u32, idle_ms: u64) -> String {
    format!(
        r#"model = "{MODEL}"
model_provider = "mock"
check_for_update_on_startup = false

[analytics]
enabled = false

[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:8765/v1"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
request_max_retries = {retries}
stream_max_retries = {retries}
stream_idle_timeout_ms = {idle_ms}
supports_websockets = false
"#
    )
}

/// The `agents:` block: the API key Codex's provider reads; `limits` a YAML flow mapping.
fn agents(limits: &str) -> String {
    agents_block(&[("OPENAI_API_KEY", "test-key")], limits)
}

/// Runs the workflow (`with` for the agent stage, model and promise completion included) on
/// `scenario`, with Codex's config; returns the run and its show.
fn run_with(
    c: &Conformance,
    scenario: &Value,
    config: &str,
    limits: &str,
    with: &str,
    gate: &str,
) -> (NetnsRun, Value) {
    c.write_home(".codex/config.toml", config);
    let with = format!("{{ backend: codex, model: {MODEL}, completion: promise, {with} }}");
    c.run_gated(scenario, &PRICES.yaml(), &agents(limits), &with, gate)
}

fn run(c: &Conformance, scenario: &Value, with: &str) -> (NetnsRun, Value) {
    run_with(c, scenario, &codex_config(1, 10_000), "", with, GATE)
}

/// The JSON bodies of the main requests the mock received, in order.
fn dump_bodies(r: &NetnsRun) -> Vec<Value> {
    r.main_bodies("responses")
}

#[test]
fn codex_writes_the_file_completes_and_every_token_is_recorded_and_priced() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [1200, 30, 500]),
        shell("cat hello.txt", [1200, 30, 500]),
        text(DONE, [1500, 40, 800]),
    ]});
    let (r, show) = run(&c, &scenario, "");
    assert_merged(&c, &r, "hello\n");
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    let (tokens, usd) = assert_recorded_as_sent(&show, &r, |_| true, [3900, 100, 1800, 0]);
    PRICES.assert_usd(usd, tokens, &r);
}

#[test]
fn codex_a_resumed_session_records_only_its_own_tokens() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [1200, 30, 500]),
        text("I wrote the file but have not checked it yet.", [1300, 50, 600]),
        text(DONE, [1500, 40, 800]),
    ]});
    let (r, show) = run(&c, &scenario, "");
    assert_merged(&c, &r, "hello\n");
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    // Two sessions of one thread: the second is `codex exec ... resume THREAD`, whose
    // request carries the first session's conversation.
    let dumps = dump_bodies(&r);
    assert_eq!(dumps.len(), 3, "{}", r.context());
    let last_input = dumps[2]["input"].to_string();
    assert!(
        last_input.contains("have not checked it yet"),
        "the resumed request carries the thread"
    );
    // Codex reports 6600 input for the resumed session (the whole thread): engine must
    // record 4000 input + 1900 cached in total, not 4000 + 2700 more.
    let (tokens, usd) = assert_recorded_as_sent(&show, &r, |_| true, [4000, 120, 1900, 0]);
    PRICES.assert_usd(usd, tokens, &r);
}

#[test]
fn codex_a_cut_stream_is_retried_and_the_totals_are_exact() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        {"do": "cut", "after": 3, "turn": write("hello.txt", "hello\n", [1200, 80, 500])},
        write("hello.txt", "hello\n", [1200, 30, 500]),
        text(DONE, [1500, 40, 800]),
    ]});
    let (r, show) = run(&c, &scenario, "");
    assert_merged(&c, &r, "hello\n");
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    // The cut response never reached `response.completed`: it reported nothing.
    let (tokens, usd) = assert_recorded_as_sent(&show, &r, |_| true, [2700, 70, 1300, 0]);
    PRICES.assert_usd(usd, tokens, &r);
}

#[test]
fn codex_a_hung_stream_is_killed_by_the_watchdog_and_earlier_tokens_are_kept() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [1200, 30, 500]),
        {"do": "hang", "after": 3, "turn": text(DONE, [1500, 40, 800])},
    ], "when_done": {"do": "hang", "after": 0}});
    // Codex's own idle timeout is far off: the host's watchdog must act.
    let (r, show) = run_with(
        &c,
        &scenario,
        &codex_config(0, 600_000),
        "{ inactivity: 10s, frozen_warning: 2s, silence_backstop: 30s }",
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
            .contains("inactivity limit 10s"),
        "killed by the watchdog: {f}\n{}",
        r.context()
    );
    // Codex printed no usage (its turn never ended); the first response's usage comes from
    // the thread's rollout file.
    let (tokens, usd) = assert_recorded_as_sent(&show, &r, |_| true, [1200, 30, 500, 0]);
    PRICES.assert_usd(usd, tokens, &r);
}

#[test]
fn codex_a_per_minute_429_it_gave_up_on_is_a_short_rate_limit() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done":
        {"do": "error", "error": "rate_limit", "retry_after": 1}});
    let (r, show) = run(&c, &scenario, "usage_limit: { max_wait: 5s, slack: 0s }");
    assert_ne!(r.run.code(), 0, "{}", r.context());
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    // Codex retried once (request_max_retries = 1) after the retry-after, then gave up with
    // "exceeded retry limit, last status: 429".
    assert_eq!(r.main_requests(), 2, "{}", r.context());
    let stage = stage_text(&show, "execute");
    assert!(!stage.contains("needs attention"), "{stage}");
    let f = failure(&show, "execute");
    assert_eq!(f["kind"], "retryable", "{stage}");
    assert_eq!(f["detail"]["usage_limit"], true, "{stage}");
    assert!(stage.contains("usage limit reached"), "{stage}");
    // The reset is a minute away, not hours: past max_wait (5 s) but well within 2 minutes.
    assert_resets_within_two_minutes(&show, "execute");
}

#[test]
fn codex_insufficient_quota_is_quota_exhausted_and_fatal() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done": {"do": "error", "error": "quota"}});
    let (r, show) = run(&c, &scenario, "");
    let stage = assert_fatal(&show, &r, "Quota exceeded", "quota_exhausted");
    assert!(!stage.contains("retry at"), "not polled: {stage}");
    // Codex does not retry it; engine starts no other session.
    assert_eq!(r.main_requests(), 1, "{}", r.context());
}

#[test]
fn codex_a_rejected_key_is_an_auth_failure_and_fatal() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done": {"do": "error", "error": "auth"}});
    let (r, show) = run(&c, &scenario, "");
    assert_fatal(&show, &r, "Incorrect API key", "auth_failed");
    // One session: Codex itself retries a 401 once (request_max_retries = 1).
    assert_eq!(r.main_requests(), 2, "{}", r.context());
}

#[test]
fn codex_plan_mode_runs_in_codexs_read_only_sandbox() {
    let c = Conformance::new();
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [1200, 30, 500]),
        shell("echo hi > shell.txt", [1200, 30, 500]),
        text("I could not write anything. <promise>COMPLETE</promise>", [1500, 40, 800]),
    ]});
    let (r, show) = run_with(
        &c,
        &scenario,
        &codex_config(1, 10_000),
        "",
        "permission_mode: plan",
        "sh -c 'test ! -e hello.txt && test ! -e shell.txt'",
    );
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    assert_eq!(outcomes(&show, "execute"), ["succeeded"], "{}", r.context());
    assert_eq!(outcomes(&show, "test"), ["succeeded"], "{}", r.context());
    // Codex refused both: what it told the model.
    let dumps = dump_bodies(&r);
    let told = dumps
        .iter()
        .map(|d| d["input"].to_string())
        .collect::<String>();
    assert!(
        told.contains("writing is blocked by read-only sandbox"),
        "{}",
        r.context()
    );
    assert!(told.contains("Read-only file system"), "{}", r.context());
    assert!(!c.repo.path().join("hello.txt").exists());
}

#[test]
fn codex_past_its_budget_ends_budget_exceeded_not_completed() {
    let c = Conformance::new();
    // 4000 input + 100 output at the prices = 0.006 USD, past the 0.005 budget after the first
    // response; Codex reports usage only when its turn ends.
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [4000, 100, 0]),
        text(DONE, [4000, 100, 0]),
    ], "when_done": {"do": "error", "error": "auth"}});
    let (r, show) = run(&c, &scenario, "budget_usd: 0.005");
    assert_ne!(r.run.code(), 0, "{}", r.context());
    let f = failure(&show, "execute");
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .contains("stopped at its budget"),
        "budget exceeded, not completed: {f}\n{}",
        r.context()
    );
    let (tokens, usd) = recorded(&show, "execute");
    let sent = r.sent_tokens(|_| true);
    assert!(
        tokens[0] >= 4000 && tokens[0] <= sent[0],
        "recorded {tokens:?}, sent {sent:?}\n{}",
        r.context()
    );
    assert!(usd > 0.005, "{usd}");
}

/// A review persona on Codex (its read-only sandbox) approves and the run merges; the
/// persona's tokens are recorded on the review stage.
#[test]
fn codex_a_review_persona_approves_and_the_run_merges() {
    let c = Conformance::new();
    c.write_home(".codex/config.toml", &codex_config(1, 10_000));
    let scenario = json!({"turns": [
        write("hello.txt", "hello\n", [1200, 30, 500]),
        text(DONE, [1500, 40, 800]),
        text(APPROVE, [900, 20, 0]),
    ]});
    let r = c.run_reviewed(
        &scenario,
        &PRICES.yaml(),
        &agents(""),
        &format!("{{ backend: codex, model: {MODEL}, completion: promise }}"),
        &format!("{{ backend: codex, model: {MODEL}, personas: [quality] }}"),
    );
    assert_merged(&c, &r, "hello\n");
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    assert_review_recorded(&c, &r, [900, 20, 0, 0]);
}
