//! `engine run FILE --dry-run`, and what the run modes that work through the workflow's task
//! source share (`--all` and `watch` sessions are in [`super::session`]; see [`crate::queue`]).

use std::time::Duration;

use engine_store::{Store, read_mirrors};
use engine_tasks::schedule;

use super::readonly::{self, RunSource};
use super::run::RunArgs;
use crate::project::{PreparedWorkflow, Project};
use crate::queue::{Limits, TaskSource, dry_run_json, dry_run_text, known_from_runs};
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

/// `engine run --dry-run`.
pub(super) async fn dry_run_command(
    args: RunArgs,
    project: Project,
    prepared: PreparedWorkflow,
    source: Option<TaskSource>,
) -> Result<u8, EngineError> {
    let source = needs_source(source, args.workflow(), "--dry-run")?;
    let parallel = usize::from(args.parallel);
    let limits = limits(args.until.as_deref(), &prepared, SystemClock.now_ms())?;
    dry_run(&args, &project, &prepared, &source, &limits, parallel).await
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
    let mut known = known_from_runs(&records, source.label(), busy);
    if let Some(epic) = &args.epic {
        crate::queue::epic::check(&listing.tasks, epic, &source.describe())?;
        crate::queue::epic::keep_to(&listing.tasks, epic, &mut known);
    }
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
