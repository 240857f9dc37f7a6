//! aider (the pinned aider-chat) against the mock `OpenAI` Chat Completions API for aider
//! (`mock/aider_api.py`, under `/aider/`), driven by real `engine run` workflows: agent -> gate ->
//! merge.
//!
//! aider has no tools: the model's answer carries an edit block and aider applies it. Model
//! `openai/mock-coder`, priced by `~/.aider.model.metadata.json` ($2/M input, $8/M output), so
//! aider prints (and logs, exactly, in its analytics events) a real cost. aider retries API
//! errors itself (the `OpenAI` SDK twice per attempt, then aider with backoff for about a
//! minute) and exits 0 even when it gave up.

use serde_json::{Value, json};

use crate::checks::{
    assert_killed_inactive, assert_recorded_as_sent, assert_review_recorded, stage_text,
};
use crate::harness::{Conformance, NetnsRun, agents_block, recorded};
use crate::turns::{APPROVE, GATE, text, write_saying as write};

const MODEL_METADATA: &str = r#"{"openai/mock-coder": {"max_input_tokens": 128000,
 "max_output_tokens": 8192, "input_cost_per_token": 0.000002, "output_cost_per_token": 0.000008,
 "litellm_provider": "openai", "mode": "chat"}}"#;

/// aider's prices (USD per token) for `openai/mock-coder`.
const INPUT_USD: f64 = 0.000_002;
const OUTPUT_USD: f64 = 0.000_008;

/// The `agents:` block: aider on the mock. `limits` is a YAML flow mapping (or empty).
fn agents(limits: &str) -> String {
    agents_block(
        &[
            ("OPENAI_API_BASE", "http://127.0.0.1:8765/aider/v1"),
            ("OPENAI_API_KEY", "test-key"),
            ("AIDER_CHECK_UPDATE", "false"),
            ("AIDER_ANALYTICS", "false"),
        ],
        limits,
    )
}

const DONE: &str = "Writing the file. <promise>COMPLETE</promise>";
const WITH: &str = "{ backend: aider, model: openai/mock-coder, completion: promise }";

fn run(c: &Conformance, scenario: &Value, agents_yaml: &str, with: &str) -> (NetnsRun, Value) {
    c.write_home(".aider.model.metadata.json", MODEL_METADATA);
    // The gate's permissions grant `sh` only.
    c.run_gated(scenario, "", agents_yaml, with, GATE)
}

/// The run succeeded and main's hello.txt says hello.
#[track_caller]
fn assert_merged(c: &Conformance, r: &NetnsRun) {
    assert_eq!(r.run.code(), 0, "{}", r.context());
    assert_eq!(c.repo.git(&["show", "main:hello.txt"]).trim(), "hello");
}

/// What aider's own prices make of the tokens the mock sent (its formula: litellm's
/// `prompt_tokens` (all input) at the input price, plus cache writes x1.25 and cache hits x0.1
/// of it again, plus the output).
fn aider_cost([input, output, cache_read, cache_write]: [u64; 4]) -> f64 {
    let prompt = (input + cache_read + cache_write) as f64;
    prompt * INPUT_USD
        + (cache_write as f64) * INPUT_USD * 1.25
        + (cache_read as f64) * INPUT_USD * 0.1
        + (output as f64) * OUTPUT_USD
}

/// Files on main whose name starts with `.aider`, and whether main has a .gitignore.
fn aider_litter_on_main(c: &Conformance) -> (Vec<String>, bool) {
    let files = c.repo.git(&["ls-tree", "-r", "--name-only", "main"]);
    let litter = files
        .lines()
        .filter(|f| f.split('/').any(|part| part.starts_with(".aider")))
        .map(str::to_owned)
        .collect();
    (litter, files.lines().any(|f| f == ".gitignore"))
}

