//! The submitting side of the control socket: reach the process holding the state directory
//! or become it ([`reach`]), then hand it a command and print what the command prints
//! ([`submit`]).

use std::path::Path;
use std::time::Duration;

use engine_store::{StateDir, StoreError};
use tokio::io::BufReader;
use tokio::net::UnixStream;

use super::protocol::{self, Envelope, Reply};
use super::socket;
use crate::EngineError;
use crate::output::Output;
use crate::time::Clock;

/// How long to keep trying while the state directory is held by a process that does not
/// answer on the socket (a short command such as `engine runs`, or a holder about to exit).
pub const REACH_WAIT: Duration = Duration::from_secs(10);

/// How often to try again meanwhile.
const REACH_POLL: Duration = Duration::from_millis(100);

/// Whom a command talks to.
pub enum Reached {
    /// The process holding the state directory answers on its socket.
    Holder(UnixStream),
    /// Nobody held it: this process holds it now.
    Held(StateDir),
}

/// Reaches the holder of state directory `state_dir`, or takes it (as `holder`, for the lock's
/// note) when nobody holds it. While it is held by a process that does not answer, tries again
/// for up to [`REACH_WAIT`] (on `clock`), then fails with the lock's own error.
pub async fn reach(
    state_dir: &Path,
    holder: &str,
    clock: &dyn Clock,
) -> Result<Reached, EngineError> {
    let wait_ms = u64::try_from(REACH_WAIT.as_millis()).unwrap_or(u64::MAX);
    let deadline = clock.now_ms().saturating_add(wait_ms);
    loop {
        if let Some(stream) = socket::connect(state_dir).await {
            return Ok(Reached::Holder(stream));
        }
        match StateDir::open_locked(state_dir, holder) {
            Ok(held) => return Ok(Reached::Held(held)),
            Err(StoreError::Busy { .. }) if clock.now_ms() < deadline => {
                clock.sleep(REACH_POLL).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// How a submitted command went, seen from the submitting terminal.
#[derive(Debug, PartialEq)]
pub enum Submitted {
    /// It ended with this exit code (its output, and an error's report, were printed).
    Exit(u8),
    /// The holder stopped (SIGINT/SIGTERM) and handed the run back: take it over.
    HandBack {
        /// The run.
        run_id: String,
        /// The holder's pid.
        pid: u32,
    },
    /// The connection ended before the command's end: the holder died. `run_id`: the run it
    /// had recorded for the command, if it said.
    Lost {
        /// The run, if recorded.
        run_id: Option<String>,
        /// The holder's pid, if it accepted the command.
        pid: Option<u32>,
    },
    /// The holder is about to exit: try again.
    Closing,
    /// The user pressed Ctrl-C (or sent SIGTERM) here: the command goes on in the holder.
    Detached {
        /// The run, if recorded.
        run_id: Option<String>,
        /// The holder's pid.
        pid: Option<u32>,
    },
    /// The holder refused the request.
    Refused(String),
}

/// What SIGINT/SIGTERM in the submitting terminal do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Detach: the command goes on in the holder (one run).
    Detach,
    /// Stop the command as it would stop here (a session: its runs stop at their last stored
    /// transition and it reports), then end; a second signal detaches.
    Stop,
}

/// Hands `envelope` to the holder at the other end of `stream` and prints the command's output
/// on `output` until it ends; SIGINT/SIGTERM here do what `on_interrupt` says.
pub async fn submit(
    stream: UnixStream,
    envelope: &Envelope,
    output: &dyn Output,
    on_interrupt: OnInterrupt,
) -> Result<Submitted, EngineError> {
    use tokio::io::AsyncWriteExt as _;
    use tokio::signal::unix::{SignalKind, signal};
    let socket_error =
        |e: protocol::FrameError| EngineError::Internal(format!("the control socket failed: {e}"));
    let (read, mut write) = stream.into_split();
    match protocol::write_frame(&mut write, envelope).await {
        Ok(()) => {}
        // The socket of a holder that is dying at this moment: nobody took the command.
        Err(protocol::FrameError::Io(_)) => {
            return Ok(Submitted::Lost {
                run_id: None,
                pid: None,
            });
        }
        Err(e) => return Err(socket_error(e)),
    }
    let mut reader = BufReader::new(read);
    let mut int = signal(SignalKind::interrupt()).map_err(|e| EngineError::io("SIGINT", e))?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| EngineError::io("SIGTERM", e))?;
    let (mut pid, mut run_id) = (None, None);
    let mut stopping = false;
    loop {
        let interrupted = tokio::select! {
            frame = protocol::read_frame::<_, Reply>(&mut reader, protocol::MAX_REPLY_BYTES) => Err(frame),
            _ = int.recv() => Ok(()),
            _ = term.recv() => Ok(()),
        };
        let frame = match interrupted {
            Err(frame) => frame,
            Ok(()) if on_interrupt == OnInterrupt::Stop && !stopping => {
                // Closing this side tells the holder to stop the command.
                stopping = true;
                let _ = write.shutdown().await;
                continue;
            }
            Ok(()) => return Ok(Submitted::Detached { run_id, pid }),
        };
        let reply = match frame {
            Ok(Some(reply)) => reply,
            // A holder killed mid-frame or mid-stream: the same as one that went away.
            Ok(None) | Err(protocol::FrameError::Io(_)) => {
                return Ok(Submitted::Lost { run_id, pid });
            }
            Err(e) => return Err(socket_error(e)),
        };
        match reply {
            Reply::Accepted { pid: holder } => pid = Some(holder),
            Reply::Out { line } => output.out(&line),
            Reply::Err { line } => output.err(&line),
            Reply::Run { run_id: id } => {
                output.run_id(&id);
                run_id = Some(id);
            }
            Reply::Exit { code } => return Ok(Submitted::Exit(code)),
            Reply::Failed {
                report,
                code,
                document,
            } => {
                for line in report.split('\n') {
                    output.err(line);
                }
                if let Some(document) = document {
                    let text = serde_json::to_string_pretty(&document)
                        .map_err(|e| EngineError::Internal(format!("cannot render JSON: {e}")))?;
                    output.out(&text);
                }
                return Ok(Submitted::Exit(code));
            }
            Reply::HandBack { run_id } => {
                return Ok(Submitted::HandBack {
                    run_id,
                    pid: pid.unwrap_or_default(),
                });
            }
            Reply::Closing => return Ok(Submitted::Closing),
            // Only ever the answer to `Request::Driving`, which `submit` does not send.
            Reply::Driving { .. } => return Ok(Submitted::Lost { run_id, pid }),
            Reply::Refused { why } => return Ok(Submitted::Refused(why)),
        }
    }
}

/// How long [`ask_driving`] waits for the holder.
const ASK_WAIT: Duration = Duration::from_secs(2);

/// Asks the holder of `state_dir` which runs it drives now; `None` when it does not answer
/// (nobody serves the socket, or the holder is an engine without this question).
pub fn ask_driving(state_dir: &Path) -> Option<std::collections::BTreeSet<String>> {
    use std::io::{BufRead as _, Read as _, Write as _};
    let mut stream =
        std::os::unix::net::UnixStream::connect(socket::socket_path(state_dir)).ok()?;
    stream.set_read_timeout(Some(ASK_WAIT)).ok()?;
    stream.set_write_timeout(Some(ASK_WAIT)).ok()?;
    let envelope = Envelope {
        version: protocol::VERSION,
        colour: false,
        request: super::Request::Driving,
    };
    let mut line = serde_json::to_vec(&envelope).ok()?;
    line.push(b'\n');
    stream.write_all(&line).ok()?;
    let mut reply = String::new();
    let limit = u64::try_from(protocol::MAX_REPLY_BYTES).unwrap_or(u64::MAX);
    std::io::BufReader::new(stream.take(limit))
        .read_line(&mut reply)
        .ok()?;
    match serde_json::from_str(&reply).ok()? {
        Reply::Driving { runs } => Some(runs.into_iter().collect()),
        _ => None,
    }
}
