//! Why a session could not be started.

use std::path::PathBuf;

/// Why a session could not be started. (Once started, every failure is an
/// [`crate::Outcome`] in the summary instead.)
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    /// The program could not be started (not installed, not executable...).
    #[error("cannot start `{program}`: {message}")]
    Spawn {
        /// The program.
        program: String,
        /// Why, e.g. "not found on PATH".
        message: String,
    },
    /// The working directory is missing or not a directory.
    #[error("working directory {path}: {message}")]
    Cwd {
        /// The directory.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A file the invocation needs could not be written.
    #[error("cannot write {path}: {message}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The transcript file could not be opened.
    #[error("cannot open the transcript {path}: {message}")]
    Transcript {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}
