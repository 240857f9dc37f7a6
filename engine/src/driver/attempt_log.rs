//! Each stage attempt's log: a file under the run's log directory (its format:
//! [`crate::logs`]), also forwarded to the reporter so people see it live. It holds the stage's
//! log lines, the programs it ran with their output (head and tail, [`crate::logs::capture`])
//! and its agent sessions' text and tool calls.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine_runtime::{AttemptObserver, LogLevel};

use crate::EngineError;
use crate::logs::capture::{Captured, OutputCapture, Stream};
use crate::report::Reporter;
use crate::secrets::Redactor;
use crate::time::{Clock, rfc3339};

/// `<state>/runs/<run>/logs/<stage>.<attempt>.log`.
pub fn attempt_log_path(state_dir: &Path, run_id: &str, stage: &str, attempt: u32) -> PathBuf {
    state_dir
        .join("runs")
        .join(run_id)
        .join("logs")
        .join(format!("{stage}.{attempt}.log"))
}

/// Observes one attempt: appends to its log file and forwards to the reporter.
pub struct AttemptLog {
    file: Mutex<File>,
    /// The output of the program running now.
    output: Mutex<OutputCapture>,
    stage: String,
    attempt: u32,
    reporter: Arc<dyn Reporter>,
    redactor: Arc<Redactor>,
    clock: Arc<dyn Clock>,
}

impl AttemptLog {
    /// Creates (or appends to) the attempt's log file; its lines carry `clock`'s time.
    pub fn create(
        path: &Path,
        stage: &str,
        attempt: u32,
        reporter: Arc<dyn Reporter>,
        redactor: Arc<Redactor>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, EngineError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| EngineError::io(path, e))?;
        Ok(AttemptLog {
            file: Mutex::new(file),
            output: Mutex::new(OutputCapture::default()),
            stage: stage.to_string(),
            attempt,
            reporter,
            redactor,
            clock,
        })
    }

    fn write(&self, level: &str, message: &str) {
        let at = rfc3339(self.clock.now_ms());
        let mut text = String::new();
        for record in crate::logs::records(&at, level, message) {
            text.push_str(&record);
            text.push('\n');
        }
        if let Ok(mut file) = self.file.lock() {
            // A log line that cannot be written must not fail the stage.
            let _ = file.write_all(text.as_bytes());
        }
    }

    /// Writes captured output (redacted) to the log.
    fn write_output(&self, captured: Vec<Captured>) {
        for item in captured {
            match item {
                Captured::Line(Stream::Out, line) => self.write("OUT", &self.redactor.text(&line)),
                Captured::Line(Stream::Err, line) => self.write("ERR", &self.redactor.text(&line)),
                Captured::Cut { lines, bytes } => self.write(
                    "CUT",
                    &format!(
                        "[{} of output ({lines} lines) cut here: the first {} and the last {} of \
                         each program's output are kept]",
                        crate::logs::size_text(bytes),
                        crate::logs::size_text(crate::logs::capture::HEAD_BYTES as u64),
                        crate::logs::size_text(crate::logs::capture::TAIL_BYTES as u64),
                    ),
                ),
            }
        }
    }

    /// Runs `f` on the output capture and writes what it returns, in the order it came (the
    /// capture stays locked while writing: stdout and stderr arrive from two tasks).
    fn take_output(&self, f: impl FnOnce(&mut OutputCapture) -> Vec<Captured>) {
        let mut capture = self
            .output
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let captured = f(&mut capture);
        self.write_output(captured);
    }
}

impl crate::logs::SessionLog for AttemptLog {
    fn agent_event(&self, event: &engine_agent::AgentEvent) {
        let Some((level, text)) = crate::logs::agent_record(event) else {
            return;
        };
        let text = self.redactor.text(&text);
        self.write(level, &text);
        if level == "AGENT" {
            self.reporter.stage_log(
                &self.stage,
                self.attempt,
                LogLevel::Info,
                &format!("agent: {}", crate::logs::agent_line(&text)),
            );
        }
    }
}

fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Trace => "TRACE",
        LogLevel::Debug => "DEBUG",
        LogLevel::Info => "INFO",
        LogLevel::Warn => "WARN",
        LogLevel::Error => "ERROR",
    }
}

impl AttemptObserver for AttemptLog {
    fn log(&self, level: LogLevel, message: &str) {
        let message = &self.redactor.text(message);
        self.write(level_name(level), message);
        self.reporter
            .stage_log(&self.stage, self.attempt, level, message);
    }

    fn progress(&self, message: &str, fraction: Option<f32>) {
        let message = &self.redactor.text(message);
        let text = match fraction {
            Some(f) => format!("{message} ({:.0}%)", f * 100.0),
            None => message.clone(),
        };
        self.write("PROG", &text);
        self.reporter
            .stage_log(&self.stage, self.attempt, LogLevel::Info, &text);
    }

    fn exec_started(&self, program: &str, args: &[String]) {
        super::debug_hold::exec_started(program, args);
        // Whatever a previous program left unfinished comes first.
        self.take_output(OutputCapture::finish);
        let mut line = program.to_string();
        for arg in args {
            line.push(' ');
            line.push_str(arg);
        }
        self.write("EXEC", &self.redactor.text(&format!("$ {line}")));
    }

    fn exec_output(&self, stream: &'static str, bytes: &[u8]) {
        self.take_output(|capture| capture.push(Stream::named(stream), bytes));
    }

    fn exec_finished(&self, program: &str, exit_code: Option<i32>, duration: Duration) {
        self.take_output(OutputCapture::finish);
        let code = exit_code.map_or_else(|| "signal".to_string(), |c| c.to_string());
        self.write(
            "EXEC",
            &format!("{program} exited {code} after {}ms", duration.as_millis()),
        );
        super::debug_hold::exec_finished(program, exit_code);
    }
}
