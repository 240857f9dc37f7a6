//! Per-event overhead of the supervision loop.
//!
//! A real `sh` process prints 200k small JSONL lines as fast as it can (`yes | head`), then a
//! result. `supervised` runs it as a [`Session`] (line reader, parser, transcript, watchdog,
//! event channel) and pulls every event; `raw_read` only reads and counts the same process's
//! lines, so the difference between the two is what supervision costs per event.
//! `supervised_trivial_parser` replaces the test dialect's JSON parser with one that does not
//! parse, to separate the loop's own cost from parsing.
//!
//! Run with `cargo bench -p engine-agent --bench supervise`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

#[path = "../tests/all/jsonl_dialect.rs"]
mod parser;

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use engine_agent::{AgentEvent, Invocation, Limits, Outcome, Session, SessionSpec, StreamParser};
use tokio::io::AsyncBufReadExt;

const LINES: u64 = 200_000;

fn script() -> String {
    format!(
        "yes '{{\"k\":\"text\",\"text\":\"hello from the agent\"}}' | head -n {LINES}\n\
         printf '%s\\n' '{{\"k\":\"result\",\"text\":\"done\"}}'"
    )
}

fn spec(dir: &std::path::Path) -> SessionSpec {
    SessionSpec {
        invocation: Invocation {
            program: "sh".into(),
            args: vec!["-c".into(), script()],
            ..Invocation::default()
        },
        cwd: dir.to_path_buf(),
        env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        transcript: dir.join("transcript.jsonl"),
        limits: Limits::default(),
        pricing: engine_agent::Pricing::none(),
        model: None,
        redact: Vec::new(),
        confinement: None,
    }
}

/// One event per line without parsing JSON: a result for the last line, text otherwise.
struct TrivialParser;

impl StreamParser for TrivialParser {
    fn stdout_line(&mut self, line: &str) -> Vec<AgentEvent> {
        if line.contains("\"result\"") {
            vec![AgentEvent::Result {
                is_error: false,
                subtype: "success".into(),
                text: String::new(),
                session_id: None,
                turns: None,
                usage: None,
            }]
        } else {
            vec![AgentEvent::AssistantText {
                text: String::new(),
            }]
        }
    }
    fn stderr_line(&mut self, _line: &str) -> Vec<AgentEvent> {
        Vec::new()
    }
    fn finish(&mut self, _exit_code: Option<i32>) -> Vec<AgentEvent> {
        Vec::new()
    }
}

async fn supervised(dir: &std::path::Path, parser: Box<dyn StreamParser>) -> u64 {
    // A fresh transcript each time, so the file does not grow across iterations.
    let _ = std::fs::remove_file(dir.join("transcript.jsonl"));
    let mut session = Session::start(spec(dir), parser).expect("start");
    let mut events = 0u64;
    while session.next_event().await.is_some() {
        events += 1;
    }
    let summary = session.finish().await;
    assert_eq!(summary.outcome, Outcome::Completed, "{}", summary.detail);
    events
}

async fn raw_read(dir: &std::path::Path) -> u64 {
    let mut child = tokio::process::Command::new("sh")
        .args(["-c", &script()])
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut count = 0u64;
    while let Ok(Some(_)) = lines.next_line().await {
        count += 1;
    }
    let _ = child.wait().await;
    count
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("supervise_200k_lines");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(LINES + 1));
    group.bench_function("supervised", |b| {
        b.iter(|| runtime.block_on(supervised(dir.path(), parser::JsonlParser::boxed())));
    });
    group.bench_function("supervised_trivial_parser", |b| {
        b.iter(|| runtime.block_on(supervised(dir.path(), Box::new(TrivialParser))));
    });
    group.bench_function("raw_read", |b| {
        b.iter(|| runtime.block_on(raw_read(dir.path())));
    });
    group.finish();
}

/// The group `criterion_main!` runs, in a private module because the function
/// `criterion_group!` generates cannot carry a doc comment.
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
