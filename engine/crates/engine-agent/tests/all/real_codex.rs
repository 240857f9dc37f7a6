//! The Codex parser on the real CLI's output (`codex-cli 0.171.0`, recorded against the
//! conformance suite's mock `OpenAI` Responses API: tests/fixtures/codex/real/README.md). Where
//! these differ from the hand-written fixtures, these win.

use crate::common::count;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine_agent::Backend;
use engine_agent::backends::{CodexBackend, CodexParser};
use engine_agent::{
    AgentEvent, BackendSettings, PermissionMode, SessionRequest, StreamParser, Usage, backend,
};

/// Token counts of a CLI that reports no cache writes.
fn tokens(input: u64, output: u64, cache_read: u64) -> Usage {
    crate::common::tokens(input, output, cache_read, 0)
}

fn real(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/codex/real")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(real(name)).unwrap()
}

fn feed(mut parser: Box<dyn StreamParser>, name: &str, exit: Option<i32>) -> Vec<AgentEvent> {
    let mut out = Vec::new();
    for l in read(&format!("{name}.jsonl")).lines() {
        out.extend(parser.stdout_line(l));
    }
    for l in read(&format!("{name}.stderr")).lines() {
        out.extend(parser.stderr_line(l));
    }
    out.extend(parser.finish(exit));
    out
}

fn codex_parser() -> Box<dyn StreamParser> {
    backend("codex", &BackendSettings::default(), &BTreeMap::new())
        .unwrap()
        .parser()
}

/// The last Usage event and the terminal result.
fn last_usage(events: &[AgentEvent]) -> Option<Usage> {
    events.iter().rev().find_map(|e| match e {
        AgentEvent::Usage { usage } => Some(*usage),
        _ => None,
    })
}

fn result(events: &[AgentEvent]) -> (bool, String, Option<Usage>) {
    let results: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Result {
                is_error,
                text,
                usage,
                ..
            } => Some((*is_error, text.clone(), *usage)),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 1, "exactly one result: {events:#?}");
    results[0].clone()
}

#[test]
fn normal_session_with_apply_patch_and_a_command() {
    let events = feed(codex_parser(), "normal", Some(0));
    let tools: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ToolStarted { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        tools,
        [("item_1", "file_change"), ("item_2", "command_execution")]
    );
    assert!(events.contains(&AgentEvent::ToolFinished {
        id: "item_2".into(),
        name: Some("command_execution".into()),
        ok: true,
        output: "hello\n".into(),
    }));
    // Three responses: 1200/500/30, 1200/500/30, 1500/800/40 (input not cached/cached/output).
    assert_eq!(last_usage(&events), Some(tokens(3900, 100, 1800)));
    let (is_error, text, usage) = result(&events);
    assert!(!is_error);
    assert_eq!(text, "Done. <promise>COMPLETE</promise>");
    assert_eq!(usage, Some(tokens(3900, 100, 1800)));
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::StderrLine { .. })),
        1,
        "the PATH-aliases warning"
    );
}

#[test]
fn a_cut_stream_codex_retries_keeps_the_exact_totals() {
    let events = feed(codex_parser(), "stream_cut", Some(0));
    assert!(events.contains(&AgentEvent::ApiRetry {
        attempt: 1,
        delay_ms: None,
        status: None
    }));
    // The cut response reported nothing; then 1200/500/30 and 1500/800/40.
    assert_eq!(last_usage(&events), Some(tokens(2700, 70, 1300)));
    assert!(!result(&events).0);
}

/// `resume.rollout.jsonl` placed where Codex keeps it under a `CODEX_HOME`.
fn codex_home_with_rollout() -> (tempfile::TempDir, String) {
    let first = read("resume_first.jsonl");
    let thread = first
        .lines()
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| v["thread_id"].as_str().map(str::to_owned))
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let day = home.path().join("sessions/2026/12/06");
    std::fs::create_dir_all(&day).unwrap();
    std::fs::copy(
        real("resume.rollout.jsonl"),
        day.join(format!("rollout-2026-12-06T10-42-20-{thread}.jsonl")),
    )
    .unwrap();
    (home, thread)
}

#[test]
fn a_resumed_session_records_only_its_own_usage() {
    // Without the thread's earlier usage the parser takes Codex's whole-thread total (the
    // defect: 2700+1500 input recorded for a session that used 1500).
    let naive = feed(codex_parser(), "resume", Some(0));
    assert_eq!(last_usage(&naive), Some(tokens(4200, 110, 2100)));

    let (home, thread) = codex_home_with_rollout();
    let parser = CodexParser::following_rollout(home.path(), Some(&thread));
    let events = feed(Box::new(parser), "resume", Some(0));
    assert_eq!(last_usage(&events), Some(tokens(1500, 40, 800)));
    assert_eq!(result(&events).2, Some(tokens(1500, 40, 800)));

    // The same through the backend, which finds CODEX_HOME (or HOME/.codex) in the CLI's env.
    let request = SessionRequest {
        resume_session: Some(thread.clone()),
        ..Default::default()
    };
    let env = vec![
        ("HOME".to_owned(), "/nonexistent".to_owned()),
        (
            "CODEX_HOME".to_owned(),
            home.path().to_string_lossy().into_owned(),
        ),
    ];
    let parser = CodexBackend::default().session_parser(&request, &env);
    assert_eq!(
        last_usage(&feed(parser, "resume", Some(0))),
        Some(tokens(1500, 40, 800))
    );

    // A first session of the thread (no resume) starts from zero.
    let parser = CodexParser::following_rollout(Path::new("/nonexistent"), None);
    let first = feed(Box::new(parser), "resume_first", Some(0));
    assert_eq!(last_usage(&first), Some(tokens(2700, 70, 1300)));
}

