//! An attempt's resident sandbox, host side: ONE bubblewrap start per attempt (same policy,
//! mounts, limits and network decision as a per-command start) whose server, the engine
//! binary itself (see [`crate::serve_resident_if_requested`]), runs the attempt's commands one
//! at a time. A command then costs a fork in a small process instead of a fork of the engine
//! and a whole bubblewrap set-up.
//!
//! Each command gets pipes the engine made (its output flows straight to the engine), exactly
//! the environment the engine gives, and its own process group; when it ends the server kills
//! every other process of the sandbox before answering. Any anomaly (the server gone, a
//! malformed answer) is the caller's cue to drop the [`Resident`], which kills the whole
//! sandbox (its process group and, as root, its cgroup), as does a timeout or a cancelled call.
//! `ENGINE_EXEC_RESIDENT=0` turns this off (one bubblewrap start per command, as before).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::unix::pipe;

use crate::args::Launch;
use crate::policy::Purpose;
use crate::resident_server::{SERVE_ARG, SERVER_FD};
use crate::resident_wire::{HELLO, Reply, WireError, WireRequest, encode_request};
use crate::{ProcessGroup, Sandbox, StartGuard, lead_new_group};

/// Longest wait for a new server's greeting (a bubblewrap start takes milliseconds).
const HELLO_WAIT: Duration = Duration::from_secs(30);

/// Set once a server failed to greet: this binary cannot serve (a test harness, or an engine
/// replaced on disk by another version), so later attempts start per command at once.
static SERVER_UNUSABLE: AtomicBool = AtomicBool::new(false);

/// Whether commands run through a resident sandbox: on unless `ENGINE_EXEC_RESIDENT` is `0`,
/// `false`, `off` or `no` (read once), and until a server failed to start.
pub fn resident_enabled() -> bool {
    static FROM_ENV: OnceLock<bool> = OnceLock::new();
    let on = *FROM_ENV.get_or_init(|| {
        std::env::var("ENGINE_EXEC_RESIDENT").map_or(true, |v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "0" | "false" | "off" | "no"
            )
        })
    });
    on && !SERVER_UNUSABLE.load(Ordering::Relaxed)
}

/// One command for a [`Resident`].
#[derive(Debug, Clone, Copy)]
pub struct ResidentCommand<'a> {
    /// The executable's host path, already resolved.
    pub program: &'a Path,
    /// Its arguments.
    pub args: &'a [String],
    /// Its complete environment (the sandbox's `TMPDIR`, `TMP` and `TEMP` are set over it, as
    /// a per-command start does).
    pub env: &'a [(String, String)],
    /// Its working directory (host path; the host filesystem appears at the same paths).
    pub cwd: &'a Path,
}

/// How a command run by a [`Resident`] ended.
#[derive(Debug)]
pub enum Ended {
    /// It exited with this code.
    Exited(i32),
    /// This signal ended it.
    Signaled(i32),
    /// It could not be started (the resident is still fine).
    NotStarted(io::Error),
}

