//! What an attempt log keeps of one program's output: every line of its first
//! [`HEAD_BYTES`], then its last [`TAIL_BYTES`], with one line saying how much was cut between
//! them. Lines of the head are written as they arrive (so `engine logs -f` shows them live);
//! the tail is held until the program ends, when it is known whether anything was cut.

use std::collections::VecDeque;

/// Bytes of a program's output (stdout and stderr together) kept from its start.
pub const HEAD_BYTES: usize = 256 * 1024;

/// Bytes of a program's output kept from its end, when it printed more than [`HEAD_BYTES`].
pub const TAIL_BYTES: usize = 256 * 1024;

/// A line longer than this is split (output without line feeds must not grow without bound).
const MAX_LINE_BYTES: usize = 16 * 1024;

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

impl Stream {
    /// The stream named by the runtime (`"stdout"`, `"stderr"`); anything else is stderr.
    pub fn named(name: &str) -> Stream {
        if name == "stdout" {
            Stream::Out
        } else {
            Stream::Err
        }
    }

    fn index(self) -> usize {
        match self {
            Stream::Out => 0,
            Stream::Err => 1,
        }
    }
}

/// What to write to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Captured {
    /// A line of output (without its line feed).
    Line(Stream, String),
    /// This much output was cut here.
    Cut {
        /// Lines cut.
        lines: u64,
        /// Bytes cut.
        bytes: u64,
    },
}

/// One program's output on its way to the log (see the module docs).
#[derive(Debug)]
pub struct OutputCapture {
    head_limit: usize,
    tail_limit: usize,
    head_used: usize,
    in_tail: bool,
    partial: [Vec<u8>; 2],
    tail: VecDeque<(Stream, String)>,
    tail_used: usize,
    cut_lines: u64,
    cut_bytes: u64,
}

impl Default for OutputCapture {
    fn default() -> Self {
        OutputCapture::new(HEAD_BYTES, TAIL_BYTES)
    }
}

impl OutputCapture {
    /// A capture keeping `head` bytes from the start and `tail` bytes from the end.
    pub fn new(head: usize, tail: usize) -> Self {
        OutputCapture {
            head_limit: head,
            tail_limit: tail,
            head_used: 0,
            in_tail: false,
            partial: [Vec::new(), Vec::new()],
            tail: VecDeque::new(),
            tail_used: 0,
            cut_lines: 0,
            cut_bytes: 0,
        }
    }

    /// Takes a chunk of `stream`; returns the lines to write now.
    pub fn push(&mut self, stream: Stream, bytes: &[u8]) -> Vec<Captured> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let partial = &mut self.partial[stream.index()];
            let room = MAX_LINE_BYTES.saturating_sub(partial.len()).max(1);
            let (piece, ended) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) if i < room => (&rest[..i], true),
                _ if rest.len() >= room => (&rest[..room], true),
                _ => (rest, false),
            };
            partial.extend_from_slice(piece);
            let consumed = if ended && rest.get(piece.len()) == Some(&b'\n') {
                piece.len() + 1
            } else {
                piece.len()
            };
            rest = &rest[consumed..];
            if ended {
                let line = std::mem::take(partial);
                self.line(stream, &line, &mut out);
            }
        }
        out
    }

    /// The program ended: the lines still held (an unfinished last line, the tail) and, before
    /// the tail, what was cut. The capture is then empty, ready for another program.
    pub fn finish(&mut self) -> Vec<Captured> {
        let mut out = Vec::new();
        for stream in [Stream::Out, Stream::Err] {
            let line = std::mem::take(&mut self.partial[stream.index()]);
            if !line.is_empty() {
                self.line(stream, &line, &mut out);
            }
        }
        if self.cut_lines > 0 {
            out.push(Captured::Cut {
                lines: self.cut_lines,
                bytes: self.cut_bytes,
            });
        }
        out.extend(
            self.tail
                .drain(..)
                .map(|(stream, line)| Captured::Line(stream, line)),
        );
        *self = OutputCapture::new(self.head_limit, self.tail_limit);
        out
    }

    fn line(&mut self, stream: Stream, bytes: &[u8], out: &mut Vec<Captured>) {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let text = String::from_utf8_lossy(bytes).into_owned();
        let size = bytes.len() + 1;
        if !self.in_tail && self.head_used + size <= self.head_limit {
            self.head_used += size;
            out.push(Captured::Line(stream, text));
            return;
        }
        self.in_tail = true;
        self.tail.push_back((stream, text));
        self.tail_used += size;
        while self.tail_used > self.tail_limit {
            let Some((_, dropped)) = self.tail.pop_front() else {
                break;
            };
            self.tail_used -= dropped.len() + 1;
            self.cut_lines += 1;
            self.cut_bytes += dropped.len() as u64 + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(captured: &[Captured]) -> Vec<String> {
        captured
            .iter()
            .map(|c| match c {
                Captured::Line(Stream::Out, l) => format!("out {l}"),
                Captured::Line(Stream::Err, l) => format!("err {l}"),
                Captured::Cut { lines, bytes } => format!("cut {lines} {bytes}"),
            })
            .collect()
    }

    #[test]
    fn lines_are_joined_across_chunks_and_streams_kept_apart() {
        let mut c = OutputCapture::default();
        assert!(c.push(Stream::Out, b"hel").is_empty());
        assert_eq!(lines(&c.push(Stream::Err, b"oops\r\n")), ["err oops"]);
        assert_eq!(lines(&c.push(Stream::Out, b"lo\nwor")), ["out hello"]);
        assert_eq!(lines(&c.finish()), ["out wor"]);
        assert!(c.finish().is_empty());
    }

    #[test]
    fn past_the_head_only_the_tail_is_kept_and_the_cut_is_said() {
        let mut c = OutputCapture::new(8, 8);
        // "a1\n" "a2\n" fit the head (6 bytes); "a3\n" does not.
        let now = c.push(Stream::Out, b"a1\na2\na3\na4\na5\na6\n");
        assert_eq!(lines(&now), ["out a1", "out a2"]);
        assert_eq!(
            lines(&c.finish()),
            ["cut 2 6", "out a5", "out a6"],
            "a3 and a4 were cut"
        );
        // Output that fits the tail is not cut, only held to the end.
        let mut c = OutputCapture::new(3, 8);
        assert_eq!(lines(&c.push(Stream::Out, b"a\nbb\n")), ["out a"]);
        assert_eq!(lines(&c.finish()), ["out bb"]);
    }

    #[test]
    fn a_line_without_line_feeds_is_split() {
        let mut c = OutputCapture::new(usize::MAX / 2, 8);
        let long = vec![b'x'; MAX_LINE_BYTES * 2 + 5];
        let now = c.push(Stream::Out, &long);
        assert_eq!(now.len(), 2);
        assert_eq!(lines(&c.finish()), ["out xxxxx"]);
    }

    #[test]
    fn ten_mebibytes_keep_head_and_tail() {
        let mut c = OutputCapture::default();
        let mut written = 0;
        let chunk = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n";
        let mut kept = c.push(Stream::Out, b"FIRST\n").len();
        while written < 10 * 1024 * 1024 {
            kept += c.push(Stream::Out, chunk).len();
            written += chunk.len();
        }
        c.push(Stream::Out, b"LAST\n");
        let end = c.finish();
        assert!(matches!(end.first(), Some(Captured::Cut { .. })));
        assert_eq!(lines(&end[end.len() - 1..]), ["out LAST"]);
        let total = kept + end.len();
        assert!(total < (HEAD_BYTES + TAIL_BYTES) / 64 + 10, "{total}");
    }
}
