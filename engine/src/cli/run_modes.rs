//! `engine run FILE --all [--parallel N]`, `engine run FILE --dry-run` and the session shared
//! with `engine watch FILE`: the run modes that work through the workflow's task source (see
//! [`crate::queue`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use engine_runtime::Host;
use engine_store::{StateDir, Store, read_mirrors};
use engine_tasks::schedule;

use super::readonly::{self, RunSource};
use super::run::RunArgs;
use crate::control::{Holder, Holding};
use crate::output::ProcessStreams;
use crate::project::{PreparedWorkflow, Project};
use crate::queue::{
    self, Lifecycle, LifecycleSetup, Limits, QueueOptions, TaskSource, dry_run_json, dry_run_text,
    known_from_runs,
};
use crate::report::{Human, Quiet, Reporter};
use crate::time::{Clock, SystemClock};
use crate::{EngineError, exit};

/// The limits of a session (`--until`, read at `now_ms`, and the workflow's).
pub(super) fn limits(
    until: Option<&str>,
    prepared: &PreparedWorkflow,
    now_ms: u64,
) -> Result<Limits, EngineError> {
    Limits::new(until, prepared, now_ms)
}

/// `engine run --all` / `--dry-run`.
pub(super) async fn execute(
    args: RunArgs,
    project: Project,
    workflow_file: PathBuf,
    host: Arc<Host>,
    prepared: PreparedWorkflow,
    source: Option<TaskSource>,
) -> Result<u8, EngineError> {
    let source = needs_source(
        source,
        args.workflow(),
        if args.all { "--all" } else { "--dry-run" },
    )?;
    let parallel = usize::from(args.parallel);
    let limits = limits(args.until.as_deref(), &prepared, SystemClock.now_ms())?;
    if args.dry_run {
        return dry_run(&args, &project, &prepared, &source, &limits, parallel).await;
    }
    let session = Session {
        workflow: args.workflow().to_path_buf(),
        workflow_file,
        command: "engine run --all",
        options: QueueOptions {
            parallel,
            watch: None,
            limits,
            human: !args.json,
            // The holding process's, set once it holds the state directory.
            lanes: Arc::default(),
            slots: Arc::default(),
        },
        base: args.base.clone(),
        labels: args.labels.clone(),
        json: args.json,
        fresh: args.fresh,
    };
    session.run(project, host, prepared, source).await
}

/// Refuses a run mode without a task source.
pub(super) fn needs_source(
    source: Option<TaskSource>,
    workflow: &std::path::Path,
    mode: &str,
) -> Result<TaskSource, EngineError> {
    source.ok_or_else(|| {
        EngineError::Usage(format!(
            "{mode} works through a task source, but {} has no `tasks:` section; add one, e.g. \
             `tasks: {{ source: tasks-md, path: spec/tasks.md, permissions: {{ workspace: write \
             }} }}`",
            workflow.display()
        ))
    })
}

/// An `--all` or `watch` session.
pub(super) struct Session {
    /// The workflow as given.
    pub workflow: PathBuf,
    /// Its absolute path.
    pub workflow_file: PathBuf,
    /// `engine run --all` or `engine watch`, for the lock file.
    pub command: &'static str,
    /// How it goes.
    pub options: QueueOptions,
    /// `--base`.
    pub base: Option<String>,
    /// `--label`s added to every task.
    pub labels: Vec<String>,
    /// Print the JSON summary on stdout instead of the human one on stderr.
    pub json: bool,
    /// `--fresh`: failed tasks start over instead of going on from their failed stage.
    pub fresh: bool,
}

