//! What a user sees while a run goes: human progress lines on stderr, or nothing but the final
//! JSON document on stdout with `--json`.

mod listening;

pub use listening::{FirstRunId, Listener, Listening};

use std::io::Write;
use std::sync::Mutex;

use engine_core::{
    AttemptOutcome, Command, Event, FailureKind, FinallyOutcome, RunState, RunStatus, StagePhase,
};
use engine_runtime::LogLevel;
use engine_store::RunMeta;

use crate::logs::tail::{FAILURE_TAIL_LINES, failure_tail};
use crate::time::human_duration;

/// Receives what happens in a run, as it happens.
pub trait Reporter: Send + Sync {
    /// A new run was recorded in the store, before anything of it exists elsewhere (worktree,
    /// claim): `engine run` prints its id here, so a run killed in its first moments can be
    /// found and resumed.
    fn run_recorded(&self, _run_id: &str) {}
    /// The driver starts (or resumes) a run.
    fn run_started(&self, meta: &RunMeta, resumed: bool);
    /// An event was applied and stored; `commands` are about to be carried out.
    fn transition(&self, event: &Event, after: &RunState, commands: &[Command]);
    /// A stage attempt wrote a log line or reported progress.
    fn stage_log(&self, stage: &str, attempt: u32, level: LogLevel, message: &str);
    /// The run ended (and its `finally:` stages ran): a summary of how it went.
    /// `order`: the workflow's stages in file order, for the summary.
    fn run_finished(&self, _state: &RunState, _order: &crate::history::order::StageOrder) {}
    /// Something worth a line about the run outside its stages (its worktree was removed, its
    /// task's status was written back).
    fn note(&self, _text: &str) {}
    /// A line people see whatever the output (stderr stays free with `--json`): what engine
    /// did outside any run's stages (a task's status written back, a worktree repaired).
    fn message(&self, text: &str) {
        for line in crate::terminal::safe_lines(text).split('\n') {
            eprintln!("{}", crate::terminal::for_stderr(line));
        }
    }
    /// Something went wrong that does not stop the run or the command (a worktree that could
    /// not be removed, a task that was not started): said as a [`Reporter::message`].
    fn warning(&self, text: &str) {
        self.message(&format!("warning: {text}"));
    }
}

/// Reports nothing (for `--json` and tests).
pub struct Quiet;

impl Reporter for Quiet {
    fn run_started(&self, _: &RunMeta, _: bool) {}
    fn transition(&self, _: &Event, _: &RunState, _: &[Command]) {}
    fn stage_log(&self, _: &str, _: u32, _: LogLevel, _: &str) {}
}

/// Human progress on stderr: each stage's start, end, duration and outcome.
pub struct Human {
    out: Mutex<Box<dyn Write + Send>>,
    /// Show stage log lines down to this level.
    min_level: LogLevel,
    /// Put before every line (`[TASK-3] ` when several runs report at once).
    prefix: String,
    /// Paint lines by their mark (stderr is a colour terminal; see [`crate::terminal`]).
    colour: bool,
}

impl Human {
    /// Progress to stderr, showing stage log lines at info and above.
    pub fn stderr() -> Self {
        Human::stderr_prefixed("")
    }

    /// Progress to stderr with `prefix` before every line, so the lines of runs going on at
    /// the same time can be told apart.
    pub fn stderr_prefixed(prefix: &str) -> Self {
        Human {
            out: Mutex::new(Box::new(std::io::stderr())),
            min_level: LogLevel::Info,
            prefix: prefix.to_string(),
            colour: crate::terminal::stderr_colour(),
        }
    }

    /// Progress to `output`'s stderr (the submitting terminal of a run submitted to this
    /// process; see [`crate::control`]), showing stage log lines at info and above.
    pub fn to_output(output: std::sync::Arc<dyn crate::output::Output>) -> Self {
        Human::to_output_prefixed(output, "")
    }

    /// Progress to `output`'s stderr with `prefix` before every line, so the lines of runs
    /// going on at the same time can be told apart.
    pub fn to_output_prefixed(
        output: std::sync::Arc<dyn crate::output::Output>,
        prefix: &str,
    ) -> Self {
        Human {
            colour: output.err_colour(),
            out: Mutex::new(Box::new(crate::output::ErrLines::new(output))),
            min_level: LogLevel::Info,
            prefix: prefix.to_string(),
        }
    }

