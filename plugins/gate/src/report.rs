//! What the gate says about the commands it ran.

use engine_stage_sdk::exec::Output;
use serde_json::{Value, json};
use std::fmt::Write as _;

use crate::config::PreparedCommand;
use crate::parsers::TestReport;

/// How one command ended.
#[derive(Debug, Clone)]
pub struct CommandResult {
    /// The command as shown to the user.
    pub display: String,
    /// Its `name:`, if any.
    pub name: Option<String>,
    /// Its time limit as written, for messages.
    pub timeout_text: Option<String>,
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
    /// What the command's parser found (failed runs with a parser only).
    pub report: Option<TestReport>,
    /// Failed tests that do not fail on the base commit (set by the baseline check).
    pub new_failures: Option<Vec<String>>,
}

impl CommandResult {
    /// Builds the result of `command` from its exec output, keeping `tail_lines` lines.
    pub fn new(command: &PreparedCommand, output: &Output, tail_lines: usize) -> Self {
        let mut result = CommandResult {
            display: command.display.clone(),
            name: command.name.clone(),
            timeout_text: command.timeout_text.clone(),
            exit_code: output.exit_code,
            signal: output.signal,
            timed_out: output.timed_out,
            duration_ms: output.duration_ms,
            tail: tail(&output.stdout, &output.stderr, tail_lines),
            report: None,
            new_failures: None,
        };
        if !result.passed()
            && let Some(parser) = command.parser
        {
            let report = parser.parse(&output.stdout, &output.stderr);
            result.report = (!report.is_empty()).then_some(report);
        }
        result
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

    /// Names of the failed tests the parser found (empty without a parser).
    pub fn failed_tests(&self) -> Vec<String> {
        self.report
            .as_ref()
            .map(TestReport::failed_names)
            .unwrap_or_default()
    }

    /// One entry of the `commands` output.
    pub fn summary_json(&self) -> Value {
        let mut v = json!({
            "command": self.display,
            "exit_code": self.exit_code,
            "duration_ms": self.duration_ms,
        });
        if let (Value::Object(map), Some(name)) = (&mut v, &self.name) {
            map.insert("name".into(), json!(name));
        }
        v
    }

    /// The detail of a failure.
    pub fn failure_json(&self) -> Value {
        let mut v = json!({
            "command": self.display,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "timed_out": self.timed_out,
            "duration_ms": self.duration_ms,
            "tail": self.tail,
        });
        if let Value::Object(map) = &mut v {
            if let Some(name) = &self.name {
                map.insert("name".into(), json!(name));
            }
            if let Some(report) = &self.report {
                map.insert("failed_tests".into(), json!(report.failed_names()));
                map.insert("summary".into(), json!(report.summary()));
                map.insert("passed_count".into(), json!(report.passed));
                map.insert("failed_count".into(), json!(report.failed_count));
            }
            if let Some(new) = &self.new_failures {
                map.insert("new_failures".into(), json!(new));
            }
        }
        v
    }

    /// `` `cargo test` failed (exit 101) `` or `` `x` timed out after 5m ``, prefixed by the
    /// command's name and followed by the parser's headline when there are.
    pub fn failure_message(&self) -> String {
        let mut message = if self.timed_out {
            match &self.timeout_text {
                Some(t) => format!("`{}` timed out after {t}", self.display),
                None => format!("`{}` timed out", self.display),
            }
        } else {
            format!("`{}` failed ({})", self.display, self.status_text())
        };
        if let Some(name) = &self.name {
            message = format!("{name}: {message}");
        }
        if let Some(report) = &self.report {
            message.push_str(": ");
            message.push_str(&report.headline());
        }
        if let Some(new) = self.new_failures.as_ref().filter(|n| !n.is_empty()) {
            let _ = write!(message, " (new since base: {})", new.join(", "));
        }
        message
    }
}

/// The last `lines` lines of stdout followed by stderr.
pub fn tail(stdout: &str, stderr: &str, lines: usize) -> String {
    let mut all: Vec<&str> = stdout.lines().collect();
    all.extend(stderr.lines());
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}
