//! One empty network namespace per sandbox (per attempt), made once by root and joined by every
//! start that gets no network, instead of bubblewrap making a new one per process: creating a
//! network namespace is the slowest part of a start. It has only its loopback, up: the
//! attempt's own processes can talk to each other over it, nothing else is reachable.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::NetNsError;

/// An empty network namespace, kept alive by this handle.
#[derive(Debug)]
pub(crate) struct NetNs {
    fd: OwnedFd,
}

impl NetNs {
    /// Makes one (root only: it needs `CAP_SYS_ADMIN` and `CAP_NET_ADMIN` in the initial user
    /// namespace). A dedicated thread enters it, brings `lo` up and hands back its handle; the
    /// thread ends, the namespace lives on through the handle.
    pub(crate) fn create() -> Result<NetNs, NetNsError> {
        std::thread::spawn(|| -> Result<NetNs, NetNsError> {
            // SAFETY: unshare(2) changes only this (short-lived) thread's namespaces.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(NetNsError::Unshare(std::io::Error::last_os_error()));
            }
            loopback_up()?;
            let file = std::fs::File::open("/proc/thread-self/ns/net").map_err(NetNsError::Open)?;
            Ok(NetNs {
                fd: OwnedFd::from(file),
            })
        })
        .join()
        .map_err(|_| NetNsError::ThreadPanicked)?
    }

    /// The raw descriptor a child joins with `setns` before it starts bubblewrap.
    pub(crate) fn raw_fd(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }
}

/// Sets `IFF_UP` on `lo` in the calling thread's network namespace.
fn loopback_up() -> Result<(), NetNsError> {
    // SAFETY: a plain datagram socket, owned right away.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(NetNsError::Socket(std::io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a fresh descriptor nobody else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = libc::c_char::from_ne_bytes([*byte]);
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "IFF_UP is the flag 0x1, which a c_short holds"
    )]
    let up = libc::IFF_UP as libc::c_short;
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we own.
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) != 0 {
            return Err(NetNsError::ReadLoopbackFlags(
                std::io::Error::last_os_error(),
            ));
        }
        request.ifr_ifru.ifru_flags |= up;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) != 0 {
            return Err(NetNsError::LoopbackUp(std::io::Error::last_os_error()));
        }
    }
    Ok(())
}
