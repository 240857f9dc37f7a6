//! Limits of host-side template rendering: a template is workflow text, but it runs in the
//! engine's own process, so a runaway one (`{% for %}` nested in `{% for %}`, a string doubled
//! again and again) must end quickly with an error instead of holding the driver and its
//! memory. Three limits apply to every render:
//!
//! - **fuel**: every template (and every single-expression value) may run at most
//!   [`RenderLimits::fuel`] minijinja instructions;
//! - **output**: all the strings a stage's `with:` renders to together may hold at most
//!   [`RenderLimits::max_output_bytes`] bytes;
//! - **time**: rendering a stage's `with:` ends after [`RenderLimits::time_limit`] (never more
//!   than the stage's `timeout:`); the render runs on a helper thread, and the caller stops
//!   waiting at that deadline (the helper sees the deadline on its next write and stops too).
//!
//! `namespace()` is not available (it is the way state survives a loop iteration, which makes
//! a loop able to grow a string exponentially), and nesting (loops, blocks) is limited to
//! [`MAX_TEMPLATE_NESTING`] levels.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Instructions one template may run. Plenty for any message or prompt (a loop over a
/// thousand items costs about ten thousand), and a stop for runaway loops within milliseconds.
pub const DEFAULT_FUEL: u64 = 200_000;

/// Bytes all the rendered strings of one stage's `with:` may hold together (4 MiB).
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 4 * 1024 * 1024;

/// The longest a stage's `with:` may take to render, whatever the stage's `timeout:`. The
/// driver waits for the render, so this also bounds how late it notices SIGINT/SIGTERM.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(5);

/// Loops, blocks and other frames a template may nest.
pub const MAX_TEMPLATE_NESTING: usize = 64;

/// The limits of one stage's render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderLimits {
    /// Instructions each template may run.
    pub fuel: u64,
    /// Bytes all rendered strings may hold together.
    pub max_output_bytes: usize,
    /// How long the whole render may take.
    pub time_limit: Duration,
}

impl Default for RenderLimits {
    fn default() -> Self {
        RenderLimits {
            fuel: DEFAULT_FUEL,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            time_limit: DEFAULT_TIME_LIMIT,
        }
    }
}

impl RenderLimits {
    /// The default limits, the time limit cut to the stage's `timeout` when that is shorter.
    pub fn for_stage_timeout(timeout: Duration) -> Self {
        let defaults = RenderLimits::default();
        RenderLimits {
            time_limit: defaults.time_limit.min(timeout),
            ..defaults
        }
    }
}

/// What one render may still spend: output bytes, and time until the deadline (or until the
/// caller gave up waiting).
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    /// Bytes still allowed.
    pub(crate) bytes_left: usize,
    /// Bytes allowed in all.
    pub(crate) max_bytes: usize,
    /// When rendering must have ended.
    pub(crate) deadline: Instant,
    /// How long the render was given (for messages).
    pub(crate) time_limit: Duration,
    /// Set by the caller once it stopped waiting.
    pub(crate) abandoned: Arc<AtomicBool>,
}

/// Why a render stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The output limit was reached.
    Output,
    /// The deadline passed (or the caller stopped waiting).
    Time,
}

impl Budget {
    /// A budget for `limits`, starting now.
    pub(crate) fn new(limits: &RenderLimits) -> Self {
        Budget {
            bytes_left: limits.max_output_bytes,
            max_bytes: limits.max_output_bytes,
            deadline: Instant::now() + limits.time_limit,
            time_limit: limits.time_limit,
            abandoned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Takes `bytes` from the budget; `Err` when they do not fit or time is up.
    pub(crate) fn spend(&mut self, bytes: usize) -> Result<(), Stop> {
        self.check_time()?;
        if bytes > self.bytes_left {
            self.bytes_left = 0;
            return Err(Stop::Output);
        }
        self.bytes_left -= bytes;
        Ok(())
    }

    /// `Err` once the deadline passed or the caller stopped waiting.
    pub(crate) fn check_time(&self) -> Result<(), Stop> {
        if self.abandoned.load(Ordering::Relaxed) || Instant::now() >= self.deadline {
            return Err(Stop::Time);
        }
        Ok(())
    }

    /// The message for `stop`.
    pub(crate) fn describe(&self, stop: Stop) -> String {
        match stop {
            Stop::Output => format!(
                "the rendered text is longer than the limit of {} bytes for a stage's `with:` \
                 (a runaway loop?)",
                self.max_bytes
            ),
            Stop::Time => format!(
                "rendering took longer than {} (the time limit of templates)",
                humantime::format_duration(self.time_limit)
            ),
        }
    }
}

/// An [`io::Write`] that collects a template's output within a [`Budget`].
pub(crate) struct CappedWriter<'b> {
    /// The output so far.
    pub(crate) out: Vec<u8>,
    /// The budget it spends.
    pub(crate) budget: &'b mut Budget,
    /// Why it refused a write, if it did.
    pub(crate) stopped: Option<Stop>,
}

impl<'b> CappedWriter<'b> {
    /// An empty writer spending `budget`.
    pub(crate) fn new(budget: &'b mut Budget) -> Self {
        CappedWriter {
            out: Vec::new(),
            budget,
            stopped: None,
        }
    }
}

impl io::Write for CappedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Err(stop) = self.budget.spend(buf.len()) {
            self.stopped = Some(stop);
            return Err(io::Error::other(self.budget.describe(stop)));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_time_limit_never_exceeds_the_stage_timeout() {
        let short = RenderLimits::for_stage_timeout(Duration::from_secs(2));
        assert_eq!(short.time_limit, Duration::from_secs(2));
        let long = RenderLimits::for_stage_timeout(Duration::from_hours(1));
        assert_eq!(long.time_limit, DEFAULT_TIME_LIMIT);
    }

    #[test]
    fn the_writer_refuses_what_is_past_the_budget() {
        let limits = RenderLimits {
            max_output_bytes: 5,
            ..RenderLimits::default()
        };
        let mut budget = Budget::new(&limits);
        let mut writer = CappedWriter::new(&mut budget);
        assert!(writer.write_all(b"abc").is_ok());
        let err = writer.write_all(b"def").unwrap_err();
        assert!(err.to_string().contains("limit of 5 bytes"), "{err}");
        assert_eq!(writer.stopped, Some(Stop::Output));
        assert_eq!(writer.out, b"abc");
    }

    #[test]
    fn an_abandoned_budget_stops_the_next_write() {
        let mut budget = Budget::new(&RenderLimits::default());
        budget.abandoned.store(true, Ordering::Relaxed);
        let mut writer = CappedWriter::new(&mut budget);
        assert!(writer.write_all(b"x").is_err());
        assert_eq!(writer.stopped, Some(Stop::Time));
    }
}
