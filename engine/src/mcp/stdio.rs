//! `engine mcp`'s transport: MCP messages on stdin and stdout, one JSON-RPC message a line.
//!
//! Stdout is the protocol, so nothing else may ever print there: the messages go out on a
//! private copy of descriptor 1, and descriptor 1 itself is pointed at stderr before the server
//! starts. A stray print of this process, or the output of a process a run starts that inherits
//! it, lands on stderr instead of corrupting the protocol.

use std::os::fd::FromRawFd;

use rmcp::ServiceExt;
use rmcp::service::ServerInitializeError;

use super::EngineMcp;
use crate::EngineError;

/// Serves `server` on this process's stdin and stdout until the client closes stdin (or the
/// connection fails), or SIGINT/SIGTERM; returns then. A client that goes away before it even
/// initialized is not an error.
pub async fn serve_stdio(server: EngineMcp) -> Result<(), EngineError> {
    let out = tokio::fs::File::from_std(take_stdout()?);
    let running = match server.serve((tokio::io::stdin(), out)).await {
        Ok(running) => running,
        Err(ServerInitializeError::ConnectionClosed(_) | ServerInitializeError::Cancelled) => {
            return Ok(());
        }
        Err(e) => {
            return Err(EngineError::Usage(format!(
                "the MCP client did not start the session as the protocol says: {e}"
            )));
        }
    };
    tokio::select! {
        quit = running.waiting() => {
            quit.map_err(|e| EngineError::Internal(format!("the MCP service failed: {e}")))?;
        }
        // The runs of this process get the signal too: they stop at their last stored
        // transition (`engine resume` continues them).
        () = stop_signal() => {}
    }
    Ok(())
}

/// Ends at SIGINT or SIGTERM (never, if they cannot be listened for).
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {},
        _ = term.recv() => {},
    }
}

/// Takes descriptor 1 for the protocol: returns a copy of it, and points descriptor 1 at
/// stderr.
fn take_stdout() -> Result<std::fs::File, EngineError> {
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    // SAFETY: F_DUPFD_CLOEXEC only duplicates descriptor 1; the result is checked.
    let copy = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(EngineError::io("stdout", std::io::Error::last_os_error()));
    }
    // SAFETY: `copy` is a descriptor just made for us and owned by nothing else.
    let file = unsafe { std::fs::File::from_raw_fd(copy) };
    // SAFETY: both are open descriptors of this process; dup2 replaces 1 atomically.
    if unsafe { libc::dup2(2, 1) } < 0 {
        return Err(EngineError::io("stdout", std::io::Error::last_os_error()));
    }
    Ok(file)
}
