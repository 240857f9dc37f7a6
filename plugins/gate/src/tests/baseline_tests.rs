//! The baseline on real repositories: a run worktree, its base commit, real git.

use serde_json::{Value, json};

use super::fixture::{HostRunner, Repo, git, repo};
use crate::config::GateConfig;
use crate::gate::run_gate;

const CARGO_LIKE: &str = "echo 'test result: FAILED. 1 passed; 1 failed;'\n";

fn config(v: Value) -> GateConfig {
    serde_json::from_value(v).unwrap()
}

fn gate(
    repo: &Repo,
    cfg: Value,
) -> Result<engine_stage_sdk::Success, engine_stage_sdk::StageError> {
    let runner = HostRunner::new(&repo.worktree, &["sh", "git"]);
    let out = run_gate(&runner, &config(cfg), Some(&repo.git), "run-1/test/1");
    // The baseline worktree is always gone afterwards, and nothing is left for git to commit.
    assert_eq!(
        git(&repo.worktree, &["worktree", "list"]).lines().count(),
        2
    );
    assert_eq!(git(&repo.worktree, &["status", "--porcelain"]), "");
    out
}

#[test]
fn failing_on_base_too_does_not_block_and_is_reported() {
    let r = repo("echo base broken; exit 2\n", "echo still broken; exit 3\n");
    let ok = gate(
        &r,
        json!({"commands": [["sh", "check.sh"], ["sh", "-c", "exit 0"]], "baseline": true}),
    )
    .unwrap();
    assert_eq!(
        ok.summary,
        "1 of 2 commands passed (1 already failing on base, not blocking)"
    );
    let failures = ok.outputs["baseline_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["command"], json!("sh check.sh"));
    assert_eq!(failures[0]["exit_code"], json!(3));
    assert_eq!(failures[0]["base_exit_code"], json!(2));
    assert_eq!(ok.outputs["commands"][1]["exit_code"], json!(0));
}

#[test]
fn passing_on_base_blocks() {
    let r = repo("exit 0\n", "exit 1\n");
    let err = gate(
        &r,
        json!({"commands": [["sh", "check.sh"]], "baseline": true}),
    )
    .unwrap_err();
    assert!(!err.retryable);
    assert_eq!(err.message, "`sh check.sh` failed (exit 1)");
    assert_eq!(err.detail["exit_code"], json!(1));
}

#[test]
fn new_failed_tests_block_even_when_the_base_fails() {
    let base = format!("echo 'test a ... FAILED'\n{CARGO_LIKE}exit 101\n");
    let head =
        format!("echo 'test a ... FAILED'\necho 'test b ... FAILED'\n{CARGO_LIKE}exit 101\n");
    let r = repo(&base, &head);
    let cfg =
        json!({"commands": [{"run": ["sh", "check.sh"], "parser": "cargo"}], "baseline": true});
    let err = gate(&r, cfg).unwrap_err();
    assert_eq!(err.detail["new_failures"], json!(["b"]));
    assert_eq!(err.detail["failed_tests"], json!(["a", "b"]));
    assert!(
        err.message.contains("(new since base: b)"),
        "{}",
        err.message
    );
}

#[test]
fn the_same_failed_tests_as_on_base_do_not_block() {
    let script = format!("echo 'test a ... FAILED'\n{CARGO_LIKE}exit 101\n");
    let r = repo(&script, &format!("# changed\n{script}"));
    let cfg =
        json!({"commands": [{"run": ["sh", "check.sh"], "parser": "cargo"}], "baseline": true});
    let ok = gate(&r, cfg).unwrap();
    assert_eq!(
        ok.outputs["baseline_failures"][0]["base_failed_tests"],
        json!(["a"])
    );
}

#[test]
fn without_baseline_a_failure_blocks_and_git_is_not_run() {
    let r = repo("exit 1\n", "exit 1\n");
    let runner = HostRunner::new(&r.worktree, &["sh"]);
    let err = run_gate(
        &runner,
        &config(json!({"commands": [["sh", "check.sh"]]})),
        Some(&r.git),
        "k",
    )
    .unwrap_err();
    assert_eq!(err.message, "`sh check.sh` failed (exit 1)");
    assert_eq!(runner.calls.borrow().len(), 1);
}

#[test]
fn baseline_without_git_granted_says_so() {
    let r = repo("exit 1\n", "exit 1\n");
    let runner = HostRunner::new(&r.worktree, &["sh"]);
    let cfg = config(json!({"commands": [["sh", "check.sh"]], "baseline": true}));
    let err = run_gate(&runner, &cfg, Some(&r.git), "k").unwrap_err();
    assert!(
        err.message.contains("needs `git` under permissions.exec"),
        "{}",
        err.message
    );
    let err = run_gate(&runner, &cfg, None, "k").unwrap_err();
    assert!(err.message.contains("base commit"), "{}", err.message);
}

#[test]
fn per_command_timeout_and_name_reach_the_message() {
    let r = repo("exit 0\n", "exit 4\n");
    let runner = HostRunner::new(&r.worktree, &["sh"]);
    let cfg =
        config(json!({"commands": [{"run": "sh check.sh", "name": "checks", "timeout": "2m"}]}));
    let err = run_gate(&runner, &cfg, None, "k").unwrap_err();
    assert_eq!(err.message, "checks: `sh check.sh` failed (exit 4)");
    assert_eq!(err.detail["name"], json!("checks"));
}
