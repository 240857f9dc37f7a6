//! Fuzzing the tasks.md parser and its status write-back: the fixtures (`tests/fixtures/*.md`)
//! mutated by `tests/fuzz/mutate.rs` (lines that are not UTF-8 are decoded lossily, as the
//! source refuses such a file before parsing) go through `list_text`; when they parse, every
//! task's status is written back and the new text parsed again. Whatever the input: no panic,
//! a refusal is a value naming a line of the file, and write-back keeps every task.
//!
//! `ENGINE_FUZZ_CASES=20000 cargo test --manifest-path plugins/Cargo.toml --target-dir
//! target/plugins-host -p engine-tasks-md --test fuzz_tasks --release` runs a longer campaign
//! (see docs/testing.md).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

#[path = "../../../tests/fuzz/mutate.rs"]
mod mutate;

use std::path::Path;
use std::sync::OnceLock;

use engine_source_sdk::{SourceError, TaskStatus};
use engine_tasks_md::{list_text, writeback};
use proptest::prelude::*;

/// Words of the format a mutation may insert.
const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "## Milestone 1\n",
    "### TASK-001: ",
    "### TASK-999: x\n",
    "### ",
    "#### ",
    "🔴 P0 | ⬜ TODO | Est: 2d\n",
    "🟡 P2 | ✅ DONE | Est: 1w\n",
    " | ",
    "P9",
    "Est: ",
    "**Checklist:**\n",
    "**Tests:**\n",
    "- [ ] ",
    "- [x] ",
    "- [X] ",
    "**Depends on:** ",
    "**Blocks:** ",
    "**Traces to:** ",
    "[TASK-001]",
    "TASK-002, TASK-003",
    "—",
    "```\n",
    "~~~\n",
    "---\n",
    "\u{feff}",
    "\t",
    "\0",
    "\u{1b}[31m",
    "🔄 IN PROGRESS",
    "🚫 BLOCKED",
];

const STATUSES: [TaskStatus; 4] = [
    TaskStatus::Todo,
    TaskStatus::InProgress,
    TaskStatus::Done,
    TaskStatus::Blocked,
];

fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let seeds = mutate::read_corpus(&dir, &[".md"]);
        assert!(!seeds.is_empty(), "no fixtures in {}", dir.display());
        seeds
    })
}

fn ids(text: &str) -> Option<Vec<String>> {
    list_text(text, "tasks.md")
        .ok()
        .map(|list| list.tasks.into_iter().map(|t| t.id).collect())
}

/// One input through the parser and, when it parses, the write-back of every task.
fn exercise(input: &[u8], status: TaskStatus, tick: bool) {
    let text = String::from_utf8_lossy(input);
    let lines = u32::try_from(text.split('\n').count())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let listed = match list_text(&text, "tasks.md") {
        Ok(listed) => listed,
        Err(SourceError::Malformed(problems)) => {
            assert!(!problems.is_empty(), "malformed without a problem");
            for problem in problems {
                if let Some(line) = problem.location.as_ref().and_then(|l| l.line) {
                    assert!(line <= lines, "line {line} of {lines}: {problem:?}");
                }
            }
            return;
        }
        Err(other) => panic!("parsing text gave {other:?}"),
    };
    let before: Vec<String> = listed.tasks.iter().map(|t| t.id.clone()).collect();
    for id in before.iter().take(8) {
        match writeback::set_status(&text, "tasks.md", id, status, tick) {
            Ok(after) => assert_eq!(
                ids(&after).as_ref(),
                Some(&before),
                "write-back of {id} changed the tasks"
            ),
            Err(SourceError::Malformed(_) | SourceError::Failed(_) | SourceError::Conflict(_)) => {}
            Err(other) => panic!("write-back of {id} gave {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(mutate::config())]

    #[test]
    fn mutated_task_files_never_panic(
        (seed, ops) in mutate::case(8, 500),
        status in 0..STATUSES.len(),
        tick in any::<bool>(),
    ) {
        let input = mutate::apply(seeds(), TOKENS, seed, &ops);
        exercise(&input, STATUSES[status], tick);
    }
}

#[test]
fn every_fixture_parses_or_is_refused() {
    for seed in seeds() {
        for status in STATUSES {
            exercise(seed, status, true);
        }
    }
}

/// Inputs worth keeping: deep lists, huge numbers, long lines, a lone CR.
#[test]
fn regressions() {
    let deep = format!("### TASK-001: x\n{}", "- ".repeat(100_000));
    let long_title = format!("### TASK-001: {}\n", "x".repeat(70_000));
    for input in [
        deep.as_str(),
        long_title.as_str(),
        "### TASK-001: a\n🔴 P18446744073709551616 | ⬜ TODO | Est: 99999999999999999999d\n",
        "### TASK-001: a\r**Depends on:** TASK-001\r",
        // Was read as IN_PROGRESS and written back as `DONEx`, which no longer parsed.
        "### TASK-001: a\n🟢 P3 | 🔄 In Progressx | Est: 1w\n### TASK-002: b\n",
        "\u{feff}---\n---\n### TASK-001: a\n**Checklist:**\n- [ ] \u{1b}[31m\n",
    ] {
        for status in STATUSES {
            exercise(input.as_bytes(), status, true);
        }
    }
}