#[test]
fn aider_writes_the_file_merges_clean_and_records_its_own_tokens_and_cost() {
    let c = Conformance::new();
    // Sent like a LiteLLM proxy in front of Anthropic: cache hits and writes reported, so
    // aider prints its two-line `Tokens: ... / Cost: ...` report.
    let sent = [1234, 56, 3000, 800];
    let scenario = json!({"turns": [write("hello.txt", "hello", DONE, sent)]});
    let (r, show) = run(&c, &scenario, &agents(""), WITH);
    assert_merged(&c, &r);
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    assert_eq!(r.main_requests(), 1, "{}", r.context());
    // No `.gitignore` change and neither of aider's histories reach main (its repo-map cache:
    // see the test after this one).
    let (litter, gitignore) = aider_litter_on_main(&c);
    assert!(!gitignore, "aider's .gitignore was merged\n{}", r.context());
    let histories: Vec<_> = litter.iter().filter(|f| f.contains("history")).collect();
    assert!(
        histories.is_empty(),
        "aider's histories on main: {histories:?}"
    );
    // Exact: aider's analytics carry the exact counts; cache counts are < 1000 or round.
    let (tokens, usd) = recorded(&show, "execute");
    assert_eq!(tokens, r.sent_tokens(|_| true), "{}", r.context());
    assert_eq!(tokens, sent);
    let expected = aider_cost(sent);
    assert!(
        (usd - expected).abs() < 1e-9,
        "recorded {usd} USD, aider's prices make {expected}\n{}",
        r.context()
    );
}

/// aider creates its repo-map cache (`.aider.tags.cache.v4/cache.db`) in the worktree root and
/// has no switch to move or disable it (short of `--map-tokens 0`, which blinds it to the
/// repository). Only the host can keep it out of the run's commits (an `info/exclude` line).
#[test]
fn aider_its_repo_map_cache_never_reaches_main() {
    let c = Conformance::new();
    let scenario = json!({"turns": [write("hello.txt", "hello", DONE, [1234, 56, 0, 0])]});
    let (r, _) = run(&c, &scenario, &agents(""), WITH);
    assert_eq!(r.run.code(), 0, "{}", r.context());
    let (litter, _) = aider_litter_on_main(&c);
    assert!(litter.is_empty(), "aider's files on main: {litter:?}");
}

#[test]
fn aider_openai_cached_tokens_are_counted_as_input_as_aider_sees_them() {
    let c = Conformance::new();
    let sent = [1234, 56, 300, 0];
    let scenario = json!({"turns": [write("hello.txt", "hello", DONE, sent)]});
    let (r, show) = run(&c, &scenario, &agents(""), WITH);
    assert_eq!(r.run.code(), 0, "{}", r.context());
    let (tokens, usd) = recorded(&show, "execute");
    // aider never reads OpenAI's `prompt_tokens_details.cached_tokens`: it shows (and prices)
    // them as input. Totals match; the split cannot.
    assert_eq!(tokens, [1534, 56, 0, 0], "{}", r.context());
    let expected = 1534.0 * INPUT_USD + 56.0 * OUTPUT_USD;
    assert!((usd - expected).abs() < 1e-9, "{usd} vs {expected}");
}

#[test]
fn aider_an_unfinished_session_continues_in_a_fresh_session_with_a_handoff() {
    let c = Conformance::new();
    let first = [1000, 40, 0, 0];
    let second = [1500, 60, 0, 0];
    let scenario = json!({"turns": [
        write("hello.txt", "hello", "I wrote the file but have not checked it yet.", first),
        text("Checked: it is right. <promise>COMPLETE</promise>", second),
    ]});
    let (r, show) = run(&c, &scenario, &agents(""), WITH);
    assert_merged(&c, &r);
    assert_eq!(r.main_requests(), 2, "{}", r.context());
    // No session to resume: the second aider starts fresh, told what the first one did.
    let dumps = r
        .dump_files("chat_completions")
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(dumps.len(), 2);
    let handoff = dumps
        .iter()
        .filter(|d| d.contains("Handoff from an earlier session"))
        .count();
    assert_eq!(handoff, 1, "one fresh session with the handoff prompt");
    let (_, usd) = assert_recorded_as_sent(&show, &r, |_| true, [2500, 100, 0, 0]);
    let expected = aider_cost(first) + aider_cost(second);
    assert!((usd - expected).abs() < 1e-9, "{usd} vs {expected}");
}

