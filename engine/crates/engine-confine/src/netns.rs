//! One empty network namespace per sandbox (per attempt), made once by root and joined by every
//! start that gets no network, instead of bubblewrap making a new one per process: creating a
//! network namespace is the slowest part of a start. It has only its loopback, up: the
//! attempt's own processes can talk to each other over it, nothing else is reachable.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// An empty network namespace, kept alive by this handle.
#[derive(Debug)]
pub(crate) struct NetNs {
    fd: OwnedFd,
}

impl NetNs {
    /// Makes one (root only: it needs CAP_SYS_ADMIN and CAP_NET_ADMIN in the initial user
    /// namespace). A dedicated thread enters it, brings `lo` up and hands back its handle; the
    /// thread ends, the namespace lives on through the handle.
    pub(crate) fn create() -> Result<NetNs, String> {
        std::thread::spawn(|| -> Result<NetNs, String> {
            // SAFETY: unshare(2) changes only this (short-lived) thread's namespaces.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(format!(
                    "cannot make a network namespace: {}",
                    std::io::Error::last_os_error()
                ));
            }
            loopback_up()?;
            let file = std::fs::File::open("/proc/thread-self/ns/net")
                .map_err(|e| format!("cannot open the network namespace: {e}"))?;
            Ok(NetNs {
                fd: OwnedFd::from(file),
            })
        })
        .join()
        .map_err(|_| "the thread making the network namespace panicked".to_string())?
    }

    /// The raw descriptor a child joins with `setns` before it starts bubblewrap.
    pub(crate) fn raw_fd(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }
}

/// Sets IFF_UP on `lo` in the calling thread's network namespace.
fn loopback_up() -> Result<(), String> {
    // SAFETY: a plain datagram socket, owned right away.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(format!(
            "cannot open a socket: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `raw` is a fresh descriptor nobody else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we own.
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) != 0 {
            return Err(format!(
                "cannot read lo's flags: {}",
                std::io::Error::last_os_error()
            ));
        }
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) != 0 {
            return Err(format!(
                "cannot bring lo up: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}
