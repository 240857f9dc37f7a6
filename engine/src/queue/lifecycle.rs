//! One run lifecycle, for every way a run is started: `engine run` (one task), `engine resume`,
//! `--all` and `watch` (many, see [`super::run_queue`]), and any caller that hands runs in
//! (a control socket). The steps, each a method of [`Lifecycle`]:
//!
//! 1. [`Lifecycle::reconcile`]: write back the ends of earlier runs the source did not get;
//! 2. [`Lifecycle::list`] and [`Lifecycle::known`]: the source's tasks and what the state
//!    directory knows of them, from which the caller picks (`pick`, `plan`);
//! 3. [`Lifecycle::begin`]: record the run (or take up its unfinished one), claim its task,
//!    create its worktree;
//! 4. [`Lifecycle::run_to_end`]: drive it until it ends or is stopped, then write its end back.
//!
//! A caller that submits a run and wants its outcome holds the lifecycle in an [`Arc`], calls
//! [`Lifecycle::begin`] and spawns [`Lifecycle::run_to_end`]: the run's [`RunEnd`] comes back
//! through the task's handle. Calls into the task source take turns (runs ending at the same
//! time write their ends back one after another, never while a task is being claimed).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use engine_core::{Event, RunState, Task};
use engine_git::Repo;
use engine_runtime::Host;
use engine_store::{RunMeta, StateDir, Store, TaskLink};
use tokio::sync::{Mutex, watch};

use super::driving::{self, Driving};
use super::slots::Slots;
use super::start::{
    abandon_run, add_run_worktree, remove_ended_worktrees, resumable, run_branch_name,
};
use super::{TaskSource, WriteBack};
use crate::EngineError;
use crate::driver::{Driven, Lanes, RunSetup, Signals, drive_to_end};
use crate::project::{PreparedWorkflow, stored_workflow};
use crate::report::Reporter;
use crate::time::Clock;

mod source;

/// What a lifecycle works with.
pub struct LifecycleSetup {
    /// The repository.
    pub repo: Repo,
    /// The state directory, held for as long as the lifecycle (and every other user of the
    /// process's hold) lives.
    pub state_dir: Arc<StateDir>,
    /// The wasm host.
    pub host: Arc<Host>,
    /// The workflow new runs start with (a resumed run goes on with its own).
    pub prepared: Arc<PreparedWorkflow>,
    /// Its file.
    pub workflow_file: PathBuf,
    /// The task source runs are picked from and write their ends back to.
    pub source: Option<TaskSource>,
    /// `--base`: the branch new runs start from (else the workflow's `git.base`, else the
    /// repository's default branch).
    pub base: Option<String>,
    /// `--label`s added to every source task's own.
    pub labels: Vec<String>,
    /// A task of the source whose last run failed is retried from its failed stage (that run
    /// goes on, keeping what succeeded before it) when the workflow did not change since;
    /// `false` (`--fresh`) starts such a task over in a new run.
    pub retry_failed: bool,
    /// Where the runs' times come from.
    pub clock: Arc<dyn Clock>,
    /// Who hears about what happens outside any run's stages (write-backs, repairs,
    /// warnings).
    pub reporter: Arc<dyn Reporter>,
}

/// Turns for calls into the task sources: one at a time in the whole process, whichever
/// lifecycle makes them (the holder of a state directory runs the runs of several terminals,
/// and two claims must not rewrite one tasks file at once).
static SOURCE_TURN: Mutex<()> = Mutex::const_new(());

/// Turns for picking a task and beginning its run, one at a time in the whole process: two
/// runs submitted at once must not both pick the same next ready task (the first one's run is
/// recorded, and so known, before the second one picks).
pub static PICK_TURN: Mutex<()> = Mutex::const_new(());

/// The lifecycle of the runs of one engine process (see the module's documentation).
pub struct Lifecycle {
    /// What it works with.
    pub setup: LifecycleSetup,
    /// Turns for calls into the task source.
    source_turn: &'static Mutex<()>,
    /// Whether the source's listing warnings were reported (once per lifecycle).
    warned: AtomicBool,
}

