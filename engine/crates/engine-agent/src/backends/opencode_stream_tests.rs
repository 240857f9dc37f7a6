use super::*;

const NOW: u64 = 1_800_000_000_000;

fn clock() -> u64 {
    NOW
}

fn parser() -> OpencodeParser {
    OpencodeParser::with_clock(clock)
}

/// A `--print-logs --log-level ERROR` line of opencode 1.18.33 for a failed model call.
fn stream_error(message: &str) -> String {
    format!(
        "timestamp=2026-12-06T10:50:35.106Z level=ERROR run=094062e9 message=\"stream error\" \
         providerID=mock modelID=mock-model session.id=ses_db505efa6ffenJpdzM4fuXGh4F small=false \
         agent=build mode=primary error.error=\"AI_APICallError: {message}\""
    )
}

fn without_stderr(events: Vec<AgentEvent>) -> Vec<AgentEvent> {
    events
        .into_iter()
        .filter(|e| !matches!(e, AgentEvent::StderrLine { .. }))
        .collect()
}

#[test]
fn running_tool_is_started_once_then_finished() {
    let mut p = parser();
    let running = r#"{"type":"tool_use","part":{"callID":"c1","tool":"bash","state":{"status":"running","input":{"command":"ls"}}}}"#;
    let done = r#"{"type":"tool_use","part":{"callID":"c1","tool":"bash","state":{"status":"completed","input":{"command":"ls"},"output":"a"}}}"#;
    assert_eq!(p.stdout_line(running).len(), 1);
    let out = p.stdout_line(done);
    assert!(
        matches!(&out[..], [AgentEvent::ToolFinished { ok: true, output, .. }] if output == "a")
    );
}

#[test]
fn a_retried_quota_error_ends_the_session_as_quota_exhausted() {
    let mut p = parser();
    let message = "You exceeded your current quota, please check your plan and billing details.";
    let line = stream_error(message);
    let out = p.stderr_line(&line);
    assert!(matches!(&out[0], AgentEvent::StderrLine { line: l } if *l == line));
    let out = without_stderr(out);
    assert!(
        matches!(&out[..], [
            AgentEvent::SessionStarted { session_id, .. },
            AgentEvent::QuotaExhausted { message: m },
            AgentEvent::Result { is_error: true, text, session_id: Some(s), .. },
        ] if session_id == "ses_db505efa6ffenJpdzM4fuXGh4F" && m == message && text == message
            && s == session_id),
        "{out:#?}"
    );
    // opencode retries again: reported once; the kill after the result adds nothing.
    assert!(without_stderr(p.stderr_line(&line)).is_empty());
    assert!(p.finish(None).is_empty());
    assert!(p.finish(Some(143)).is_empty());
}

#[test]
fn a_retried_rate_limit_is_reported_with_the_stated_wait_and_the_session_goes_on() {
    let mut p = parser();
    p.stdout_line(r#"{"type":"step_start","sessionID":"ses_1","part":{}}"#);
    let out = without_stderr(p.stderr_line(&stream_error(
        "Rate limit reached for requests per min. Please try again in 20s.",
    )));
    assert!(
        matches!(&out[..], [AgentEvent::RateLimited { resets_at_ms: Some(at), .. }]
            if *at == NOW + 20_000),
        "{out:#?}"
    );
    let out = p.finish(Some(0));
    assert!(
        matches!(
            &out[..],
            [AgentEvent::Result {
                is_error: false,
                ..
            }]
        ),
        "{out:#?}"
    );
}

#[test]
fn a_rate_limit_without_a_stated_wait_gets_a_short_one() {
    let mut p = parser();
    let out = without_stderr(p.stderr_line(&stream_error("Too Many Requests")));
    assert!(
        matches!(&out[1..], [AgentEvent::RateLimited { resets_at_ms: Some(at), .. }]
            if *at == NOW + UNSTATED_RETRY_MS),
        "{out:#?}"
    );
}

#[test]
fn a_dropped_stream_or_another_log_line_is_only_stderr() {
    let mut p = parser();
    p.stdout_line(r#"{"type":"step_start","sessionID":"ses_1","part":{}}"#);
    for line in [
        stream_error("terminated"),
        "timestamp=2026-12-06T10:50:59.340Z level=ERROR run=0ae72e0c message=process session.id=ses_1 error=\"boom\" stack=\"x\\n y\"".to_owned(),
        "Error: something went wrong level=ERROR".to_owned(),
        "plain text".to_owned(),
    ] {
        let out = p.stderr_line(&line);
        assert!(
            matches!(&out[..], [AgentEvent::StderrLine { .. }]),
            "{line}: {out:#?}"
        );
    }
}

#[test]
fn a_quota_error_event_is_quota_exhausted_not_a_rate_limit() {
    let mut p = parser();
    let line = r#"{"type":"error","sessionID":"ses_1","error":{"name":"APIError","data":{"message":"You exceeded your current quota, please check your plan and billing details.","statusCode":429,"isRetryable":true}}}"#;
    let out = p.stdout_line(line);
    assert!(
        matches!(
            &out[..],
            [
                AgentEvent::SessionStarted { .. },
                AgentEvent::QuotaExhausted { .. }
            ]
        ),
        "{out:#?}"
    );
    assert!(matches!(
        &p.finish(Some(1))[..],
        [AgentEvent::Result { is_error: true, .. }]
    ));
}

#[test]
fn logfmt_reads_quoted_values_with_escapes() {
    let f = logfmt(r#"level=ERROR message="stream error" error.error="a \"b\"\nc" n=1"#);
    assert_eq!(f["level"], "ERROR");
    assert_eq!(f["message"], "stream error");
    assert_eq!(f["error.error"], "a \"b\"\nc");
    assert_eq!(f["n"], "1");
    assert!(logfmt("no fields here").is_empty());
    assert!(
        logfmt("message=x").is_empty(),
        "not a log line without level"
    );
    assert!(logfmt("level=ERROR message=\"unterminated").contains_key("message"));
}
