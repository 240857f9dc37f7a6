//! Host supervision of an agent CLI, under hard limits no stage can switch off.
//!
//! [`Session::start`] writes the invocation's files and spawns the CLI as the leader of its own
//! process group, with a scrubbed environment (exactly [`SessionSpec::env`] plus the
//! invocation's variables), stdin null (or the invocation's bytes, then closed), and
//! `PR_SET_PDEATHSIG` so it dies with the engine (Linux). One task then reads stdout and stderr
//! line by line, records every line in the transcript, feeds the backend's parser, delivers the
//! events ([`Session::next_event`]) and judges the [`Limits`] on a single timer:
//!
//! - **inactivity**: no output at all and no tool running for `inactivity` → `KilledInactive`
//!   (a `frozen_warning` first);
//! - **tool ceilings**: only the newest running tool is judged (a tool runs from its
//!   `ToolStarted` to the `ToolFinished` with the same id; older unfinished ones may be
//!   orphans), against the quick or the long ceilings, counted from when it became the newest
//!   → `KilledToolCeiling`;
//! - **silence backstop**: no output for `silence_backstop` even while a tool runs →
//!   `KilledSilence`;
//! - **max turns** and **budget**: judged on every event, so the kill comes at the first turn
//!   or the first cost update past the limit → `MaxTurns`, `BudgetExceeded`;
//! - **after the result**: the process gets `post_result_grace` to exit, then is killed; the
//!   outcome stays the result's (EOF is never awaited).
//!
//! Every kill sends SIGTERM to the whole group, then SIGKILL 2 s later. When the session ends
//! the group is `SIGKILLed` (background children die too); dropping a [`Session`] kills it at
//! once. The [`Summary`] combines the terminal event, the exit code and the events seen.
//!
//! [`Session::start`] must be called from async code on a tokio runtime (not from
//! `spawn_blocking`: the parent-death signal follows the spawning thread).

mod driver;
mod error;
mod format;
mod limits;
mod lines;
mod record;
mod spawn;
mod spend;
mod transcript;
mod watchdog;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use engine_confine::ProcessGroup;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::backend::{Invocation, StreamParser};
use crate::event::{AgentEvent, Usage};
use crate::summary::{Outcome, Summary};

pub use crate::prices::{PriceTable, Pricing};
pub use error::SuperviseError;
pub use limits::{Limits, Prices};

use driver::Driver;
use lines::{MAX_LINE_BYTES, Stream, read_lines};
use spend::Spend;
use transcript::Transcript;

/// Lines read ahead of the supervision loop.
const LINE_QUEUE: usize = 1024;
/// Characters of the command line written to the transcript.
const COMMAND_LINE_CHARS: usize = 2000;

/// Everything needed to run one supervised session.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// The CLI to run (from a backend).
    pub invocation: Invocation,
    /// Working directory (the run's worktree).
    pub cwd: PathBuf,
    /// The complete, already scrubbed environment: the child gets exactly this plus
    /// `invocation.env`, nothing inherited.
    pub env: Vec<(String, String)>,
    /// The raw transcript file (JSONL, appended to; its directory is created).
    pub transcript: PathBuf,
    /// The limits.
    pub limits: Limits,
    /// Prices to estimate the cost from tokens when the CLI reports none (the workflow's
    /// `prices:` over the built-in table).
    pub pricing: Pricing,
    /// The model requested (a tier already resolved): priced until the CLI names its own.
    pub model: Option<String>,
    /// Secret values to replace with `[redacted]` in the transcript (an agent may echo what
    /// it was given in its environment).
    pub redact: Vec<String>,
    /// Confinement of the CLI process (`None` only when the workflow turns it off).
    pub confinement: Option<SessionConfinement>,
}

/// How one session is confined: the attempt's sandbox, plus paths only this session needs.
#[derive(Debug, Clone)]
pub struct SessionConfinement {
    /// The attempt's sandbox.
    pub sandbox: Arc<engine_confine::Sandbox>,
    /// Writable for this session only (a read-only session's throw-away copy).
    pub extra_writable: Vec<PathBuf>,
    /// Readable for this session only (its scratch files inside the hidden state directory).
    pub extra_readable: Vec<PathBuf>,
}

/// State shared between a [`Session`] handle and its supervision task.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    spent: Mutex<Option<f64>>,
    estimated: AtomicBool,
    ended: AtomicBool,
}

impl Shared {
    pub(crate) fn set_spent(&self, spent: Option<f64>, estimated: bool) {
        *self
            .spent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = spent;
        self.estimated.store(estimated, Ordering::SeqCst);
    }

    fn spent(&self) -> Option<f64> {
        *self
            .spent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The task has killed what was left of the group: the handle must not signal it again.
    pub(crate) fn mark_ended(&self) {
        self.ended.store(true, Ordering::SeqCst);
    }

    fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }
}

/// A running, supervised agent session.
pub struct Session {
    events: mpsc::UnboundedReceiver<AgentEvent>,
    cancel: mpsc::UnboundedSender<()>,
    driver: Option<JoinHandle<Summary>>,
    shared: Arc<Shared>,
    group: Option<ProcessGroup>,
    started: Instant,
}

