//! A cgroup per confined start, when engine may make one (as root, or with a delegated cgroup
//! v2 subtree): the process count and memory of the whole start are capped there, and whatever
//! is left in it when the start ends is killed. Unprivileged users get the per-sandbox process
//! limit from their user namespace instead (root is exempt from `RLIMIT_NPROC`, hence this file).

use std::collections::HashSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::policy::Limits;

const ROOT: &str = "/sys/fs/cgroup";

/// Where engine makes its cgroups.
#[derive(Debug, Clone)]
pub(crate) enum Hierarchy {
    /// cgroup v1: one directory per controller (pids, and memory when mounted).
    V1 {
        pids: PathBuf,
        memory: Option<PathBuf>,
    },
    /// cgroup v2: one directory with the pids and memory controllers enabled for its children.
    V2 { dir: PathBuf },
}

/// Engine's cgroup parent for this process, made once (and stale children of dead engine
/// processes removed); `None` when cgroups cannot be used.
pub(crate) fn hierarchy() -> Option<&'static Hierarchy> {
    static HIERARCHY: OnceLock<Option<Hierarchy>> = OnceLock::new();
    HIERARCHY
        .get_or_init(|| {
            let found = detect();
            if let Some(h) = &found {
                reap_stale(h);
            }
            found
        })
        .as_ref()
}

fn detect() -> Option<Hierarchy> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    if Path::new(ROOT).join("cgroup.controllers").is_file() {
        let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
        let dir = Path::new(ROOT)
            .join(path.trim_start_matches('/'))
            .join("engine-sandboxes");
        std::fs::create_dir_all(&dir).ok()?;
        // Children get pids and memory only when this directory hands them down.
        std::fs::write(dir.join("cgroup.subtree_control"), "+pids +memory").ok()?;
        return Some(Hierarchy::V2 { dir });
    }
    let controller = |name: &str| -> Option<PathBuf> {
        let path = own.lines().find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            controllers.split(',').any(|c| c == name).then_some(path)
        })?;
        let dir = Path::new(ROOT)
            .join(name)
            .join(path.trim_start_matches('/'))
            .join("engine-sandboxes");
        std::fs::create_dir_all(&dir).ok()?;
        Some(dir)
    };
    let pids = controller("pids")?;
    Some(Hierarchy::V1 {
        pids,
        memory: controller("memory"),
    })
}

/// One start's cgroup: its directories (one per v1 controller, or one v2 directory).
#[derive(Debug)]
pub(crate) struct Cgroup {
    dirs: Vec<PathBuf>,
    /// The file of each directory the child writes `0` into to join: see [`Cgroup::join_files`].
    join_file: &'static str,
}

impl Cgroup {
    /// Makes `engine-<pid>-<n>` under the hierarchy with `limits` applied.
    pub(crate) fn create(hierarchy: &Hierarchy, limits: &Limits) -> Result<Cgroup, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "engine-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut settings: Vec<(PathBuf, &str, String)> = Vec::new();
        let dirs = match hierarchy {
            Hierarchy::V1 { pids, memory } => {
                let pids = pids.join(&name);
                settings.push((pids.clone(), "pids.max", limits.processes.to_string()));
                let mut dirs = vec![pids];
                if let Some(memory) = memory {
                    let memory = memory.join(&name);
                    settings.push((
                        memory.clone(),
                        "memory.limit_in_bytes",
                        limits.memory_bytes.to_string(),
                    ));
                    dirs.push(memory);
                }
                dirs
            }
            Hierarchy::V2 { dir } => {
                let dir = dir.join(&name);
                settings.push((dir.clone(), "pids.max", limits.processes.to_string()));
                settings.push((dir.clone(), "memory.max", limits.memory_bytes.to_string()));
                settings.push((dir.clone(), "memory.swap.max", "0".to_string()));
                vec![dir]
            }
        };
        let cgroup = Cgroup {
            dirs,
            join_file: join_file(hierarchy),
        };
        for dir in &cgroup.dirs {
            std::fs::create_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        for (dir, file, value) in settings {
            let path = dir.join(file);
            // memory.swap.max is absent without swap accounting: not a failure.
            if let Err(e) = std::fs::write(&path, &value)
                && file != "memory.swap.max"
            {
                cgroup.remove();
                return Err(format!("{}: {e}", path.display()));
            }
        }
        Ok(cgroup)
    }

