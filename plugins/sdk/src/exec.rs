//! Running programs on the host, limited to what the workflow grants (`permissions.exec`).
//!
//! ```ignore
//! use engine_stage_sdk::exec::Command;
//! let out = Command::new("cargo").args(["test", "--quiet"]).cwd("crates/core").run()?;
//! if !out.success() { /* ... */ }
//! ```
//!
//! [`Command`], [`Output`] and [`ExecError`] are the WIT `exec` interface's types, with a
//! builder and a few readings added here.

use std::time::Duration;

use crate::bindings::engine::stage::exec as raw;

pub use raw::{Command, ExecError, Output};

impl Command {
    /// A command running `program` (a bare name such as `cargo`) without arguments in
    /// `/workspace`.
    pub fn new(program: impl Into<String>) -> Self {
        Command {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            timeout_ms: None,
            output_cap: None,
        }
    }

    /// Adds one argument (passed as is: there is no shell).
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Working directory: `/workspace` or below, absolute or relative to `/workspace`.
    #[must_use]
    pub fn cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Sets an environment variable (the child starts from a scrubbed environment).
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Kills the program (and everything it started) after this long. The host caps it at the
    /// stage's remaining time.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Keeps at most this many bytes of stdout and of stderr (the tail). Capped by the host.
    #[must_use]
    pub fn output_cap(mut self, bytes: u64) -> Self {
        self.output_cap = Some(bytes);
        self
    }

    /// Runs the program to completion (or its timeout).
    pub fn run(&self) -> Result<Output, ExecError> {
        raw::run(self)
    }
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

    /// Wall time.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.duration_ms)
    }
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

    /// The error for people: `kind: message` (wit-bindgen's `Display` is the `Debug` form).
    pub fn text(&self) -> String {
        format!("{}: {}", self.kind(), self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(exit_code: Option<i32>, signal: Option<i32>, timed_out: bool) -> Output {
        Output {
            exit_code,
            signal,
            timed_out,
            stdout: String::new(),
            stderr: String::new(),
            stdout_bytes: 0,
            stderr_bytes: 0,
            duration_ms: 1_500,
        }
    }

    #[test]
    fn the_builder_fills_the_wit_record() {
        let c = Command::new("cargo")
            .arg("test")
            .args(["--quiet"])
            .cwd("crates/core")
            .env("RUST_LOG", "debug")
            .timeout(Duration::from_secs(2))
            .output_cap(64);
        assert_eq!(c.program, "cargo");
        assert_eq!(c.args, ["test", "--quiet"]);
        assert_eq!(c.cwd.as_deref(), Some("crates/core"));
        assert_eq!(c.env, [("RUST_LOG".to_string(), "debug".to_string())]);
        assert_eq!((c.timeout_ms, c.output_cap), (Some(2_000), Some(64)));
    }

    #[test]
    fn outputs_and_errors_read_in_words() {
        assert!(output(Some(0), None, false).success());
        assert!(!output(Some(0), None, true).success());
        assert_eq!(output(Some(3), None, false).status_text(), "exit 3");
        assert_eq!(
            output(None, Some(9), false).status_text(),
            "killed by signal 9"
        );
        assert_eq!(output(None, None, true).status_text(), "timed out");
        assert_eq!(
            output(None, None, false).duration(),
            Duration::from_millis(1_500)
        );
        let e = ExecError::NotPermitted("cargo is not granted".into());
        assert_eq!(e.kind(), "not-permitted");
        assert_eq!(e.text(), "not-permitted: cargo is not granted");
    }
}