    /// Prints `text`, its control characters escaped (stage ids, messages and agent text are
    /// untrusted; see [`crate::terminal`]).
    fn line(&self, text: &str) {
        let text = crate::terminal::safe_lines(text);
        if let Ok(mut out) = self.out.lock() {
            // Without a prefix, the text as it is (blank lines included); with one, each line.
            let lines: Vec<&str> = if self.prefix.is_empty() {
                text.split('\n').collect()
            } else {
                text.lines().collect()
            };
            for line in lines {
                let line = match crate::terminal::tone_of(line) {
                    Some(tone) if self.colour => crate::terminal::paint(line, tone, true),
                    _ => line.to_string(),
                };
                let _ = writeln!(out, "{}{line}", self.prefix);
            }
        }
    }
}

fn attempt_ms(state: &RunState, stage: &str, attempt: u32) -> Option<u64> {
    let record = state
        .stages
        .get(stage)?
        .history
        .iter()
        .find(|r| r.attempt == attempt)?;
    Some(record.ended_at_ms?.saturating_sub(record.started_at_ms))
}

fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Retryable => "retryable",
        FailureKind::Fatal => "fatal",
        FailureKind::TimedOut => "timed out",
        FailureKind::NeedsAttention => "needs attention",
    }
}

impl Reporter for Human {
    fn run_started(&self, meta: &RunMeta, resumed: bool) {
        let verb = if resumed { "resuming" } else { "started" };
        self.line(&format!(
            "run {} {verb}: workflow {} on branch {} (base {} @ {})",
            meta.run_id,
            meta.workflow_name,
            meta.branch,
            meta.base_branch,
            short_sha(&meta.base_commit)
        ));
    }