    /// The files the child writes `0` into to join the cgroup before it runs bubblewrap (it
    /// is single-threaded then, between fork and exec).
    ///
    /// cgroup v1: `tasks`, which moves the calling thread, the child's only one, so the whole
    /// process. Its `cgroup.procs` would move the thread group under the kernel's global
    /// threadgroup lock, whose write side waits for an RCU grace period: 5-15 ms of every start
    /// on a machine that starts processes tens of milliseconds apart, against 0.3-0.5 ms for
    /// `tasks` (Linux 6.0 and later skip that lock when one thread moves itself).
    /// cgroup v2 has no per-thread move between domain cgroups: `cgroup.procs`.
    pub(crate) fn join_files(&self) -> Result<Vec<CString>, String> {
        self.dirs
            .iter()
            .map(|d| {
                CString::new(d.join(self.join_file).as_os_str().as_bytes())
                    .map_err(|_| format!("{} has a NUL byte", d.display()))
            })
            .collect()
    }

    /// Kills every process still in the cgroup, then removes it.
    ///
    /// The kill is done before this returns: members are read and sent SIGKILL until a read
    /// finds none that has not been sent it already (one forked between a read and the kill is
    /// found by the next read). A process with SIGKILL pending never runs again and cannot start
    /// another, so from then on the start is over; what is left is the kernel finishing the
    /// exits, after which the directories can go. That wait (often a millisecond or more) is
    /// done on a thread of its own, off the caller's path.
    pub(crate) fn remove(&self) {
        let mut signalled: HashSet<libc::pid_t> = HashSet::new();
        for round in 0..KILL_ROUNDS {
            let fresh: Vec<libc::pid_t> = members(&self.dirs)
                .into_iter()
                .filter(|pid| !signalled.contains(pid))
                .collect();
            for &pid in &fresh {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            if remove_dirs(&self.dirs) {
                return;
            }
            if fresh.is_empty() {
                let dirs = self.dirs.clone();
                let spawned = std::thread::Builder::new()
                    .name("engine-cgroup-rm".into())
                    .spawn(move || remove_when_empty(&dirs));
                if spawned.is_err() {
                    remove_when_empty(&self.dirs);
                }
                return;
            }
            signalled.extend(fresh);
            if round >= 2 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        remove_when_empty(&self.dirs);
    }
}

/// Rounds of [`Cgroup::remove`] that may still find members not yet killed.
const KILL_ROUNDS: usize = 100;

/// Removes `dirs` once the kernel has finished the exits of their killed members (killing any
/// member still there each time), giving up after about half a second: the next engine process
/// removes what is left ([`reap_stale`]).
fn remove_when_empty(dirs: &[PathBuf]) {
    for _ in 0..500 {
        kill_members(dirs);
        if remove_dirs(dirs) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    tracing::warn!(
        "cgroup {} still busy; removed by the next engine process",
        dirs[0].display()
    );
}

/// Removes every directory of `dirs` that is still there; true when none is left.
fn remove_dirs(dirs: &[PathBuf]) -> bool {
    dirs.iter()
        .all(|d| std::fs::remove_dir(d).is_ok() || !d.exists())
}

/// The file a child writes itself into to join a cgroup of `hierarchy` (see
/// [`Cgroup::join_files`]).
fn join_file(hierarchy: &Hierarchy) -> &'static str {
    match hierarchy {
        Hierarchy::V1 { .. } => "tasks",
        Hierarchy::V2 { .. } => "cgroup.procs",
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The processes in `dirs` (every controller's directory), as listed now.
fn members(dirs: &[PathBuf]) -> Vec<libc::pid_t> {
    let mut pids: Vec<libc::pid_t> = dirs
        .iter()
        .filter_map(|dir| std::fs::read_to_string(dir.join("cgroup.procs")).ok())
        .flat_map(|procs| {
            procs
                .lines()
                .filter_map(|l| l.trim().parse::<libc::pid_t>().ok())
                // 0 is a process outside this PID namespace (and would name this process's
                // own group for kill); 1 is never a start's.
                .filter(|&pid| pid > 1)
                .collect::<Vec<_>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn kill_members(dirs: &[PathBuf]) {
    for pid in members(dirs) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Kills and removes cgroups left by engine processes that are gone (`engine-<pid>-<n>` whose
/// pid no longer runs): the last resort after a `kill -9` of the engine.
fn reap_stale(hierarchy: &Hierarchy) {
    let parents: Vec<&PathBuf> = match hierarchy {
        Hierarchy::V1 { pids, memory } => std::iter::once(pids).chain(memory).collect(),
        Hierarchy::V2 { dir } => vec![dir],
    };
    for parent in parents {
        let Ok(entries) = std::fs::read_dir(parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix("engine-"))
                .and_then(|n| n.split('-').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let stale = Cgroup {
                    dirs: vec![entry.path()],
                    join_file: join_file(hierarchy),
                };
                stale.remove();
            }
        }
    }
}

#[cfg(test)]
#[path = "cgroup_tests.rs"]
mod tests;