/// What a run is begun for.
#[derive(Debug, Clone)]
pub enum RunRequest {
    /// A task of the source; `resume` names its unfinished run, taken up instead of a new one.
    Source {
        /// The task.
        task: Box<engine_tasks::Task>,
        /// Its unfinished run.
        resume: Option<String>,
    },
    /// A task of no source (`--task TEXT`, `--task-file`, or one named after the workflow).
    Inline(Task),
}

/// A run begun, ready to drive.
pub struct Started {
    /// The workflow it runs when that is not the lifecycle's (a resumed run's stored one).
    pub prepared: Option<PreparedWorkflow>,
    /// Its facts.
    pub meta: RunMeta,
    /// Its state.
    pub state: RunState,
    /// Its first event (`RunStarted`, `Resumed`); `None` for a run that ended whose
    /// `finally:` stages did not all run.
    pub first: Option<Event>,
    /// The run taken to be driven by this process (see [`super::driving`]) until it is
    /// driven to its end; `None` when the caller holds it.
    pub driving: Option<Driving>,
}

/// How beginning a run went.
pub enum Begun {
    /// Ready to drive.
    Run(Box<Started>),
    /// The claim was refused (the run was stored as cancelled, the task is left alone), or the
    /// unfinished run to take up had already ended.
    Refused(String),
}

/// How a run is driven.
pub struct DriveOptions {
    /// Who hears about its progress.
    pub reporter: Arc<dyn Reporter>,
    /// Stop it cleanly on SIGINT/SIGTERM (when nobody else listens for them).
    pub handle_signals: bool,
    /// Stop it cleanly once this turns `true`.
    pub stop: Option<watch::Receiver<bool>>,
    /// Merge turns shared with the other runs of this process.
    pub lanes: Option<Arc<Lanes>>,
    /// Turns of the workflows' concurrency groups, shared with the other runs of this process.
    pub slots: Option<Arc<Slots>>,
}

/// How a run ended (or was stopped), and what became of its task's status.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// The run as the driver left it.
    pub driven: Driven,
    /// Its end written back to its task; `None` for a run stopped before its end or of no
    /// source's task.
    pub write_back: Option<WriteBack>,
}

impl Lifecycle {
    /// A lifecycle of runs with `setup`.
    pub fn new(setup: LifecycleSetup) -> Self {
        Lifecycle {
            setup,
            source_turn: &SOURCE_TURN,
            warned: AtomicBool::new(false),
        }
    }

    /// The state directory's store.
    pub fn store(&self) -> &dyn Store {
        self.setup.state_dir.store()
    }

    fn source(&self) -> Result<&TaskSource, EngineError> {
        self.setup.source.as_ref().ok_or_else(|| {
            EngineError::Internal(
                "a run lifecycle without a task source was asked for tasks".into(),
            )
        })
    }

    /// Begins a run for `request`. A source task's run is recorded first (or its unfinished
    /// run taken up), then its task claimed in the name of that run (a retried claim by the
    /// same run is harmless), then its worktree created; a refused claim ends the run as
    /// cancelled. An inline task's run is recorded, then its worktree created. The run is
    /// recorded before its worktree exists, so a crash in between leaves a run `engine
    /// resume` can finish.
    pub async fn begin(&self, request: RunRequest) -> Result<Begun, EngineError> {
        let LifecycleSetup {
            repo,
            state_dir,
            reporter,
            ..
        } = &self.setup;
        remove_ended_worktrees(repo, state_dir, reporter.as_ref());
        match request {
            RunRequest::Inline(task) => {
                let (meta, state, taken) = self.record(task, None)?;
                add_run_worktree(repo, &meta, reporter.as_ref())?;
                Ok(self.new_run(meta, state, taken))
            }
            RunRequest::Source {
                task,
                resume: Some(run_id),
            } => self.take_up(&task, &run_id).await,
            RunRequest::Source { task, resume: None } => self.begin_for(&task).await,
        }
    }