#[test]
fn aider_a_cut_answer_is_retried_and_counted_once() {
    let c = Conformance::new();
    let sent = [1234, 56, 0, 0];
    let scenario = json!({"turns": [
        {"do": "cut", "after": 2, "turn": write("hello.txt", "hello", DONE, [9000, 900, 0, 0])},
        write("hello.txt", "hello", DONE, sent),
    ]});
    let (r, show) = run(&c, &scenario, &agents(""), WITH);
    assert_eq!(r.run.code(), 0, "{}", r.context());
    assert_eq!(r.main_requests(), 2, "{}", r.context());
    let (tokens, _) = recorded(&show, "execute");
    assert_eq!(tokens, r.sent_tokens(|_| true), "{}", r.context());
    assert_eq!(tokens, sent);
}

#[test]
fn aider_a_hung_answer_is_killed_by_the_watchdog() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done": {"do": "hang", "after": 0}});
    let (r, show) = run(
        &c,
        &scenario,
        &agents("{ inactivity: 10s, frozen_warning: 2s, silence_backstop: 30s }"),
        "{ backend: aider, model: openai/mock-coder, completion: promise, continuation: { max_iterations: 1 } }",
    );
    assert_killed_inactive(
        &show,
        &r,
        "the answer hung (aider was not killed before asking)",
    );
    let (tokens, _) = recorded(&show, "execute");
    assert_eq!(tokens, [0, 0, 0, 0]);
}

#[test]
fn aider_a_per_minute_429_is_waited_out_inside_the_session() {
    let c = Conformance::new();
    let sent = [1234, 56, 0, 0];
    let scenario = json!({"turns": [
        {"do": "error", "error": "rate_limit", "retry_after": 1},
        write("hello.txt", "hello", DONE, sent),
    ]});
    let (r, show) = run(&c, &scenario, &agents(""), WITH);
    assert_merged(&c, &r);
    assert_eq!(r.main_requests(), 2, "{}", r.context());
    let (tokens, _) = recorded(&show, "execute");
    assert_eq!(tokens, sent);
}

#[test]
fn aider_insufficient_quota_is_quota_exhausted_and_fatal() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done": {"do": "error", "error": "quota"}});
    let (r, show) = run(&c, &scenario, &agents(""), WITH);
    assert_ne!(r.run.code(), 0, "{}", r.context());
    let stage = stage_text(&show, "execute");
    assert!(stage.contains("exceeded your current quota"), "{stage}");
    assert!(stage.contains("quota"), "{stage}");
    // One aider session (its own retries), no second session, no polling.
    assert_ne!(r.main_requests(), 0);
    assert_eq!(c.transcripts(&r).len(), 1, "{}", r.context());
}

#[test]
fn aider_a_rejected_key_is_an_auth_failure_and_fatal() {
    let c = Conformance::new();
    let scenario = json!({"turns": [], "when_done": {"do": "error", "error": "auth"}});
    let (r, show) = run(&c, &scenario, &agents(""), WITH);
    assert_ne!(r.run.code(), 0, "{}", r.context());
    let stage = stage_text(&show, "execute");
    assert!(stage.contains("auth"), "{stage}");
    assert!(stage.contains("Incorrect API key"), "{stage}");
    assert_eq!(r.main_requests(), 1, "{}", r.context());
}

/// A review persona on aider, which cannot keep itself read-only: the host runs it in a
/// throw-away copy of the worktree; it approves and the run merges.
#[test]
fn aider_a_review_persona_approves_in_a_throw_away_copy_and_the_run_merges() {
    let c = Conformance::new();
    c.write_home(".aider.model.metadata.json", MODEL_METADATA);
    let scenario = json!({"turns": [
        write("hello.txt", "hello", DONE, [1234, 56, 0, 0]),
        text(APPROVE, [900, 20, 0, 0]),
    ]});
    let r = c.run_reviewed(
        &scenario,
        "",
        &agents(""),
        WITH,
        "{ backend: aider, model: openai/mock-coder, personas: [quality] }",
    );
    assert!(r.mock_problems().is_empty(), "{}", r.context());
    assert_merged(&c, &r);
    assert_review_recorded(&c, &r, [900, 20, 0, 0]);
}
