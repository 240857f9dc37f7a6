//! Where a command's output goes: this process's stdout and stderr, or — for a run submitted to
//! the engine process that holds the state directory (see [`crate::control`]) — the submitting
//! terminal, line by line over the control socket. A command that prints through an
//! [`Output`] looks the same either way.

use std::io::Write;
use std::sync::Arc;

/// The two streams of a command. Lines are printed as given: callers escape untrusted text
/// (see [`crate::terminal`]).
pub trait Output: Send + Sync {
    /// A line on stdout.
    fn out(&self, line: &str);
    /// A line on stderr.
    fn err(&self, line: &str);
    /// Whether lines on stderr may be coloured (see [`crate::terminal::colour_wanted`]).
    fn err_colour(&self) -> bool;
    /// The run the command drives is recorded with this id (a submitting terminal learns it
    /// here, to take the run over should the process driving it stop).
    fn run_id(&self, _run_id: &str) {}
}

/// This process's own stdout and stderr. A closed or broken stream is ignored.
pub struct ProcessStreams;

impl Output for ProcessStreams {
    fn out(&self, line: &str) {
        crate::cli::streams::print_line(line);
    }

    fn err(&self, line: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }

    fn err_colour(&self) -> bool {
        crate::terminal::stderr_colour()
    }
}

/// A [`Write`] that hands every complete line written to it to an [`Output`]'s stderr (for
/// progress renderers written against `Write`); a last unterminated line goes out on drop.
pub struct ErrLines {
    output: Arc<dyn Output>,
    pending: Vec<u8>,
}

impl ErrLines {
    /// Lines to `output`'s stderr.
    pub fn new(output: Arc<dyn Output>) -> Self {
        ErrLines {
            output,
            pending: Vec::new(),
        }
    }
}

impl Write for ErrLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.output
                .err(&String::from_utf8_lossy(&line[..line.len() - 1]));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ErrLines {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            self.output.err(&String::from_utf8_lossy(&self.pending));
        }
    }
}

/// How many lines a [`Collected`] keeps (the last ones).
pub const COLLECTED_LINES: usize = 2_000;

/// A command's output kept in memory (for the HTTP API and MCP tools, which answer with what
/// the command printed): the last [`COLLECTED_LINES`] lines of both streams in order, and the
/// id of the run it recorded, as soon as it is known.
pub struct Collected {
    lines: std::sync::Mutex<std::collections::VecDeque<String>>,
    run: tokio::sync::watch::Sender<Option<String>>,
}

impl Collected {
    /// Nothing collected yet.
    pub fn new() -> Self {
        Collected {
            lines: std::sync::Mutex::new(std::collections::VecDeque::new()),
            run: tokio::sync::watch::channel(None).0,
        }
    }

    /// The lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// The run id, once the command recorded its run (see [`Output::run_id`]).
    pub fn run(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.run.subscribe()
    }

    fn push(&self, line: &str) {
        let mut lines = self
            .lines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if lines.len() == COLLECTED_LINES {
            lines.pop_front();
        }
        lines.push_back(line.to_string());
    }
}

impl Default for Collected {
    fn default() -> Self {
        Collected::new()
    }
}

impl Output for Collected {
    fn out(&self, line: &str) {
        self.push(line);
    }

    fn err(&self, line: &str) {
        self.push(line);
    }

    fn err_colour(&self) -> bool {
        false
    }

    fn run_id(&self, run_id: &str) {
        self.run.send_replace(Some(run_id.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Lines(Mutex<Vec<String>>);

    impl Output for Lines {
        fn out(&self, line: &str) {
            self.0.lock().unwrap().push(format!("out {line}"));
        }
        fn err(&self, line: &str) {
            self.0.lock().unwrap().push(format!("err {line}"));
        }
        fn err_colour(&self) -> bool {
            false
        }
    }

    #[test]
    fn collected_output_keeps_the_last_lines_and_the_run() {
        let collected = Collected::new();
        let run = collected.run();
        for n in 0..=COLLECTED_LINES {
            collected.out(&n.to_string());
        }
        collected.run_id("01RUN");
        let lines = collected.lines();
        assert_eq!(lines.len(), COLLECTED_LINES);
        assert_eq!(lines[0], "1");
        assert_eq!(run.borrow().as_deref(), Some("01RUN"));
    }

    #[test]
    fn written_bytes_become_lines_on_stderr_in_order() {
        let lines = Arc::new(Lines::default());
        {
            let mut writer = ErrLines::new(lines.clone());
            write!(writer, "one\ntw").unwrap();
            write!(writer, "o\n\nthree").unwrap();
        }
        assert_eq!(
            *lines.0.lock().unwrap(),
            ["err one", "err two", "err ", "err three"]
        );
    }
}
