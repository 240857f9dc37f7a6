//! Why a process could not be confined.

use std::path::PathBuf;

/// A confinement failure. Engine fails closed on every one of them: the process does not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    /// This machine cannot confine processes (no bubblewrap, no user namespaces, not Linux...).
    #[error(
        "cannot confine the processes this run starts: {reason}. Install bubblewrap (Debian/Ubuntu: \
         `apt-get install bubblewrap`, Fedora: `dnf install bubblewrap`) and allow unprivileged \
         user namespaces, or turn confinement off in the workflow with `sandbox: {{ enabled: false }}` \
         (see docs/security.md)"
    )]
    Unavailable {
        /// What is missing.
        reason: String,
    },
    /// A path the policy names could not be prepared.
    #[error("cannot prepare the sandbox path {}: {message}", path.display())]
    Path {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The per-start resource group could not be made.
    #[error("cannot set the resource limits of a confined process: {0}")]
    Limits(String),
    /// The program is not there.
    #[error("{program}: {message}")]
    Program {
        /// The program as asked for.
        program: String,
        /// What went wrong.
        message: String,
    },
}
