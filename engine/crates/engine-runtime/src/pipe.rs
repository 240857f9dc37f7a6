//! Bounded capture of a stage's stdout and stderr, and of a child process's output.
//!
//! [`TailBuffer`] keeps the last `cap` bytes and counts everything written; [`TailPipe`] is a
//! WASI output stream over one, so a chatty guest never blocks or fails a write and the end of
//! its output (where a panic message is) survives.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The last `cap` bytes written, and how many were written in all.
#[derive(Debug, Clone)]
pub(crate) struct TailBuffer {
    cap: usize,
    data: Vec<u8>,
    total: u64,
}

impl TailBuffer {
    /// An empty buffer keeping at most `cap` bytes.
    pub(crate) fn new(cap: usize) -> Self {
        TailBuffer {
            cap,
            data: Vec::new(),
            total: 0,
        }
    }

    /// Appends bytes, dropping the oldest beyond the cap (amortised: trims at twice the cap).
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.total = self.total.saturating_add(bytes.len() as u64);
        if bytes.len() >= self.cap {
            self.data.clear();
            self.data
                .extend_from_slice(&bytes[bytes.len() - self.cap..]);
            return;
        }
        self.data.extend_from_slice(bytes);
        if self.data.len() > self.cap.saturating_mul(2).max(4096) {
            let excess = self.data.len() - self.cap;
            self.data.drain(..excess);
        }
    }

    /// The kept tail (at most `cap` bytes).
    pub(crate) fn tail(&self) -> &[u8] {
        &self.data[self.data.len().saturating_sub(self.cap)..]
    }

    /// The kept tail as lossy UTF-8.
    pub(crate) fn tail_text(&self) -> String {
        String::from_utf8_lossy(self.tail()).into_owned()
    }

    /// Bytes written in all, including those dropped.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

/// A shareable [`TailBuffer`]: clones write to and read from the same buffer.
#[derive(Debug, Clone)]
pub(crate) struct TailPipe {
    buffer: Arc<Mutex<TailBuffer>>,
}

impl TailPipe {
    /// A pipe keeping the last `cap` bytes.
    pub(crate) fn new(cap: usize) -> Self {
        TailPipe {
            buffer: Arc::new(Mutex::new(TailBuffer::new(cap))),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut TailBuffer) -> R) -> R {
        let mut guard = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// Appends bytes.
    pub(crate) fn push(&self, bytes: &[u8]) {
        self.with(|b| b.push(bytes));
    }

    /// The kept tail as lossy UTF-8.
    pub(crate) fn tail_text(&self) -> String {
        self.with(|b| b.tail_text())
    }

    /// Bytes written in all.
    pub(crate) fn total(&self) -> u64 {
        self.with(|b| b.total())
    }
}

/// Largest single write a guest is offered (it may write any amount in pieces).
const WRITE_PERMIT: usize = 64 * 1024;

#[wasmtime_wasi::async_trait]
impl Pollable for TailPipe {
    async fn ready(&mut self) {}
}

impl OutputStream for TailPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for TailPipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for TailPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for TailPipe {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tail_and_counts_everything() {
        let mut b = TailBuffer::new(5);
        b.push(b"hello ");
        b.push(b"world");
        assert_eq!(b.tail(), b"world");
        assert_eq!(b.total(), 11);
        for _ in 0..10_000 {
            b.push(b"ab");
        }
        assert_eq!(b.tail(), b"babab");
        assert!(b.data.len() <= 4096 + 2);
        b.push(b"0123456789");
        assert_eq!(b.tail(), b"56789");
    }

    #[test]
    fn zero_cap_keeps_nothing() {
        let mut b = TailBuffer::new(0);
        b.push(b"abc");
        assert_eq!(b.tail(), b"");
        assert_eq!(b.total(), 3);
    }

    #[test]
    fn pipe_clones_share_the_buffer() {
        let p = TailPipe::new(4);
        let mut q = p.clone();
        q.write(Bytes::from_static(b"abcdef")).unwrap();
        assert_eq!(p.tail_text(), "cdef");
        assert_eq!(p.total(), 6);
    }
}