/// Something went wrong between the engine and the server: the caller must drop the
/// [`Resident`] (which kills the sandbox) and report the command as failed.
#[derive(Debug, thiserror::Error)]
pub enum ResidentError {
    /// The command could not be encoded (too large).
    #[error("the command cannot be sent to the sandbox: {0}")]
    Request(#[source] WireError),
    /// Writing the request failed.
    #[error("cannot hand the command to the sandbox's server: {0}")]
    Send(#[source] io::Error),
    /// The server went away before answering.
    #[error(
        "the sandbox's server ended before the command's end was known (did the command kill it?)"
    )]
    ServerGone,
    /// Reading the answer failed.
    #[error("cannot read the sandbox server's answer: {0}")]
    Receive(#[source] io::Error),
    /// The answer was not a valid reply.
    #[error("the sandbox's server answered nonsense ({0}); the sandbox was killed")]
    Malformed(#[source] WireError),
}

/// An attempt's resident sandbox; dropping it kills the whole sandbox.
#[derive(Debug)]
pub struct Resident {
    child: tokio::process::Child,
    group: Option<ProcessGroup>,
    socket: tokio::net::UnixStream,
    tmp_dir: PathBuf,
    /// Held last: its drop clears the sandbox's cgroup once the group is killed.
    _start: StartGuard,
}

/// The engine binary as the sandbox will see it, when it is still there (an engine deleted or
/// replaced during a run shows as `... (deleted)`).
fn server_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.is_file().then_some(exe)
}

impl Resident {
    /// Starts the sandbox and its server and waits for its greeting; `None` (said at debug
    /// level) when that cannot be done, and the caller then starts the command on its own.
    pub(crate) async fn start(sandbox: &Sandbox) -> Option<Resident> {
        let Some(exe) = server_binary() else {
            tracing::debug!("engine binary not found: one sandbox per command");
            return None;
        };
        let (host, server) = match std::os::unix::net::UnixStream::pair() {
            Ok(pair) => pair,
            Err(e) => {
                tracing::debug!("no socket pair for a resident sandbox ({e}): one per command");
                return None;
            }
        };
        let args = [SERVE_ARG.to_string()];
        let launch = Launch {
            purpose: Purpose::Exec,
            program: &exe,
            args: &args,
            cwd: &sandbox.policy().tmp_dir,
            extra_writable: &[],
            extra_readable: std::slice::from_ref(&exe),
        };
        let (mut command, start) = match sandbox.command(&launch, None) {
            Ok(prepared) => prepared,
            Err(e) => {
                tracing::debug!("cannot prepare a resident sandbox ({e}): one per command");
                return None;
            }
        };
        command
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        pass_socket_on_exec(&mut command, server.as_raw_fd());
        lead_new_group(&mut command);
        let spawned = command.spawn();
        drop(server);
        let child = match spawned {
            Ok(child) => child,
            Err(e) => {
                tracing::debug!("cannot start a resident sandbox ({e}): one per command");
                return None;
            }
        };
        let group = ProcessGroup::led_by(&child, true);
        let socket = host
            .set_nonblocking(true)
            .and_then(|()| tokio::net::UnixStream::from_std(host));
        let mut resident = Resident {
            child,
            group,
            socket: match socket {
                Ok(socket) => socket,
                Err(e) => {
                    tracing::debug!("cannot watch a resident sandbox ({e}): one per command");
                    return None;
                }
            },
            tmp_dir: sandbox.policy().tmp_dir.clone(),
            _start: start,
        };
        let mut hello = [0u8; 8];
        let greeted =
            tokio::time::timeout(HELLO_WAIT, resident.socket.read_exact(&mut hello)).await;
        if matches!(greeted, Ok(Ok(_))) && hello == HELLO {
            return Some(resident);
        }
        tracing::debug!(
            "{} did not start as a resident server: one sandbox per command from now on",
            exe.display()
        );
        SERVER_UNUSABLE.store(true, Ordering::Relaxed);
        None
    }