    /// Begins a run for a task of the source: its failed last run again from the failed stage
    /// (see [`LifecycleSetup::retry_failed`]), else a new run.
    async fn begin_for(&self, task: &engine_tasks::Task) -> Result<Begun, EngineError> {
        let source = self.source()?;
        let summaries = if self.setup.retry_failed {
            self.store().summaries()?
        } else {
            Vec::new()
        };
        if let Some(last) =
            super::failed_task::failed_last_run(&summaries, source.label(), &task.id)
            && let Some(failed) = self.store().load(&last.run_id)?
        {
            let reporter = self.setup.reporter.as_ref();
            let run_id = &failed.meta.run_id;
            if failed.meta.workflow_source == self.setup.prepared.loaded.source {
                match self.retry_failed(source, task, run_id).await? {
                    Ok(begun) => return Ok(begun),
                    Err(why) => reporter.message(&format!(
                        "task {}: its last run {run_id} failed and cannot be retried ({why}): a \
                         new run starts from the first stage",
                        crate::terminal::safe(&task.id)
                    )),
                }
            } else {
                reporter.message(&format!(
                    "task {}: its last run {run_id} failed, and the workflow changed since: a \
                     new run starts from the first stage",
                    crate::terminal::safe(&task.id)
                ));
            }
        }
        let mut run_task = task.to_run_task();
        run_task.labels.extend(self.setup.labels.iter().cloned());
        let link = TaskLink {
            source: source.label().to_string(),
            written_back: None,
        };
        let began = std::time::Instant::now();
        let (mut meta, state, taken) = self.record(run_task, Some(link))?;
        let recorded = began.elapsed();
        let claimed = self.claim(source, &task.id, &meta.run_id).await;
        let claimed_in = began.elapsed().saturating_sub(recorded);
        if let Err(e) = claimed {
            let why = format!("the claim of {} was refused: {e}", task.id);
            let workflow = &self.setup.prepared.loaded.workflow;
            let at_ms = self.setup.clock.now_ms();
            abandon_run(
                self.store(),
                workflow,
                &mut meta,
                &state,
                &why,
                false,
                at_ms,
            )
            .await?;
            return Ok(Begun::Refused(why));
        }
        add_run_worktree(&self.setup.repo, &meta, self.setup.reporter.as_ref())?;
        tracing::debug!(
            run_id = %meta.run_id,
            recorded_ms = format_args!("{:.1}", recorded.as_secs_f64() * 1000.0),
            claimed_ms = format_args!("{:.1}", claimed_in.as_secs_f64() * 1000.0),
            ms = format_args!("{:.1}", began.elapsed().as_secs_f64() * 1000.0),
            "run begun (recorded, task claimed in its source, worktree ready)"
        );
        Ok(self.new_run(meta, state, taken))
    }

    /// Takes up `run_id`, the unfinished run of a task of the source, claiming the task again.
    async fn take_up(&self, task: &engine_tasks::Task, run_id: &str) -> Result<Begun, EngineError> {
        let source = self.source()?;
        let setup = &self.setup;
        let taken = driving::claim(run_id)?;
        if let Err(e) = self.claim(source, &task.id, run_id).await {
            let record = self
                .store()
                .load(run_id)?
                .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
            let workflow = stored_workflow(&record.meta)?.workflow;
            let mut meta = record.meta;
            let why = format!("the claim of {} was refused: {e}", task.id);
            let at_ms = setup.clock.now_ms();
            abandon_run(
                self.store(),
                &workflow,
                &mut meta,
                &record.state,
                &why,
                true,
                at_ms,
            )
            .await?;
            return Ok(Begun::Refused(why));
        }
        let (clock, reporter) = (setup.clock.as_ref(), setup.reporter.as_ref());
        let taken_up = resumable(
            &setup.repo,
            self.store(),
            &setup.host,
            run_id,
            clock,
            reporter,
        )
        .await?;
        Ok(match taken_up {
            Ok(r) => Begun::Run(Box::new(Started {
                prepared: Some(r.prepared),
                meta: r.meta,
                state: r.state,
                first: r.first,
                driving: Some(taken),
            })),
            Err(status) => Begun::Refused(format!("run {run_id} already ended: {}", status.name())),
        })
    }

