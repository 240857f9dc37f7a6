//! Fuzzing every backend's stream parser (claude, codex, gemini, opencode, aider, cursor and
//! both custom formats): the recorded fixtures (`tests/fixtures/**`) mutated by
//! `tests/fuzz/mutate.rs` are fed line by line, stdout then stderr, as the supervisor does
//! (lines that are not UTF-8 are decoded lossily), then the exit. Whatever the output: no
//! panic, and the events stay bounded by the input (no parser amplifies a line into an
//! unbounded number of events).
//!
//! `ENGINE_FUZZ_CASES=20000 cargo test -p engine-agent --test fuzz_parsers --release` runs a
//! longer campaign (see docs/testing.md).

use crate::mutate;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use engine_agent::backends::CustomFormat;
use engine_agent::{BackendSettings, CustomBackendConfig, StreamParser, backend};
use proptest::prelude::*;

/// The backends, by name (`custom-text` and `custom-jsonl` are custom backends).
const BACKENDS: &[&str] = &[
    "claude",
    "codex",
    "gemini",
    "opencode",
    "aider",
    "cursor",
    "custom-text",
    "custom-jsonl",
];

/// Words of the formats a mutation may insert: JSON punctuation, event type names, usage and
/// error fields of each CLI, and what the text parsers look for.
const TOKENS: &[&str] = &[
    "\n",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "-1",
    "1e999",
    "\"type\":",
    "\"type\":\"result\"",
    "\"type\":\"assistant\"",
    "\"type\":\"system\"",
    "\"subtype\":\"init\"",
    "\"session_id\":",
    "\"usage\":",
    "\"input_tokens\":",
    "\"output_tokens\":",
    "\"total_cost_usd\":",
    "\"is_error\":true",
    "\"message\":",
    "\"content\":",
    "\"tool_use\"",
    "\"text\":",
    "\"error\":",
    "\"item\":",
    "\"thread.started\"",
    "\"turn.completed\"",
    "\"turn.failed\"",
    "\"item.completed\"",
    "\"step_finish\"",
    "\"tokens\":",
    "\"cost\":",
    "\"stats\":",
    "\"models\":",
    "\"sessionID\":",
    "\"part\":",
    "\"resets_at\":",
    "\"retry_after\":",
    "Tokens: ",
    "Cost: $",
    " sent, ",
    " received",
    "Main model:",
    "litellm.RateLimitError",
    "Please try again in ",
    "=== DONE ===",
    "session: abc",
    "total cost: $",
    "FATAL: ",
    "rate limit",
    "usage limit",
    "quota",
    "resets at 5pm",
    "try again at ",
    "12:00 AM",
    "\u{1b}[31m",
    "\r",
    "\t",
];

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// One corpus per backend: its own fixtures first, every other fixture after (so splices mix
/// formats).
fn corpus(backend: &str) -> &'static [Vec<u8>] {
    static CORPORA: OnceLock<BTreeMap<&'static str, Vec<Vec<u8>>>> = OnceLock::new();
    let corpora = CORPORA.get_or_init(|| {
        let all = mutate::read_corpus(&fixtures(), &[".jsonl", ".txt", ".stdout", ".stderr"]);
        BACKENDS
            .iter()
            .map(|name| {
                let dir = name.split('-').next().unwrap_or(name);
                let mut own = mutate::read_corpus(
                    &fixtures().join(dir),
                    &[".jsonl", ".txt", ".stdout", ".stderr"],
                );
                assert!(!own.is_empty(), "no fixtures for {name}");
                own.extend(all.iter().cloned());
                (*name, own)
            })
            .collect()
    });
    corpora.get(backend).map(Vec::as_slice).unwrap_or_default()
}

fn parser(name: &str) -> Box<dyn StreamParser> {
    let custom = |format| CustomBackendConfig {
        command: vec!["my-agent".into(), "{prompt_file}".into()],
        format,
        result_marker_regex: Some("^=== DONE(?: (.*))? ===$".into()),
        cost_regex: Some(r"total cost: \$([0-9.]+)".into()),
        session_regex: Some(r"^session: (\S+)$".into()),
        error_regex: Some("^FATAL: (.*)$".into()),
    };
    let customs = match name {
        "custom-text" => BTreeMap::from([(name.to_string(), custom(CustomFormat::Text))]),
        "custom-jsonl" => BTreeMap::from([(name.to_string(), custom(CustomFormat::Jsonl))]),
        _ => BTreeMap::new(),
    };
    match backend(name, &BackendSettings::default(), &customs) {
        Ok(b) => b.parser(),
        Err(e) => panic!("backend {name}: {e}"),
    }
}

/// Feeds `input` to a fresh parser of `name`: its lines to stdout, and (for half the cases,
/// decided by `stderr_from`) the lines from `stderr_from` on to stderr; then the exit.
fn exercise(name: &str, input: &[u8], stderr_from: usize, exit: Option<i32>) {
    let mut parser = parser(name);
    let lines: Vec<String> = input
        .split(|b| *b == b'\n')
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect();
    let split = stderr_from.min(lines.len());
    let mut events = 0usize;
    for line in &lines[..split] {
        events += parser.stdout_line(line).len();
    }
    for line in &lines[split..] {
        events += parser.stderr_line(line).len();
    }
    events += parser.finish(exit).len();
    assert!(
        events <= input.len() + 16,
        "{name}: {events} events from {} bytes",
        input.len()
    );
}

proptest! {
    #![proptest_config(mutate::config())]

    #[test]
    fn mutated_streams_never_panic(
        which in 0..BACKENDS.len(),
        (seed, ops) in mutate::case(6, 300),
        stderr_from in prop_oneof![Just(usize::MAX), 0usize..64],
        exit in prop_oneof![Just(None), Just(Some(0)), Just(Some(1)), any::<i32>().prop_map(Some)],
    ) {
        let name = BACKENDS[which];
        let input = mutate::apply(corpus(name), TOKENS, seed, &ops);
        exercise(name, &input, stderr_from, exit);
    }
}

#[test]
fn every_fixture_goes_through_every_parser() {
    for name in BACKENDS {
        for seed in corpus(name) {
            exercise(name, seed, usize::MAX, Some(0));
            exercise(name, seed, 0, Some(1));
        }
    }
}

/// Inputs worth keeping: deep JSON, huge numbers, invalid UTF-8, lone halves of surrogates.
#[test]
fn regressions() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let inputs: [&[u8]; 6] = [
        deep.as_bytes(),
        b"{\"type\":\"result\",\"usage\":{\"input_tokens\":18446744073709551616},\"total_cost_usd\":1e999}",
        b"{\"type\":\"result\",\"total_cost_usd\":-1,\"usage\":{\"output_tokens\":-5}}",
        b"\xff\xfe{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"\\ud800\"}]}}",
        b"Tokens: 99999999999999999999999k sent, 1e999 received. Cost: $NaN message, $-1 session.",
        b"{\"type\":\"error\",\"error\":{\"message\":\"rate limit\",\"resets_at\":99999999999999999999}}",
    ];
    for name in BACKENDS {
        for input in inputs {
            exercise(name, input, usize::MAX, Some(1));
            exercise(name, input, 0, None);
        }
    }
}
