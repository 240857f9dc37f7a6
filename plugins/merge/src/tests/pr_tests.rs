//! PR mode against a scripted `gh` and a real bare origin.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::json;

use super::fixture::{BRANCH, Repo, TestRunner, commit, config, git, merge};
use crate::runner::Output;

/// What the fake GitHub knows.
#[derive(Default)]
struct Hub {
    /// `(number, state)` of the branch's PR.
    pr: Option<(u64, &'static str)>,
    /// Answers of successive `gh pr checks`, the last one repeating.
    checks: Vec<&'static str>,
    /// What `gh pr merge` does to the state (`None`: says it merged but does nothing).
    merge_sets: Option<&'static str>,
    created: Vec<Vec<String>>,
    merged_with: Vec<Vec<String>>,
}

fn ok(stdout: &str) -> Output {
    Output {
        code: Some(0),
        stdout: stdout.into(),
        stderr: String::new(),
    }
}

fn fail(code: i32, stderr: &str) -> Output {
    Output {
        code: Some(code),
        stdout: String::new(),
        stderr: stderr.into(),
    }
}

fn view(hub: &Hub) -> Output {
    match hub.pr {
        None => fail(1, "no pull requests found for branch"),
        Some((n, state)) => {
            let merge_commit = if state == "MERGED" {
                json!({"oid": "f00d"})
            } else {
                json!(null)
            };
            ok(&json!({"number": n, "url": format!("https://github.com/o/r/pull/{n}"), "state": state, "mergeCommit": merge_commit, "mergeable": "MERGEABLE"}).to_string())
        }
    }
}

fn runner_with(repo: &Repo, hub: Rc<RefCell<Hub>>) -> TestRunner {
    let mut runner = repo.runner();
    runner.gh = Some(Box::new(move |args: &[String]| {
        let mut hub = hub.borrow_mut();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match args.as_slice() {
            ["pr", "view", ..] => view(&hub),
            ["pr", "create", ..] => {
                hub.created
                    .push(args.iter().map(ToString::to_string).collect());
                hub.pr = Some((12, "OPEN"));
                ok("https://github.com/o/r/pull/12\n")
            }
            ["pr", "checks", ..] => {
                let answer = if hub.checks.len() > 1 {
                    hub.checks.remove(0)
                } else {
                    hub.checks[0]
                };
                Output {
                    code: Some(8),
                    stdout: answer.into(),
                    stderr: String::new(),
                }
            }
            ["pr", "merge", ..] => {
                hub.merged_with
                    .push(args.iter().map(ToString::to_string).collect());
                if let (Some(state), Some((n, _))) = (hub.merge_sets, hub.pr) {
                    hub.pr = Some((n, state));
                }
                ok("")
            }
            ["pr", "ready", ..] => ok(""),
            other => fail(2, &format!("unexpected gh call {other:?}")),
        }
    }));
    runner
}

const PENDING: &str = r#"[{"name":"ci","state":"IN_PROGRESS","bucket":"pending"}]"#;
const PASS: &str = r#"[{"name":"ci","state":"SUCCESS","bucket":"pass"}]"#;
const FAIL: &str = r#"[{"name":"ci","state":"FAILURE","bucket":"fail"},{"name":"lint","state":"SUCCESS","bucket":"pass"}]"#;

fn pr_config() -> serde_json::Value {
    json!({"mode": "pr", "pr": {"poll_interval": "5s", "checks_timeout": "20s"}})
}

#[test]
fn pushes_opens_waits_merges_and_confirms() {
    let repo = Repo::new();
    let head = commit(&repo.run, "a.txt", "a\n", "run");
    let hub = Rc::new(RefCell::new(Hub {
        checks: vec![PENDING, PENDING, PASS],
        merge_sets: Some("MERGED"),
        ..Hub::default()
    }));
    let runner = runner_with(&repo, hub.clone());
    let ok = merge(&runner, &config(pr_config()), &repo.facts()).unwrap();
    assert_eq!(
        git(&repo.origin, &["rev-parse", BRANCH]),
        head,
        "the branch was pushed"
    );
    assert_eq!(ok.outputs["pr_number"], json!(12));
    assert_eq!(ok.outputs["merged_sha"], json!("f00d"));
    assert_eq!(ok.outputs["reconciled"], json!(false));
    assert_eq!(ok.outputs["checks"][0]["name"], json!("ci"));
    assert_eq!(
        ok.summary,
        format!("merged PR #12 ({BRANCH} into main) as f00d")
    );
    assert_eq!(runner.slept.borrow().len(), 2);
    let hub = hub.borrow();
    let created = hub.created[0].join(" ");
    assert!(
        created.contains("--base main --head engine/t1-x --title Add the feature"),
        "{created}"
    );
    assert!(
        created.ends_with("It does things.\n\nEngine-Run: run-1"),
        "{created}"
    );
    assert_eq!(
        hub.merged_with[0],
        [
            "pr",
            "merge",
            "12",
            "--squash",
            "--match-head-commit",
            head.as_str()
        ]
    );
}

#[test]
fn failed_checks_are_fatal_and_name_the_checks() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    let hub = Rc::new(RefCell::new(Hub {
        checks: vec![PENDING, FAIL],
        ..Hub::default()
    }));
    let runner = runner_with(&repo, hub.clone());
    let err = merge(&runner, &config(pr_config()), &repo.facts()).unwrap_err();
    assert!(!err.retryable);
    assert_eq!(err.message, "checks failed: ci");
    assert_eq!(err.detail["failed"], json!(["ci"]));
    assert!(hub.borrow().merged_with.is_empty());
}

