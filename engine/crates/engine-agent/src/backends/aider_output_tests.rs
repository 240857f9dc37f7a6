use super::*;

const NOW: u64 = 1_800_000_000_000;

fn parser() -> AiderParser {
    AiderParser::with_clock(|| NOW)
}

fn run(stdout: &[&str], stderr: &[&str], exit: Option<i32>) -> Vec<AgentEvent> {
    let mut p = parser();
    let mut events = Vec::new();
    for l in stdout {
        events.extend(p.stdout_line(l));
    }
    for l in stderr {
        events.extend(p.stderr_line(l));
    }
    events.extend(p.finish(exit));
    events
}

fn result(events: &[AgentEvent]) -> (bool, String, Usage) {
    match events.last() {
        Some(AgentEvent::Result {
            is_error,
            text,
            usage,
            ..
        }) => (*is_error, text.clone(), usage.unwrap_or_default()),
        other => panic!("no result last: {other:?}"),
    }
}

#[test]
fn token_counts_with_suffixes() {
    assert_eq!(parse_count("2.4k"), Some(2400));
    assert_eq!(parse_count("1.2M"), Some(1_200_000));
    assert_eq!(parse_count("16"), Some(16));
    assert_eq!(parse_count("x"), None);
}

#[test]
fn retry_lines() {
    assert_eq!(retry_delay_ms("Retrying in 0.2 seconds..."), Some(200));
    assert_eq!(retry_delay_ms("Retrying soon"), None);
}

#[test]
fn one_line_reports_accumulate_and_keep_the_session_cost() {
    let events = run(
        &[
            "Tokens: 2.4k sent, 16 received. Cost: $0.01 message, $0.02 session.",
            "Tokens: 12k sent, 500 received. Cost: $0.05 message, $0.07 session.",
        ],
        &[],
        Some(0),
    );
    let (is_error, _, usage) = result(&events);
    assert!(!is_error);
    assert_eq!(
        usage,
        Usage {
            input_tokens: 14_400,
            output_tokens: 516,
            cost_usd: Some(0.07),
            ..Usage::default()
        }
    );
}

#[test]
fn the_two_line_cost_form_keeps_its_cost_and_is_not_agent_text() {
    // aider's form when the provider reports cache hits and writes: sent = prompt_tokens (all
    // input) + the cache writes once more.
    let events = run(
        &[
            "Done.",
            "Tokens: 5.8k sent, 800 cache write, 3.0k cache hit, 56 received.",
            "Cost: $0.01 message, $0.01 session.",
        ],
        &[],
        Some(0),
    );
    let (_, text, usage) = result(&events);
    assert_eq!(text, "Done.");
    assert_eq!(
        usage,
        Usage {
            input_tokens: 5800 - 3000 - 1600,
            output_tokens: 56,
            cache_read_tokens: 3000,
            cache_write_tokens: 800,
            cost_usd: Some(0.01),
        }
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::AssistantText { text } if text.starts_with("Cost:")))
    );
}

#[test]
fn analytics_events_give_exact_counts_and_cost() {
    let events = run(
        &[
            "Tokens: 5.8k sent, 800 cache write, 3.0k cache hit, 56 received.",
            "Cost: $0.01 message, $0.01 session.",
        ],
        &[
            r#"{"event": "launched", "properties": {}, "user_id": "u", "time": 1}"#,
            r#"{"event": "message_send", "properties": {"prompt_tokens": 5834, "completion_tokens": 56, "total_tokens": 5890, "cost": 0.013116, "total_cost": 0.013116}, "user_id": "u", "time": 2}"#,
        ],
        Some(0),
    );
    let (_, _, usage) = result(&events);
    assert_eq!(
        usage,
        Usage {
            input_tokens: 5834 - 3000 - 1600,
            output_tokens: 56,
            cache_read_tokens: 3000,
            cache_write_tokens: 800,
            cost_usd: Some(0.013_116),
        }
    );
    // Analytics lines are not stderr noise.
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::StderrLine { .. }))
    );
}