    fn transition(&self, event: &Event, after: &RunState, commands: &[Command]) {
        match event {
            Event::AttemptSucceeded {
                stage,
                attempt,
                summary,
                ..
            } => {
                let took = attempt_ms(after, stage, *attempt).unwrap_or(0);
                self.line(&format!(
                    "✓ {stage} (attempt {attempt}) {}  {summary}",
                    human_duration(took)
                ));
            }
            Event::AttemptFailed {
                stage,
                attempt,
                failure,
                ..
            } => {
                let took = attempt_ms(after, stage, *attempt).unwrap_or(0);
                self.line(&format!(
                    "✗ {stage} (attempt {attempt}) {}  {} [{}]",
                    human_duration(took),
                    failure.message,
                    kind_name(failure.kind)
                ));
                // What the failing command printed last (a test's assertion message).
                for line in failure_tail(failure, None, FAILURE_TAIL_LINES) {
                    self.line(&format!("  {stage} | {line}"));
                }
            }
            Event::Resumed { .. } => {
                for (id, st) in &after.stages {
                    if st.history.iter().any(|r| {
                        r.outcome == AttemptOutcome::Interrupted && r.ended_at_ms.is_some()
                    }) && matches!(st.phase, StagePhase::Running { .. })
                    {
                        self.line(&format!("! {id}: the previous attempt was interrupted"));
                    }
                }
                if after.is_paused() {
                    self.line(&format!(
                        "⏸ the run is paused: no new attempt starts until `engine unpause {}`",
                        after.run_id
                    ));
                }
            }
            Event::CancelRequested { reason, .. } => {
                self.line(&format!("■ cancel requested: {reason}"));
            }
            Event::StageSkipped { stage, reason, .. } => {
                self.line(&format!("⤼ {stage} {reason}"));
            }
            Event::ApprovalDecided {
                stage,
                approved,
                by,
                reason,
                ..
            } => {
                let (mark, verb) = if *approved {
                    ("✓", "approved")
                } else {
                    ("✗", "rejected")
                };
                let why = if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                };
                self.line(&format!("{mark} {stage} {verb} by {by}{why}"));
            }
            Event::ApprovalTimedOut { stage, .. } => {
                self.line(&format!("⏱ {stage}: nobody answered in time"));
            }
            Event::Paused { .. } => self.line(&format!(
                "⏸ run paused: no new attempt starts (running ones finish); `engine unpause {}` \
                 lets it go on",
                after.run_id
            )),
            Event::Unpaused { .. } => self.line("▶ run unpaused"),
            Event::RunTimedOut { .. } => self.line("⏱ the run's timeout was reached"),
            Event::RetryFrom { stage, .. } => {
                self.line(&format!("↻ retrying from {stage}"));
            }
            Event::FinallyFinished { stage, outcome, .. } => {
                let line = match outcome {
                    FinallyOutcome::Succeeded { summary } => {
                        format!("✓ {stage} (finally)  {summary}")
                    }
                    FinallyOutcome::Failed { message } => {
                        format!("✗ {stage} (finally)  {message} [the run's outcome is unchanged]")
                    }
                    FinallyOutcome::Skipped { reason } => format!("⤼ {stage} (finally) {reason}"),
                };
                self.line(&line);
            }
            _ => {}
        }
        for command in commands {
            match command {
                Command::StartAttempt {
                    stage,
                    attempt,
                    feedback,
                    ..
                } => {
                    self.line(&format!("▶ {stage} (attempt {attempt})"));
                    if let Some(fb) = feedback {
                        self.line(&format!(
                            "  ← sent back by {}: {}",
                            fb.from_stage, fb.message
                        ));
                    }
                }
                Command::ScheduleRetry {
                    stage,
                    attempt,
                    due_at_ms,
                } => {
                    let wait = due_at_ms.saturating_sub(event.at_ms());
                    self.line(&format!(
                        "↻ {stage}: attempt {attempt} in {}",
                        human_duration(wait)
                    ));
                }
                Command::AwaitApproval {
                    stage,
                    deadline_ms,
                    message,
                    ..
                } => {
                    let until = deadline_ms
                        .map(|d| {
                            format!(" (for {})", human_duration(d.saturating_sub(event.at_ms())))
                        })
                        .unwrap_or_default();
                    self.line(&format!("⏸ {stage} waits for approval{until}"));
                    if let Some(message) = message {
                        self.line(&format!("  {message}"));
                    }
                    self.line(&format!(
                        "  approve: engine approve {run} --stage {stage}\n  reject:  engine reject {run} --stage {stage} --reason \"...\"",
                        run = after.run_id
                    ));
                }
                // The deadline is shown by `engine show`; nothing to say while it is far.
                Command::ScheduleRunTimeout { .. } => {}
                Command::CancelAttempt { stage, attempt } => {
                    self.line(&format!("■ {stage} (attempt {attempt}) stopped"));
                }
                Command::FinishRun { status } => {
                    let took = after
                        .finished_at_ms
                        .zip(after.started_at_ms)
                        .map(|(f, s)| human_duration(f.saturating_sub(s)))
                        .unwrap_or_default();
                    let what = match status {
                        RunStatus::Failed { stage, message } => {
                            format!("failed at {stage}: {message}")
                        }
                        RunStatus::Cancelled { reason } => format!("cancelled: {reason}"),
                        RunStatus::NeedsAttention { stage, reason } => {
                            format!("needs attention ({stage}): {reason}")
                        }
                        other => other.name().to_string(),
                    };
                    self.line(&format!("run {} {what} ({took})", after.run_id));
                }
            }
        }
    }

    fn run_finished(&self, state: &RunState, order: &crate::history::order::StageOrder) {
        for line in crate::summary::lines(state, order) {
            self.line(&line);
        }
    }

    fn note(&self, text: &str) {
        self.line(text);
    }

    fn message(&self, text: &str) {
        // Outside any run's stages: no run prefix.
        if let Ok(mut out) = self.out.lock() {
            for line in crate::terminal::safe_lines(text).split('\n') {
                let line = match crate::terminal::tone_of(line) {
                    Some(tone) if self.colour => crate::terminal::paint(line, tone, true),
                    _ => line.to_string(),
                };
                let _ = writeln!(out, "{line}");
            }
        }
    }

    fn stage_log(&self, stage: &str, _attempt: u32, level: LogLevel, message: &str) {
        if level >= self.min_level {
            let mark = match level {
                LogLevel::Warn => "warning: ",
                LogLevel::Error => "error: ",
                _ => "",
            };
            for line in message.lines() {
                self.line(&format!("  {stage} · {mark}{line}"));
            }
        }
    }
}

/// The first 10 characters of a commit id.
pub fn short_sha(sha: &str) -> &str {
    sha.get(..10).unwrap_or(sha)
}