#[test]
fn checks_still_running_after_the_timeout_is_retryable() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    let hub = Rc::new(RefCell::new(Hub {
        checks: vec![PENDING],
        ..Hub::default()
    }));
    let runner = runner_with(&repo, hub.clone());
    let err = merge(&runner, &config(pr_config()), &repo.facts()).unwrap_err();
    assert!(err.retryable);
    assert_eq!(err.message, "checks still running after 20s");
    assert_eq!(
        runner.slept.borrow().len(),
        4,
        "20s of waiting at 5s a poll"
    );
    assert!(hub.borrow().merged_with.is_empty());
}

#[test]
fn a_merge_gh_claims_but_did_not_happen_is_fatal() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    let hub = Rc::new(RefCell::new(Hub {
        checks: vec![PASS],
        merge_sets: None,
        ..Hub::default()
    }));
    let err = merge(
        &runner_with(&repo, hub),
        &config(pr_config()),
        &repo.facts(),
    )
    .unwrap_err();
    assert!(!err.retryable);
    assert_eq!(err.message, "gh reported the merge but the PR is OPEN");
}

#[test]
fn an_already_merged_pr_is_reconciled_without_pushing_or_merging() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    let hub = Rc::new(RefCell::new(Hub {
        pr: Some((7, "MERGED")),
        checks: vec![PASS],
        ..Hub::default()
    }));
    let runner = runner_with(&repo, hub.clone());
    let ok = merge(&runner, &config(pr_config()), &repo.facts()).unwrap();
    assert_eq!(ok.outputs["reconciled"], json!(true));
    assert_eq!(ok.outputs["merged_sha"], json!("f00d"));
    assert_eq!(ok.outputs["pr_number"], json!(7));
    assert_eq!(runner.called("git push"), 0);
    assert!(hub.borrow().merged_with.is_empty());
}

#[test]
fn an_open_pr_is_reused_and_strategy_and_delete_branch_map_to_flags() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    let hub = Rc::new(RefCell::new(Hub {
        pr: Some((3, "OPEN")),
        checks: vec!["[]", "[]"],
        merge_sets: Some("MERGED"),
        ..Hub::default()
    }));
    let mut cfg = pr_config();
    cfg["strategy"] = json!("ff-only");
    cfg["pr"]["delete_branch"] = json!(true);
    let runner = runner_with(&repo, hub.clone());
    let ok = merge(&runner, &config(cfg), &repo.facts()).unwrap();
    assert_eq!(ok.outputs["merged"], json!(true));
    let hub = hub.borrow();
    assert!(hub.created.is_empty());
    let merged = hub.merged_with[0].join(" ");
    assert!(
        merged.starts_with("pr merge 3 --rebase") && merged.ends_with("--delete-branch"),
        "{merged}"
    );
    assert_eq!(
        runner.slept.borrow().len(),
        1,
        "no checks is believed on the second look"
    );
}

#[test]
fn a_closed_pr_is_fatal() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    let hub = Rc::new(RefCell::new(Hub {
        pr: Some((4, "CLOSED")),
        checks: vec![PASS],
        ..Hub::default()
    }));
    let err = merge(
        &runner_with(&repo, hub),
        &config(pr_config()),
        &repo.facts(),
    )
    .unwrap_err();
    assert!(!err.retryable);
    assert!(
        err.message
            .starts_with("PR #4 for engine/t1-x was closed without being merged")
    );
}

#[test]
fn the_branch_head_and_trees_come_from_one_rev_parse() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    let hub = Rc::new(RefCell::new(Hub {
        checks: vec![PASS],
        merge_sets: Some("MERGED"),
        ..Hub::default()
    }));
    let runner = runner_with(&repo, hub);
    merge(&runner, &config(pr_config()), &repo.facts()).unwrap();
    assert_eq!(runner.git_commands(), ["rev-parse", "push"]);
}
