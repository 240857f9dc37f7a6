//! The errors git operations report.

use std::path::PathBuf;

/// Why a git operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is not inside a git working tree.
    #[error("{} is not inside a git repository", .0.display())]
    NotARepo(PathBuf),
    /// A revision that does not name anything in the repository.
    #[error("unknown git revision `{0}`")]
    UnknownRevision(String),
    /// The `git` program could not be started (not installed or not on `PATH`).
    #[error("could not run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// git ran and reported a failure.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// The exit status, as text (`exit status: 128`, `signal: 9`...).
        status: String,
        /// What git wrote on stderr, trimmed.
        stderr: String,
    },
    /// git printed something that is not what the command documents (e.g. not UTF-8).
    #[error("unexpected output from `{command}`: {detail}")]
    UnexpectedOutput {
        /// The command line.
        command: String,
        /// What was wrong.
        detail: String,
    },
    /// A file operation outside git failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done (`reading`, `writing`...).
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// An argument git would misread (a branch or revision starting with `-`, a newline...).
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidArgument {
        /// What the argument is (`branch name`, `exclude pattern`...).
        what: &'static str,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A worktree path is in a state `add_worktree`/`remove_worktree` will not touch.
    #[error("worktree {}: {detail}", path.display())]
    WorktreeConflict {
        /// The worktree path.
        path: PathBuf,
        /// What is in the way.
        detail: String,
    },
    /// None of the candidate base branches exists.
    #[error("no base branch found (tried {tried}); pass one explicitly")]
    NoBaseBranch {
        /// The candidates tried, comma separated.
        tried: String,
    },
}
