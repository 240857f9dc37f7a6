//! The baseline check: a failing command runs again on the run's base commit, in a detached
//! worktree at `.engine-baseline/<attempt>` inside the run's worktree (exec's working directory
//! cannot leave `/workspace`); the worktree is always removed afterwards.

use std::time::Duration;

use engine_stage_sdk::{RunGit, StageError};

use crate::config::PreparedCommand;
use crate::report::CommandResult;
use crate::runner::Runner;

/// Where baseline worktrees go, relative to the run's worktree.
pub const BASELINE_DIR: &str = ".engine-baseline";

/// Time limit of each git command of the check.
const GIT_TIMEOUT: Duration = Duration::from_mins(5);

/// How a failure compares with the base commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It fails on the base too (and fails no test that passes there): it does not block.
    AlreadyFailing,
    /// It passes on the base, or fails tests that pass there (listed, when a parser knows).
    Blocks {
        /// Failed tests that do not fail on the base.
        new_failures: Vec<String>,
    },
}

/// Compares a failure on the run's head with the same command on the base.
pub fn decide(head: &CommandResult, base: &CommandResult) -> Verdict {
    if base.passed() || base.timed_out {
        return Verdict::Blocks {
            new_failures: head.failed_tests(),
        };
    }
    let head_failed = head.failed_tests();
    let base_failed = base.failed_tests();
    if head_failed.is_empty() || base_failed.is_empty() {
        // Nothing to compare test by test: both failed, by exit status.
        return Verdict::AlreadyFailing;
    }
    let new_failures: Vec<String> = head_failed
        .into_iter()
        .filter(|t| !base_failed.contains(t))
        .collect();
    if new_failures.is_empty() {
        Verdict::AlreadyFailing
    } else {
        Verdict::Blocks { new_failures }
    }
}

/// Runs `command` on the base commit and returns how it ended there.
pub fn run_on_base<R: Runner + ?Sized>(
    runner: &R,
    git: Option<&RunGit>,
    attempt: &str,
    command: &PreparedCommand,
    tail_lines: usize,
) -> Result<CommandResult, StageError> {
    let git = git.ok_or_else(|| {
        StageError::fatal(
            "`baseline: true` needs the run's git facts (base commit), and this run has none",
        )
    })?;
    let dir = format!("{BASELINE_DIR}/{}", slug(attempt));
    runner.info(&format!(
        "`{}` failed; running it on the base commit {} in {dir}",
        command.display,
        short(&git.base_commit)
    ));
    // A worktree left by an attempt that crashed.
    let _ = git_run(runner, &["worktree", "remove", "--force", &dir]);
    let _ = git_run(runner, &["worktree", "prune"]);
    let added = git_run(
        runner,
        &["worktree", "add", "--detach", &dir, &git.base_commit],
    )?;
    if !added.success() {
        return Err(StageError::fatal(format!(
            "baseline: `git worktree add` of the base commit failed ({}): {}",
            added.status_text(),
            added.stderr.trim()
        )));
    }
    let result = crate::gate::run_one(runner, command, &dir, tail_lines);
    match git_run(runner, &["worktree", "remove", "--force", &dir]) {
        Ok(out) if out.success() => {}
        Ok(out) => runner.warn(&format!(
            "baseline: could not remove the worktree {dir}: {}",
            out.stderr.trim()
        )),
        Err(e) => runner.warn(&format!(
            "baseline: could not remove the worktree {dir}: {}",
            e.message
        )),
    }
    result
}

fn git_run<R: Runner + ?Sized>(
    runner: &R,
    args: &[&str],
) -> Result<engine_stage_sdk::exec::Output, StageError> {
    let mut argv = vec!["git".to_string()];
    argv.extend(args.iter().map(ToString::to_string));
    runner.run(&argv, "", Some(GIT_TIMEOUT)).map_err(|e| {
        StageError::fatal(format!(
            "`baseline: true` needs `git` under permissions.exec: {} ({})",
            e.message(),
            e.kind()
        ))
    })
}

/// `run/stage/2` → `run-stage-2`.
fn slug(key: &str) -> String {
    let s: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() {
        "attempt".to_string()
    } else {
        s
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
