use crate::diff::fit;
use crate::personas::{Persona, PromptSource};
use std::fmt::Write as _;

use super::*;

fn persona() -> Persona {
    Persona {
        name: "security".into(),
        focus: "Look for injections.".into(),
        backend: "claude".into(),
        model: "smart".into(),
        source: PromptSource::BuiltIn,
    }
}

fn input(patch: &str, max: usize) -> ReviewInput {
    ReviewInput {
        task: TaskText {
            id: "t-7".into(),
            title: "Add a --json flag".into(),
            body: "The export command prints JSON with --json.".into(),
        },
        base_commit: "0123456789abcdef0123".into(),
        diff: fit(
            " src/a.rs | 2 +-",
            "src/a.rs\n",
            patch,
            patch.len() as u64,
            max,
        ),
        instructions: Some("We use anyhow for errors.".into()),
        checklists: crate::checks::Checklists::default(),
    }
}

#[test]
fn the_review_prompt_has_persona_task_diff_and_format() {
    let patch = "diff --git a/src/a.rs b/src/a.rs\n+let q = format!(\"SELECT {x}\");\n";
    let p = review_prompt(&persona(), &input(patch, 10_000));
    assert!(p.starts_with("You are the `security` reviewer"), "{p}");
    assert!(p.contains("Look for injections."));
    assert!(p.contains("# Add a --json flag"));
    assert!(p.contains("The export command prints JSON"));
    assert!(p.contains("0123456789ab...HEAD"), "{p}");
    assert!(p.contains(" src/a.rs | 2 +-"));
    assert!(p.contains("SELECT {x}"));
    assert!(p.contains("We use anyhow for errors."));
    assert!(p.contains("\"verdict\""));
    assert!(p.contains("request_changes"));
    assert!(p.contains("read-only"));
    assert!(!p.contains("truncated"));
}

#[test]
fn a_cut_diff_carries_its_note() {
    let mut patch = String::from("diff --git a/big.rs b/big.rs\n");
    for i in 0..1000 {
        let _ = writeln!(patch, "+line {i}");
    }
    let p = review_prompt(&persona(), &input(&patch, 1_000));
    assert!(p.contains("[The diff is truncated"), "{p}");
    assert!(p.contains("big.rs"));
}

#[test]
fn backticks_in_the_diff_do_not_close_its_fence() {
    let patch = "diff --git a/README.md b/README.md\n+```sh\n+run it\n+```\n";
    let p = review_prompt(&persona(), &input(patch, 10_000));
    assert!(p.contains("````diff\n"), "{p}");
    assert_eq!(fence_for("no ticks"), "```");
    assert_eq!(fence_for("a ```` b"), "`````");
}

#[test]
fn the_reask_names_the_persona_and_the_problem() {
    let p = reask_prompt("tests", "the reply has no JSON object");
    assert!(p.starts_with("You are the `tests` reviewer"));
    assert!(p.contains("the reply has no JSON object"));
    assert!(p.contains("only your verdict"));
    assert!(p.contains("\"verdict\""));
}
