//! Why an attempt's confinement could not be set up or ended.

use std::path::PathBuf;

use engine_git::GitError;

/// A failure of [`super::AttemptSandbox`]: the attempt cannot start confined, or what its
/// processes did cannot be taken back onto the run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The attempt's own directory could not be created.
    #[error("cannot create the attempt's directory {}: {source}", path.display())]
    AttemptDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A git query or update failed.
    #[error("{0}")]
    Git(#[from] GitError),
    /// The machine or the policy cannot confine the attempt.
    #[error("{0}")]
    Confine(#[from] engine_confine::ConfineError),
    /// The run branch is gone.
    #[error("the run branch {0} does not exist")]
    NoRunBranch(String),
    /// The run branch's ref directory could not be copied.
    #[error("cannot copy {}: {source}", path.display())]
    CopyRefs {
        /// The ref directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The private copy of the run branch's refs could not be written.
    #[error("cannot prepare the run branch's private refs: {0}")]
    PrivateRefs(#[source] std::io::Error),
    /// The attempt's processes deleted the run branch inside the sandbox.
    #[error(
        "the run branch {0} was deleted inside the sandbox; its commits are kept on the real \
         branch as they were"
    )]
    BranchDeleted(String),
    /// The attempt's processes set the run branch to something that is not a commit.
    #[error(
        "the run branch {branch} was set to {value:?} inside the sandbox, which is not a commit"
    )]
    NotACommit {
        /// The run branch.
        branch: String,
        /// What it was set to.
        value: String,
    },
    /// The run branch could not be moved to what the attempt committed.
    #[error(
        "the commits made inside the sandbox could not be put on the run branch {branch}: {source}"
    )]
    SyncBack {
        /// The run branch.
        branch: String,
        /// Why.
        source: GitError,
    },
    /// The commits of an interrupted earlier attempt could not be recovered.
    #[error("cannot recover the commits of an interrupted attempt: {0}")]
    Recover(#[source] GitError),
    /// The attempt ran unconfined and something outside the run changed meanwhile.
    #[error(
        "stage {stage} ran unconfined (sandbox.enabled: false) and something outside the run \
         changed while it ran: {}; check the repository before going on",
        changes.join("; ")
    )]
    OutsideChanged {
        /// The stage.
        stage: String,
        /// What changed, one entry per ref.
        changes: Vec<String>,
    },
    /// A cache's directory could not be created.
    #[error("cannot create the directory of cache {name} ({}): {source}", path.display())]
    CacheDir {
        /// The cache.
        name: String,
        /// Its directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A `path:` cache cannot be mounted where the workflow says.
    #[error("cannot mount cache {name} at {}: {why}", path.display())]
    CacheMountPoint {
        /// The cache.
        name: String,
        /// Where it would be mounted.
        path: PathBuf,
        /// Why not.
        why: String,
    },
    /// A `path:` cache for an attempt that runs unconfined.
    #[error(
        "cache {0} is a `path:` cache, which the sandbox mounts, and this attempt runs \
         unconfined (sandbox.enabled: false)"
    )]
    CacheNeedsSandbox(String),
}
