//! Confinement for every process an engine run starts (agent CLI sessions, and the programs
//! stages run: gate commands, git, test runners).
//!
//! Each process runs under [bubblewrap](https://github.com/containers/bubblewrap) in new user,
//! PID, IPC and (unless granted) network namespaces, with every capability dropped:
//!
//! - the host's filesystem appears at the same paths, **read-only**, except the paths the
//!   [`Policy`] makes writable (the run's worktree, the attempt's private temp directory,
//!   granted paths, the agent CLI's own state directory) and private [`Overlay`]s;
//! - [`Policy::hidden`] paths (`~/.ssh`, the engine's state directory...) appear empty;
//! - without the network the process has only its own loopback: nothing on the host, not even
//!   a server on 127.0.0.1, is reachable;
//! - `prlimit` sets the per-process limits (processes, writable memory, file size, no core
//!   dumps); as root, or with a delegated cgroup, a cgroup per start caps the process count and
//!   memory of the whole start;
//! - bubblewrap is the init of the PID namespace and dies with the engine (which holds it with
//!   a parent-death signal), so nothing a process started (a `setsid` daemon included) outlives
//!   the start, an engine `kill -9` or a timeout.
//!
//! The programs a stage runs through `exec` share one start per attempt, a [`Resident`]
//! sandbox whose server (the engine binary, [`serve_resident_if_requested`]) runs them one at
//! a time and kills whatever a command left before the next one starts.
//!
//! Engine fails closed: [`Sandbox::new`] returns [`ConfineError::Unavailable`] when this
//! machine cannot confine, and no process starts.

mod args;
mod cgroup;
mod error;
mod netns;
mod policy;
mod probe;
mod process_group;
mod resident;
mod resident_server;
mod resident_wire;
mod signal;

use std::ffi::CString;
use std::path::{Path, PathBuf};

pub use args::Launch;
pub use error::{ConfineError, NetNsError, ProbeFailure, Unavailable};
pub use policy::{Limits, Network, Overlay, Policy, Purpose};
pub use process_group::{ProcessGroup, lead_new_group};
pub use resident::{
    Ended, Resident, ResidentCommand, ResidentError, output_pipe, resident_enabled,
};
pub use resident_server::serve_resident_if_requested;
pub use resident_wire::WireError;

use args::HostFacts;
use cgroup::Cgroup;

/// The `nobody` user and group: who root is inside the sandbox.
const NOBODY: u32 = 65534;

/// Whether this machine can confine processes; `Err` says what is missing. Cheap after the
/// first call.
pub fn available() -> Result<(), ConfineError> {
    probe::tools()
        .map(|_| ())
        .map_err(|failure| ConfineError::Unavailable {
            reason: failure.into(),
        })
}

/// Starts finding out whether this machine can confine processes (a trial sandbox, a few
/// milliseconds) on a thread of its own, so that a command that will need it does other work
/// meanwhile; [`available`] then waits for that answer instead of starting a second trial.
pub fn probe_in_background() {
    let _ = std::thread::Builder::new()
        .name("engine-confine-probe".into())
        .spawn(|| {
            let _ = probe::tools();
        });
}

/// The confinement of one attempt: a checked [`Policy`], ready to start processes under it.
#[derive(Debug)]
pub struct Sandbox {
    policy: Policy,
    facts: HostFacts,
    bwrap: PathBuf,
    /// Root is exempt from `RLIMIT_NPROC`: its starts need a cgroup for the process limit.
    needs_cgroup: bool,
    /// The sandbox's own empty network namespace (root only), joined by starts without the
    /// network.
    netns: Option<netns::NetNs>,
    /// The attempt's resident sandbox while no command runs in it (see [`Resident`]).
    resident: std::sync::Mutex<Option<Resident>>,
}

/// Holds what a confined start needs until its process has ended; dropping it kills whatever
/// is left of the start (through its cgroup, when it has one) and removes the cgroup.
#[derive(Debug, Default)]
pub struct StartGuard {
    cgroup: Option<Cgroup>,
}

impl Sandbox {
    /// Checks the machine and the policy: bubblewrap works here, every writable path exists
    /// (the temp directory is created), and as root a cgroup can hold the process limit.
    pub fn new(mut policy: Policy) -> Result<Sandbox, ConfineError> {
        let tools = probe::tools().map_err(|failure| ConfineError::Unavailable {
            reason: failure.into(),
        })?;
        std::fs::create_dir_all(&policy.tmp_dir).map_err(|e| ConfineError::Path {
            path: policy.tmp_dir.clone(),
            message: e.to_string(),
        })?;
        policy.tmp_dir = canonical(&policy.tmp_dir)?;
        policy.writable = policy
            .writable
            .iter()
            .map(|p| canonical(p))
            .collect::<Result<_, _>>()?;
        for overlay in &mut policy.overlays {
            overlay.private = canonical(&overlay.private)?;
        }
        // Hidden and read-only paths that do not exist need no masking.
        policy.hidden.retain(|p| p.symlink_metadata().is_ok());
        policy.read_only.retain(|p| p.exists());
        let hidden_files = policy
            .hidden
            .iter()
            .filter(|p| !p.is_dir())
            .cloned()
            .collect();
        // SAFETY: geteuid has no preconditions.
        let needs_cgroup = unsafe { libc::geteuid() } == 0;
        if needs_cgroup && cgroup::hierarchy().is_none() {
            return Err(ConfineError::Unavailable {
                reason: Unavailable::RootWithoutCgroup,
            });
        }
        // Root can make the sandbox's network namespace once instead of once per process.
        let netns = (needs_cgroup && policy.network != Network::All)
            .then(netns::NetNs::create)
            .transpose()
            .map_err(|failure| ConfineError::Unavailable {
                reason: failure.into(),
            })?;
        Ok(Sandbox {
            policy,
            facts: HostFacts {
                prlimit: (!needs_cgroup).then(|| tools.prlimit.clone()),
                hidden_files,
                inside_ids: needs_cgroup.then_some((NOBODY, NOBODY)),
                shared_netns: netns.is_some(),
            },
            bwrap: tools.bwrap.clone(),
            needs_cgroup,
            netns,
            resident: std::sync::Mutex::new(None),
        })
    }

