//! Where the agent writes: stdout one line at a time, flushed after every line (readers time
//! events), and stderr.

use std::io::{self, Write};

use serde_json::Value;

/// The agent's output streams.
pub struct Output {
    stdout: Box<dyn Write>,
    stderr: Box<dyn Write>,
}

impl Output {
    /// Output to the process's stdout and stderr.
    pub fn process() -> Output {
        Output::new(Box::new(io::stdout()), Box::new(io::stderr()))
    }

    /// Output to any writers (tests).
    pub fn new(stdout: Box<dyn Write>, stderr: Box<dyn Write>) -> Output {
        Output { stdout, stderr }
    }

    /// Writes one stdout line and flushes it.
    pub fn line(&mut self, text: &str) -> io::Result<()> {
        self.stdout.write_all(text.as_bytes())?;
        self.stdout.write_all(b"\n")?;
        self.stdout.flush()
    }

    /// Writes one JSON event as a stdout line.
    pub fn event(&mut self, event: &Value) -> io::Result<()> {
        self.line(&event.to_string())
    }

    /// Writes one stderr line and flushes it.
    pub fn stderr_line(&mut self, text: &str) -> io::Result<()> {
        self.stderr.write_all(text.as_bytes())?;
        self.stderr.write_all(b"\n")?;
        self.stderr.flush()
    }

    /// Flushes both streams.
    pub fn flush(&mut self) -> io::Result<()> {
        self.stdout.flush()?;
        self.stderr.flush()
    }
}

#[cfg(test)]
pub(crate) mod capture {
    //! An [`Output`] whose lines tests can read back.

    use std::cell::RefCell;
    use std::io::{self, Write};
    use std::rc::Rc;

    use super::Output;

    /// A shared in-memory writer.
    #[derive(Clone, Default)]
    pub struct Buffer(pub Rc<RefCell<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        /// Everything written, as text.
        pub fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.borrow()).into_owned()
        }

        /// Every stdout line parsed as JSON.
        pub fn events(&self) -> Vec<serde_json::Value> {
            self.text()
                .lines()
                .map(|line| {
                    serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"))
                })
                .collect()
        }
    }

    /// An output writing into two buffers (stdout, stderr).
    pub fn output() -> (Output, Buffer, Buffer) {
        let stdout = Buffer::default();
        let stderr = Buffer::default();
        let output = Output::new(Box::new(stdout.clone()), Box::new(stderr.clone()));
        (output, stdout, stderr)
    }
}
