//! Codex (the pinned @openai/codex) against the mock OpenAI Responses API
//! (mock/openai_responses.py), driven by real `engine run` workflows: agent -> gate -> merge.
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

use crate::harness::{
    APPROVE, Conformance, NetnsRun, agent_gate_merge_workflow, agent_review_merge_workflow,
    recorded,
};

const MODEL: &str = "gpt-5.5";
/// USD per million tokens: input (not cached), output, cache reads.
const PRICES: [f64; 3] = [1.25, 10.0, 0.125];

fn prices_yaml() -> String {
    format!(
        "prices:\n  {MODEL}: {{ input: {}, output: {}, cache_read: {} }}",
        PRICES[0], PRICES[1], PRICES[2]
    )
}

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
    let mut yaml = "  env:\n    OPENAI_API_KEY: test-key\n".to_owned();
    if !limits.is_empty() {
        yaml.push_str(&format!("  limits: {limits}\n"));
    }
    yaml
}

fn usage_json([input, output, cache_read]: [u64; 3]) -> Value {
    json!({"input": input, "output": output, "cache_read": cache_read})
}

/// Codex writes `content` to `path` with its `apply_patch` tool.
fn write(path: &str, content: &str, usage: [u64; 3]) -> Value {
    json!({"do": "tool", "tool": "write", "path": path, "content": content,
           "text": "Writing the file.", "usage": usage_json(usage)})
}

fn shell(command: &str, usage: [u64; 3]) -> Value {
    json!({"do": "tool", "tool": "shell", "command": command, "usage": usage_json(usage)})
}

fn text(text: &str, usage: [u64; 3]) -> Value {
    json!({"do": "text", "text": text, "usage": usage_json(usage)})
}

/// The gate: hello.txt says hello (run by `sh`, the one program the gate may run).
const GATE: &str = "sh -c 'test \"$(cat hello.txt)\" = hello'";

const DONE: &str = "The file is written. <promise>COMPLETE</promise>";

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
    let wf = c.repo.workflow(&agent_gate_merge_workflow(
        &prices_yaml(),
        &agents(limits),
        &with,
        gate,
    ));
    let r = c.engine(
        scenario,
        &[
            "run",
            wf.to_str().unwrap(),
            "--task",
            "Write hello.txt saying hello",
        ],
    );
    let id = r.run.run_id();
    assert!(!id.is_empty(), "no run id\n{}", r.context());
    let show = c.show(&id);
    (r, show)
}

fn run(c: &Conformance, scenario: &Value, with: &str) -> (NetnsRun, Value) {
    run_with(c, scenario, &codex_config(1, 10_000), "", with, GATE)
}

/// The USD of `tokens` at [`PRICES`].
fn priced([input, output, cache_read, _]: [u64; 4]) -> f64 {
    (input as f64 * PRICES[0] + output as f64 * PRICES[1] + cache_read as f64 * PRICES[2])
        / 1_000_000.0
}

fn outcomes(show: &Value, stage: &str) -> Vec<String> {
    show["state"]["stages"][stage]["history"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["outcome"]["outcome"].as_str().unwrap_or("?").to_owned())
        .collect()
}

/// The last attempt's failure (`kind`, `message`, `detail`), Null when it succeeded.
fn failure(show: &Value, stage: &str) -> Value {
    show["state"]["stages"][stage]["history"]
        .as_array()
        .and_then(|h| h.last())
        .map(|a| a["outcome"]["failure"].clone())
        .unwrap_or(Value::Null)
}

fn main_requests(r: &NetnsRun) -> usize {
    r.log.iter().filter(|e| e["role"] == "main").count()
}

fn assert_merged(c: &Conformance, r: &NetnsRun) {
    assert_eq!(r.run.code(), 0, "{}", r.context());
    assert_eq!(
        c.repo.git(&["show", "main:hello.txt"]),
        "hello\n",
        "{}",
        r.context()
    );
}

