//! Running the real `engine` binary: a command built fluently (arguments, task, environment),
//! then what it did checked fluently (exit code, whole stdout and stderr, normalised), or a
//! background process the test talks to (waits for a line, signals it).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::ops::Deref;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::diff::assert_text_eq;
use super::process::{PATIENCE, kill9, signal};
use super::repo::TestRepo;
use super::report::RunReport;

/// The result of one `engine` invocation.
pub struct Run {
    /// Exit status and both streams.
    pub output: Output,
}

impl Run {
    /// The exit code (-1 when killed by a signal).
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    /// Standard output, lossily decoded.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Standard error, lossily decoded.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// The run id `engine run` prints as its first stdout line (empty when it printed none).
    pub fn run_id(&self) -> String {
        self.stdout()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

/// An `engine` command in a test repository, built up before it runs.
pub struct EngineCommand<'r> {
    repo: &'r TestRepo,
    command: Command,
    args: Vec<String>,
}

impl<'r> EngineCommand<'r> {
    /// `engine` in `repo`: cache shared between tests, no state directory or hold from the
    /// test's environment, stdin closed.
    pub(super) fn new(repo: &'r TestRepo) -> EngineCommand<'r> {
        let mut command = Command::new(super::engine_bin());
        command
            .current_dir(repo.path())
            .env("ENGINE_CACHE_DIR", super::cache_dir())
            .env_remove("ENGINE_STATE_DIR")
            .env_remove("ENGINE_DEBUG_HOLD")
            .env("RUST_LOG", "warn")
            // A slow first compile in the shared cache must not add lines to compared output
            // (tests of the progress lines set it themselves).
            .env("ENGINE_COMPILE_PROGRESS_AFTER_MS", "off")
            .stdin(Stdio::null());
        EngineCommand {
            repo,
            command,
            args: Vec::new(),
        }
    }

    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.args.push(arg.as_ref().to_string_lossy().into_owned());
            self.command.arg(arg);
        }
        self
    }

    /// Adds `--task TEXT`.
    pub fn task(self, text: &str) -> Self {
        self.args(["--task", text])
    }

    /// Sets an environment variable of the engine process.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Removes an environment variable from the engine process.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Holds the engine at a debug hold point (`ENGINE_DEBUG_HOLD`: `after:N`, `before:N`,
    /// `at:NAME`; `engine/src/driver/debug_hold.rs`).
    pub fn hold(self, point: &str) -> Self {
        self.env("ENGINE_DEBUG_HOLD", point)
    }

    /// Puts `dir` first on the engine's `PATH` (fake programs).
    pub fn path_first(self, dir: &Path) -> Self {
        let path = std::env::var("PATH").unwrap_or_default();
        self.env("PATH", format!("{}:{path}", dir.display()))
    }

    /// Runs it in `dir` instead of the repository.
    pub fn in_dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// The command as it stands, for what the builder does not cover.
    pub fn command_mut(&mut self) -> &mut Command {
        &mut self.command
    }

    /// Runs it with its stdout a pipe whose reader is already gone (what `engine runs | head -1`
    /// becomes once `head` exits); returns (exit code, stderr).
    #[track_caller]
    pub fn run_with_stdout_gone(mut self) -> (Option<i32>, String) {
        let mut child = self
            .command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the engine starts");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("the engine is waited for");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs it to completion.
    #[track_caller]
    pub fn run(mut self) -> EngineOutput<'r> {
        let output = self
            .command
            .output()
            .unwrap_or_else(|e| panic!("cannot start engine {:?}: {e}", self.args));
        EngineOutput {
            run: Run { output },
            repo: self.repo,
            args: self.args,
        }
    }

    /// Starts it in the background with stdout and stderr piped.
    #[track_caller]
    pub fn spawn(mut self) -> Spawned {
        let mut child = self
            .command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start engine {:?}: {e}", self.args));
        let stdout = child.stdout.take().map(BufReader::new);
        let stderr = child.stderr.take().map(BufReader::new);
        Spawned {
            child,
            stdout,
            stderr,
            seen: String::new(),
            args: self.args,
            ended: false,
        }
    }
}

/// What one `engine` invocation did, with assertions that fail at the test's line and show
/// both streams.
pub struct EngineOutput<'r> {
    run: Run,
    repo: &'r TestRepo,
    args: Vec<String>,
}

impl Deref for EngineOutput<'_> {
    type Target = Run;

    fn deref(&self) -> &Run {
        &self.run
    }
}