    /// Drives a begun run until it ends (or is stopped), then writes its end back to its task.
    pub async fn run_to_end(
        &self,
        started: Started,
        options: DriveOptions,
    ) -> Result<RunEnd, EngineError> {
        let setup = &self.setup;
        let _driving = started.driving;
        let prepared = started
            .prepared
            .map_or_else(|| setup.prepared.clone(), Arc::new);
        // Held while the run is driven.
        let _turn = match (&options.slots, &prepared.loaded.concurrency) {
            (Some(slots), Some(concurrency)) => {
                // A run stopped while it waits (Ctrl-C, the holder stops) is left as it was
                // recorded, to be resumed.
                let mut stop = Signals::new(options.handle_signals, options.stop.clone())?;
                let waiting =
                    slots.take_turn(concurrency, &started.meta.run_id, &*options.reporter);
                tokio::select! {
                    turn = waiting => turn,
                    () = stop.recv() => {
                        let driven = Driven {
                            state: started.state,
                            interrupted: true,
                            meta: started.meta,
                        };
                        return Ok(RunEnd { driven, write_back: None });
                    }
                }
            }
            _ => None,
        };
        // A run that waited for its turn starts now, not when it was begun.
        let first = match started.first {
            Some(Event::RunStarted { .. }) => Some(Event::RunStarted {
                at_ms: setup.clock.now_ms(),
            }),
            Some(Event::Resumed { .. }) => Some(Event::Resumed {
                at_ms: setup.clock.now_ms(),
            }),
            other => other,
        };
        let run = RunSetup {
            repo: setup.repo.clone(),
            state_dir: setup.state_dir.path().to_path_buf(),
            host: setup.host.clone(),
            prepared,
            meta: started.meta,
            state: started.state,
            first,
            reporter: options.reporter,
            handle_signals: options.handle_signals,
            stop: options.stop,
            lanes: options.lanes,
            clock: setup.clock.clone(),
        };
        let driven = drive_to_end(self.store(), run).await?;
        let began = std::time::Instant::now();
        let write_back = self.write_back(&driven).await;
        tracing::debug!(
            run_id = %driven.meta.run_id,
            ms = format_args!("{:.1}", began.elapsed().as_secs_f64() * 1000.0),
            "run's end written back to its task"
        );
        Ok(RunEnd { driven, write_back })
    }

    /// Records a new run of the lifecycle's workflow for `task`, from the tip of the base
    /// branch, its worktree not created yet.
    fn record(
        &self,
        task: Task,
        task_source: Option<TaskLink>,
    ) -> Result<(RunMeta, RunState, Driving), EngineError> {
        let setup = &self.setup;
        let (repo, prepared) = (&setup.repo, &setup.prepared);
        let base_branch = match setup
            .base
            .as_deref()
            .or(prepared.loaded.git.base.as_deref())
        {
            Some(base) => base.to_string(),
            None => repo.default_base_branch()?,
        };
        let base_commit = repo.rev_parse(&base_branch)?;
        let branch =
            repo.unique_branch_name(&run_branch_name(&prepared.loaded.git.branch_prefix, &task))?;
        let run_id = ulid::Ulid::new().to_string();
        let worktree = setup.state_dir.worktrees_dir().join(&run_id);
        let meta = RunMeta {
            run_id: run_id.clone(),
            workflow_file: setup.workflow_file.clone(),
            workflow_name: prepared.loaded.workflow.name.clone(),
            workflow_source: prepared.loaded.source.clone(),
            created_at_ms: setup.clock.now_ms(),
            repo_root: repo.root().to_path_buf(),
            worktree: Some(worktree),
            branch,
            base_branch,
            base_commit,
            task_source,
        };
        let initial = RunState::new(run_id, task, &prepared.loaded.workflow);
        // A new id: nothing else drives it.
        let taken = driving::claim(&meta.run_id)?;
        self.store().create_run(&meta, &initial)?;
        setup.reporter.run_recorded(&meta.run_id);
        Ok((meta, initial, taken))
    }

    /// A new run, ready to start (`RunStarted` now).
    fn new_run(&self, meta: RunMeta, state: RunState, driving: Driving) -> Begun {
        Begun::Run(Box::new(Started {
            prepared: None,
            meta,
            state,
            first: Some(Event::RunStarted {
                at_ms: self.setup.clock.now_ms(),
            }),
            driving: Some(driving),
        }))
    }
}
