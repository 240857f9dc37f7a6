//! What a local attempt reports while it runs: its log lines and progress go to the reporter
//! as they come (the lines `engine run` prints), and are kept for the JSON report; the last
//! lines its programs print are kept for the failure's tail.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use engine_runtime::{AttemptObserver, LogLevel};
use serde::Serialize;

use crate::logs::capture::{Captured, OutputCapture, Stream};
use crate::logs::tail::FAILURE_TAIL_LINES;
use crate::report::Reporter;

/// Log records kept for the report; a stage that logs more has the rest counted, not kept.
const MAX_RECORDS: usize = 10_000;

/// The longest log message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 64 * 1024;

/// One log line or progress report of the stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    /// `trace`, `debug`, `info`, `warn`, `error`, or `progress`.
    pub level: String,
    /// The text (a progress report's percentage appended).
    pub message: String,
}

/// Observes one local attempt.
pub(super) struct LocalObserver {
    stage: String,
    reporter: Arc<dyn Reporter>,
    verbose: bool,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    records: Vec<LogRecord>,
    dropped: usize,
    output: OutputCapture,
    tail: VecDeque<String>,
}

impl Kept {
    fn record(&mut self, level: &str, message: &str) {
        if self.records.len() < MAX_RECORDS {
            self.records.push(LogRecord {
                level: level.to_string(),
                message: crate::terminal::clip(message, MAX_MESSAGE_CHARS),
            });
        } else {
            self.dropped += 1;
        }
    }

    fn output_lines(&mut self, captured: Vec<Captured>) {
        for item in captured {
            if let Captured::Line(_, line) = item {
                if self.tail.len() == FAILURE_TAIL_LINES {
                    self.tail.pop_front();
                }
                self.tail.push_back(line);
            }
        }
    }
}

impl LocalObserver {
    /// An observer of stage `stage`'s attempt; `verbose` shows its debug lines too.
    pub(super) fn new(stage: &str, reporter: Arc<dyn Reporter>, verbose: bool) -> Self {
        LocalObserver {
            stage: stage.to_string(),
            reporter,
            verbose,
            kept: Mutex::new(Kept::default()),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The records kept (with a last one saying how many were not) and the programs' last
    /// output lines.
    pub(super) fn finish(&self) -> (Vec<LogRecord>, Vec<String>) {
        let mut kept = self.kept();
        let rest = kept.output.finish();
        kept.output_lines(rest);
        let mut records = std::mem::take(&mut kept.records);
        if kept.dropped > 0 {
            records.push(LogRecord {
                level: "warn".to_string(),
                message: format!("{} more log lines were not kept", kept.dropped),
            });
        }
        (records, kept.tail.iter().cloned().collect())
    }
}

fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    }
}

impl AttemptObserver for LocalObserver {
    fn log(&self, level: LogLevel, message: &str) {
        self.kept().record(level_name(level), message);
        // The reporter shows info and above; --verbose shows the debug lines as info.
        let shown = if self.verbose && level == LogLevel::Debug {
            LogLevel::Info
        } else {
            level
        };
        self.reporter.stage_log(&self.stage, 1, shown, message);
    }

    fn progress(&self, message: &str, fraction: Option<f32>) {
        let text = match fraction {
            Some(f) => format!("{message} ({:.0}%)", f * 100.0),
            None => message.to_string(),
        };
        self.kept().record("progress", &text);
        self.reporter
            .stage_log(&self.stage, 1, LogLevel::Info, &text);
    }

    fn exec_started(&self, program: &str, args: &[String]) {
        let mut kept = self.kept();
        let rest = kept.output.finish();
        kept.output_lines(rest);
        drop(kept);
        if self.verbose {
            let mut line = format!("$ {program}");
            for arg in args {
                line.push(' ');
                line.push_str(arg);
            }
            self.reporter
                .stage_log(&self.stage, 1, LogLevel::Info, &line);
        }
    }

    fn exec_output(&self, stream: &'static str, bytes: &[u8]) {
        let mut kept = self.kept();
        let lines = kept.output.push(Stream::named(stream), bytes);
        kept.output_lines(lines);
    }

    fn exec_finished(&self, program: &str, exit_code: Option<i32>, duration: Duration) {
        let mut kept = self.kept();
        let rest = kept.output.finish();
        kept.output_lines(rest);
        drop(kept);
        if self.verbose {
            let code = exit_code.map_or_else(|| "signal".to_string(), |c| c.to_string());
            self.reporter.stage_log(
                &self.stage,
                1,
                LogLevel::Info,
                &format!("{program} exited {code} after {}ms", duration.as_millis()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_the_output_tail_are_kept() {
        let observer = LocalObserver::new("s", Arc::new(crate::report::Quiet), false);
        observer.log(LogLevel::Info, "hello");
        observer.progress("half", Some(0.5));
        observer.exec_started("sh", &[]);
        for i in 0..30 {
            observer.exec_output("stdout", format!("line {i}\n").as_bytes());
        }
        observer.exec_output("stderr", b"no newline");
        observer.exec_finished("sh", Some(1), Duration::from_millis(3));
        let (records, tail) = observer.finish();
        assert_eq!(
            records,
            vec![
                LogRecord {
                    level: "info".into(),
                    message: "hello".into()
                },
                LogRecord {
                    level: "progress".into(),
                    message: "half (50%)".into()
                },
            ]
        );
        assert_eq!(tail.len(), FAILURE_TAIL_LINES);
        assert_eq!(tail.last().map(String::as_str), Some("no newline"));
        assert_eq!(tail[0], format!("line {}", 31 - FAILURE_TAIL_LINES));
    }

    #[test]
    fn a_stage_that_logs_without_end_is_bounded() {
        let observer = LocalObserver::new("s", Arc::new(crate::report::Quiet), false);
        for _ in 0..MAX_RECORDS + 5 {
            observer.log(LogLevel::Debug, "x");
        }
        let (records, _) = observer.finish();
        assert_eq!(records.len(), MAX_RECORDS + 1);
        assert_eq!(
            records.last().map(|r| r.message.as_str()),
            Some("5 more log lines were not kept")
        );
    }
}