impl EngineOutput<'_> {
    /// Both streams, for a failure message.
    pub fn context(&self) -> String {
        format!(
            "engine {:?} exited {}\n--- stdout\n{}--- stderr\n{}",
            self.args,
            self.code(),
            self.stdout(),
            self.stderr()
        )
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn exits(&self, code: i32) -> &Self {
        assert!(
            self.code() == code,
            "expected exit {code}; {}",
            self.context()
        );
        self
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn succeeds(&self) -> &Self {
        self.exits(0)
    }

    /// Standard output with what varies replaced (see [`super::normalise`]).
    pub fn stdout_normalised(&self) -> String {
        self.repo.normalise(&self.stdout())
    }

    /// Standard error with what varies replaced.
    pub fn stderr_normalised(&self) -> String {
        self.repo.normalise(&self.stderr())
    }

    /// Normalised stderr from its first line starting with `first` (e.g. `summary:`) to the
    /// end: the part of a run's output that is the same from run to run when stages before it
    /// run at the same time. Fails the test if no line starts so.
    #[track_caller]
    pub fn stderr_from(&self, first: &str) -> String {
        let stderr = self.stderr_normalised();
        let at = stderr
            .lines()
            .scan(0, |offset, line| {
                let start = *offset;
                *offset += line.len() + 1;
                Some((start, line))
            })
            .find(|(_, line)| line.starts_with(first))
            .map(|(start, _)| start);
        match at {
            Some(start) => stderr[start..].to_string(),
            None => panic!("no stderr line starts with {first:?}; {}", self.context()),
        }
    }

    /// Asserts the whole normalised stdout.
    #[track_caller]
    pub fn stdout_is(&self, expected: &str) -> &Self {
        assert_text_eq(&self.stdout_normalised(), expected, "stdout");
        self
    }

    /// Asserts the whole normalised stderr.
    #[track_caller]
    pub fn stderr_is(&self, expected: &str) -> &Self {
        assert_text_eq(&self.stderr_normalised(), expected, "stderr");
        self
    }

    /// Asserts stderr contains `needle`, for output that is not the same from run to run
    /// (progress of stages running at the same time): say why in the test.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr().contains(needle),
            "stderr lacks {needle:?}; {}",
            self.context()
        );
        self
    }

    /// Asserts stdout contains `needle` (see [`Self::stderr_has`]).
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout().contains(needle),
            "stdout lacks {needle:?}; {}",
            self.context()
        );
        self
    }

    /// Asserts neither stream contains `needle` (a secret...).
    #[track_caller]
    pub fn never_prints(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout().contains(needle) && !self.stderr().contains(needle),
            "{needle:?} was printed; {}",
            self.context()
        );
        self
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); {}", self.context()))
    }

    /// The plain result, outliving the repository borrow.
    pub fn into_run(self) -> Run {
        self.run
    }

    /// `engine show --json` of the run this invocation started.
    #[track_caller]
    pub fn report(&self) -> RunReport {
        let id = self.run_id();
        assert!(!id.is_empty(), "no run id on stdout; {}", self.context());
        self.repo.report(&id)
    }
}

/// An `engine` process running in the background. Killed when dropped if still running, so a
/// failing test leaves no engine behind.
pub struct Spawned {
    child: Child,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Option<BufReader<ChildStderr>>,
    seen: String,
    args: Vec<String>,
    ended: bool,
}

impl Spawned {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Reads stderr until a line contains `needle`; fails the test (showing what it printed)
    /// if the stream ends first.
    #[track_caller]
    pub fn wait_for_stderr(&mut self, needle: &str) -> &mut Self {
        let Some(stderr) = self.stderr.as_mut() else {
            panic!("stderr already read to its end:\n{}", self.seen);
        };
        let mut line = String::new();
        loop {
            line.clear();
            match stderr.read_line(&mut line) {
                Ok(0) | Err(_) => panic!(
                    "engine {:?} never printed {needle:?}; stderr:\n{}",
                    self.args, self.seen
                ),
                Ok(_) => {
                    self.seen.push_str(&line);
                    if line.contains(needle) {
                        return self;
                    }
                }
            }
        }
    }

    /// Waits until `path` exists (a handshake file the engine's stage writes); fails the test,
    /// showing the engine's stderr, if the engine ends first or after [`PATIENCE`].
    #[track_caller]
    pub fn wait_for_file(&mut self, path: &Path) -> &mut Self {
        let deadline = Instant::now() + PATIENCE;
        while !path.exists() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.ended = true;
                let mut rest = String::new();
                if let Some(mut stderr) = self.stderr.take() {
                    let _ = stderr.read_to_string(&mut rest);
                }
                panic!(
                    "engine {:?} ended ({status}) before {} appeared; stderr:\n{}{rest}",
                    self.args,
                    path.display(),
                    self.seen
                );
            }
            assert!(
                Instant::now() < deadline,
                "waited {PATIENCE:?} for {}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self
    }

    /// Everything read from stderr so far.
    pub fn seen_stderr(&self) -> &str {
        &self.seen
    }

    /// Reads the first stdout line: the run id `engine run` prints when the run is created.
    #[track_caller]
    pub fn read_run_id(&mut self) -> String {
        let mut line = String::new();
        if let Some(stdout) = self.stdout.as_mut() {
            let _ = stdout.read_line(&mut line);
        }
        let id = line.trim().to_string();
        assert_eq!(
            id.len(),
            26,
            "not a run id: {line:?}; stderr:\n{}",
            self.seen
        );
        id
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        signal(self.pid(), libc::SIGTERM);
    }

    /// Sends SIGKILL and reaps the process; returns what it printed on stdout.
    pub fn kill9(&mut self) -> String {
        kill9(&mut self.child);
        self.ended = true;
        self.rest_of_stdout()
    }

    /// Waits for the process to end; returns its exit code and the rest of its stderr.
    #[track_caller]
    pub fn wait(&mut self) -> (i32, String) {
        let mut rest = String::new();
        if let Some(mut stderr) = self.stderr.take() {
            let _ = stderr.read_to_string(&mut rest);
        }
        let status = self
            .child
            .wait()
            .unwrap_or_else(|e| panic!("waiting for engine {:?}: {e}", self.args));
        self.ended = true;
        self.seen.push_str(&rest);
        (status.code().unwrap_or(-1), rest)
    }

    /// What is left on stdout (after the process ended).
    pub fn rest_of_stdout(&mut self) -> String {
        let mut out = String::new();
        if let Some(mut stdout) = self.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        out
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if !self.ended {
            kill9(&mut self.child);
        }
    }
}
