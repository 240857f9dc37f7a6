//! What the review needs from the host, as traits: the real implementation calls the WIT
//! imports ([`crate::glue`]); tests script git and the sessions.

use engine_stage_sdk::agent::{AgentError, Event, SessionRequest, Summary};

use crate::personas::PromptFiles;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Normal progress.
    Info,
    /// Something worth a look.
    Warn,
}

/// How a `git` run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitOutput {
    /// Exit code; `None` when killed or timed out.
    pub code: Option<i32>,
    /// What the host kept of stdout (its tail).
    pub stdout: String,
    /// Total bytes written to stdout.
    pub stdout_bytes: u64,
    /// The tail of stderr.
    pub stderr: String,
}

/// The host services the review stage uses.
pub trait ReviewHost: PromptFiles {
    /// A running session.
    type Session: ReviewSession;

    /// Runs `git ARGS` in the worktree; `Err` when it cannot be run at all.
    fn git(&mut self, args: &[String]) -> Result<GitOutput, String>;

    /// Starts an agent session.
    fn start(&mut self, request: &SessionRequest) -> Result<Self::Session, AgentError>;

    /// Writes a line to the run's log.
    fn log(&mut self, level: LogLevel, message: &str);

    /// Reports progress to the user.
    fn progress(&mut self, message: &str);
}

/// One running session.
pub trait ReviewSession {
    /// The next event, waiting for it; `None` once the session has ended.
    fn next_event(&mut self) -> Option<Event>;

    /// Waits for the end and returns the summary.
    fn finish(self) -> Summary;
}
