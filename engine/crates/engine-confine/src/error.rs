//! Why a process could not be confined.

use std::path::PathBuf;
use std::sync::Arc;

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
        reason: Unavailable,
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

/// Why this machine cannot confine processes (the reason in [`ConfineError::Unavailable`]).
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// The check of the machine's tools failed.
    #[error(transparent)]
    Probe(#[from] ProbeFailure),
    /// Engine runs as root and cannot make a cgroup to hold the process limit.
    #[error(
        "engine runs as root, which is exempt from the per-user process limit, and cannot create \
         a cgroup under /sys/fs/cgroup to limit processes instead"
    )]
    RootWithoutCgroup,
    /// The sandbox's network namespace could not be made.
    #[error(transparent)]
    NetworkNamespace(#[from] NetNsError),
}

/// What the one-time check of the machine found missing (kept for the life of the process,
/// hence `Clone`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProbeFailure {
    /// Not Linux: no namespaces.
    #[error("confinement needs Linux namespaces (this is not Linux)")]
    NotLinux,
    /// `$ENGINE_BWRAP` names something that is not an executable file.
    #[error("ENGINE_BWRAP={} is not an executable file", .0.display())]
    BwrapNotExecutable(PathBuf),
    /// No `bwrap` on the PATH or in the system directories.
    #[error("bubblewrap (`bwrap`) is not installed")]
    NoBwrap,
    /// No `prlimit` on the PATH or in the system directories.
    #[error("util-linux `prlimit` is not installed")]
    NoPrlimit,
    /// bubblewrap could not be started.
    #[error("{} cannot start: {source}", bwrap.display())]
    BwrapCannotStart {
        /// The bubblewrap found.
        bwrap: PathBuf,
        /// Why it could not start.
        source: Arc<std::io::Error>,
    },
    /// The trial sandbox started but failed.
    #[error(
        "a trial sandbox failed ({status}): {stderr} (are unprivileged user namespaces \
         disabled? see docs/security.md)"
    )]
    TrialFailed {
        /// How bubblewrap exited.
        status: std::process::ExitStatus,
        /// What it said, trimmed.
        stderr: String,
    },
}

/// Why the sandbox's own network namespace could not be made.
#[derive(Debug, thiserror::Error)]
pub enum NetNsError {
    /// `unshare(CLONE_NEWNET)` failed.
    #[error("cannot make a network namespace: {0}")]
    Unshare(#[source] std::io::Error),
    /// The socket used to configure the loopback could not be opened.
    #[error("cannot open a socket: {0}")]
    Socket(#[source] std::io::Error),
    /// The loopback's flags could not be read.
    #[error("cannot read lo's flags: {0}")]
    ReadLoopbackFlags(#[source] std::io::Error),
    /// The loopback could not be brought up.
    #[error("cannot bring lo up: {0}")]
    LoopbackUp(#[source] std::io::Error),
    /// The namespace could not be opened to keep it.
    #[error("cannot open the network namespace: {0}")]
    Open(#[source] std::io::Error),
    /// The thread making the namespace panicked.
    #[error("the thread making the network namespace panicked")]
    ThreadPanicked,
}
