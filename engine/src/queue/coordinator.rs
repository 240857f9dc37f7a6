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

use crate::terminal::safe;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use engine_tasks::{Known, Verdict, plan};
use tokio::task::JoinSet;

use super::session::{QueueOutcome, SessionRun, Stopped};
use super::{Begun, DriveOptions, Lifecycle, Limits, RunEnd, RunRequest, WriteBack, verdict_text};
use crate::EngineError;
use crate::driver::{Lanes, Signals};
use crate::report::{Human, Quiet, Reporter};

/// How a session goes.
#[derive(Clone)]
pub struct QueueOptions {
    /// Runs at once (at least 1).
    pub parallel: usize,
    /// `watch`: look at the source this often and never end on an empty queue.
    pub watch: Option<Duration>,
    /// Checked before every new run.
    pub limits: Limits,
    /// Progress for people on stderr (off with `--json`).
    pub human: bool,
    /// Merge turns shared with the other runs of this process (the ones submitted from other
    /// terminals).
    pub lanes: Arc<Lanes>,
    /// Concurrency-group turns shared with the other runs of this process.
    pub slots: Arc<super::Slots>,
    /// Where the runs' progress goes (this terminal, or the one that submitted the session).
    pub output: Arc<dyn crate::output::Output>,
    /// Stops the session like SIGINT/SIGTERM once it turns `true`; `None`: the session listens
    /// for those signals itself.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// `--epic ID`: only the tasks of this epic start (see [`super::epic`]).
    pub epic: Option<String>,
}

struct InFlight {
    task_id: String,
    title: String,
    run_id: String,
    started_ms: u64,
}

type Joined = Result<RunEnd, EngineError>;

struct Session<'a> {
    lifecycle: &'a Arc<Lifecycle>,
    opts: &'a QueueOptions,
    tasks: JoinSet<Joined>,
    in_flight: HashMap<tokio::task::Id, InFlight>,
    succeeded: HashMap<String, String>,
    settled: HashMap<String, String>,
    runs: Vec<SessionRun>,
    stop: tokio::sync::watch::Sender<bool>,
    listed_once: bool,
}

/// Works through the queue of `lifecycle`'s task source (every run goes through it) until it
/// is empty (never, with `watch`), a limit or a signal stops it, or something fails. Errors end
/// up in the outcome: the runs going on always finish (or are stopped) before this returns.
pub async fn run_queue(lifecycle: &Arc<Lifecycle>, opts: &QueueOptions) -> QueueOutcome {
    let clock = lifecycle.setup.clock.clone();
    let began = clock.now_ms();
    let (stop, _) = tokio::sync::watch::channel(false);
    let mut session = Session {
        lifecycle,
        opts,
        tasks: JoinSet::new(),
        in_flight: HashMap::new(),
        succeeded: HashMap::new(),
        settled: HashMap::new(),
        runs: Vec::new(),
        stop,
        listed_once: false,
    };
    // SIGINT/SIGTERM for the whole session: the runs' drivers do not listen for them.
    let mut signals = match Signals::new(opts.stop.is_none(), opts.stop.clone()) {
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
        // Pacing, not run time: the look at the source stays on tokio's timer.
        let poll = opts.watch.unwrap_or(Duration::from_hours(24));
        tokio::select! {
            Some(joined) = session.tasks.join_next_with_id(), if !session.in_flight.is_empty() => {
                if let Err(e) = session.finished(joined) {
                    stopped.get_or_insert(Stopped::Error(e));
                }
            }
            () = signals.recv() => {
                if !matches!(stopped, Some(Stopped::Signal)) {
                    session.reporter().note(
                        "stopping: the runs going on stop at their last stored transition",
                    );
                    stopped = Some(Stopped::Signal);
                    let _ = session.stop.send(true);
                }
            }
            () = tokio::time::sleep(poll), if opts.watch.is_some() => {}
        }
    }
    let left = session.left().await;
    QueueOutcome {
        runs: session.runs,
        stopped,
        left,
        took_ms: clock.now_ms().saturating_sub(began),
    }
}

