//! Standard output and error that never panic: `engine tasks FILE >&-`, `engine validate FILE |
//! head -1` and a terminal that went away must end quietly, not with "failed printing to
//! stdout" and a backtrace.
//!
//! - A closed descriptor 0, 1 or 2 is reopened on `/dev/null` before anything else is opened
//!   (else the first file engine opens, perhaps the state store, would become "stdout").
//! - Commands that only report (validate, tasks, runs, show, ...) die of `SIGPIPE` like `cat`
//!   does when the reader goes away: silently.
//! - Commands that drive runs (run, watch, resume) keep `SIGPIPE` ignored so a closed pipe
//!   never kills a stage half-way; their prints go through [`print_line`], and a print that
//!   fails anywhere else ends the process quietly with [`crate::exit::RUN_INTERRUPTED`]: the
//!   run stays resumable from its last stored transition.

use std::io::Write;

/// Makes printing safe for this process; `drives_runs` for run, watch and resume.
pub(crate) fn guard(drives_runs: bool) {
    #[cfg(unix)]
    {
        reopen_closed_descriptors();
        if !drives_runs {
            // SAFETY: restoring the default disposition of a signal has no memory effects.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            }
        }
    }
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std") {
            std::process::exit(i32::from(crate::exit::RUN_INTERRUPTED));
        }
        default(info);
    }));
}

/// Prints `text` and a newline on stdout; a closed or broken stdout is ignored.
pub(crate) fn print_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// Prints `text` on stdout as is; a closed or broken stdout is ignored.
pub(crate) fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

#[cfg(unix)]
fn reopen_closed_descriptors() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD only asks whether `fd` is open.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1;
        if !closed {
            continue;
        }
        let flags = if fd == 0 {
            libc::O_RDONLY
        } else {
            libc::O_WRONLY
        };
        // SAFETY: a C string literal and plain flags; the returned descriptor is checked.
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), flags | libc::O_CLOEXEC) };
        if null >= 0 && null != fd {
            // SAFETY: both descriptors are valid; `null` is ours to close.
            unsafe {
                libc::dup2(null, fd);
                libc::close(null);
            }
        } else if null == fd {
            // The lowest free descriptor is `fd` itself: keep it across exec for children.
            // SAFETY: clearing FD_CLOEXEC on a descriptor we just opened.
            unsafe {
                libc::fcntl(fd, libc::F_SETFD, 0);
            }
        }
    }
}
