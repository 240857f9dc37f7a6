//! What can go wrong while engine answers pull-request reviews, and the exit code of each.

use std::path::PathBuf;

use crate::{EngineError, exit};

/// An error of `engine reviews` (see [`super`]).
#[derive(Debug, thiserror::Error)]
pub enum ReviewsError {
    /// `gh` could not be started (not installed, not on `PATH`).
    #[error("cannot run `gh` ({0}): install the GitHub CLI and log in (`gh auth login`)")]
    GhMissing(std::io::Error),
    /// `gh` ran and failed.
    #[error("`gh {command}` failed ({status}): {stderr}")]
    Gh {
        /// The command after `gh`, abbreviated.
        command: String,
        /// How it exited.
        status: String,
        /// What it printed on stderr (trimmed, capped).
        stderr: String,
    },
    /// `gh` printed something that is not what its documented JSON looks like.
    #[error("`gh {command}` printed unexpected output: {detail}")]
    GhOutput {
        /// The command after `gh`, abbreviated.
        command: String,
        /// What was wrong.
        detail: String,
    },
    /// A value from GitHub that engine refuses to use (a branch name that is not a plain
    /// branch name...).
    #[error("PR #{pr}: {detail}")]
    Refused {
        /// The pull request.
        pr: u64,
        /// Why.
        detail: String,
    },
    /// The pending-reply record of a pull request cannot be read or written.
    #[error("{}: {detail}", path.display())]
    Journal {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A git operation failed.
    #[error("git: {0}")]
    Git(#[from] engine_git::GitError),
    /// A git command of the fetch or the push failed (or could not start).
    #[error("`git {command}` failed ({status}): {stderr}")]
    GitCommand {
        /// The git command (its first word).
        command: String,
        /// How it exited.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Anything the rest of engine reports (workflow, state directory, the run itself).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl ReviewsError {
    /// The exit code of `engine reviews` when this error ends it: what GitHub or git refused
    /// is a failure to do the work (1); engine's own errors keep their codes.
    pub fn exit_code(&self) -> u8 {
        match self {
            ReviewsError::Engine(e) => e.exit_code(),
            ReviewsError::Journal { .. } => exit::INTERNAL,
            ReviewsError::Git(_)
            | ReviewsError::GitCommand { .. }
            | ReviewsError::GhMissing(_)
            | ReviewsError::Gh { .. }
            | ReviewsError::GhOutput { .. }
            | ReviewsError::Refused { .. } => exit::RUN_FAILED,
        }
    }
}