fn assert_usd(usd: f64, tokens: [u64; 4], r: &NetnsRun) {
    let want = priced(tokens);
    assert!(
        want > 0.0 && (usd - want).abs() < 1e-12,
        "recorded {usd} USD, tokens at the workflow's prices: {want}\n{}",
        r.context()
    );
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
    assert_merged(&c, &r);
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    let (tokens, usd) = recorded(&show, "execute");
    assert_eq!(tokens, r.sent_tokens(|_| true), "{}", r.context());
    assert_eq!(tokens, [3900, 100, 1800, 0]);
    assert_usd(usd, tokens, &r);
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
    assert_merged(&c, &r);
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
    let (tokens, usd) = recorded(&show, "execute");
    // Codex reports 6600 input for the resumed session (the whole thread): engine must
    // record 4000 input + 1900 cached in total, not 4000 + 2700 more.
    assert_eq!(tokens, r.sent_tokens(|_| true), "{}", r.context());
    assert_eq!(tokens, [4000, 120, 1900, 0]);
    assert_usd(usd, tokens, &r);
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
    assert_merged(&c, &r);
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    let (tokens, usd) = recorded(&show, "execute");
    // The cut response never reached `response.completed`: it reported nothing.
    assert_eq!(tokens, r.sent_tokens(|_| true), "{}", r.context());
    assert_eq!(tokens, [2700, 70, 1300, 0]);
    assert_usd(usd, tokens, &r);
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
    let (tokens, usd) = recorded(&show, "execute");
    assert_eq!(tokens, r.sent_tokens(|_| true), "{}", r.context());
    assert_eq!(tokens, [1200, 30, 500, 0]);
    assert_usd(usd, tokens, &r);
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
    assert_eq!(main_requests(&r), 2, "{}", r.context());
    let stage = show["state"]["stages"]["execute"].to_string();
    assert!(!stage.contains("needs attention"), "{stage}");
    let f = failure(&show, "execute");
    assert_eq!(f["kind"], "retryable", "{stage}");
    assert_eq!(f["detail"]["usage_limit"], true, "{stage}");
    assert!(stage.contains("usage limit reached"), "{stage}");
    // The reset is a minute away, not hours: past max_wait (5 s) but well within 2 minutes.
    let resets =
        find_number(&show["state"]["stages"]["execute"], "resets_at_ms").expect("a reset time");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        resets <= now + 120_000,
        "resets at {resets}, now {now}: {stage}"
    );
}

#[test]
fn codex_insufficient_quota_is_quota_exhausted_and_fatal() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done": {"do": "error", "error": "quota"}});
    let (r, show) = run(&c, &scenario, "");
    assert_ne!(r.run.code(), 0, "{}", r.context());
    let stage = show["state"]["stages"]["execute"].to_string();
    assert!(stage.contains("Quota exceeded"), "{stage}");
    let f = failure(&show, "execute");
    assert_eq!(f["kind"], "fatal", "{stage}");
    assert_eq!(f["detail"]["quota_exhausted"], true, "{stage}");
    assert!(!stage.contains("retry at"), "not polled: {stage}");
    // Codex does not retry it; engine starts no other session.
    assert_eq!(main_requests(&r), 1, "{}", r.context());
}

#[test]
fn codex_a_rejected_key_is_an_auth_failure_and_fatal() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done": {"do": "error", "error": "auth"}});
    let (r, show) = run(&c, &scenario, "");
    assert_ne!(r.run.code(), 0, "{}", r.context());
    let stage = show["state"]["stages"]["execute"].to_string();
    assert!(stage.contains("Incorrect API key"), "{stage}");
    let f = failure(&show, "execute");
    assert_eq!(f["kind"], "fatal", "{stage}");
    assert_eq!(f["detail"]["auth_failed"], true, "{stage}");
    // One session: Codex itself retries a 401 once (request_max_retries = 1).
    assert_eq!(main_requests(&r), 2, "{}", r.context());
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

/// The JSON bodies of the main requests the mock received, in order.
fn dump_bodies(r: &NetnsRun) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(r.dir.join("dump"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("responses"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| serde_json::from_str::<Value>(&std::fs::read_to_string(f).unwrap()).unwrap())
        .map(|d| d["body"].clone())
        .filter(|b| b["tools"].as_array().is_some_and(|t| !t.is_empty()))
        .collect()
}

/// The first number named `key` anywhere in `v`.
fn find_number(v: &Value, key: &str) -> Option<u64> {
    match v {
        Value::Object(map) => map
            .get(key)
            .and_then(Value::as_u64)
            .or_else(|| map.values().find_map(|x| find_number(x, key))),
        Value::Array(items) => items.iter().find_map(|x| find_number(x, key)),
        _ => None,
    }
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
    let wf = c.repo.workflow(&agent_review_merge_workflow(
        &prices_yaml(),
        &agents(""),
        &format!("{{ backend: codex, model: {MODEL}, completion: promise }}"),
        &format!("{{ backend: codex, model: {MODEL}, personas: [quality] }}"),
    ));
    let r = c.engine(
        &scenario,
        &["run", wf.to_str().unwrap(), "--task", "Write hello.txt"],
    );
    assert_merged(&c, &r);
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    let show = c.show(&r.run.run_id());
    assert_eq!(
        recorded(&show, "review").0,
        [900, 20, 0, 0],
        "{}",
        r.context()
    );
}
