//! What the stage's policy needs from the host, as traits: the real implementation calls the
//! WIT imports ([`crate::glue`]); tests script sessions.

use engine_stage_sdk::agent::{AgentError, Event, SessionRequest, Summary};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Detail for debugging.
    Debug,
    /// Normal progress.
    Info,
    /// Something worth a look.
    Warn,
    /// A failure.
    Error,
}

/// The host services the agent stage uses.
pub trait AgentHost {
    /// A running session.
    type Session: AgentSession;

    /// Starts a session.
    fn start(&mut self, request: &SessionRequest) -> Result<Self::Session, AgentError>;

    /// Wall-clock time, ms since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// Writes a line to the run's log.
    fn log(&mut self, level: LogLevel, message: &str);

    /// Reports progress to the user.
    fn progress(&mut self, message: &str);
}

/// One running session.
pub trait AgentSession {
    /// The next event, waiting for it; `None` once the session has ended.
    fn next_event(&mut self) -> Option<Event>;

    /// Stops the session.
    fn cancel(&mut self);

    /// Waits for the end and returns the summary.
    fn finish(self) -> Summary;
}