    /// The checked policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The attempt's resident sandbox for one command: the idle one, or a new one when there is
    /// none (or a command killed it). `None` when resident sandboxes are off
    /// ([`resident_enabled`]) or one cannot be started: the caller then starts the command with
    /// [`Sandbox::command`]. Give it back with [`Sandbox::keep_resident`] after a clean answer;
    /// dropping it instead kills it.
    pub async fn take_resident(&self) -> Option<Resident> {
        if !resident_enabled() {
            return None;
        }
        let idle = self
            .resident
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(mut resident) = idle
            && resident.is_alive()
        {
            return Some(resident);
        }
        Resident::start(self).await
    }

    /// Keeps `resident` for the attempt's next command (when another one is kept already, from
    /// commands run at the same time, this one is killed).
    pub fn keep_resident(&self, resident: Resident) {
        let mut slot = self
            .resident
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(resident);
        }
    }

    /// The command that starts `launch` confined. The caller sets stdio, the environment
    /// (which bubblewrap passes on), the process group and its own pre-exec hooks, and keeps
    /// the [`StartGuard`] until the process has ended.
    pub fn command(
        &self,
        launch: &Launch<'_>,
        path_env: Option<&str>,
    ) -> Result<(tokio::process::Command, StartGuard), ConfineError> {
        let program = resolve_program(launch.program, path_env)?;
        let resolved = Launch {
            program: &program,
            ..launch.clone()
        };
        let mut command = tokio::process::Command::new(&self.bwrap);
        command.args(args::bwrap_args(&self.policy, &resolved, &self.facts));
        if !self.policy.network.allows(launch.purpose)
            && let Some(netns) = &self.netns
        {
            join_netns_on_exec(&mut command, netns.raw_fd());
        }
        let mut guard = StartGuard::default();
        if self.needs_cgroup
            && let Some(hierarchy) = cgroup::hierarchy()
        {
            let group =
                Cgroup::create(hierarchy, &self.policy.limits).map_err(ConfineError::Limits)?;
            join_on_exec(
                &mut command,
                group.join_files().map_err(ConfineError::Limits)?,
            );
            limit_on_exec(&mut command, self.policy.limits);
            guard.cgroup = Some(group);
        }
        Ok((command, guard))
    }
}

/// Sets the per-process limits in the child before it runs bubblewrap (inherited by everything
/// inside). The process count is the cgroup's.
fn limit_on_exec(command: &mut tokio::process::Command, limits: Limits) {
    let settings = [
        (libc::RLIMIT_DATA, limits.memory_bytes),
        (libc::RLIMIT_FSIZE, limits.file_size_bytes),
        (libc::RLIMIT_CORE, 0),
    ];
    // SAFETY: the closure runs in the forked child before exec and only calls setrlimit, which
    // is async-signal-safe, on values prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            for (resource, value) in settings {
                let limit = libc::rlimit {
                    rlim_cur: value,
                    rlim_max: value,
                };
                if libc::setrlimit(resource, &raw const limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Makes the child enter the sandbox's network namespace before it runs bubblewrap.
fn join_netns_on_exec(command: &mut tokio::process::Command, fd: libc::c_int) {
    // SAFETY: the closure runs in the forked child before exec and only calls setns, which is
    // async-signal-safe, on a descriptor the sandbox keeps open while it lives.
    unsafe {
        command.pre_exec(move || {
            if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Makes the child move itself into its cgroup before it runs bubblewrap.
fn join_on_exec(command: &mut tokio::process::Command, files: Vec<CString>) {
    // SAFETY: the closure runs in the forked child before exec and only calls
    // async-signal-safe functions (open, write, close) on memory prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            for file in &files {
                let fd = libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let written = libc::write(fd, b"0".as_ptr().cast(), 1);
                libc::close(fd);
                if written != 1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// The program's host path: as given when it holds a slash, else the first executable match on
/// the child's `PATH` (bubblewrap would search it too, but a missing program is reported here
/// the way an unconfined start would report it).
fn resolve_program(program: &Path, path_env: Option<&str>) -> Result<PathBuf, ConfineError> {
    let name = program.to_string_lossy();
    if name.contains('/') {
        return Ok(program.to_path_buf());
    }
    std::env::split_paths(path_env.unwrap_or_default())
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| probe::is_executable(candidate))
        .ok_or_else(|| ConfineError::Program {
            program: name.into_owned(),
            message: "not found on PATH (is it installed?)".into(),
        })
}

fn canonical(path: &Path) -> Result<PathBuf, ConfineError> {
    path.canonicalize().map_err(|e| ConfineError::Path {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
