//! The Claude parser's unit tests (fixtures of real sessions are in `tests/real_claude.rs`).

use super::*;
use crate::event::Usage;

fn parse(p: &mut ClaudeParser, line: &str) -> Vec<AgentEvent> {
    p.stdout_line(line)
}

#[test]
fn usage_repeated_across_events_of_one_message_counts_once() {
    let mut p = ClaudeParser::new();
    let a = r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"a"}],"usage":{"input_tokens":10,"output_tokens":5}}}"#;
    let b = r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t","name":"Read","input":{}}],"usage":{"input_tokens":10,"output_tokens":7}}}"#;
    let c = r#"{"type":"assistant","message":{"id":"m2","content":[],"usage":{"input_tokens":3,"output_tokens":1,"cache_read_input_tokens":100}}}"#;
    assert!(parse(&mut p, a).contains(&AgentEvent::Usage {
        usage: Usage {
            input_tokens: 10,
            output_tokens: 5,
            ..Default::default()
        }
    }));
    assert!(parse(&mut p, b).contains(&AgentEvent::Usage {
        usage: Usage {
            input_tokens: 10,
            output_tokens: 7,
            ..Default::default()
        }
    }));
    assert_eq!(
        parse(&mut p, a).len(),
        1,
        "a repeat of seen usage emits only the text"
    );
    let last = parse(&mut p, c);
    assert_eq!(
        last,
        [AgentEvent::Usage {
            usage: Usage {
                input_tokens: 13,
                output_tokens: 8,
                cache_read_tokens: 100,
                ..Default::default()
            }
        }]
    );
}

#[test]
fn rate_limit_text_reset_uses_the_clock_when_it_can() {
    let mut p = ClaudeParser::new();
    p.now = || 1_760_000_000_000;
    let line = r#"{"type":"assistant","error":"rate_limit","message":{"id":"x","content":[{"type":"text","text":"Claude AI usage limit reached|1760003600"}]}}"#;
    assert_eq!(
        parse(&mut p, line),
        [AgentEvent::RateLimited {
            resets_at_ms: Some(1_760_003_600_000),
            message: "Claude AI usage limit reached|1760003600".into()
        }]
    );
}

#[test]
fn the_exact_reset_of_a_rate_limit_event_wins_over_reset_text() {
    let mut p = ClaudeParser::new();
    // 06:04:30 UTC on some day; the text says "resets 6:04am", which just passed.
    p.now = || 1_760_076_270_000;
    let event = r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1760076272}}"#;
    let _ = parse(&mut p, event);
    let line = r#"{"type":"assistant","error":"rate_limit","message":{"id":"y","content":[{"type":"text","text":"You've hit your limit · resets 6:04am (UTC)"}]}}"#;
    let out = parse(&mut p, line);
    assert!(
        matches!(
            &out[..],
            [AgentEvent::RateLimited {
                resets_at_ms: Some(1_760_076_272_000),
                ..
            }]
        ),
        "{out:?}"
    );
}

#[test]
fn a_changed_field_type_degrades_the_value_not_the_event() {
    let mut p = ClaudeParser::new();
    let line = r#"{"type":"result","subtype":"success","is_error":"no","result":"done","num_turns":"3","total_cost_usd":{"x":1},"session_id":"s"}"#;
    let out = parse(&mut p, line);
    assert!(
        matches!(&out[..], [AgentEvent::Result { is_error: false, turns: Some(3), text, .. }] if text == "done")
    );
}

#[test]
fn stderr_login_failures_are_reported_once() {
    let mut p = ClaudeParser::new();
    assert_eq!(
        p.stderr_line("OAuth token has expired. Please run /login")
            .len(),
        2
    );
    assert_eq!(p.stderr_line("Please run /login").len(), 1);
    assert_eq!(p.stderr_line("warning: something").len(), 1);
}

