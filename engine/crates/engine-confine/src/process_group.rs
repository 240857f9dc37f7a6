//! Host children in a process group of their own that dies with the engine: every program a
//! stage runs and every agent CLI starts this way, confined or not.
//!
//! [`lead_new_group`] prepares the command (the child leads a new group, gets SIGKILL when the
//! engine dies, and is killed when its handle is dropped); [`ProcessGroup`] then signals the
//! whole group, background children included.

use tokio::process::{Child, Command};

use crate::signal::signal_group;

/// Prepares `command` so that its child leads a new process group (its pgid is its pid), gets
/// SIGKILL when the engine dies, even by `kill -9` (Linux: `PR_SET_PDEATHSIG`), and is killed
/// when its [`Child`] is dropped.
///
/// Only the child itself gets the parent-death signal: what it starts is reached by
/// [`ProcessGroup::kill`] while the engine lives, and, when the child is bubblewrap, by the
/// end of its PID namespace. The parent-death signal follows the thread that spawns the child:
/// spawn from async code on a tokio runtime (whose worker threads live as long as the runtime),
/// not from `spawn_blocking`.
pub fn lead_new_group(command: &mut Command) {
    command.process_group(0).kill_on_drop(true);
    die_with_engine(command);
}

#[cfg(target_os = "linux")]
fn die_with_engine(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec, so it must only call
    // async-signal-safe functions: it calls prctl, getppid and _exit, and touches nothing but
    // `parent`, a plain integer copied into the closure before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The engine may have died between fork and prctl: then nothing would ever send
            // the signal, so the child stops here.
            if u32::try_from(libc::getppid()) != Ok(parent) {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_engine(_command: &mut Command) {}

/// The process group a child leads (started from a command prepared by [`lead_new_group`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessGroup {
    id: libc::pid_t,
    /// The leader is bubblewrap (the command came from [`crate::Sandbox::command`]).
    bubblewrap_leads: bool,
}

impl ProcessGroup {
    /// The group `child` leads; `confined` says the child is bubblewrap. None once the child
    /// has been reaped (its pid, and so the group's id, may then belong to someone else), or
    /// when its pid cannot name a group.
    pub fn led_by(child: &Child, confined: bool) -> Option<ProcessGroup> {
        let id = libc::pid_t::try_from(child.id()?).ok()?;
        // Group ids 0 and 1 would address the caller's own group or init's.
        (id > 1).then_some(ProcessGroup {
            id,
            bubblewrap_leads: confined,
        })
    }

    /// The group's id, which is also its leader's pid.
    pub fn id(&self) -> libc::pid_t {
        self.id
    }

    /// Asks the group to stop (SIGTERM). A confined group's leader is spared: bubblewrap would
    /// tear the sandbox down at once (SIGKILL for everything inside), leaving the CLI no time to
    /// stop cleanly; it ends when the process it runs has ended.
    pub fn terminate(&self) {
        signal_group(self.id, libc::SIGTERM, self.bubblewrap_leads);
    }

    /// Kills every member of the group (SIGKILL), the leader included.
    pub fn kill(&self) {
        signal_group(self.id, libc::SIGKILL, false);
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    use tokio::process::ChildStdout;

    use super::*;

    /// Bounds a wait that only a broken test would reach.
    const HANG: Duration = Duration::from_mins(1);

    /// Starts a shell that leads a new group and runs a background `sleep` in it (which
    /// inherits its stdout); returns the shell, the sleep's pid and the shell's stdout.
    async fn shell_with_background_child() -> (Child, libc::pid_t, BufReader<ChildStdout>) {
        let mut command = Command::new("sh");
        command
            .args(["-c", "sleep 600 & echo $!; wait $!"])
            .stdout(Stdio::piped())
            .stdin(Stdio::null());
        lead_new_group(&mut command);
        let mut child = command.spawn().expect("sh starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .await
            .expect("the shell prints the pid");
        let sleep_pid = line.trim().parse().expect("a pid");
        (child, sleep_pid, stdout)
    }

    /// Reads `stdout` to its end, which comes once every process holding it has exited.
    async fn until_every_writer_exited(mut stdout: BufReader<ChildStdout>) {
        let mut rest = Vec::new();
        tokio::time::timeout(HANG, stdout.read_to_end(&mut rest))
            .await
            .expect("every process holding the pipe exited")
            .expect("the pipe reads to its end");
    }

    #[tokio::test]
    async fn kill_takes_the_whole_group_background_children_included() {
        let (mut child, sleep_pid, stdout) = shell_with_background_child().await;
        let group = ProcessGroup::led_by(&child, false).expect("a running child leads a group");
        assert_eq!(
            Some(group.id()),
            child.id().and_then(|id| libc::pid_t::try_from(id).ok())
        );
        // SAFETY: getpgid has no memory-safety preconditions.
        let sleep_group = unsafe { libc::getpgid(sleep_pid) };
        assert_eq!(
            sleep_group,
            group.id(),
            "the background child is in the group"
        );
        // SAFETY: as above, for the test's own process.
        let own_group = unsafe { libc::getpgid(0) };
        assert_ne!(own_group, group.id(), "the child left the engine's group");

        group.kill();
        let status = child.wait().await.expect("the shell is reaped");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        // The sleep holds the pipe too: its end means the sleep was killed as well.
        until_every_writer_exited(stdout).await;
    }

    #[tokio::test]
    async fn terminate_of_an_unconfined_group_reaches_the_leader() {
        let (mut child, _, stdout) = shell_with_background_child().await;
        let group = ProcessGroup::led_by(&child, false).expect("a running child leads a group");
        group.terminate();
        let status = child.wait().await.expect("the shell is reaped");
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        until_every_writer_exited(stdout).await;
    }

    #[tokio::test]
    async fn terminate_of_a_confined_group_spares_the_leader() {
        let (mut child, _, stdout) = shell_with_background_child().await;
        // The shell stands for bubblewrap: SIGTERM goes to the sleep only, so the shell's
        // `wait` returns the sleep's status (128 + SIGTERM) and the shell exits with it.
        let group = ProcessGroup::led_by(&child, true).expect("a running child leads a group");
        group.terminate();
        let status = child.wait().await.expect("the shell is reaped");
        assert_eq!(status.signal(), None, "the leader was spared");
        assert_eq!(status.code(), Some(128 + libc::SIGTERM));
        until_every_writer_exited(stdout).await;
    }

    #[tokio::test]
    async fn a_reaped_child_leads_no_group() {
        let mut command = Command::new("true");
        lead_new_group(&mut command);
        let mut child = command.spawn().expect("true starts");
        child.wait().await.expect("true is reaped");
        assert_eq!(ProcessGroup::led_by(&child, false), None);
    }
}
