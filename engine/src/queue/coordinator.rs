//! `--all`, `--parallel N` and `watch`: work through the ready tasks of the workflow's source,
//! up to N runs at once, each in its own worktree, in one engine process holding the state
//! directory.
//!
//! Policy:
//! - the source is read again before every new run, so tasks that became ready (a dependency
//!   was merged, a task was added) follow, urgent ones first;
//! - a run that fails, is cancelled or needs attention does not stop the session: its task is
//!   not started again by it and its dependents stay blocked;
//! - a task whose claim is refused is skipped;
//! - a limit (`budget.day_usd`, `--until`, working hours) stops new runs while the runs going
//!   on finish (`watch` waits for working hours and for the next day's budget instead);
//! - SIGINT/SIGTERM stop every run going on at its last stored transition (resumable), and
//!   the session ends;
//! - a source that cannot be read, or an engine failure (store, git), stops new runs (`watch`
//!   tries the source again at its next poll).

use crate::terminal::{safe, safe_lines};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_git::Repo;
use engine_runtime::Host;
use engine_store::{StateDir, Store};
use engine_tasks::{Known, Verdict, plan};
use tokio::task::JoinSet;

use super::session::{QueueOutcome, SessionRun, Stopped};
use super::{Begun, Limits, SourceRun, TaskSource, known_from_runs, verdict_text, writeback};
use crate::EngineError;
use crate::driver::{Driven, Lanes, RunSetup, drive_to_end};
use crate::project::PreparedWorkflow;
use crate::report::{Human, Quiet, Reporter};

/// What a session works on.
pub struct QueueContext {
    /// The repository.
    pub repo: Repo,
    /// The state directory, held for the whole session.
    pub state_dir: StateDir,
    /// The wasm host.
    pub host: Arc<Host>,
    /// The workflow as loaded when the session started.
    pub prepared: Arc<PreparedWorkflow>,
    /// Its file.
    pub workflow_file: PathBuf,
    /// Its task source.
    pub source: TaskSource,
}

/// How a session goes.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// Runs at once (at least 1).
    pub parallel: usize,
    /// `watch`: look at the source this often and never end on an empty queue.
    pub watch: Option<Duration>,
    /// Checked before every new run.
    pub limits: Limits,
    /// `--base`.
    pub base: Option<String>,
    /// `--label`s added to every task.
    pub labels: Vec<String>,
    /// Progress for people on stderr (off with `--json`).
    pub human: bool,
}

struct InFlight {
    task_id: String,
    title: String,
    run_id: String,
    started: Instant,
}

type Joined = (String, Result<Driven, EngineError>);

struct Session<'a> {
    ctx: &'a QueueContext,
    opts: &'a QueueOptions,
    tasks: JoinSet<Joined>,
    in_flight: HashMap<tokio::task::Id, InFlight>,
    succeeded: HashMap<String, String>,
    settled: HashMap<String, String>,
    runs: Vec<SessionRun>,
    stop: tokio::sync::watch::Sender<bool>,
    lanes: Arc<Lanes>,
    listed_once: bool,
}

