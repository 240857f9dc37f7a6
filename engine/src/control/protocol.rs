//! What travels over the control socket: one [`Envelope`] from the client, then [`Reply`]
//! frames from the holder until the command's end. Each message is one line of JSON.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

/// The protocol's version; a holder refuses an envelope of another version (an `engine` binary
/// of another build), and the client then says so.
pub const VERSION: u32 = 1;

/// The largest request line a holder reads (a `--task-file` is up to 1 MiB, and JSON escapes
/// a control character in six bytes).
pub const MAX_REQUEST_BYTES: usize = 8 << 20;

/// The largest reply line a client reads (a `--json` document of a long run is large).
pub const MAX_REPLY_BYTES: usize = 256 << 20;

/// A client's one request, with what the holder needs to print for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// [`VERSION`].
    pub version: u32,
    /// Whether the client's stderr takes colour.
    pub colour: bool,
    /// What to do.
    pub request: Request,
}

/// A command a client asks the holder to carry out.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// `engine run` for one task.
    Run(Submission),
    /// `engine resume RUN` (also how a client takes its run over from a holder that stopped).
    Resume {
        /// The run id (or a unique prefix of it).
        run: String,
        /// `--json`.
        json: bool,
    },
    /// `engine run --all` / `engine watch`: a session over the workflow's task source.
    Session(SessionSubmission),
    /// `engine cancel`, `approve`, `reject`, `pause`, `unpause`.
    Control(ControlCommand),
    /// Which runs the holder drives now (`engine runs` and `show` tell a run that is going on
    /// from one nobody drives).
    Driving,
    /// `engine retry RUN [--from STAGE]`.
    Retry {
        /// The run id (or a unique prefix of it).
        run: String,
        /// `--from`.
        from: Option<String>,
        /// `--json`.
        json: bool,
    },
}

impl Request {
    /// Whether the command prints only a JSON document on stdout.
    pub fn json(&self) -> bool {
        match self {
            Request::Run(submission) => submission.json,
            Request::Session(session) => session.json,
            Request::Resume { json, .. } | Request::Retry { json, .. } => *json,
            Request::Driving | Request::Control(_) => false,
        }
    }
}

/// `engine run` for one task, as the submitting terminal read it: paths absolute, the task
/// file's text read (the holder may not see the client's files the same way).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Submission {
    /// The workflow file, absolute.
    pub workflow_file: PathBuf,
    /// `--task`: a task id of the workflow's source or the task as text.
    pub task: Option<String>,
    /// The text of `--task-file`.
    pub task_text: Option<String>,
    /// `--label`s.
    pub labels: Vec<String>,
    /// `--base`.
    pub base: Option<String>,
    /// `--json`.
    pub json: bool,
    /// `--until`.
    pub until: Option<String>,
    /// `--fresh`.
    #[serde(default)]
    pub fresh: bool,
    /// The submitting terminal's environment as digests (see
    /// [`crate::secrets::environment_digests`]): the holder warns when the variables the run
    /// reads differ from its own.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

/// `engine run --all` or `engine watch`, as the submitting terminal read it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionSubmission {
    /// The workflow file as given (for messages).
    pub workflow: PathBuf,
    /// The workflow file, absolute.
    pub workflow_file: PathBuf,
    /// `engine watch`: look at the source this often (ms) and never end on an empty queue.
    pub watch_ms: Option<u64>,
    /// `--parallel`.
    pub parallel: u16,
    /// `--until`.
    pub until: Option<String>,
    /// `--base`.
    pub base: Option<String>,
    /// `--label`s.
    pub labels: Vec<String>,
    /// `--json`.
    pub json: bool,
    /// `--fresh`.
    pub fresh: bool,
    /// The submitting terminal's environment as digests (as [`Submission::env`]).
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// `--epic ID`: only the tasks of this epic (see [`crate::queue::epic`]).
    #[serde(default)]
    pub epic: Option<String>,
}

/// A request for one run: carried out by its driver when the holder drives it, else on its
/// stored state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ControlCommand {
    /// `engine cancel RUN --reason R`.
    Cancel {
        /// The run id (or a unique prefix of it).
        run: String,
        /// Why.
        reason: String,
    },
    /// `engine approve` / `engine reject`.
    Answer {
        /// The run id (or a unique prefix of it).
        run: String,
        /// The answer.
        answer: engine_store::ApprovalAnswer,
    },
    /// `engine pause` (`paused` true) / `engine unpause`.
    Pause {
        /// The run id (or a unique prefix of it).
        run: String,
        /// Pause, or let it go on.
        paused: bool,
    },
}

