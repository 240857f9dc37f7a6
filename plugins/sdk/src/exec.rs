//! Running programs on the host, limited to what the workflow grants (`permissions.exec`).
//!
//! ```ignore
//! use engine_stage_sdk::exec::Command;
//! let out = Command::new("cargo").args(["test", "--quiet"]).cwd("crates/core").run()?;
//! if !out.success() { /* ... */ }
//! ```

use std::time::Duration;

use crate::bindings::engine::stage::exec as raw;

/// A program to run: a bare name looked up on the host's PATH, with the workspace (or a
/// directory below it) as its working directory.
#[derive(Debug, Clone)]
pub struct Command {
    program: String,
    args: Vec<String>,
    cwd: Option<String>,
    env: Vec<(String, String)>,
    timeout: Option<Duration>,
    output_cap: Option<u64>,
}

impl Command {
    /// A command running `program` (a bare name such as `cargo`) without arguments in
    /// `/workspace`.
    pub fn new(program: impl Into<String>) -> Self {
        Command {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            timeout: None,
            output_cap: None,
        }
    }

    /// Adds one argument (passed as is: there is no shell).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Working directory: `/workspace` or below, absolute or relative to `/workspace`.
    pub fn cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Sets an environment variable (the child starts from a scrubbed environment).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Kills the program (and everything it started) after this long. The host caps it at the
    /// stage's remaining time.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Keeps at most this many bytes of stdout and of stderr (the tail). Capped by the host.
    pub fn output_cap(mut self, bytes: u64) -> Self {
        self.output_cap = Some(bytes);
        self
    }

    /// The program name.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The arguments.
    pub fn get_args(&self) -> &[String] {
        &self.args
    }

    /// Runs the program to completion (or its timeout).
    pub fn run(&self) -> Result<Output, ExecError> {
        let command = raw::Command {
            program: self.program.clone(),
            args: self.args.clone(),
            cwd: self.cwd.clone(),
            env: self.env.clone(),
            timeout_ms: self
                .timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            output_cap: self.output_cap,
        };
        raw::run(&command)
            .map(Output::from)
            .map_err(ExecError::from)
    }
}

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Exit code; `None` when a signal killed it.
    pub exit_code: Option<i32>,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    /// True when the host killed it for running past its timeout.
    pub timed_out: bool,
    /// The tail of stdout (lossy UTF-8).
    pub stdout: String,
    /// The tail of stderr (lossy UTF-8).
    pub stderr: String,
    /// Total bytes written to stdout, including what was dropped.
    pub stdout_bytes: u64,
    /// Total bytes written to stderr, including what was dropped.
    pub stderr_bytes: u64,
    /// Wall time.
    pub duration: Duration,
}

impl Output {
    /// True when the program exited with code 0 before its timeout.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// `exit 3`, `killed by signal 9`, `timed out`: how it ended, in words.
    pub fn status_text(&self) -> String {
        if self.timed_out {
            "timed out".to_string()
        } else if let Some(code) = self.exit_code {
            format!("exit {code}")
        } else if let Some(signal) = self.signal {
            format!("killed by signal {signal}")
        } else {
            "ended without an exit code".to_string()
        }
    }
}

impl From<raw::Output> for Output {
    fn from(o: raw::Output) -> Self {
        Output {
            exit_code: o.exit_code,
            signal: o.signal,
            timed_out: o.timed_out,
            stdout: o.stdout,
            stderr: o.stderr,
            stdout_bytes: o.stdout_bytes,
            stderr_bytes: o.stderr_bytes,
            duration: Duration::from_millis(o.duration_ms),
        }
    }
}

/// Why a program could not be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecError {
    /// The workflow does not grant this program to this stage.
    NotPermitted(String),
    /// The program is not on the host's PATH.
    NotFound(String),
    /// The working directory is not inside the workspace or does not exist.
    InvalidCwd(String),
    /// The arguments or environment are invalid.
    InvalidArgument(String),
    /// The program could not be started.
    SpawnFailed(String),
}

impl ExecError {
    /// A short name of the kind: `not-permitted`, `not-found`, `invalid-cwd`,
    /// `invalid-argument` or `spawn-failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            ExecError::NotPermitted(_) => "not-permitted",
            ExecError::NotFound(_) => "not-found",
            ExecError::InvalidCwd(_) => "invalid-cwd",
            ExecError::InvalidArgument(_) => "invalid-argument",
            ExecError::SpawnFailed(_) => "spawn-failed",
        }
    }

    /// The host's explanation.
    pub fn message(&self) -> &str {
        match self {
            ExecError::NotPermitted(m)
            | ExecError::NotFound(m)
            | ExecError::InvalidCwd(m)
            | ExecError::InvalidArgument(m)
            | ExecError::SpawnFailed(m) => m,
        }
    }
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for ExecError {}

impl From<raw::ExecError> for ExecError {
    fn from(e: raw::ExecError) -> Self {
        match e {
            raw::ExecError::NotPermitted(m) => ExecError::NotPermitted(m),
            raw::ExecError::NotFound(m) => ExecError::NotFound(m),
            raw::ExecError::InvalidCwd(m) => ExecError::InvalidCwd(m),
            raw::ExecError::InvalidArgument(m) => ExecError::InvalidArgument(m),
            raw::ExecError::SpawnFailed(m) => ExecError::SpawnFailed(m),
        }
    }
}
