//! What the stage needs from the host, as a trait: the component runs programs through the
//! SDK's `exec` ([`crate::glue`]); host-side tests run real git or script the answers.

use std::time::Duration;

use engine_stage_sdk::StageError;
use serde_json::json;

use crate::plumbing::is_oid;

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Exit code; `None` when it was killed or timed out.
    pub code: Option<i32>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

impl Output {
    /// True when it exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// `exit 3` or `killed`.
    pub fn status_text(&self) -> String {
        match self.code {
            Some(code) => format!("exit {code}"),
            None => "killed or timed out".to_string(),
        }
    }
}

/// A program could not be run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("exec of `{program}` failed: {reason}")]
pub struct RunError {
    /// The program.
    pub program: String,
    /// Why (e.g. not granted under `permissions.exec`).
    pub reason: String,
}

/// Runs programs on the host, in the run's worktree.
pub trait Runner {
    /// Runs `program` with `args` and extra environment `env`.
    fn run(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Output, RunError>;

    /// Waits this long.
    fn sleep(&self, duration: Duration) -> Result<(), RunError>;

    /// Writes an informational line to the run's log.
    fn info(&self, message: &str);

    /// Writes a warning to the run's log.
    fn warn(&self, message: &str);
}

/// A program that could not run is a fatal failure: the workflow must grant it.
pub fn run_failure(error: &RunError) -> StageError {
    StageError::fatal(error.to_string()).with_detail(json!({
        "program": error.program,
        "reason": error.reason,
    }))
}

/// Git commands over a [`Runner`].
pub struct Git<'a, R: Runner + ?Sized> {
    runner: &'a R,
}

impl<'a, R: Runner + ?Sized> Git<'a, R> {
    /// Git through this runner.
    pub fn new(runner: &'a R) -> Self {
        Git { runner }
    }

    /// Runs git and returns its output whatever the exit code.
    pub fn raw(&self, args: &[&str]) -> Result<Output, StageError> {
        self.raw_env(args, &[])
    }

    /// Runs git with extra environment and returns its output whatever the exit code.
    pub fn raw_env(&self, args: &[&str], env: &[(String, String)]) -> Result<Output, StageError> {
        let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
        self.runner
            .run("git", &args, env)
            .map_err(|e| run_failure(&e))
    }

    /// Runs git; exit 0 gives stdout without its trailing newline, anything else a fatal
    /// failure naming the command and its stderr.
    pub fn ok(&self, args: &[&str]) -> Result<String, StageError> {
        self.ok_env(args, &[])
    }

    /// [`Git::ok`] with extra environment.
    pub fn ok_env(&self, args: &[&str], env: &[(String, String)]) -> Result<String, StageError> {
        let out = self.raw_env(args, env)?;
        if out.success() {
            Ok(out.stdout.trim_end_matches('\n').to_string())
        } else {
            Err(git_failure(args, &out))
        }
    }

    /// The commit `rev` names (`rev-parse --verify`).
    pub fn commit(&self, rev: &str) -> Result<String, StageError> {
        let spec = format!("{rev}^{{commit}}");
        let out = self.raw(&["rev-parse", "--verify", "--quiet", &spec])?;
        if out.success() {
            Ok(out.stdout.trim().to_string())
        } else {
            Err(StageError::fatal(format!("`{rev}` does not name a commit")))
        }
    }

    /// Resolves every revision in `revs` with one `git rev-parse <revs>... --` (the `--` makes
    /// each one a revision, never a path). `None` when git cannot resolve one of them, or says
    /// something else than one object id per revision: the caller then asks one by one, for a
    /// precise error (also without asking when a revision starts with `-`).
    pub fn resolve_all(&self, revs: &[String]) -> Result<Option<Vec<String>>, StageError> {
        if revs.iter().any(|rev| rev.starts_with('-')) {
            return Ok(None);
        }
        let mut args: Vec<&str> = vec!["rev-parse"];
        args.extend(revs.iter().map(String::as_str));
        args.push("--");
        let out = self.raw(&args)?;
        if !out.success() {
            return Ok(None);
        }
        let mut lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
        if lines.last() == Some(&"--") {
            lines.pop();
        }
        if lines.len() != revs.len() || !lines.iter().all(|line| is_oid(line)) {
            return Ok(None);
        }
        Ok(Some(lines.into_iter().map(str::to_string).collect()))
    }

    /// The tree of a commit.
    pub fn tree(&self, commit: &str) -> Result<String, StageError> {
        Ok(self
            .ok(&["rev-parse", &format!("{commit}^{{tree}}")])?
            .trim()
            .to_string())
    }

    /// Whether `ancestor` is an ancestor of (or equal to) `descendant`.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, StageError> {
        let args = ["merge-base", "--is-ancestor", ancestor, descendant];
        let out = self.raw(&args)?;
        match out.code {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(git_failure(&args, &out)),
        }
    }
}

/// The fatal failure of an unexpected git error.
pub fn git_failure(args: &[&str], out: &Output) -> StageError {
    let command = format!("git {}", args.join(" "));
    StageError::fatal(format!(
        "`{command}` failed ({}): {}",
        out.status_text(),
        out.stderr.trim()
    ))
    .with_detail(json!({
        "command": command,
        "stderr": out.stderr,
        "stdout": out.stdout,
    }))
}