impl Session<'_> {
    /// Who hears about the session (lines outside any run's stages).
    fn reporter(&self) -> &dyn Reporter {
        self.lifecycle.setup.reporter.as_ref()
    }

    fn note_once(&self, last: &mut String, note: String) {
        if *last != note {
            self.reporter().note(&note);
        }
        *last = note;
    }

    /// What the engine knows on top of the source.
    fn known(&self) -> Result<Known, EngineError> {
        let mut known = self.lifecycle.known()?;
        for run in self.in_flight.values() {
            known
                .running
                .insert(run.task_id.clone(), run.run_id.clone());
        }
        known.succeeded.extend(self.succeeded.clone());
        known.settled.extend(self.settled.clone());
        Ok(known)
    }

    /// Starts what may start; `Some((why, permanent))` when a limit keeps runs from starting.
    async fn fill(&mut self) -> Result<Option<(String, bool)>, EngineError> {
        let lifecycle = self.lifecycle;
        // Until the source was listed once (a source that cannot be read yet is tried again at
        // the next look), the ends it did not get are written back first.
        if !self.listed_once {
            lifecycle.reconcile().await?;
        }
        // A refused claim frees its slot for the next task: plan again.
        for _ in 0..64 {
            let free = self.opts.parallel.saturating_sub(self.in_flight.len());
            if free == 0 {
                return Ok(None);
            }
            // Picks take turns with those of runs submitted to this process.
            let _picking = super::PICK_TURN.lock().await;
            let listing = lifecycle.list().await?;
            self.listed_once = true;
            let mut known = self.known()?;
            if let Some(epic) = &self.opts.epic {
                super::epic::keep_to(&listing.tasks, epic, &mut known);
            }
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
                let setup = &lifecycle.setup;
                let now = setup.clock.now_ms();
                let gate = self
                    .opts
                    .limits
                    .gate(lifecycle.store(), &setup.prepared, now)?;
                if let Some(closed) = gate {
                    return Ok(Some(closed));
                }
                let task = &listing.tasks[index];
                if let Some(why) = self.start(task, resume).await? {
                    self.reporter()
                        .warning(&format!("{} was not started: {why}", safe(&task.id)));
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
        resume: Option<String>,
    ) -> Result<Option<String>, EngineError> {
        let request = RunRequest::Source {
            task: Box::new(task.clone()),
            resume,
        };
        let started = match self.lifecycle.begin(request).await? {
            Begun::Run(started) => *started,
            Begun::Refused(why) => return Ok(Some(why)),
        };
        let how = if started.state.seq > 0 {
            ", resumed"
        } else {
            ""
        };
        self.reporter().note(&format!(
            "→ {} starts: {} (run {}{how})",
            safe(&task.id),
            safe(&task.title),
            started.meta.run_id
        ));
        let reporter: Arc<dyn Reporter> = if self.opts.human {
            Arc::new(Human::to_output_prefixed(
                self.opts.output.clone(),
                &format!("[{}] ", safe(&task.id)),
            ))
        } else {
            Arc::new(Quiet)
        };
        let flight = InFlight {
            task_id: task.id.clone(),
            title: task.title.clone(),
            run_id: started.meta.run_id.clone(),
            started_ms: self.lifecycle.setup.clock.now_ms(),
        };
        let options = DriveOptions {
            reporter,
            handle_signals: false,
            stop: Some(self.stop.subscribe()),
            lanes: Some(self.opts.lanes.clone()),
            slots: Some(self.opts.slots.clone()),
        };
        // The lifecycle (and the state directory's lock it holds) outlives every run: the
        // session always collects its runs before it returns.
        let lifecycle = self.lifecycle.clone();
        let handle = self
            .tasks
            .spawn(async move { lifecycle.run_to_end(started, options).await });
        self.in_flight.insert(handle.id(), flight);
        Ok(None)
    }

    /// Records a run that ended (or stopped), its end written back.
    fn finished(
        &mut self,
        joined: Result<(tokio::task::Id, Joined), tokio::task::JoinError>,
    ) -> Result<(), EngineError> {
        let (id, result) = match joined {
            Ok((id, result)) => (id, result),
            Err(e) => (
                e.id(),
                Err(EngineError::Internal(format!(
                    "a run's driver stopped unexpectedly: {e}"
                ))),
            ),
        };
        let Some(flight) = self.in_flight.remove(&id) else {
            return Ok(());
        };
        let took = self
            .lifecycle
            .setup
            .clock
            .now_ms()
            .saturating_sub(flight.started_ms);
        let end = match result {
            Ok(end) => end,
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
        let driven = &end.driven;
        let mut run = SessionRun::ended(&driven.state, driven.interrupted, took, &flight.title);
        if !driven.interrupted {
            run.write_back = end.write_back;
            if run.succeeded() {
                // Once the source says done it speaks for itself (a task reopened there runs
                // again); until then the session counts it as done.
                if !matches!(run.write_back, Some(WriteBack::Written { .. })) {
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
        self.reporter().note(&format!(
            "{mark} {} {what} in {} (run {}){status}",
            safe(&run.task_id),
            crate::time::human_duration(took),
            run.run_id,
        ));
        self.runs.push(run);
        Ok(())
    }

    /// The tasks left when the session ends, and why.
    async fn left(&self) -> Vec<(String, String, String)> {
        let (Ok(listing), Ok(known)) = (self.lifecycle.list().await, self.known()) else {
            return Vec::new();
        };
        let ran: std::collections::HashSet<&str> =
            self.runs.iter().map(|r| r.task_id.as_str()).collect();
        // With --epic, only the epic's tasks are left to say anything about.
        let members = match &self.opts.epic {
            Some(epic) => super::epic::members(&listing.tasks, epic),
            None => vec![true; listing.tasks.len()],
        };
        plan(&listing.tasks, &known, 0)
            .entries
            .into_iter()
            .filter(|e| members[e.index])
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
