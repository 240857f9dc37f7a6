//! Fuzzing the workflow loader: the fixtures (`tests/fixtures/**`, the shipped `workflows/`,
//! the examples) mutated by `tests/fuzz/mutate.rs` go through [`load_str`] (and [`load_file`]
//! when they are not UTF-8), then every loaded stage's `if:` and `with:` templates are
//! evaluated. Whatever the input: no panic, a refusal is a value (diagnostics that point into
//! the file), and each case ends (inputs are bounded, templates have fuel).
//!
//! `ENGINE_FUZZ_CASES=20000 cargo test -p engine-workflow --test fuzz_loader --release` runs a
//! longer campaign (see docs/testing.md).

use crate::mutate;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use engine_workflow::{Diagnostics, Scope, evaluate_condition, load_file, load_str, render_config};
use proptest::prelude::*;
use serde_json::json;

/// Words of the workflow format a mutation may insert.
const TOKENS: &[&str] = &[
    "\n",
    ": ",
    "- ",
    "  ",
    "\t",
    "\"",
    "'",
    "#",
    "---\n",
    "...\n",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!binary ",
    "!tag ",
    "? ",
    "|\n",
    ">-\n",
    "{{ ",
    " }}",
    "{% ",
    " %}",
    "{{ task.title }}",
    "{% for i in range(100000) %}",
    "{% endfor %}",
    "${{",
    "\u{feff}",
    "\r\n",
    "\0",
    "null",
    "~",
    "true",
    "stages:\n",
    "  s:\n    uses: builtin:gate\n",
    "needs: [",
    "]",
    "if: \"",
    "timeout: ",
    "1h",
    "0s",
    "999999999d",
    "uses: ",
    "builtin:",
    "./x.wasm",
    "sha256: ",
    "with: ",
    "finally:\n",
    "permissions:\n",
    "net: [\"host:99999\"]",
    "on_failure: ",
    "goto: ",
    "retry: ",
    "max_attempts: ",
    "secrets: [",
    "env:\n",
    "git:\n",
    "tasks:\n",
    "agents:\n",
    "models:\n",
    "budget:\n",
    "prices:\n",
    "limits:\n",
    "approval",
    "\u{1b}[31m",
];

/// The corpus: every workflow-like YAML file of the repository's fixtures and examples.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = engine_testkit::repo_root();
        let mut seeds = Vec::new();
        for dir in [
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            root.join("workflows"),
            root.join("examples"),
        ] {
            seeds.extend(mutate::read_corpus(&dir, &[".yaml", ".yml"]));
        }
        assert!(
            seeds.len() >= 10,
            "the corpus is missing: {} files",
            seeds.len()
        );
        seeds
    })
}

/// A scope for trying the loaded stages' templates and conditions.
fn scope(stage_ids: &[String]) -> Scope {
    let stages: serde_json::Map<String, serde_json::Value> = stage_ids
        .iter()
        .map(|id| {
            (
                id.clone(),
                json!({"outputs": {}, "result": "succeeded", "summary": "", "attempts": 1}),
            )
        })
        .collect();
    Scope {
        task: json!({"id": "T-1", "title": "{{ run.id }}{% for i in range(9) %}x{% endfor %}",
                     "body": "b", "labels": ["a"]}),
        run: json!({"id": "r", "run_id": "r", "status": "running", "failed_stage": null,
                    "message": "", "stalled": false, "resumed": false, "cost_usd": 0.0,
                    "cost_known": true, "duration_ms": 0, "branch": "engine/r",
                    "base_branch": "main", "workflow": "w"}),
        stages: serde_json::Value::Object(stages),
        env: json!({}),
        secrets: BTreeMap::new(),
        terminal: None,
    }
}

/// The number of lines of `text` (a diagnostic may point one past the last).
fn line_count(text: &str) -> usize {
    text.lines().count() + 1
}

fn check_diagnostics(diagnostics: &Diagnostics, lines: usize, input: &[u8]) {
    assert!(
        !diagnostics.0.is_empty(),
        "a refusal without a diagnostic for {:?}",
        String::from_utf8_lossy(input)
    );
    for d in &diagnostics.0 {
        assert!(
            d.line <= lines + 1,
            "diagnostic past the end ({lines} lines): {d:?}"
        );
        assert!(!d.message.is_empty(), "empty message: {d:?}");
    }
}

/// One input through the loader (and, once loaded, its conditions and templates).
fn exercise(input: &[u8]) {
    let base = engine_testkit::repo_root().join("workflows");
    if let Ok(text) = std::str::from_utf8(input) {
        match load_str("fuzz.yaml", &base, text) {
            Ok(loaded) => {
                let ids: Vec<String> = loaded
                    .workflow
                    .stages
                    .iter()
                    .map(|s| s.id.clone())
                    .collect();
                let scope = scope(&ids);
                for def in loaded.stage_defs().chain(loaded.finally_defs()) {
                    if let Some(condition) = &def.spec.condition {
                        let _ = evaluate_condition(condition, &scope);
                    }
                    let _ = render_config(&def.stage.id, &def.spec.with, &scope);
                }
            }
            Err(diagnostics) => check_diagnostics(&diagnostics, line_count(text), input),
        }
    } else {
        let text = String::from_utf8_lossy(input);
        if let Err(diagnostics) = load_str("fuzz.yaml", &base, &text) {
            check_diagnostics(&diagnostics, line_count(&text), input);
        }
        let dir = std::env::temp_dir().join(format!("engine-fuzz-loader-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path =
            dir.join(format!("{:?}.yaml", std::thread::current().id()).replace(['(', ')'], ""));
        if std::fs::write(&path, input).is_ok() {
            match load_file(&path) {
                Ok(_) => panic!("a file that is not UTF-8 was loaded"),
                Err(diagnostics) => check_diagnostics(&diagnostics, line_count(&text), input),
            }
            let _ = std::fs::remove_file(&path);
        }
    }
}

proptest! {
    #![proptest_config(mutate::config())]

    #[test]
    fn mutated_workflows_never_panic((seed, ops) in mutate::case(8, 2_000)) {
        let input = mutate::apply(seeds(), TOKENS, seed, &ops);
        exercise(&input);
    }
}

#[test]
fn every_seed_loads_or_is_refused_with_diagnostics() {
    for seed in seeds() {
        exercise(seed);
    }
}

/// Inputs that once broke the loader (kept as regression cases).
#[test]
fn regressions() {
    for input in [
        "[".repeat(100_000),
        "{".repeat(100_000),
        format!(
            "name: x\nstages:\n  a:\n    uses: builtin:gate\n    with: {}\n",
            "[".repeat(5_000)
        ),
        "\u{feff}name: x\nstages:\n  a:\n    uses: builtin:gate\n".to_string(),
        "name: !!binary aGVsbG8=\nstages: {}\n".to_string(),
    ] {
        exercise(input.as_bytes());
    }
    exercise(b"name: x\nstages:\n  a:\n    uses: builtin:gate\n    with: {m: \"\xff\"}\n");
}