/// One frame from the holder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// The holder took the request; it runs in process `pid`.
    Accepted {
        /// The holder's process id.
        pid: u32,
    },
    /// A line of the command's stdout.
    Out {
        /// The line, escaped.
        line: String,
    },
    /// A line of the command's stderr.
    Err {
        /// The line, escaped.
        line: String,
    },
    /// The run the command drives is recorded with this id (so the client can take it over).
    Run {
        /// The run id.
        run_id: String,
    },
    /// The command ended with this exit code.
    Exit {
        /// The exit code.
        code: u8,
    },
    /// The command failed: what `engine` prints on stderr for the error, its exit code and,
    /// for `--json`, the error document.
    Failed {
        /// The error report (lines).
        report: String,
        /// The exit code.
        code: u8,
        /// The `--json` error document.
        document: Option<serde_json::Value>,
    },
    /// The holder is stopping (SIGINT, SIGTERM) and stopped the run at its last stored
    /// transition: the client takes it over.
    HandBack {
        /// The run id.
        run_id: String,
    },
    /// The runs the holder drives now (the answer to [`Request::Driving`]).
    Driving {
        /// Their ids.
        runs: Vec<String>,
    },
    /// The holder is about to exit and takes no new request: try again.
    Closing,
    /// The request was refused (another protocol version, a malformed request).
    Refused {
        /// Why.
        why: String,
    },
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The line is longer than allowed.
    #[error("a message longer than {0} bytes")]
    TooLong(usize),
    /// The line is not the message expected.
    #[error("a malformed message: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// Writes `message` as one line.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &impl Serialize,
) -> Result<(), FrameError> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    writer.write_all(&line).await?;
    writer.flush().await?;
    Ok(())
}

/// Reads one message of at most `max` bytes; `None` at the end of the stream.
pub async fn read_frame<R: AsyncBufRead + Unpin, T: for<'de> Deserialize<'de>>(
    reader: &mut R,
    max: usize,
) -> Result<Option<T>, FrameError> {
    let mut line = Vec::new();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return if line.is_empty() {
                Ok(None)
            } else {
                Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()))
            };
        }
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        if line.len() + taken > max.saturating_add(1) {
            return Err(FrameError::TooLong(max));
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken);
        if done {
            line.pop();
            return Ok(Some(serde_json::from_slice(&line)?));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_go_through_one_line_each() {
        let mut wire = Vec::new();
        write_frame(
            &mut wire,
            &Reply::Out {
                line: "a\nb".into(),
            },
        )
        .await
        .unwrap();
        write_frame(&mut wire, &Reply::Exit { code: 3 })
            .await
            .unwrap();
        assert_eq!(String::from_utf8(wire.clone()).unwrap().lines().count(), 2);
        let mut reader = tokio::io::BufReader::new(&wire[..]);
        let first: Option<Reply> = read_frame(&mut reader, 100).await.unwrap();
        assert_eq!(
            first,
            Some(Reply::Out {
                line: "a\nb".into()
            })
        );
        let second: Option<Reply> = read_frame(&mut reader, 100).await.unwrap();
        assert_eq!(second, Some(Reply::Exit { code: 3 }));
        let end: Option<Reply> = read_frame(&mut reader, 100).await.unwrap();
        assert_eq!(end, None);
    }

    #[tokio::test]
    async fn an_overlong_or_malformed_or_cut_message_is_an_error_not_a_panic() {
        let long = format!("{{\"reply\":\"out\",\"line\":\"{}\"}}\n", "x".repeat(200));
        let mut reader = tokio::io::BufReader::with_capacity(16, long.as_bytes());
        let read: Result<Option<Reply>, _> = read_frame(&mut reader, 100).await;
        assert!(matches!(read, Err(FrameError::TooLong(100))));

        let mut reader = tokio::io::BufReader::new(&b"{\"reply\":\"nope\"}\n"[..]);
        let read: Result<Option<Reply>, _> = read_frame(&mut reader, 100).await;
        assert!(matches!(read, Err(FrameError::Malformed(_))));

        let mut reader = tokio::io::BufReader::new(&b"{\"reply\":\"exit\""[..]);
        let read: Result<Option<Reply>, _> = read_frame(&mut reader, 100).await;
        assert!(matches!(read, Err(FrameError::Io(_))));
    }
}
