//! Runs the real `scripted-agent` binary on a temporary directory.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A temporary working directory with a script.
pub struct Agent {
    pub temp: tempfile::TempDir,
    pub script: PathBuf,
    pub state: PathBuf,
    pub work: PathBuf,
}

/// What one invocation printed.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Every stdout line as JSON (panics on a non-JSON line).
    pub fn events(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line:?}")))
            .collect()
    }

    /// Events of a `type`.
    pub fn of_type(&self, kind: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|event| event["type"] == kind)
            .collect()
    }

    /// The only event of a `type`.
    pub fn one(&self, kind: &str) -> Value {
        let events = self.of_type(kind);
        assert_eq!(
            events.len(),
            1,
            "expected one {kind} event in {}",
            self.stdout
        );
        events.into_iter().next().unwrap()
    }
}

impl Agent {
    /// A temp dir with `script.yaml` holding `script`, an empty `work/` directory and state in
    /// `state/`.
    pub fn new(script: &str) -> Agent {
        let temp = tempfile::tempdir().unwrap();
        let script_path = temp.path().join("script.yaml");
        std::fs::write(&script_path, script).unwrap();
        let work = temp.path().join("work");
        std::fs::create_dir(&work).unwrap();
        Agent {
            state: temp.path().join("state"),
            script: script_path,
            work,
            temp,
        }
    }

    /// The command for `--as dialect` with the CLI's `args`, in `work/`, with a clean
    /// environment (PATH and HOME only, plus `IS_SANDBOX=1` so root may bypass permissions).
    pub fn command(&self, dialect: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_scripted-agent"));
        command
            .arg("--script")
            .arg(&self.script)
            .arg("--as")
            .arg(dialect)
            .arg("--state")
            .arg(&self.state)
            .args(args)
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.temp.path())
            .env("IS_SANDBOX", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs to completion with stdin closed.
    pub fn run(&self, dialect: &str, args: &[&str]) -> Run {
        finish(self.command(dialect, args).spawn().unwrap())
    }

    /// Runs Claude in print mode with stream-json and `prompt` as the argument.
    pub fn claude(&self, prompt: &str) -> Run {
        finish(self.claude_command(prompt).spawn().unwrap())
    }

    /// The Claude print-mode stream-json command with `prompt` as the argument.
    pub fn claude_command(&self, prompt: &str) -> Command {
        self.command(
            "claude",
            &["-p", "--output-format", "stream-json", "--verbose", prompt],
        )
    }

    /// Runs the binary with exactly `args` (no `--script`), in `work/`.
    pub fn run_raw(&self, args: &[&str]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_scripted-agent"));
        command
            .args(args)
            .current_dir(&self.work)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        finish(command.spawn().unwrap())
    }

    /// Runs Codex exec --json outside git with `prompt` as the argument.
    pub fn codex(&self, prompt: &str) -> Run {
        self.run(
            "codex",
            &["exec", "--json", "--skip-git-repo-check", prompt],
        )
    }

    /// The invocation log.
    pub fn invocations(&self) -> Vec<Value> {
        let text =
            std::fs::read_to_string(self.state.join("invocations.jsonl")).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// A path in `work/`.
    pub fn work_file(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }
}

/// Runs `command` with `stdin` piped in.
pub fn run_with_stdin(mut command: Command, stdin: &str) -> Run {
    let mut child = command.stdin(Stdio::piped()).spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    finish(child)
}

/// Waits for a child started with piped output.
pub fn finish(child: Child) -> Run {
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A running agent whose stdout is read line by line.
pub struct Live {
    pub child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Live {
    /// Starts `command` and reads its stdout on a thread.
    pub fn start(mut command: Command) -> Live {
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Live { child, lines }
    }

    /// The next stdout line, waiting up to a generous bound.
    pub fn next_line(&self) -> Option<String> {
        self.lines.recv_timeout(Duration::from_secs(30)).ok()
    }

    /// Reads lines until one parses as an event of `kind` (returns every event read).
    pub fn until(&self, kind: &str) -> Vec<Value> {
        let mut events = Vec::new();
        while let Some(line) = self.next_line() {
            let event: Value = serde_json::from_str(&line).unwrap();
            let done = event["type"] == kind;
            events.push(event);
            if done {
                return events;
            }
        }
        panic!("no {kind} event; got {events:?}");
    }

    /// Asserts the process is still running after a pause, then kills it and returns whatever
    /// else it printed.
    pub fn assert_hangs_then_kill(mut self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the agent exited instead of hanging"
        );
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut rest = Vec::new();
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            rest.push(line);
        }
        rest
    }
}

/// Canonical form of a path (temp dirs may sit behind symlinks).
pub fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap()
}
