//! PR mode: push the branch, find or open the PR, wait for its checks, merge it with `gh`, and
//! believe it merged only when `gh pr view` says `MERGED`.

use std::time::Duration;

use engine_stage_sdk::StageError;
use serde_json::{Value, json};

use crate::config::{MergeConfig, Mode, Strategy};
use crate::facts::RunFacts;
use crate::gh::{Checks, PrView, number_from_url, parse_checks, parse_view};
use crate::plumbing::{RUN_TRAILER, default_message};
use crate::report::Report;
use crate::runner::{Git, Output, Runner, run_failure};
use crate::tips;

/// The `gh pr merge` flag for a strategy: GitHub has no fast-forward-only merge, so `ff-only`
/// maps to `--rebase` (linear history, new commit ids).
pub fn merge_flag(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Squash => "--squash",
        Strategy::Merge => "--merge",
        Strategy::Rebase | Strategy::FfOnly => "--rebase",
    }
}

/// The PR body: the configured body or the task's, then the `Engine-Run` line.
pub fn pr_body(config: &MergeConfig, facts: &RunFacts) -> String {
    let body = config
        .pr
        .body
        .clone()
        .unwrap_or_else(|| facts.task_body.trim().to_string());
    let line = format!("{RUN_TRAILER}: {}", facts.run_id);
    if body.trim().is_empty() {
        line
    } else {
        format!("{}\n\n{line}", body.trim_end())
    }
}

/// Merges the run's branch through a pull request.
pub fn merge<R: Runner + ?Sized>(
    runner: &R,
    config: &MergeConfig,
    facts: &RunFacts,
) -> Result<Report, StageError> {
    let git = Git::new(runner);
    let timeout = config.pr.checks_timeout().map_err(StageError::fatal)?;
    let interval = config.pr.poll_interval().map_err(StageError::fatal)?;
    let mut report = Report::new(Mode::Pr, config.strategy, &facts.branch, &facts.base_branch);
    let tips::Head { head, unchanged } = tips::resolve_head(&git, facts)?;
    if unchanged {
        runner.info("the run's branch changes nothing: no PR to open");
        return Ok(report);
    }

    let existing = view(runner, &facts.branch, false)?;
    if let Some(pr) = &existing {
        set_pr(&mut report, pr);
        if pr.is_merged() {
            runner.info(&format!(
                "PR #{} is already merged: not merging again",
                pr.number
            ));
            report.merged = true;
            report.reconciled = true;
            report.merged_sha = pr.merge_sha();
            return Ok(report);
        }
        if pr.is_closed() {
            return Err(StageError::fatal(format!(
                "PR #{} for {} was closed without being merged; reopen it or delete the \
                 branch's PR before running the merge again",
                pr.number, facts.branch
            ))
            .with_detail(json!({ "pr": pr.number, "url": pr.url })));
        }
    }

    let pushed = git.raw(&["push", &config.remote, &facts.branch])?;
    if !pushed.success() {
        return Err(StageError::retryable(format!(
            "push of {} to {} failed: {}",
            facts.branch,
            config.remote,
            pushed.stderr.trim()
        ))
        .with_detail(json!({ "stderr": pushed.stderr })));
    }
    report.pushed = true;

    let pr = match existing {
        Some(pr) => pr,
        None => create(runner, config, facts)?,
    };
    set_pr(&mut report, &pr);
    let number = pr.number.to_string();

    report.checks = wait_for_checks(
        runner,
        &number,
        timeout,
        interval,
        &config.pr.checks_timeout,
    )?;
    if config.pr.draft {
        let ready = gh(runner, &["pr", "ready", &number])?;
        if !ready.success() {
            return Err(gh_retryable("gh pr ready", &ready));
        }
    }

    let mut args = vec!["pr", "merge", number.as_str(), merge_flag(config.strategy)];
    args.extend(["--match-head-commit", head.as_str()]);
    if config.pr.delete_branch {
        args.push("--delete-branch");
    }
    let merged = gh(runner, &args)?;
    if !merged.success() {
        let now = view(runner, &number, true)?;
        let conflicting = now
            .as_ref()
            .and_then(|v| v.mergeable.as_deref())
            .is_some_and(|m| m.eq_ignore_ascii_case("CONFLICTING"));
        if conflicting {
            return Err(StageError::fatal(format!(
                "merge conflict with {} in PR #{number}",
                facts.base_branch
            ))
            .with_detail(json!({ "pr": pr.number, "url": pr.url, "conflicts": [] })));
        }
        if !now.as_ref().is_some_and(PrView::is_merged) {
            return Err(gh_retryable("gh pr merge", &merged));
        }
    }

    let confirmed = view(runner, &number, false)?;
    let state = confirmed.as_ref().map_or("unknown", |v| v.state.as_str());
    let Some(confirmed) = confirmed.as_ref().filter(|v| v.is_merged()) else {
        return Err(
            StageError::fatal(format!("gh reported the merge but the PR is {state}"))
                .with_detail(json!({ "pr": pr.number, "url": pr.url, "state": state })),
        );
    };
    report.merged = true;
    report.merged_sha = confirmed.merge_sha();
    Ok(report)
}