    /// Whether the sandbox still runs and its idle server is still there: an idle server sends
    /// nothing, so a readable socket (end of file, or stray bytes) means it is gone or broken.
    pub(crate) fn is_alive(&mut self) -> bool {
        let mut poll = libc::pollfd {
            fd: self.socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll reads and writes only the one pollfd we own; a zero timeout never blocks.
        let ready = unsafe { libc::poll(&raw mut poll, 1, 0) };
        ready == 0 && matches!(self.child.try_wait(), Ok(None))
    }

    /// Runs one command: hands it to the server with the write ends of its output pipes (closed
    /// here once sent) and waits until it and everything it started have ended.
    pub async fn run(
        &mut self,
        command: &ResidentCommand<'_>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    ) -> Result<Ended, ResidentError> {
        let mut env: Vec<_> = command
            .env
            .iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        for name in ["TMPDIR", "TMP", "TEMP"] {
            env.push((name.into(), self.tmp_dir.clone().into_os_string()));
        }
        let frame = encode_request(&WireRequest {
            program: command.program.to_path_buf(),
            cwd: command.cwd.to_path_buf(),
            args: command.args.iter().map(Into::into).collect(),
            env,
        })
        .map_err(ResidentError::Request)?;
        let sent = self
            .send_with_fds(&frame, [stdout.as_raw_fd(), stderr.as_raw_fd()])
            .await
            .map_err(ResidentError::Send)?;
        drop(stdout);
        drop(stderr);
        self.socket
            .write_all(&frame[sent..])
            .await
            .map_err(ResidentError::Send)?;
        let mut reply = [0u8; 8];
        match self.socket.read_exact(&mut reply).await {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                ) =>
            {
                return Err(ResidentError::ServerGone);
            }
            Err(e) => return Err(ResidentError::Receive(e)),
        }
        Ok(
            match Reply::decode(reply).map_err(ResidentError::Malformed)? {
                Reply::Exited(code) => Ended::Exited(code),
                Reply::Signaled(signal) => Ended::Signaled(signal),
                Reply::NotStarted(errno) => Ended::NotStarted(io::Error::from_raw_os_error(errno)),
            },
        )
    }

    /// Sends the first part of `frame` with `fds` attached; returns how many bytes went.
    async fn send_with_fds(&self, frame: &[u8], fds: [RawFd; 2]) -> io::Result<usize> {
        self.socket
            .async_io(Interest::WRITABLE, || {
                send_fds_once(self.socket.as_raw_fd(), frame, fds)
            })
            .await
    }
}

impl Drop for Resident {
    fn drop(&mut self) {
        if let Some(group) = self.group {
            group.kill();
        }
        let _ = self.child.start_kill();
    }
}

/// One `sendmsg` of `frame` with `fds` as `SCM_RIGHTS` (no `SIGPIPE`).
fn send_fds_once(socket: RawFd, frame: &[u8], fds: [RawFd; 2]) -> io::Result<usize> {
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: frame.as_ptr().cast_mut().cast(),
        iov_len: frame.len(),
    };
    // SAFETY: msghdr is plain data; zeroed is a valid value.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &raw mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    let payload = u32::try_from(size_of_val(&fds)).unwrap_or(8);
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure computations; the header and data are written
    // inside `control`, which CMSG_SPACE(8) bytes fit.
    unsafe {
        message.msg_controllen = libc::CMSG_SPACE(payload) as usize;
        let cmsg = libc::CMSG_FIRSTHDR(&raw const message);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(payload) as usize;
        let bytes: Vec<u8> = fds.iter().flat_map(|fd| fd.to_ne_bytes()).collect();
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), libc::CMSG_DATA(cmsg), bytes.len());
    }
    // SAFETY: the message points at `frame` and `control`, both live for the call; sendmsg
    // only reads them.
    let sent = unsafe { libc::sendmsg(socket, &raw const message, libc::MSG_NOSIGNAL) };
    usize::try_from(sent).map_err(|_| io::Error::last_os_error())
}

/// Makes the child hold the server's end of the socket as [`SERVER_FD`], without
/// close-on-exec, before it runs bubblewrap (which passes it on to the server).
fn pass_socket_on_exec(command: &mut tokio::process::Command, fd: RawFd) {
    // SAFETY: the closure runs in the forked child before exec and only calls dup2 and fcntl,
    // which are async-signal-safe, on a descriptor number copied before the fork.
    unsafe {
        command.pre_exec(move || {
            let result = if fd == SERVER_FD {
                libc::fcntl(fd, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, SERVER_FD)
            };
            if result < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A pipe for a command's output: the engine's reading end and the write end to hand over.
pub fn output_pipe() -> io::Result<(pipe::Receiver, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((pipe::Receiver::from_owned_fd(read)?, write))
}

#[cfg(test)]
#[path = "resident_tests.rs"]
mod tests;
