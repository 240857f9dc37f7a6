//! The host's error type, and the exit code each error maps to.

use std::path::PathBuf;

use crate::exit;

/// The line printed after an [`EngineError::Internal`] message: the failure is engine's, not the
/// user's, and this is how to get it fixed.
pub const BUG_REPORT_LINE: &str = "this is a bug in engine: please report it with the command \
     you ran, this message, the output of the same command with RUST_LOG=debug and the archive \
     `engine bug-report` writes (the latest run's log and state, secrets redacted)";

/// What can go wrong in a CLI command.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The workflow is invalid; each diagnostic names <file:line:col> and the field.
    #[error("{0}")]
    InvalidWorkflow(#[from] engine_workflow::Diagnostics),
    /// Bad arguments or a request that cannot be met as given: the user's fault.
    #[error("{0}")]
    Usage(String),
    /// Something inside engine went wrong that no input explains (a broken invariant, a driver
    /// task that failed, a socket that misbehaved): a bug. Exits [`exit::INTERNAL`], and the
    /// printed message says how to report it.
    #[error("{0}")]
    Internal(String),
    /// No run with this id (or prefix).
    #[error("{0}")]
    UnknownRun(String),
    /// Another engine process holds the state directory.
    #[error("{0}")]
    Busy(engine_store::StoreError),
    /// The store failed.
    #[error("state store: {0}")]
    Store(engine_store::StoreError),
    /// A git operation failed.
    #[error("git: {0}")]
    Git(#[from] engine_git::GitError),
    /// The WebAssembly runtime failed outside any stage attempt.
    #[error("runtime: {0}")]
    Runtime(#[from] engine_runtime::RuntimeError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The state machine refused an event a command produced (e.g. cancelling a finished run).
    #[error("{0}")]
    Rejected(#[from] engine_core::Rejected),
    /// A task source failed (a malformed tasks file, an unknown task, a source that trapped).
    #[error("{0}")]
    TaskSource(#[from] engine_tasks::SourceError),
    /// A limit (the daily budget) stops a new run before it starts.
    #[error("{0}")]
    LimitReached(String),
    /// Confinement is on and this machine cannot confine the processes a run starts.
    #[error("{0}")]
    Unconfined(#[from] engine_confine::ConfineError),
}

impl From<engine_store::StoreError> for EngineError {
    fn from(e: engine_store::StoreError) -> Self {
        match e {
            engine_store::StoreError::Busy { .. } => EngineError::Busy(e),
            engine_store::StoreError::NotFound(_) | engine_store::StoreError::Ambiguous { .. } => {
                EngineError::UnknownRun(e.to_string())
            }
            other => EngineError::Store(other),
        }
    }
}

impl EngineError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            // What the repository or the command line lacks (no commits, no such branch) is
            // the user's to fix, not a bug.
            EngineError::InvalidWorkflow(_)
            | EngineError::Usage(_)
            | EngineError::UnknownRun(_)
            | EngineError::Rejected(_)
            | EngineError::Git(
                engine_git::GitError::NotARepo(_)
                | engine_git::GitError::UnknownRevision(_)
                | engine_git::GitError::InvalidArgument { .. }
                | engine_git::GitError::NoBaseBranch { .. },
            ) => exit::INVALID_INPUT,
            EngineError::Busy(_) => exit::STATE_BUSY,
            EngineError::TaskSource(e) => {
                if e.is_temporary() || matches!(e, engine_tasks::SourceError::Failed(_)) {
                    exit::INTERNAL
                } else {
                    exit::INVALID_INPUT
                }
            }
            EngineError::LimitReached(_) => exit::LIMIT_REACHED,
            EngineError::Unconfined(_) => exit::CANNOT_CONFINE,
            EngineError::Internal(_)
            | EngineError::Store(_)
            | EngineError::Git(_)
            | EngineError::Runtime(_)
            | EngineError::Io { .. } => exit::INTERNAL,
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }
}
