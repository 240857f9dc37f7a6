//! Local mode: reconcile, prepare the new commit off-checkout, respect checkouts of the base,
//! move the base by compare-and-swap, optionally push.

use engine_stage_sdk::StageError;
use serde_json::json;

use crate::checkout;
use crate::config::{MergeConfig, Mode, Strategy};
use crate::facts::RunFacts;
use crate::plumbing::{MARKED_LOG_FORMAT, RUN_TRAILER, parse_marked_commits, short};
use crate::report::Report;
use crate::runner::{Git, Runner};
use crate::strategies::{self, Prepared};
use crate::tips::{self, Tips};

/// Merges the run's branch (the worktree's `HEAD`) into the base branch.
pub fn merge<R: Runner + ?Sized>(
    runner: &R,
    config: &MergeConfig,
    facts: &RunFacts,
    message: &str,
) -> Result<Report, StageError> {
    let git = Git::new(runner);
    let strategy = config.strategy;
    let base_ref = facts.base_ref();
    let mut report = Report::new(Mode::Local, strategy, &facts.branch, &facts.base_branch);
    let tips = tips::resolve(&git, facts)?;
    let old = tips.old.as_str();
    report.previous_base = Some(old.to_string());

    if tips.unchanged {
        runner.info("the run's branch changes nothing: nothing to merge");
        return Ok(report);
    }
    if facts.interrupted {
        runner.info("an earlier attempt was interrupted: checking whether it already merged");
    }
    if let Some((merged_sha, commits)) = reconcile(&git, strategy, facts, &tips)? {
        runner.info(&format!(
            "{} already has this run's merge ({}): not merging again",
            facts.base_branch,
            short(&merged_sha)
        ));
        report.merged = true;
        report.reconciled = true;
        report.merged_sha = Some(merged_sha.clone());
        report.commits = commits;
        let previous = match (strategy, report.commits.first()) {
            (Strategy::FfOnly, _) | (_, None) => None,
            (Strategy::Rebase, Some(first)) => Some(format!("{first}^")),
            (_, Some(_)) => Some(format!("{merged_sha}^1")),
        };
        if let Some(previous) = previous.map(|p| git.commit(&p)).transpose()? {
            let checkouts = checkout::find(&git, &base_ref)?;
            let (synced, warnings) =
                checkout::resync(&git, &facts.base_branch, &checkouts, &previous, old)?;
            for warning in &warnings {
                runner.warn(warning);
            }
            report.checkout_synced = synced;
            report.warnings = warnings;
        }
        if config.push {
            report.pushed = push(&git, config, facts, &merged_sha)?;
        }
        return Ok(report);
    }

    let (new, commits) = match strategies::prepare(&git, strategy, facts, message, &tips)? {
        Prepared::Nothing => {
            runner.info(&format!(
                "{} already has the branch's changes",
                facts.base_branch
            ));
            return Ok(report);
        }
        Prepared::Ready { new, commits } => (new, commits),
    };

    let checkouts = checkout::find(&git, &base_ref)?;
    checkout::refuse_if_dirty(&git, &facts.base_branch, &checkouts, old, &new)?;
    compare_and_swap(&git, facts, &base_ref, &new, old)?;
    report.merged = true;
    report.merged_sha = Some(new.clone());
    report.commits = commits;

    let (synced, warnings) = checkout::sync(&git, &facts.base_branch, &checkouts, old, &new)?;
    for warning in &warnings {
        runner.warn(warning);
    }
    report.checkout_synced = synced;
    report.warnings = warnings;
    if config.push {
        report.pushed = push(&git, config, facts, &new)?;
    }
    Ok(report)
}