impl Session {
    /// Writes the invocation's files, opens the transcript and spawns the CLI under
    /// supervision. Must be called inside a tokio runtime.
    pub fn start(
        spec: SessionSpec,
        parser: Box<dyn StreamParser>,
    ) -> Result<Session, SuperviseError> {
        let started = Instant::now();
        spawn::write_files(&spec)?;
        let mut transcript = Transcript::open(&spec.transcript, started, spec.redact.clone())?;
        let (mut child, start_guard) = spawn::spawn(&spec)?;
        let group = ProcessGroup::led_by(&child, start_guard.is_some());
        transcript.supervisor(&command_line(&spec.invocation, group));

        let (line_tx, line_rx) = mpsc::channel(LINE_QUEUE);
        let mut helpers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let task = read_lines(stdout, Stream::Stdout, MAX_LINE_BYTES, line_tx.clone());
            helpers.push(tokio::spawn(task).abort_handle());
        }
        if let Some(stderr) = child.stderr.take() {
            let task = read_lines(stderr, Stream::Stderr, MAX_LINE_BYTES, line_tx);
            helpers.push(tokio::spawn(task).abort_handle());
        }
        if let (Some(stdin), Some(bytes)) = (child.stdin.take(), spec.invocation.stdin.clone()) {
            helpers.push(tokio::spawn(spawn::feed_stdin(stdin, bytes)).abort_handle());
        }
        let exited = tokio::spawn(async move {
            let status = child.wait().await;
            // What is left of a confined start (its cgroup) goes once the CLI has exited.
            drop(start_guard);
            status
        });

        let shared = Arc::new(Shared::default());
        let spend = Spend::new(spec.pricing, spec.model);
        shared.set_spent(spend.spent_usd(), spend.estimated());
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let (cancel_tx, cancel_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            group,
            parser,
            lines: line_rx,
            exited,
            helpers,
            events: event_tx,
            cancel: cancel_rx,
            transcript,
            limits: spec.limits,
            spend,
            shared: shared.clone(),
            started,
        };
        Ok(Session {
            events: event_rx,
            cancel: cancel_tx,
            driver: Some(tokio::spawn(driver.run())),
            shared,
            group,
            started,
        })
    }

    /// The next event, in order; None once the session ended and every event was delivered.
    pub async fn next_event(&mut self) -> Option<AgentEvent> {
        self.events.recv().await
    }

    /// Kills the process group (SIGTERM, then SIGKILL); the outcome becomes `Cancelled`
    /// unless the result had already arrived.
    pub fn cancel(&self) {
        let _ = self.cancel.send(());
    }

    /// Waits for the end (discarding undelivered events) and returns the summary.
    pub async fn finish(mut self) -> Summary {
        self.events.close();
        while self.events.recv().await.is_some() {}
        let Some(driver) = self.driver.take() else {
            return self.lost("the session was already finished");
        };
        match driver.await {
            Ok(summary) => summary,
            Err(e) => {
                self.kill_group();
                self.lost(&format!("the supervisor task failed: {e}"))
            }
        }
    }

    /// What the session has spent so far: the CLI's reported cost, or its tokens priced (an
    /// estimate, see [`Session::spent_estimated`]), or None when neither is known.
    pub fn spent_usd(&self) -> Option<f64> {
        self.shared.spent()
    }

    /// Whether [`Session::spent_usd`] is an estimate from tokens and prices (the CLI reported
    /// no cost).
    pub fn spent_estimated(&self) -> bool {
        self.shared.estimated.load(Ordering::SeqCst)
    }

    /// The process id (and process-group id) of the CLI, while known.
    pub fn pid(&self) -> Option<u32> {
        self.group.and_then(|g| u32::try_from(g.id()).ok())
    }

    fn kill_group(&self) {
        if !self.shared.ended()
            && let Some(group) = self.group
        {
            group.kill();
        }
    }

    fn lost(&self, detail: &str) -> Summary {
        Summary {
            outcome: Outcome::Crashed,
            result_text: String::new(),
            session_id: None,
            turns: 0,
            usage: Usage {
                cost_usd: self.spent_usd(),
                ..Usage::default()
            },
            duration_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            exit_code: None,
            detail: detail.to_string(),
            resets_at_ms: None,
            files_changed: Vec::new(),
            cost_estimated: false,
            model: None,
        }
    }
}

impl Drop for Session {
    /// A dropped session (e.g. a cancelled attempt) kills the CLI's whole group at once.
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            self.kill_group();
            driver.abort();
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("pid", &self.group.map(|g| g.id()))
            .field("spent_usd", &self.spent_usd())
            .finish_non_exhaustive()
    }
}

fn command_line(invocation: &Invocation, group: Option<ProcessGroup>) -> String {
    let mut line = format!("started `{}", invocation.program);
    for arg in &invocation.args {
        line.push(' ');
        line.push_str(arg);
    }
    let mut line = format::clip_chars(&line, COMMAND_LINE_CHARS);
    line.push('`');
    if let Some(group) = group {
        // Writing into a String cannot fail.
        let _ = write!(line, " (pid {})", group.id());
    }
    line
}
