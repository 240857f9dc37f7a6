//! The opencode parser on transcripts of the real CLI (tests/fixtures/opencode/real, recorded by
//! its record.sh with the version in VERSION) talking to the mock Chat Completions API: the
//! tokens and USD it reports equal what the mock sent, times the prices in the recording's
//! config (input $3, output $15, cache read $0.30 per million tokens).

use std::collections::BTreeMap;
use std::path::PathBuf;

use engine_agent::{AgentEvent, BackendSettings, StreamParser, Usage, backend};

/// Prices of the recording's model, USD per million tokens: input, output, cache read.
const PRICES: [f64; 3] = [3.0, 15.0, 0.3];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opencode/real")
}

fn parser() -> Box<dyn StreamParser> {
    backend("opencode", &BackendSettings::default(), &BTreeMap::new())
        .unwrap()
        .parser()
}

/// Feeds stdout, then stderr, then the exit (None: killed) to a fresh parser.
fn run(name: &str, exit: Option<i32>) -> Vec<AgentEvent> {
    let read = |ext: &str| std::fs::read_to_string(dir().join(format!("{name}.{ext}")));
    let stdout = read("jsonl").unwrap();
    let stderr = read("stderr").unwrap_or_default();
    let mut p = parser();
    let mut out = Vec::new();
    for line in stdout.lines() {
        out.extend(p.stdout_line(line));
    }
    for line in stderr.lines() {
        out.extend(p.stderr_line(line));
    }
    out.extend(p.finish(exit));
    out
}

/// Tokens the mock sent for the scenario's turns: `[input, output, cache_read]` each.
fn priced(turns: &[[u64; 3]]) -> Usage {
    let mut u = Usage::default();
    let mut cost = 0.0;
    for [input, output, cache_read] in turns {
        u.input_tokens += input;
        u.output_tokens += output;
        u.cache_read_tokens += cache_read;
        cost += (*input as f64 * PRICES[0]
            + *output as f64 * PRICES[1]
            + *cache_read as f64 * PRICES[2])
            / 1e6;
    }
    u.cost_usd = Some(cost);
    u
}

const W: [u64; 3] = [1200, 30, 500];
const D: [u64; 3] = [1500, 40, 800];

fn result_usage(events: &[AgentEvent]) -> (bool, Usage, String) {
    let results: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Result {
                is_error,
                usage,
                text,
                ..
            } => Some((*is_error, usage.unwrap_or_default(), text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 1, "{events:#?}");
    results[0].clone()
}

#[track_caller]
fn assert_usage(got: Usage, want: Usage) {
    let (g, w) = (got.cost_usd.unwrap(), want.cost_usd.unwrap());
    assert!((g - w).abs() < 1e-12, "cost {g} != {w}");
    let tokens = |u: Usage| {
        [
            u.input_tokens,
            u.output_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens,
        ]
    };
    assert_eq!(tokens(got), tokens(want));
}

#[test]
fn the_recording_is_of_the_pinned_version() {
    let version = std::fs::read_to_string(dir().join("VERSION")).unwrap();
    let pins =
        std::fs::read_to_string(engine_testkit::repo_root().join("tests/conformance/versions.txt"))
            .unwrap();
    assert!(
        pins.lines()
            .any(|l| l.trim() == format!("opencode-ai {}", version.trim())),
        "recorded with {version}"
    );
}

#[test]
fn normal_session_reports_every_step_and_the_exact_cost() {
    let events = run("normal", Some(0));
    let (is_error, usage, text) = result_usage(&events);
    assert!(!is_error);
    assert_eq!(text, "The file is written. <promise>COMPLETE</promise>");
    assert_usage(usage, priced(&[W, D]));
    let first_step = events.iter().find_map(|e| match e {
        AgentEvent::Usage { usage } => Some(*usage),
        _ => None,
    });
    assert_usage(first_step.unwrap(), priced(&[W]));
    assert!(events.iter().any(|e| matches!(e,
        AgentEvent::ToolFinished { name: Some(n), ok: true, output, .. }
            if n == "write" && output == "Wrote file successfully.")));
    assert!(
        matches!(&events[0], AgentEvent::SessionStarted { session_id, .. }
        if session_id.starts_with("ses_"))
    );
}

#[test]
fn a_resumed_session_reports_only_its_own_steps() {
    let events = run("resume", Some(0));
    let (is_error, usage, _) = result_usage(&events);
    assert!(!is_error);
    assert_usage(usage, priced(&[[700, 25, 2400], [300, 15, 3100]]));
    let first = |name: &str| {
        run(name, Some(0)).into_iter().find_map(|e| match e {
            AgentEvent::SessionStarted { session_id, .. } => Some(session_id),
            _ => None,
        })
    };
    assert_eq!(first("resume"), first("normal"), "the same session resumed");
}

#[test]
fn a_cut_stream_retried_by_opencode_counts_once() {
    let events = run("cut_retried", Some(0));
    let (is_error, usage, _) = result_usage(&events);
    assert!(!is_error);
    assert_usage(usage, priced(&[W, D]));
}

#[test]
fn per_minute_rate_limits_retried_by_opencode_are_short_waits() {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let before = u64::try_from(elapsed.as_millis()).unwrap();
    let events = run("rate_limit_retried", Some(0));
    let after = before + 60_000;
    let limits: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::RateLimited { resets_at_ms, .. } => *resets_at_ms,
            _ => None,
        })
        .collect();
    assert_eq!(limits.len(), 2, "{events:#?}");
    for at in limits {
        assert!(
            at >= before + 1000 && at <= after,
            "reset {at}, now {before}"
        );
    }
    let (is_error, usage, _) = result_usage(&events);
    assert!(!is_error, "opencode got through after its retries");
    assert_usage(usage, priced(&[W, D]));
}

#[test]
fn a_quota_429_opencode_retries_forever_ends_as_quota_exhausted() {
    // Recorded until `timeout` killed it: nothing on stdout, one stderr line per retry.
    let events = run("quota_retried", None);
    let kinds: Vec<_> = events
        .iter()
        .filter(|e| !matches!(e, AgentEvent::StderrLine { .. }))
        .collect();
    assert!(
        matches!(&kinds[..], [
            AgentEvent::SessionStarted { .. },
            AgentEvent::QuotaExhausted { message },
            AgentEvent::Result { is_error: true, .. },
        ] if message.contains("exceeded your current quota")),
        "{kinds:#?}"
    );
}

#[test]
fn a_401_is_an_auth_failure() {
    let events = run("auth_failure", Some(1));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentEvent::AuthFailed { message } if message.starts_with("Incorrect API key"))),
        "{events:#?}"
    );
    let (is_error, _, _) = result_usage(&events);
    assert!(is_error);
}

#[test]
fn a_hung_stream_says_nothing_and_a_kill_adds_nothing() {
    assert!(run("hang", None).is_empty());
}

#[test]
fn plan_mode_refuses_the_write_and_the_shell() {
    let events = run("plan_denied", Some(0));
    let finished: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolFinished { name, output, .. } => Some((name.clone(), output.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(finished.len(), 2, "{events:#?}");
    for (name, output) in finished {
        assert_eq!(name.as_deref(), Some("invalid"));
        assert!(output.contains("unavailable tool"), "{output}");
    }
}