/// Works through the queue until it is empty (never, with `watch`), a limit or a signal stops
/// it, or something fails. Errors end up in the outcome: the runs going on always finish (or
/// are stopped) before this returns.
pub async fn run_queue(ctx: &QueueContext, opts: &QueueOptions) -> QueueOutcome {
    let began = Instant::now();
    let (stop, _) = tokio::sync::watch::channel(false);
    let mut session = Session {
        ctx,
        opts,
        tasks: JoinSet::new(),
        in_flight: HashMap::new(),
        succeeded: HashMap::new(),
        settled: HashMap::new(),
        runs: Vec::new(),
        stop,
        lanes: Arc::new(Lanes::default()),
        listed_once: false,
    };
    let mut signals = match Signals::new() {
        Ok(signals) => signals,
        Err(e) => {
            return QueueOutcome {
                stopped: Some(Stopped::Error(e)),
                ..QueueOutcome::default()
            };
        }
    };
    let mut stopped: Option<Stopped> = None;
    let mut last_note = String::new();
    loop {
        if stopped.is_none() {
            match session.fill().await {
                Ok(None) => {}
                Ok(Some((why, permanent))) if opts.watch.is_none() || permanent => {
                    stopped = Some(Stopped::Limit(why));
                }
                Ok(Some((why, _))) => session.note_once(&mut last_note, format!("waiting: {why}")),
                Err(EngineError::TaskSource(e)) if opts.watch.is_some() => session.note_once(
                    &mut last_note,
                    format!("cannot read the tasks (trying again at the next look): {e}"),
                ),
                Err(e) => stopped = Some(Stopped::Error(e)),
            }
        }
        if session.in_flight.is_empty() && (stopped.is_some() || opts.watch.is_none()) {
            break;
        }
        let poll = opts.watch.unwrap_or(Duration::from_secs(86_400));
        tokio::select! {
            Some(joined) = session.tasks.join_next_with_id(), if !session.in_flight.is_empty() => {
                if let Err(e) = session.finished(joined).await {
                    stopped.get_or_insert(Stopped::Error(e));
                }
            }
            _ = signals.recv() => {
                if !matches!(stopped, Some(Stopped::Signal)) {
                    if opts.human {
                        eprintln!("stopping: the runs going on stop at their last stored transition");
                    }
                    stopped = Some(Stopped::Signal);
                    let _ = session.stop.send(true);
                }
            }
            _ = tokio::time::sleep(poll), if opts.watch.is_some() => {}
        }
    }
    let left = session.left().await;
    QueueOutcome {
        runs: session.runs,
        stopped,
        left,
        took_ms: u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

impl Session<'_> {
    fn note_once(&self, last: &mut String, note: String) {
        if *last != note && self.opts.human {
            eprintln!("{}", safe_lines(&note));
        }
        *last = note;
    }

    /// What the engine knows on top of the source.
    fn known(&self, records: &[engine_store::RunRecord]) -> Known {
        let mut known = known_from_runs(records, self.ctx.source.label(), false);
        for run in self.in_flight.values() {
            known
                .running
                .insert(run.task_id.clone(), run.run_id.clone());
        }
        known.succeeded.extend(self.succeeded.clone());
        known.settled.extend(self.settled.clone());
        known
    }

    /// Starts what may start; `Some((why, permanent))` when a limit keeps runs from starting.
    async fn fill(&mut self) -> Result<Option<(String, bool)>, EngineError> {
        let store = self.ctx.state_dir.store();
        if !self.listed_once {
            for (id, outcome) in writeback::reconcile(&self.ctx.source, store, &store.list()?).await
            {
                eprintln!("{}", safe_lines(&outcome.describe(&id)));
            }
        }
        // A refused claim frees its slot for the next task: plan again.
        for _ in 0..64 {
            let free = self.opts.parallel.saturating_sub(self.in_flight.len());
            if free == 0 {
                return Ok(None);
            }
            let listing = self.ctx.source.list().await?;
            if !self.listed_once {
                self.listed_once = true;
                for warning in crate::tasks::render::warnings(&listing) {
                    eprintln!("{}", safe_lines(&warning));
                }
            }
            let known = self.known(&store.list()?);
            let plan = plan(&listing.tasks, &known, free);
            let starts: Vec<(usize, Option<String>)> = plan
                .starts()
                .map(|(i, r)| (i, r.map(str::to_string)))
                .collect();
            if starts.is_empty() {
                return Ok(None);
            }
            let mut refused = false;
            for (index, resume) in starts {
                if let Some(closed) = self.opts.limits.gate(store, &self.ctx.prepared)? {
                    return Ok(Some(closed));
                }
                let task = &listing.tasks[index];
                if let Some(why) = self.start(task, resume.as_deref()).await? {
                    eprintln!(
                        "warning: {} was not started: {}",
                        safe(&task.id),
                        safe_lines(&why)
                    );
                    self.settled.insert(task.id.clone(), why);
                    refused = true;
                }
            }
            if !refused {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// Starts (or resumes) a run for `task`; `Some(why)` when its claim was refused.
    async fn start(
        &mut self,
        task: &engine_tasks::Task,
        resume: Option<&str>,
    ) -> Result<Option<String>, EngineError> {
        let ctx = self.ctx;
        let begin = SourceRun {
            repo: &ctx.repo,
            state_dir: &ctx.state_dir,
            host: &ctx.host,
            prepared: &ctx.prepared,
            workflow_file: &ctx.workflow_file,
            base: self.opts.base.as_deref(),
            labels: &self.opts.labels,
            source: &ctx.source,
        };
        let started = match begin.begin(task, resume).await? {
            Begun::Run(started) => *started,
            Begun::Refused(why) => return Ok(Some(why)),
        };
        let prepared = started
            .prepared
            .map_or_else(|| ctx.prepared.clone(), Arc::new);
        let (meta, state, first) = (started.meta, started.state, started.first);
        if self.opts.human {
            let how = if state.seq > 0 { ", resumed" } else { "" };
            eprintln!(
                "→ {} starts: {} (run {}{how})",
                safe(&task.id),
                safe(&task.title),
                meta.run_id
            );
        }
        let reporter: Arc<dyn Reporter> = if self.opts.human {
            Arc::new(Human::stderr_prefixed(&format!("[{}] ", safe(&task.id))))
        } else {
            Arc::new(Quiet)
        };
        let flight = InFlight {
            task_id: task.id.clone(),
            title: task.title.clone(),
            run_id: meta.run_id.clone(),
            started: Instant::now(),
        };
        let setup = RunSetup {
            repo: ctx.repo.clone(),
            state_dir: ctx.state_dir.path().to_path_buf(),
            host: ctx.host.clone(),
            prepared,
            meta,
            state,
            first,
            reporter,
            handle_signals: false,
            stop: Some(self.stop.subscribe()),
            lanes: Some(self.lanes.clone()),
        };
        // Each run owns a handle on the same open database; `ctx.state_dir` (the lock) outlives
        // every run because the session always collects its runs before it returns.
        let store = ctx.state_dir.store().clone();
        let task_id = task.id.clone();
        let handle = self.tasks.spawn(async move {
            let result = drive_to_end(&store, setup).await;
            (task_id, result)
        });
        self.in_flight.insert(handle.id(), flight);
        Ok(None)
    }

    /// Records a run that ended (or stopped) and writes its end back.
    async fn finished(
        &mut self,
        joined: Result<(tokio::task::Id, Joined), tokio::task::JoinError>,
    ) -> Result<(), EngineError> {
        let (id, result) = match joined {
            Ok((id, (_, result))) => (id, result),
            Err(e) => (
                e.id(),
                Err(EngineError::Usage(format!(
                    "a run's driver stopped unexpectedly: {e}"
                ))),
            ),
        };
        let Some(flight) = self.in_flight.remove(&id) else {
            return Ok(());
        };
        let took = u64::try_from(flight.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let driven = match result {
            Ok(driven) => driven,
            Err(e) => {
                self.settled.insert(
                    flight.task_id.clone(),
                    format!("run {} failed: {e}", flight.run_id),
                );
                self.runs.push(SessionRun {
                    task_id: flight.task_id.clone(),
                    title: flight.title,
                    run_id: flight.run_id,
                    result: "error".into(),
                    message: Some(e.to_string()),
                    took_ms: took,
                    spend: engine_core::Spend::NONE,
                    write_back: None,
                });
                return Err(e);
            }
        };
        let mut run = SessionRun::ended(&driven.state, driven.interrupted, took, &flight.title);
        if !driven.interrupted {
            let mut meta = driven.meta.clone();
            run.write_back = writeback::write_back(
                &self.ctx.source,
                self.ctx.state_dir.store(),
                &mut meta,
                &driven.state,
            )
            .await;
            if run.succeeded() {
                // Once the source says done it speaks for itself (a task reopened there runs
                // again); until then the session counts it as done.
                if !matches!(run.write_back, Some(super::WriteBack::Written { .. })) {
                    self.succeeded
                        .insert(run.task_id.clone(), run.run_id.clone());
                }
            } else {
                self.settled.insert(
                    run.task_id.clone(),
                    format!(
                        "its run {} ended {} in this session",
                        run.run_id, run.result
                    ),
                );
            }
        }
        if self.opts.human {
            let mark = if run.succeeded() { "✓" } else { "✗" };
            let what = match &run.message {
                Some(message) => format!("{}: {message}", run.result),
                None => run.result.clone(),
            };
            let status = run
                .write_back
                .as_ref()
                .map(|w| format!(" · {}", w.describe(&run.task_id)))
                .unwrap_or_default();
            eprintln!(
                "{mark} {} {} in {} (run {}){}",
                safe(&run.task_id),
                safe_lines(&what),
                crate::time::human_duration(took),
                run.run_id,
                safe_lines(&status)
            );
        }
        self.runs.push(run);
        Ok(())
    }

    /// The tasks left when the session ends, and why.
    async fn left(&self) -> Vec<(String, String, String)> {
        let (Ok(listing), Ok(records)) = (
            self.ctx.source.list().await,
            self.ctx.state_dir.store().list(),
        ) else {
            return Vec::new();
        };
        let ran: std::collections::HashSet<&str> =
            self.runs.iter().map(|r| r.task_id.as_str()).collect();
        plan(&listing.tasks, &self.known(&records), 0)
            .entries
            .into_iter()
            .filter(|e| !matches!(e.verdict, Verdict::Done | Verdict::Succeeded { .. }))
            .filter(|e| !ran.contains(listing.tasks[e.index].id.as_str()))
            .map(|e| {
                let task = &listing.tasks[e.index];
                (
                    task.id.clone(),
                    task.title.clone(),
                    verdict_text(&e.verdict),
                )
            })
            .collect()
    }
}

/// SIGINT/SIGTERM for the whole session.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self, EngineError> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            int: signal(SignalKind::interrupt()).map_err(|e| EngineError::io("SIGINT", e))?,
            term: signal(SignalKind::terminate()).map_err(|e| EngineError::io("SIGTERM", e))?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {},
            _ = self.term.recv() => {},
        }
    }
}
