//! What triage needs from the host, as traits: the real implementation calls the WIT imports
//! ([`crate::glue`]); tests script sessions and a file system.

use engine_stage_sdk::agent::{AgentError, Event, SessionRequest, Summary};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Normal progress.
    Info,
    /// Something worth a look.
    Warn,
}

/// The host services triage uses.
pub trait TriageHost {
    /// A running agent session.
    type Session: TriageSession;

    /// Starts an agent session.
    fn start(&mut self, request: &SessionRequest) -> Result<Self::Session, AgentError>;

    /// Whether the worktree is mounted (the workflow grants `workspace: read`).
    fn workspace_mounted(&self) -> bool;

    /// Whether `relative` (a path relative to the worktree's root) exists there; false when
    /// the worktree is not mounted.
    fn exists(&self, relative: &str) -> bool;

    /// Writes a line to the run's log.
    fn log(&mut self, level: LogLevel, message: &str);

    /// Reports progress to the user.
    fn progress(&mut self, message: &str);
}

/// One running agent session.
pub trait TriageSession {
    /// The next event, waiting for it; `None` once the session has ended.
    fn next_event(&mut self) -> Option<Event>;

    /// Waits for the end and returns the summary.
    fn finish(self) -> Summary;
}