fn set_pr(report: &mut Report, pr: &PrView) {
    report.pr_number = Some(pr.number);
    if !pr.url.is_empty() {
        report.pr_url = Some(pr.url.clone());
    }
}

fn gh<R: Runner + ?Sized>(runner: &R, args: &[&str]) -> Result<Output, StageError> {
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    let env = [("GH_PROMPT_DISABLED".to_string(), "1".to_string())];
    runner.run("gh", &args, &env).map_err(|e| run_failure(&e))
}

fn gh_retryable(what: &str, out: &Output) -> StageError {
    StageError::retryable(format!(
        "{what} failed ({}): {}",
        out.status_text(),
        out.stderr.trim()
    ))
    .with_detail(json!({ "stderr": out.stderr, "stdout": out.stdout }))
}

/// `gh pr view <selector>`: `None` when there is no such PR.
fn view<R: Runner + ?Sized>(
    runner: &R,
    selector: &str,
    mergeable: bool,
) -> Result<Option<PrView>, StageError> {
    let fields = if mergeable {
        "number,url,state,mergeCommit,mergeable"
    } else {
        "number,url,state,mergeCommit"
    };
    let out = gh(runner, &["pr", "view", selector, "--json", fields])?;
    parse_view(&out).map_err(StageError::retryable)
}

fn create<R: Runner + ?Sized>(
    runner: &R,
    config: &MergeConfig,
    facts: &RunFacts,
) -> Result<PrView, StageError> {
    let title = config.pr.title.clone().unwrap_or_else(|| {
        default_message(&facts.task_title, "")
            .lines()
            .next()
            .unwrap_or(&facts.branch)
            .to_string()
    });
    let title = if title.trim().is_empty() {
        facts.branch.clone()
    } else {
        title
    };
    let body = pr_body(config, facts);
    let mut args = vec![
        "pr",
        "create",
        "--base",
        &facts.base_branch,
        "--head",
        &facts.branch,
        "--title",
        &title,
        "--body",
        &body,
    ];
    if config.pr.draft {
        args.push("--draft");
    }
    let created = gh(runner, &args)?;
    if !created.success() {
        return Err(gh_retryable("gh pr create", &created));
    }
    if let Some(pr) = view(runner, &facts.branch, false)? {
        return Ok(pr);
    }
    let number = number_from_url(&created.stdout).ok_or_else(|| {
        StageError::retryable(format!(
            "gh pr create succeeded but the PR cannot be found: {}",
            created.stdout.trim()
        ))
    })?;
    Ok(PrView {
        number,
        url: created.stdout.trim().to_string(),
        state: "OPEN".to_string(),
        merge_commit: None,
        mergeable: None,
    })
}

/// Polls the checks until they all pass, one fails (fatal) or `timeout` of waiting passes
/// (retryable). No checks at all counts as passing once seen on two polls in a row.
fn wait_for_checks<R: Runner + ?Sized>(
    runner: &R,
    number: &str,
    timeout: Duration,
    interval: Duration,
    timeout_text: &str,
) -> Result<Vec<Value>, StageError> {
    let mut waited = Duration::ZERO;
    let mut none_seen = false;
    loop {
        let out = gh(
            runner,
            &["pr", "checks", number, "--json", "name,state,bucket"],
        )?;
        let pending = match parse_checks(&out).map_err(StageError::retryable)? {
            Checks::Passed(checks) => return Ok(checks),
            Checks::Failed { names, checks } => {
                return Err(
                    StageError::fatal(format!("checks failed: {}", names.join(", ")))
                        .with_detail(json!({ "pr": number, "failed": names, "checks": checks })),
                );
            }
            Checks::None if none_seen => {
                runner.info("the PR has no checks: merging without waiting");
                return Ok(Vec::new());
            }
            Checks::None => {
                none_seen = true;
                Vec::new()
            }
            Checks::Pending(names) => {
                none_seen = false;
                names
            }
        };
        if waited >= timeout {
            return Err(StageError::retryable(format!(
                "checks still running after {timeout_text}"
            ))
            .with_detail(json!({ "pr": number, "pending": pending })));
        }
        runner.sleep(interval).map_err(|e| run_failure(&e))?;
        waited += interval;
    }
}
