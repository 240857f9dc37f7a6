//! What a confined process may touch: the policy of one attempt, already resolved to host paths.

use std::path::PathBuf;

/// Why a process is started: agent sessions and programs stages run get different network
/// grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An agent CLI session (needs its model API when the network is granted).
    Agent,
    /// A program a stage runs through `exec` (gate commands, git, test runners).
    Exec,
}

/// Which processes of a stage get the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// Nothing: every process gets a network namespace with only its own loopback.
    None,
    /// Agent sessions share the host's network (their model API); programs stages run do not.
    #[default]
    Agent,
    /// Every process shares the host's network.
    All,
}

impl Network {
    /// Whether a process started for `purpose` shares the host's network.
    pub fn allows(self, purpose: Purpose) -> bool {
        match self {
            Network::None => false,
            Network::Agent => purpose == Purpose::Agent,
            Network::All => true,
        }
    }

    /// The workflow spelling (`none`, `agent`, `all`).
    pub fn name(self) -> &'static str {
        match self {
            Network::None => "none",
            Network::Agent => "agent",
            Network::All => "all",
        }
    }
}

/// Resource limits of an attempt's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most processes (and threads) alive at once in one confined start.
    pub processes: u64,
    /// Most writable memory of each process (`RLIMIT_DATA`), and of each confined start as a
    /// whole when engine can use a cgroup.
    pub memory_bytes: u64,
    /// Largest file a process may write (`RLIMIT_FSIZE`).
    pub file_size_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            processes: 1024,
            memory_bytes: 8 << 30,
            file_size_bytes: 8 << 30,
        }
    }
}

/// A private directory shown at another path inside the sandbox (the run's own view of a shared
/// directory, such as the repository's ref directory holding the run branch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    /// The private host directory (read-write).
    pub private: PathBuf,
    /// Where it appears inside the sandbox.
    pub at: PathBuf,
}

/// The filesystem, network and limits of one attempt's processes. Paths are host paths; the
/// sandbox shows the host's filesystem at the same paths, read-only except for what is listed
/// here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// Directories (or files) writable in place: the worktree, granted paths, the agent CLI's
    /// own state directory.
    pub writable: Vec<PathBuf>,
    /// Paths shown read-only even inside a writable one (the worktree's `.git` file, the
    /// worktree metadata's `commondir` and `gitdir`); applied after every writable path.
    pub read_only: Vec<PathBuf>,
    /// Paths replaced by an empty directory (or an empty file): secrets such as `~/.ssh` and
    /// the engine's state directory.
    pub hidden: Vec<PathBuf>,
    /// Private directories shown at shared paths.
    pub overlays: Vec<Overlay>,
    /// The attempt's private temporary directory (`TMPDIR`, `TMP`, `TEMP`).
    pub tmp_dir: PathBuf,
    /// Who gets the network.
    pub network: Network,
    /// Resource limits.
    pub limits: Limits,
}