#[test]
fn no_cost_line_means_no_cost() {
    let events = run(
        &["Tokens: 300 sent, 5 received."],
        &[
            r#"{"event": "message_send", "properties": {"prompt_tokens": 300, "completion_tokens": 5, "cost": 0.0, "total_cost": 0.0}}"#,
        ],
        Some(0),
    );
    assert_eq!(result(&events).2.cost_usd, None);
}

#[test]
fn banner_and_housekeeping_stay_out_of_the_summary() {
    let events = run(
        &[
            "Analytics have been permanently disabled.",
            "Update git name with: git config user.name \"Your Name\"",
            "Aider v0.86.2",
            "Model: openai/mock-coder with whole edit format",
            "Git repo: .git with 0 files",
            "Repo-map: using 4096 tokens, auto refresh",
            "",
            "I fixed it.",
            "<promise>COMPLETE</promise>",
            "Applied edit to a.txt",
        ],
        &["Warning: Input is not a terminal (fd=0)."],
        Some(0),
    );
    assert_eq!(
        result(&events).1,
        "I fixed it.\n<promise>COMPLETE</promise>"
    );
}

#[test]
fn a_wrapped_quota_error_is_quota_exhausted_and_an_error_result() {
    // aider exits 0 after giving up.
    let events = run(
        &[
            "litellm.RateLimitError: RateLimitError: OpenAIException - You exceeded your ",
            "current quota, please check your plan and billing details.",
            "The API provider has rate limited you. Try again later or check your quotas.",
            "Retrying in 0.2 seconds...",
            "litellm.RateLimitError: RateLimitError: OpenAIException - You exceeded your current quota, please check your plan and billing details.",
            "The API provider has rate limited you. Try again later or check your quotas.",
            "",
            "https://platform.openai.com/docs/guides/error-codes/api-errors",
        ],
        &[],
        Some(0),
    );
    let quotas = events
        .iter()
        .filter(|e| matches!(e, AgentEvent::QuotaExhausted { .. }))
        .count();
    assert_eq!(quotas, 1, "{events:#?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::RateLimited { .. }))
    );
    let (is_error, text, _) = result(&events);
    assert!(is_error);
    assert_eq!(text, "");
}

#[test]
fn a_rate_limit_aider_gives_up_on_is_rate_limited_with_the_stated_delay() {
    let events = run(
        &[
            "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for requests per min. Please try again in 1s.",
            "The API provider has rate limited you. Try again later or check your quotas.",
            "Retrying in 0.2 seconds...",
            "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for requests per min. Please try again in 1s.",
            "The API provider has rate limited you. Try again later or check your quotas.",
        ],
        &[],
        Some(0),
    );
    assert!(events.contains(&AgentEvent::ApiRetry {
        attempt: 1,
        delay_ms: Some(200),
        status: None
    }));
    let limited: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::RateLimited { resets_at_ms, .. } => Some(*resets_at_ms),
            _ => None,
        })
        .collect();
    assert_eq!(limited, [Some(NOW + 1000)]);
    assert!(result(&events).0);
}

#[test]
fn a_rate_limit_aider_recovers_from_is_only_a_retry() {
    let events = run(
        &[
            "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached. Please try again in 1s.",
            "The API provider has rate limited you. Try again later or check your quotas.",
            "Retrying in 0.2 seconds...",
            "Done.",
            "Tokens: 300 sent, 5 received. Cost: $0.01 message, $0.01 session.",
        ],
        &[],
        Some(0),
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::RateLimited { .. }))
    );
    let (is_error, text, _) = result(&events);
    assert!(!is_error);
    assert_eq!(text, "Done.");
}

#[test]
fn a_401_is_auth_failed() {
    let events = run(
        &[
            "litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key provided: test-key.",
            "The API provider is not able to authenticate you. Check your API key.",
            "",
            "https://platform.openai.com/account/api-keys",
        ],
        &[],
        Some(0),
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, AgentEvent::AuthFailed { .. }))
            .count(),
        1
    );
    let (is_error, text, _) = result(&events);
    assert!(is_error);
    assert_eq!(text, "");
}

#[test]
fn killed_gives_no_result_and_one_result_at_most() {
    let mut p = parser();
    assert!(p.finish(None).is_empty());
    let mut p = parser();
    assert_eq!(p.finish(Some(0)).len(), 1);
    assert!(p.finish(Some(0)).is_empty());
}
