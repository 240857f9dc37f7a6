//! The aider parser on real transcripts of aider 0.86.2 (tests/fixtures/aider/real, see its
//! README): stdout fed first, then stderr (aider's analytics events), then exit 0 (aider exits 0
//! even when it gave up on the API).

use crate::common::count;

use std::path::PathBuf;

use engine_agent::backends::AiderParser;
use engine_agent::{AgentEvent, StreamParser, Usage};

const NOW: u64 = 1_800_000_000_000;

fn fixture(name: &str, ext: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aider/real")
        .join(format!("{name}.{ext}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(name: &str) -> Vec<AgentEvent> {
    let mut p = AiderParser::with_clock(|| NOW);
    let mut events = Vec::new();
    for l in fixture(name, "stdout").lines() {
        events.extend(p.stdout_line(l));
    }
    for l in fixture(name, "stderr").lines() {
        events.extend(p.stderr_line(l));
    }
    events.extend(p.finish(Some(0)));
    events
}

fn result(events: &[AgentEvent]) -> (bool, String, Usage) {
    let results: Vec<_> = events.iter().filter(|e| e.is_terminal()).collect();
    assert_eq!(results.len(), 1, "{events:#?}");
    match results[0] {
        AgentEvent::Result {
            is_error,
            text,
            usage,
            ..
        } => (*is_error, text.clone(), usage.unwrap_or_default()),
        _ => unreachable!(),
    }
}

const SUMMARY: &str =
    "Creating the file.\n<promise>COMPLETE</promise>\nhello.txt\n```\nhello world\n```";

#[test]
fn two_line_cost_report_exact_tokens_and_cost() {
    let events = run("cache_two_line");
    let (is_error, text, usage) = result(&events);
    assert!(!is_error);
    // Mock sent input 1234, cache_read 3000, cache_write 800, output 56; aider's own prices
    // ($2/M in, $8/M out, writes x1.25, hits x0.1) make 0.013116, its analytics say so exactly.
    assert_eq!(
        usage,
        Usage {
            input_tokens: 1234,
            output_tokens: 56,
            cache_read_tokens: 3000,
            cache_write_tokens: 800,
            cost_usd: Some(0.013_116),
        }
    );
    assert_eq!(text, SUMMARY);
    assert_eq!(
        count(&events, |e| matches!(
            e,
            AgentEvent::ToolFinished { ok: true, .. }
        )),
        1
    );
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::StderrLine { .. })),
        1,
        "only aider's tty warning is stderr noise"
    );
}

#[test]
fn openai_cached_tokens_are_invisible_to_aider() {
    // Mock sent input 1234 + cached 300 (prompt_tokens 1534), output 56: aider shows no cache
    // hit for OpenAI's `prompt_tokens_details`, so the cached tokens count as input, and it
    // prices them as input (1534 x $2/M + 56 x $8/M).
    let (is_error, text, usage) = result(&run("openai_cached"));
    assert!(!is_error);
    assert_eq!(text, SUMMARY);
    assert_eq!(
        usage,
        Usage {
            input_tokens: 1534,
            output_tokens: 56,
            cost_usd: Some(0.003_516),
            ..Usage::default()
        }
    );
}

#[test]
fn a_cut_answer_retried_by_the_sdk_counts_once() {
    let (is_error, _, usage) = result(&run("cut_retried"));
    assert!(!is_error);
    assert_eq!((usage.input_tokens, usage.output_tokens), (1534, 56));
}

#[test]
fn auth_failure() {
    let events = run("auth");
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::AuthFailed { .. })),
        1
    );
    let (is_error, text, _) = result(&events);
    assert!(is_error, "aider exits 0 but the session failed");
    assert_eq!(text, "");
}

#[test]
fn quota_is_quota_exhausted_not_a_rate_limit() {
    let events = run("quota");
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::QuotaExhausted { .. })),
        1
    );
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::RateLimited { .. })),
        0
    );
    assert!(count(&events, |e| matches!(e, AgentEvent::ApiRetry { .. })) >= 1);
    let (is_error, text, _) = result(&events);
    assert!(is_error);
    assert_eq!(text, "");
}

#[test]
fn a_rate_limit_aider_gave_up_on_resets_after_the_stated_delay() {
    let events = run("rate_limit");
    let limited: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::RateLimited { resets_at_ms, .. } => Some(*resets_at_ms),
            _ => None,
        })
        .collect();
    // OpenAI's message says "Please try again in 1s." (aider never shows `retry-after`).
    assert_eq!(limited, [Some(NOW + 1000)]);
    let (is_error, text, _) = result(&events);
    assert!(is_error);
    assert_eq!(text, "");
}
