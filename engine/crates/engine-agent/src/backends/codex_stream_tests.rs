use super::*;

#[test]
fn reconnect_messages_are_retries() {
    assert_eq!(
        reconnect_attempt("Reconnecting... 2/5 (stream disconnected)"),
        Some(2)
    );
    assert_eq!(reconnect_attempt("something else"), None);
    let mut p = CodexParser::new();
    let out = p.stdout_line(r#"{"type":"error","message":"Reconnecting... 1/5"}"#);
    assert_eq!(
        out,
        [AgentEvent::ApiRetry {
            attempt: 1,
            delay_ms: None,
            status: None
        }]
    );
    assert!(p.finish(Some(0)).is_empty(), "a retry is not a fatal error");
}

#[test]
fn a_429_codex_still_retries_is_a_retry_and_giving_up_is_a_one_minute_limit() {
    let mut p = CodexParser::new();
    p.now = || 1_000_000;
    let retry = p.stdout_line(
        r#"{"type":"error","message":"Reconnecting... 1/1 (exceeded retry limit, last status: 429 Too Many Requests, request id: r0)"}"#,
    );
    assert!(matches!(
        &retry[..],
        [AgentEvent::ApiRetry { attempt: 1, .. }]
    ));
    let out = p.stdout_line(
        r#"{"type":"error","message":"exceeded retry limit, last status: 429 Too Many Requests, request id: r1"}"#,
    );
    assert!(
        matches!(&out[..], [AgentEvent::RateLimited { resets_at_ms: Some(t), .. }] if *t == 1_000_000 + PER_MINUTE_RESET_MS)
    );
    let failed = p.stdout_line(
        r#"{"type":"turn.failed","error":{"message":"exceeded retry limit, last status: 429 Too Many Requests"}}"#,
    );
    assert!(
        matches!(&failed[..], [AgentEvent::Result { is_error: true, .. }]),
        "reported once: {failed:?}"
    );
}

#[test]
fn quota_is_exhausted_not_a_usage_limit() {
    let mut p = CodexParser::new();
    let out = p.stdout_line(
        r#"{"type":"error","message":"Quota exceeded. Check your plan and billing details."}"#,
    );
    assert!(
        matches!(&out[..], [AgentEvent::QuotaExhausted { .. }]),
        "{out:?}"
    );
}

#[test]
fn turn_usage_is_the_threads_so_a_resumed_session_subtracts_what_came_before() {
    let before = Usage {
        input_tokens: 2700,
        output_tokens: 70,
        cache_read_tokens: 1300,
        ..Usage::default()
    };
    let mut p = CodexParser::resuming(before);
    let out = p.stdout_line(
        r#"{"type":"turn.completed","usage":{"input_tokens":6300,"cached_input_tokens":2100,"cache_write_input_tokens":0,"output_tokens":110}}"#,
    );
    let own = Usage {
        input_tokens: 1500,
        output_tokens: 40,
        cache_read_tokens: 800,
        ..Usage::default()
    };
    assert_eq!(out[0], AgentEvent::Usage { usage: own });
}

#[test]
fn cache_writes_are_taken_out_of_the_input_total() {
    let mut p = CodexParser::new();
    let out = p.stdout_line(
        r#"{"type":"turn.completed","usage":{"input_tokens":1000,"cached_input_tokens":300,"cache_write_input_tokens":200,"output_tokens":5}}"#,
    );
    let want = Usage {
        input_tokens: 500,
        output_tokens: 5,
        cache_read_tokens: 300,
        cache_write_tokens: 200,
        cost_usd: None,
    };
    assert_eq!(out[0], AgentEvent::Usage { usage: want });
}

#[test]
fn usage_limit_reset_is_relative_to_now() {
    let mut p = CodexParser::new();
    p.now = || 1_000_000;
    let out = p.stdout_line(
        r#"{"type":"error","message":"You've hit your usage limit. Try again in 2 hours."}"#,
    );
    assert!(
        matches!(&out[..], [AgentEvent::RateLimited { resets_at_ms: Some(t), .. }] if *t == 1_000_000 + 7_200_000)
    );
}

#[test]
fn legacy_item_type_field_is_read() {
    let mut p = CodexParser::new();
    let out = p.stdout_line(
        r#"{"type":"item.completed","item":{"id":"item_0","item_type":"agent_message","text":"hi"}}"#,
    );
    assert_eq!(out, [AgentEvent::AssistantText { text: "hi".into() }]);
}

#[test]
fn fatal_error_without_a_turn_result_ends_the_session_at_exit() {
    let mut p = CodexParser::new();
    assert!(
        p.stdout_line(r#"{"type":"error","message":"model not found"}"#)
            .is_empty()
    );
    assert!(p.finish(None).is_empty(), "killed: no synthetic result");
    let mut p = CodexParser::new();
    p.stdout_line(r#"{"type":"error","message":"model not found"}"#);
    assert!(
        matches!(&p.finish(Some(1))[..], [AgentEvent::Result { is_error: true, text, .. }] if text == "model not found")
    );
}
