//! The resident server: the engine binary itself, started inside an attempt's sandbox with a
//! hidden first argument, running the attempt's commands one at a time (see
//! [`crate::Resident`] for the host side and [`crate::resident_wire`] for the messages).
//!
//! It shares the sandbox with untrusted commands, so it trusts nothing they can touch: it is
//! not dumpable (no `ptrace`, no `/proc/<pid>/mem`), its socket is close-on-exec (no command
//! inherits it), it keeps no other descriptor, and after each command it kills every other
//! process of the sandbox's PID namespace before it answers, so nothing a command started
//! outlives it. It exits when the engine closes the socket.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::resident_wire::{HELLO, Reply, WireRequest, decode_request, request_len};

/// The hidden first argument that makes the engine binary serve instead of starting up.
pub(crate) const SERVE_ARG: &str = "__engine-resident-exec";

/// The descriptor the server's end of the socket is passed as.
pub(crate) const SERVER_FD: RawFd = 3;

/// How many times the server looks for processes left after a command (1 ms apart) before it
/// answers anyway (a process stuck in uninterruptible I/O cannot die sooner).
const SETTLE_ROUNDS: u32 = 2000;

/// Serves when this process was started as an attempt's resident server (its first argument is
/// the hidden one), and then never returns; otherwise returns at once, having done nothing.
///
/// The engine binary calls this first thing in `main`, before any other start-up work (no
/// async runtime, no logging, no argument parsing), so that the server is small and forks
/// cheaply.
pub fn serve_resident_if_requested() {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() == Some(OsStr::new(SERVE_ARG)) && args.next().is_none() {
        std::process::exit(serve());
    }
}

/// The server's loop; the process's exit code.
fn serve() -> i32 {
    // `kill(-1)` after each command must only ever reach the sandbox's own PID namespace:
    // serve only as the first process bubblewrap's init (PID 1 of a new namespace) started,
    // never when someone runs the binary this way on the host.
    if !(std::process::id() == 2 && std::os::unix::process::parent_id() == 1) {
        return 2;
    }
    // SAFETY: prctl(PR_SET_DUMPABLE) has no memory-safety preconditions.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    if !is_socket(SERVER_FD) {
        return 2;
    }
    // SAFETY: fcntl on a descriptor number; no memory is touched.
    if unsafe { libc::fcntl(SERVER_FD, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return 2;
    }
    close_all_but_stdio_and_socket();
    // SAFETY: the descriptor is open (checked above), a socket, and owned by nothing else in
    // this process.
    let mut socket = UnixStream::from(unsafe { OwnedFd::from_raw_fd(SERVER_FD) });
    if socket.write_all(&HELLO).is_err() {
        return 3;
    }
    loop {
        let (request, [stdout, stderr]) = match receive(&socket) {
            Ok(Some(received)) => received,
            Ok(None) => return 0,
            Err(()) => return 4,
        };
        let reply = run(&request, stdout, stderr);
        end_everything_else();
        let Some(reply) = reply else {
            return 5;
        };
        if socket.write_all(&reply.encode()).is_err() {
            return 6;
        }
    }
}

fn is_socket(fd: RawFd) -> bool {
    // SAFETY: stat is plain data; fstat writes only into it.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above; an invalid descriptor makes fstat fail, nothing else.
    unsafe { libc::fstat(fd, &raw mut stat) == 0 && stat.st_mode & libc::S_IFMT == libc::S_IFSOCK }
}

/// Closes every descriptor above the socket (whatever bubblewrap or the engine let through).
fn close_all_but_stdio_and_socket() {
    let first = u32::try_from(SERVER_FD + 1).unwrap_or(4);
    // SAFETY: close_range closes descriptors this process owns and nothing in it uses.
    let closed = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) } == 0;
    if closed {
        return;
    }
    let open: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .filter(|fd| *fd > SERVER_FD)
                .collect()
        })
        .unwrap_or_default();
    for fd in open {
        // SAFETY: as above; the read_dir handle is closed already.
        unsafe {
            libc::close(fd);
        }
    }
}