#[test]
fn resuming_subtracts_the_given_baseline() {
    let parser = CodexParser::resuming(tokens(2700, 70, 1300));
    let events = feed(Box::new(parser), "resume", Some(0));
    assert_eq!(last_usage(&events), Some(tokens(1500, 40, 800)));
}

#[test]
fn usage_is_read_from_the_rollout_before_the_turn_ends() {
    // A session killed before `turn.completed`: the rollout already recorded its responses.
    let (home, _thread) = codex_home_with_rollout();
    let mut parser = CodexParser::following_rollout(home.path(), None);
    let mut events = Vec::new();
    for l in read("resume_first.jsonl").lines().take(4) {
        events.extend(parser.stdout_line(l));
    }
    events.extend(parser.finish(None));
    // The rollout holds both responses of resume_first (it was copied after that session).
    assert_eq!(last_usage(&events), Some(tokens(2700, 70, 1300)));
    assert_eq!(
        count(&events, engine_agent::AgentEvent::is_terminal),
        0,
        "killed: no result"
    );
}

#[test]
fn a_per_minute_429_codex_gave_up_on_is_a_short_rate_limit() {
    let before = now_ms();
    let events = feed(codex_parser(), "rate_limit", Some(1));
    let after = now_ms();
    let limits: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::RateLimited { resets_at_ms, .. } => Some(*resets_at_ms),
            _ => None,
        })
        .collect();
    assert_eq!(limits.len(), 1, "{events:#?}");
    let reset = limits[0].expect("a reset time");
    assert!(
        (before + 60_000..=after + 60_000).contains(&reset),
        "resets within a minute: {reset} ({before}..{after})"
    );
    assert_eq!(
        count(&events, |e| matches!(
            e,
            AgentEvent::QuotaExhausted { .. } | AgentEvent::AuthFailed { .. }
        )),
        0
    );
    assert!(result(&events).0);
}

#[test]
fn insufficient_quota_is_quota_exhausted_not_a_rate_limit() {
    let events = feed(codex_parser(), "quota", Some(1));
    assert_eq!(
        count(
            &events,
            |e| matches!(e, AgentEvent::QuotaExhausted { message } if message.contains("Quota exceeded"))
        ),
        1,
        "{events:#?}"
    );
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::RateLimited { .. })),
        0
    );
    assert!(result(&events).0);
}

#[test]
fn a_401_is_an_auth_failure() {
    let events = feed(codex_parser(), "auth", Some(1));
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::AuthFailed { .. })),
        1,
        "{events:#?}"
    );
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::RateLimited { .. })),
        0
    );
    assert!(result(&events).0);
}

#[test]
fn read_only_sandbox_refuses_writes_and_the_backend_says_so() {
    let events = feed(codex_parser(), "read_only", Some(0));
    assert_eq!(
        count(&events, |e| matches!(e, AgentEvent::ToolStarted { .. })),
        0,
        "Codex prints no item for a refused patch or command"
    );
    assert!(!result(&events).0);
    let b = backend("codex", &BackendSettings::default(), &BTreeMap::new()).unwrap();
    assert!(b.enforces_read_only());
    let request = SessionRequest {
        permission_mode: PermissionMode::Plan,
        ..Default::default()
    };
    let tiers = BTreeMap::new();
    let inv = b
        .invocation(engine_agent::InvocationContext {
            request: &request,
            scratch_dir: Path::new("/tmp/s"),
            tiers: &tiers,
        })
        .unwrap();
    let at = inv.args.iter().position(|a| a == "-s").unwrap();
    assert_eq!(inv.args[at + 1], "read-only");
}

fn now_ms() -> u64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::try_from(elapsed.as_millis()).unwrap()
}

/// Every prefix-cut of every real line (a stream torn mid-line) is handled without a panic and
/// yields at most one result (tests/parsers.rs does the same for the hand-written fixtures).
#[test]
fn torn_real_lines_never_panic_and_results_stay_unique() {
    for entry in std::fs::read_dir(real("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Rollout files are not Codex's output (and their long lines make this slow).
        let extension = path.extension().and_then(|e| e.to_str());
        if name.contains(".rollout.") || !matches!(extension, Some("jsonl" | "stderr")) {
            continue;
        }
        let content = std::fs::read_to_string(&path).unwrap();
        let mut parser = codex_parser();
        let mut events = Vec::new();
        for l in content.lines() {
            for cut in (0..=l.len()).step_by(7).filter(|c| l.is_char_boundary(*c)) {
                events.extend(parser.stdout_line(&l[..cut]));
                events.extend(parser.stderr_line(&l[..cut]));
            }
        }
        events.extend(parser.finish(Some(0)));
        let results = events.iter().filter(|e| e.is_terminal()).count();
        assert!(results <= 1, "{}: {results} results", path.display());
    }
}
