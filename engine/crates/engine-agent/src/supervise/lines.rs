//! Reading a child's stream line by line into a channel, with a cap on a single line.

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

/// The longest line kept whole; the rest of a longer line is dropped (and the line marked
/// truncated) so one runaway line cannot exhaust memory.
pub(crate) const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One line, without its newline.
#[derive(Debug)]
pub(crate) struct Line {
    pub(crate) stream: Stream,
    pub(crate) text: String,
    /// The line was longer than [`MAX_LINE_BYTES`] and was cut.
    pub(crate) truncated: bool,
}

/// Reads `reader` to its end, sending each line (the last one even without a newline).
/// Stops early when the receiver is gone.
pub(crate) async fn read_lines(
    reader: impl AsyncRead + Unpin,
    stream: Stream,
    max_line: usize,
    lines: mpsc::Sender<Line>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut current: Vec<u8> = Vec::new();
    let mut truncated = false;
    loop {
        let buffer = match reader.fill_buf().await {
            Ok(buffer) => buffer,
            Err(e) => {
                tracing::debug!("agent {} unreadable: {e}", stream.name());
                break;
            }
        };
        if buffer.is_empty() {
            break;
        }
        let newline = memchr::memchr(b'\n', buffer);
        let chunk = &buffer[..newline.unwrap_or(buffer.len())];
        let room = max_line.saturating_sub(current.len());
        if chunk.len() > room {
            current.extend_from_slice(&chunk[..room]);
            truncated = true;
        } else {
            current.extend_from_slice(chunk);
        }
        let consumed = chunk.len() + usize::from(newline.is_some());
        reader.consume(consumed);
        if newline.is_some() {
            let line = make_line(stream, std::mem::take(&mut current), truncated);
            truncated = false;
            if lines.send(line).await.is_err() {
                return;
            }
        }
    }
    if !current.is_empty() || truncated {
        let _ = lines.send(make_line(stream, current, truncated)).await;
    }
}

fn make_line(stream: Stream, bytes: Vec<u8>, truncated: bool) -> Line {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    Line {
        stream,
        text,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(input: &'static [u8], max_line: usize) -> Vec<(String, bool)> {
        let (tx, mut rx) = mpsc::channel(16);
        tokio::spawn(read_lines(input, Stream::Stdout, max_line, tx));
        let mut lines = Vec::new();
        while let Some(line) = rx.recv().await {
            lines.push((line.text, line.truncated));
        }
        lines
    }

    #[tokio::test]
    async fn splits_lines_and_keeps_a_final_unterminated_one() {
        let lines = collect(b"one\n\ntwo\r\nthree", 100).await;
        let texts: Vec<&str> = lines.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, ["one", "", "two\r", "three"]);
    }

    #[tokio::test]
    async fn caps_a_long_line_and_keeps_going() {
        let lines = collect(b"abcdefghij\nok\nxyz", 4).await;
        assert_eq!(
            lines,
            [
                ("abcd".to_string(), true),
                ("ok".to_string(), false),
                ("xyz".to_string(), false)
            ]
        );
    }

    #[tokio::test]
    async fn invalid_utf8_is_replaced_not_dropped() {
        let lines = collect(b"a\xffb\n", 100).await;
        assert_eq!(lines, [("a\u{fffd}b".to_string(), false)]);
    }
}