/// Looks for this run's merge in the base: the newest commit after `base_commit` carrying the
/// `Engine-Run: <run_id>` trailer (squash, merge and rebase, whose replayed commits all carry
/// it), or for ff-only the branch's head already contained in the base. Returns the merged
/// commit and the commits, oldest first.
///
/// When the base has not moved since the run started (`old` is the run's base commit) there is
/// nothing after it to look at, so git is not asked: a crashed attempt that merged has always
/// moved the base.
pub fn reconcile<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    strategy: Strategy,
    facts: &RunFacts,
    tips: &Tips,
) -> Result<Option<(String, Vec<String>)>, StageError> {
    let (old, head) = (tips.old.as_str(), tips.head.as_str());
    if strategy == Strategy::FfOnly {
        return Ok(git
            .is_ancestor(head, old)?
            .then(|| (head.to_string(), Vec::new())));
    }
    if old == facts.base_commit {
        return Ok(None);
    }
    let range = format!("{}..{old}", facts.base_commit);
    let grep = format!("--grep={RUN_TRAILER}: {}", facts.run_id);
    let log = git.ok(&[
        "log",
        "--topo-order",
        "--fixed-strings",
        &grep,
        MARKED_LOG_FORMAT,
        &range,
    ])?;
    let mut marked = parse_marked_commits(&log, &facts.run_id);
    let Some(newest) = marked.first().cloned() else {
        return Ok(None);
    };
    marked.reverse();
    let commits = if strategy == Strategy::Rebase {
        marked
    } else {
        vec![newest.clone()]
    };
    Ok(Some((newest, commits)))
}

/// Moves the base from `old` to `new` only if it is still at `old`.
fn compare_and_swap<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    facts: &RunFacts,
    base_ref: &str,
    new: &str,
    old: &str,
) -> Result<(), StageError> {
    let reason = format!("engine: merge run {}", facts.run_id);
    let out = git.raw(&["update-ref", "-m", &reason, base_ref, new, old])?;
    if out.success() {
        return Ok(());
    }
    let now = git.commit(base_ref).ok();
    if now.as_deref() != Some(old) {
        return Err(
            StageError::retryable("base moved during the merge").with_detail(json!({
                "base_branch": facts.base_branch,
                "expected": old,
                "found": now,
            })),
        );
    }
    Err(StageError::retryable(format!(
        "git update-ref of {} failed: {}",
        facts.base_branch,
        out.stderr.trim()
    ))
    .with_detail(json!({ "stderr": out.stderr })))
}

/// Pushes `merged` to the remote's base branch, never forced: a remote that moved elsewhere
/// rejects it (retryable). A remote that already has it counts as pushed.
fn push<R: Runner + ?Sized>(
    git: &Git<'_, R>,
    config: &MergeConfig,
    facts: &RunFacts,
    merged: &str,
) -> Result<bool, StageError> {
    let remote = config.remote.as_str();
    let base_ref = facts.base_ref();
    let listed = git.raw(&["ls-remote", remote, &base_ref])?;
    if !listed.success() {
        return Err(StageError::retryable(format!(
            "merged locally into {} as {}, but {remote} could not be reached: {}",
            facts.base_branch,
            short(merged),
            listed.stderr.trim()
        )));
    }
    let remote_sha = listed.stdout.split_whitespace().next().unwrap_or("");
    if !remote_sha.is_empty() {
        // Unknown locally makes merge-base fail: then simply push.
        let contained = git.raw(&["merge-base", "--is-ancestor", merged, remote_sha])?;
        if contained.success() {
            return Ok(true);
        }
    }
    let refspec = format!("{merged}:{base_ref}");
    let out = git.raw(&["push", "--porcelain", remote, &refspec])?;
    if out.success() {
        return Ok(true);
    }
    Err(StageError::retryable(format!(
        "merged locally into {} as {}, but the push to {remote} was rejected: {}",
        facts.base_branch,
        short(merged),
        out.stderr.trim()
    ))
    .with_detail(json!({
        "remote": remote,
        "merged_sha": merged,
        "remote_sha": remote_sha,
        "stderr": out.stderr,
    })))
}