#[test]
fn the_result_counts_model_usage_not_its_own_usage() {
    // After a cut stream retried without streaming, `usage` holds only the last call.
    let mut p = ClaudeParser::new();
    let line = r#"{"type":"result","subtype":"success","is_error":false,"num_turns":2,"result":"ok","session_id":"s","total_cost_usd":0.017775,"usage":{"input_tokens":1500,"cache_creation_input_tokens":0,"cache_read_input_tokens":800,"output_tokens":40},"modelUsage":{"claude-opus-4-8[1m]":{"inputTokens":2700,"outputTokens":70,"cacheReadInputTokens":1300,"cacheCreationInputTokens":300,"costUSD":0.017775},"claude-haiku-4-5":{"inputTokens":5,"outputTokens":1,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"costUSD":0.00001}}}"#;
    let out = parse(&mut p, line);
    let [AgentEvent::Result { usage, .. }] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(
        *usage,
        Some(Usage {
            input_tokens: 2705,
            output_tokens: 71,
            cache_read_tokens: 1300,
            cache_write_tokens: 300,
            cost_usd: Some(0.017_775),
        })
    );
}

#[test]
fn stream_events_give_the_live_output_count() {
    let mut p = ClaudeParser::new();
    let start = r#"{"type":"stream_event","event":{"type":"message_start","message":{"id":"m1","usage":{"input_tokens":1200,"cache_creation_input_tokens":300,"cache_read_input_tokens":500,"output_tokens":1}}},"session_id":"s","parent_tool_use_id":null}"#;
    let text = r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}},"session_id":"s","parent_tool_use_id":null}"#;
    let assistant = r#"{"type":"assistant","message":{"id":"m1","content":[],"usage":{"input_tokens":1200,"cache_creation_input_tokens":300,"cache_read_input_tokens":500,"output_tokens":1}}}"#;
    let delta = r#"{"type":"stream_event","event":{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":30}},"session_id":"s","parent_tool_use_id":null}"#;
    let live = |output| AgentEvent::Usage {
        usage: Usage {
            input_tokens: 1200,
            output_tokens: output,
            cache_read_tokens: 500,
            cache_write_tokens: 300,
            cost_usd: None,
        },
    };
    assert_eq!(parse(&mut p, start), [live(1)]);
    assert!(parse(&mut p, text).is_empty(), "deltas are skipped");
    assert!(
        parse(&mut p, assistant).is_empty(),
        "a repeat of seen usage"
    );
    assert_eq!(parse(&mut p, delta), [live(30)]);
}

#[test]
fn a_billing_error_or_a_billing_429_is_quota_not_auth_or_a_wait() {
    for (error, text) in [
        ("billing_error", "Credit balance is too low"),
        (
            "rate_limit",
            "API Error: Request rejected (429) · Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
        ),
    ] {
        let mut p = ClaudeParser::new();
        let line = format!(
            r#"{{"type":"assistant","error":"{error}","message":{{"id":"x","content":[{{"type":"text","text":"{text}"}}]}}}}"#
        );
        assert_eq!(
            parse(&mut p, &line),
            [AgentEvent::QuotaExhausted {
                message: text.into()
            }]
        );
    }
}

#[test]
fn an_api_429_resets_after_the_retry_after_claude_waited() {
    let mut p = ClaudeParser::new();
    p.now = || 1_800_000_000_000;
    let retry = r#"{"type":"system","subtype":"api_retry","attempt":1,"max_retries":1,"retry_delay_ms":1000,"error_status":429,"error":"rate_limit","session_id":"s"}"#;
    let _ = parse(&mut p, retry);
    let text = "API Error: Request rejected (429) · This request would exceed the rate limit for your organization of 50 requests per minute.";
    let line = format!(
        r#"{{"type":"assistant","error":"rate_limit","message":{{"id":"x","content":[{{"type":"text","text":"{text}"}}]}}}}"#
    );
    assert_eq!(
        parse(&mut p, &line),
        [AgentEvent::RateLimited {
            resets_at_ms: Some(1_800_000_001_000),
            message: text.into()
        }]
    );
    // Without a retry (CLAUDE_CODE_MAX_RETRIES=0) an API 429 waits a minute, not the default.
    let mut p = ClaudeParser::new();
    p.now = || 1_800_000_000_000;
    let out = parse(&mut p, &line);
    assert!(
        matches!(
            &out[..],
            [AgentEvent::RateLimited {
                resets_at_ms: Some(1_800_000_060_000),
                ..
            }]
        ),
        "{out:?}"
    );
}
