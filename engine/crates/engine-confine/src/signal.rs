//! Signals for a process group, with or without its leader. A confined group's leader is
//! bubblewrap itself: a SIGTERM to it would tear the sandbox down at once (SIGKILL for
//! everything inside), so a polite stop goes to the other members only (see
//! [`crate::ProcessGroup`]).

/// Sends `signal` to every process whose process group is `pgid`; with `spare_leader`, not to
/// the leader itself (`pid == pgid`). Processes that left the group (`setsid`) are not reached
/// here: the PID namespace takes them when bubblewrap goes.
pub(crate) fn signal_group(pgid: libc::pid_t, signal: libc::c_int, spare_leader: bool) {
    if pgid <= 1 {
        return;
    }
    if !spare_leader {
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid addresses the
        // group, and `pgid > 1` keeps it off our own group (0) and every process (-1).
        unsafe {
            libc::kill(-pgid, signal);
        }
        return;
    }
    for pid in members(pgid) {
        if pid != pgid {
            // SAFETY: kill(2) has no memory-safety preconditions; `pid` is positive (read from
            // /proc), so it addresses that one process.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }
}

/// Pids whose process group is `pgid`, read from `/proc`.
fn members(pgid: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| group_of(*pid) == Some(pgid))
        .collect()
}

/// The process group of `pid` (field 5 of `/proc/<pid>/stat`, after the parenthesised name).
fn group_of(pid: libc::pid_t) -> Option<libc::pid_t> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_group() {
        // SAFETY: getpid/getpgrp have no preconditions.
        let (pid, pgrp) = unsafe { (libc::getpid(), libc::getpgrp()) };
        assert_eq!(group_of(pid), Some(pgrp));
        assert!(members(pgrp).contains(&pid));
    }
}