impl Session {
    /// Holds the state directory, works through the queue and reports; returns the exit code.
    pub(super) async fn run(
        self,
        project: Project,
        host: Arc<Host>,
        prepared: PreparedWorkflow,
        source: TaskSource,
    ) -> Result<u8, EngineError> {
        let holder = format!(
            "{} {} (pid {})",
            self.command,
            self.workflow.display(),
            std::process::id()
        );
        let state_dir = StateDir::open_locked(&project.state_dir, &holder)?;
        let clock: Arc<dyn crate::time::Clock> = Arc::new(SystemClock);
        let (holding, stop) =
            Holding::new(project.repo.clone(), state_dir, host.clone(), clock.clone());
        // Other terminals' `engine run` go on in this process, beside the session's runs.
        let output = ProcessStreams;
        let serving = Holder::start(holding.clone(), stop, super::hold::executor(), &output);
        // The base branch is found once for the session (every run starts from its tip).
        let mut base = self.base;
        if base.is_none() && prepared.loaded.git.base.is_none() {
            base = Some(project.repo.default_base_branch()?);
        }
        let reporter: Arc<dyn Reporter> = if self.json {
            Arc::new(Quiet)
        } else {
            Arc::new(Human::stderr())
        };
        let lifecycle = Arc::new(Lifecycle::new(LifecycleSetup {
            repo: project.repo,
            state_dir: holding.state_dir.clone(),
            host,
            prepared: Arc::new(prepared),
            workflow_file: self.workflow_file,
            source: Some(source),
            base,
            labels: self.labels,
            retry_failed: !self.fresh,
            clock,
            reporter,
        }));
        let mut options = self.options;
        options.lanes = holding.lanes.clone();
        options.slots = holding.slots.clone();
        let outcome = queue::run_queue(&lifecycle, &options).await;
        serving.finish(&output).await;
        if self.json {
            super::print_json(&outcome.to_json())?;
        } else {
            for line in outcome.lines() {
                eprintln!("{}", crate::terminal::safe(&line));
            }
        }
        Ok(outcome.exit_code(options.watch.is_some()))
    }
}

/// `--dry-run`: what would run, in which order, and why the rest would not. Reads the state
/// directory without holding it, so it works while another engine process runs tasks.
async fn dry_run(
    args: &RunArgs,
    project: &Project,
    prepared: &PreparedWorkflow,
    source: &TaskSource,
    limits: &Limits,
    parallel: usize,
) -> Result<u8, EngineError> {
    let listing = source.list().await?;
    let (records, busy, closed) = if project.state_dir.exists() {
        match readonly::open(&project.state_dir, "engine run --dry-run")? {
            RunSource::Store(state_dir) => {
                let closed = limits.gate(state_dir.store(), prepared, SystemClock.now_ms())?;
                (state_dir.store().list()?, false, closed)
            }
            RunSource::Mirrors(dir) => {
                let listing = read_mirrors(&dir)?;
                readonly::warn_unreadable(&listing.problems);
                (listing.runs, true, None)
            }
        }
    } else {
        (
            Vec::new(),
            false,
            limits.closed(SystemClock.now_ms()).map(|w| (w, true)),
        )
    };
    let known = known_from_runs(&records, source.label(), busy);
    let one_run = !args.all;
    let plan = schedule(
        &listing.tasks,
        &known,
        parallel,
        if one_run { Some(1) } else { None },
    );
    let label = source.describe();
    if args.json {
        let mut doc = dry_run_json(&listing, &label, &plan, parallel, one_run);
        doc["limit"] = serde_json::json!(closed.as_ref().map(|(why, _)| why));
        super::print_json(&doc)?;
    } else {
        super::streams::print(&dry_run_text(&listing, &label, &plan, parallel, one_run));
        for warning in crate::tasks::render::warnings(&listing) {
            eprintln!("{warning}");
        }
        if let Some((why, _)) = closed {
            super::streams::print_line(&format!(
                "note: no run would start now: {}",
                crate::terminal::safe(&why.clone())
            ));
        }
    }
    Ok(exit::SUCCESS)
}

/// `--interval` of `engine watch`: at least 100ms.
pub(super) fn interval(text: &str) -> Result<Duration, EngineError> {
    let interval = humantime::parse_duration(text)
        .map_err(|e| EngineError::Usage(format!("--interval {text:?}: {e} (e.g. 5s, 1m)")))?;
    if interval < Duration::from_millis(100) {
        return Err(EngineError::Usage(format!(
            "--interval {text:?} is shorter than 100ms"
        )));
    }
    Ok(interval)
}
