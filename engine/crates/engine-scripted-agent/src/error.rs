//! Why the scripted agent could not play its script.

use std::path::PathBuf;

/// A failure of the scripted agent itself (not a scripted misbehaviour).
#[derive(Debug, thiserror::Error)]
pub enum ScriptedAgentError {
    /// The command line is wrong (our own leading options).
    #[error("{0}")]
    Usage(String),
    /// The script file could not be read.
    #[error("cannot read script {}: {source}", path.display())]
    ReadScript {
        /// The script.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The script is not valid.
    #[error("invalid script {}{}: {message}", path.display(), position(*line, *column))]
    InvalidScript {
        /// The script.
        path: PathBuf,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// 1-based column of the problem, when known.
        column: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The state directory (invocation counter and log) could not be used.
    #[error("state directory {}: {source}", path.display())]
    State {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No session of the script fits the invocation.
    #[error("{0}")]
    NoSession(String),
    /// Writing the stream failed (e.g. the reader went away).
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

impl ScriptedAgentError {
    /// The exit code this failure ends the process with: 2 for usage and script errors (like a
    /// CLI usage error), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            ScriptedAgentError::Usage(_)
            | ScriptedAgentError::ReadScript { .. }
            | ScriptedAgentError::InvalidScript { .. }
            | ScriptedAgentError::NoSession(_) => 2,
            ScriptedAgentError::State { .. } | ScriptedAgentError::Output(_) => 1,
        }
    }
}

/// `:line:column` (or `:line`, or nothing) after a path.
fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(":{line}:{column}"),
        (Some(line), None) => format!(":{line}"),
        _ => String::new(),
    }
}