/// Reads one request and the two descriptors sent with it; `None` at end of file.
pub(crate) fn receive(socket: &UnixStream) -> Result<Option<(WireRequest, [OwnedFd; 2])>, ()> {
    let mut header = [0u8; 4];
    let (got, fds) = recv_with_fds(socket, &mut header)?;
    if got == 0 {
        return Ok(None);
    }
    let mut reader = socket;
    reader.read_exact(&mut header[got..]).map_err(|_| ())?;
    let len = request_len(header).map_err(|_| ())?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).map_err(|_| ())?;
    let request = decode_request(&body).map_err(|_| ())?;
    let [stdout, stderr]: [OwnedFd; 2] = fds.try_into().map_err(|_| ())?;
    Ok(Some((request, [stdout, stderr])))
}

/// One `recvmsg` into `buffer`, keeping the descriptors that came with it (close-on-exec).
/// More than two descriptors, or truncated control data, is an error.
fn recv_with_fds(socket: &UnixStream, buffer: &mut [u8]) -> Result<(usize, Vec<OwnedFd>), ()> {
    use std::os::fd::AsRawFd;
    // Room for exactly two descriptors (u64 words keep the buffer aligned for cmsghdr).
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    // SAFETY: msghdr is plain data; zeroed is a valid value.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &raw mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a pure computation.
    message.msg_controllen = unsafe { libc::CMSG_SPACE(2 * 4) } as usize;
    let got = loop {
        // SAFETY: the message points at `iov` (into `buffer`) and `control`, both live and
        // of the lengths given.
        let got =
            unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut message, libc::MSG_CMSG_CLOEXEC) };
        if got >= 0 {
            break usize::try_from(got).map_err(|_| ())?;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Err(());
        }
    };
    let mut fds = Vec::new();
    // SAFETY: the CMSG_* walk stays inside the control buffer the kernel filled and sized.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const message);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg);
                let payload = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                for i in 0..payload / size_of::<RawFd>() {
                    let mut bytes = [0u8; size_of::<RawFd>()];
                    std::ptr::copy_nonoverlapping(
                        data.add(i * size_of::<RawFd>()),
                        bytes.as_mut_ptr(),
                        bytes.len(),
                    );
                    fds.push(OwnedFd::from_raw_fd(RawFd::from_ne_bytes(bytes)));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&raw const message, cmsg);
        }
    }
    if message.msg_flags & libc::MSG_CTRUNC != 0 || (got == 0 && !fds.is_empty()) {
        return Err(());
    }
    Ok((got, fds))
}

/// Runs the command in a process group of its own with exactly the given environment and
/// waits for it; `None` when waiting failed.
fn run(request: &WireRequest, stdout: OwnedFd, stderr: OwnedFd) -> Option<Reply> {
    let mut command = Command::new(&request.program);
    command
        .args(&request.args)
        .env_clear()
        .envs(request.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&request.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .process_group(0);
    let spawned = command.spawn();
    // The server's copies of the output pipes close here: the engine sees end of file as soon
    // as the command and its children are gone.
    drop(command);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return Some(Reply::NotStarted(e.raw_os_error().unwrap_or(libc::EIO))),
    };
    let status = child.wait().ok()?;
    Some(match (status.code(), status.signal()) {
        (Some(code), _) => Reply::Exited(code),
        (None, Some(signal)) => Reply::Signaled(signal),
        (None, None) => Reply::Exited(255),
    })
}

/// Kills every process of the sandbox's PID namespace but the server and bubblewrap's init
/// (`kill(-1)` spares both), and waits until they are gone.
fn end_everything_else() {
    let own = std::process::id();
    for _ in 0..SETTLE_ROUNDS {
        // SAFETY: kill(2) and waitpid(2) have no memory-safety preconditions; -1 inside the
        // PID namespace addresses only its processes.
        unsafe {
            libc::kill(-1, libc::SIGKILL);
            while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
        }
        if !others_alive(own) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether `/proc` (the sandbox's own) lists a process other than init and the server.
fn others_alive(own: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .any(|pid| pid != 1 && pid != own)
}

#[cfg(test)]
mod tests {
    #[test]
    fn outside_a_new_pid_namespace_it_refuses_to_serve() {
        // This test process is not PID 2 under PID 1: nothing is served, nothing is killed.
        assert_eq!(super::serve(), 2);
    }
}
