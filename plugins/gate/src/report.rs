//! What the gate says about the commands it ran.

use engine_stage_sdk::exec::Output;
use serde_json::{Value, json};

/// How one command ended.
#[derive(Debug, Clone)]
pub struct CommandResult {
    /// The command as shown to the user.
    pub display: String,
    /// Exit code (`None` when killed by a signal or timed out).
    pub exit_code: Option<i32>,
    /// Signal that killed it.
    pub signal: Option<i32>,
    /// Killed for running past its timeout.
    pub timed_out: bool,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Last lines of stdout followed by stderr.
    pub tail: String,
}

impl CommandResult {
    /// Builds the result of `display` from its exec output, keeping `tail_lines` lines.
    pub fn new(display: &str, output: &Output, tail_lines: usize) -> Self {
        CommandResult {
            display: display.to_string(),
            exit_code: output.exit_code,
            signal: output.signal,
            timed_out: output.timed_out,
            duration_ms: u64::try_from(output.duration.as_millis()).unwrap_or(u64::MAX),
            tail: tail(&output.stdout, &output.stderr, tail_lines),
        }
    }

    /// Exit code 0 within the time limit.
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// `exit 101`, `killed by signal 9`.
    pub fn status_text(&self) -> String {
        match (self.exit_code, self.signal) {
            (Some(code), _) => format!("exit {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "no exit code".to_string(),
        }
    }

    /// One entry of the `commands` output.
    pub fn summary_json(&self) -> Value {
        json!({
            "command": self.display,
            "exit_code": self.exit_code,
            "duration_ms": self.duration_ms,
        })
    }

    /// The detail of a failure.
    pub fn failure_json(&self) -> Value {
        json!({
            "command": self.display,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "timed_out": self.timed_out,
            "duration_ms": self.duration_ms,
            "tail": self.tail,
        })
    }

    /// `` `cargo test` failed (exit 101) `` or `` `x` timed out after 5m ``.
    pub fn failure_message(&self, timeout_text: Option<&str>) -> String {
        if self.timed_out {
            match timeout_text {
                Some(t) => format!("`{}` timed out after {t}", self.display),
                None => format!("`{}` timed out", self.display),
            }
        } else {
            format!("`{}` failed ({})", self.display, self.status_text())
        }
    }
}

/// The last `lines` lines of stdout followed by stderr.
pub fn tail(stdout: &str, stderr: &str, lines: usize) -> String {
    let mut all: Vec<&str> = stdout.lines().collect();
    all.extend(stderr.lines());
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_lines_of_stdout_then_stderr() {
        assert_eq!(tail("a\nb\nc\n", "x\ny\n", 3), "c\nx\ny");
        assert_eq!(tail("a\nb", "", 5), "a\nb");
        assert_eq!(tail("a\nb", "c", 0), "");
    }

    #[test]
    fn failure_messages_name_command_and_status() {
        let r = CommandResult {
            display: "cargo test".into(),
            exit_code: Some(101),
            signal: None,
            timed_out: false,
            duration_ms: 5,
            tail: String::new(),
        };
        assert_eq!(r.failure_message(None), "`cargo test` failed (exit 101)");
        let t = CommandResult {
            timed_out: true,
            exit_code: None,
            signal: Some(9),
            ..r
        };
        assert_eq!(
            t.failure_message(Some("5m")),
            "`cargo test` timed out after 5m"
        );
    }
}
