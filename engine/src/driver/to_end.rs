//! Driving one run to its end (or until it is stopped) and tidying up after it: what
//! `engine run`, `engine resume` and the run modes (`--all`, `watch`) share. A run that ended
//! but whose worktree a crash kept from being removed is tidied up by the next `resume` of it,
//! `run` or `--all` (see `queue::remove_ended_worktrees`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine_core::{Event, RunState, RunStatus};
use engine_git::Repo;
use engine_runtime::Host;
use engine_store::{RunMeta, Store};

use super::{DriveOutcome, Driver, Lanes};
use crate::EngineError;
use crate::project::PreparedWorkflow;
use crate::report::Reporter;
use crate::secrets::Redactor;
use crate::time::Clock;

/// Everything needed to drive one run.
pub struct RunSetup {
    /// The repository.
    pub repo: Repo,
    /// The state directory (logs, control requests).
    pub state_dir: PathBuf,
    /// The wasm host.
    pub host: Arc<Host>,
    /// The workflow the run was started with, its components loaded.
    pub prepared: Arc<PreparedWorkflow>,
    /// The run's fixed facts.
    pub meta: RunMeta,
    /// The run's state as stored.
    pub state: RunState,
    /// The first event (`RunStarted` for a new run, `Resumed` for an interrupted one); `None`
    /// for a run that ended but whose `finally:` stages did not all run.
    pub first: Option<Event>,
    /// Who hears about progress.
    pub reporter: Arc<dyn Reporter>,
    /// Stop cleanly on SIGINT/SIGTERM.
    pub handle_signals: bool,
    /// Stop cleanly once this turns `true`.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// Merge turns shared with the other runs of this process.
    pub lanes: Option<Arc<Lanes>>,
    /// The clock the run's times come from and its waits are on.
    pub clock: Arc<dyn Clock>,
}

/// How driving a run ended.
#[derive(Debug, Clone)]
pub struct Driven {
    /// The run's state when the driver returned.
    pub state: RunState,
    /// Whether the driver was stopped before the run ended (`engine resume` continues it).
    pub interrupted: bool,
    /// The run's facts (without its worktree once that was removed).
    pub meta: RunMeta,
}

/// Drives the run until it ends (then its summary is reported and, under
/// `git.keep_worktree`, its worktree removed) or until it is stopped.
pub async fn drive_to_end(store: &dyn Store, setup: RunSetup) -> Result<Driven, EngineError> {
    let RunSetup {
        repo,
        state_dir,
        host,
        prepared,
        mut meta,
        state,
        first,
        reporter,
        handle_signals,
        stop,
        lanes,
        clock,
    } = setup;
    let reporter = crate::traces::observe(reporter, &meta, &state, &state_dir);
    reporter.run_started(&meta, !matches!(first, Some(Event::RunStarted { .. })));
    let keep = prepared.loaded.git.keep_worktree;
    let pool = prepared.loaded.git.worktree_pool;
    let order = crate::history::order::StageOrder::of_workflow(&prepared.loaded.workflow);
    let redactor = Arc::new(Redactor::for_workflow(
        &prepared.loaded,
        &prepared.loaded.agents.secrets,
    ));
    let driver = Driver {
        store,
        host,
        prepared,
        meta: meta.clone(),
        state_dir,
        reporter: reporter.clone(),
        handle_signals,
        stop,
        lanes,
        repo: repo.clone(),
        redactor,
        clock,
    };
    let outcome = match first {
        // An ended run whose finally stages did not all run (a crash right after the end).
        None => DriveOutcome::Finished(driver.run_finally(state).await?),
        Some(first) => driver.drive(state, first).await?,
    };
    let (state, interrupted) = match outcome {
        DriveOutcome::Finished(state) => (state, false),
        DriveOutcome::Interrupted(state) => (state, true),
    };
    if !interrupted {
        reporter.run_finished(&state, &order);
        super::debug_hold::at("worktree-remove");
        if !keep.keeps(state.status == RunStatus::Succeeded) {
            match remove_ended_worktree(&repo, store, &mut meta, pool) {
                Ok(Some(worktree)) => reporter.note(&format!(
                    "removed the worktree {} (branch {} keeps the work)",
                    worktree.display(),
                    meta.branch
                )),
                Ok(None) => {}
                Err(e) => reporter.warning(&e),
            }
        }
    }
    Ok(Driven {
        state,
        interrupted,
        meta,
    })
}

/// Removes an ended run's worktree (its branch stays) and records that it is gone; returns the
/// path removed, `None` when the run has none recorded. While the repository's worktree pool
/// holds fewer than `pool` idle worktrees it is parked there instead (unregistered from git, so
/// the run's branch is free, for the next run to reuse; see `engine_git::pool`). A directory a
/// killed `git worktree remove` left unregistered at the run's own place
/// (`<state>/worktrees/<run-id>`, which belongs to no repository any more) goes too.
/// Whether the workflow keeps it (`git.keep_worktree`) is the caller's question. On failure,
/// the error says so and that `engine gc` retries.
pub fn remove_ended_worktree(
    repo: &Repo,
    store: &dyn Store,
    meta: &mut RunMeta,
    pool: u32,
) -> Result<Option<PathBuf>, String> {
    let Some(worktree) = meta.worktree.clone() else {
        return Ok(None);
    };
    let own_place = worktree.file_name().is_some_and(|n| *n == *meta.run_id)
        && worktree
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == "worktrees");
    let retired = repo.retire_run_worktree(&worktree, pool, &mut || {
        super::debug_hold::at("pool-park");
    });
    let result = match retired.map(|_| true) {
        Err(engine_git::GitError::WorktreeConflict { .. })
            if own_place && matches!(Repo::owner_of_worktree(&worktree), Ok(None)) =>
        {
            std::fs::remove_dir_all(&worktree).map_err(|e| e.to_string())
        }
        other => other.map(|_| ()).map_err(|e| e.to_string()),
    };
    result
        .and_then(|()| {
            meta.worktree = None;
            // Lazily: a crash that loses it leaves a record of a worktree that is gone, which
            // `engine gc` clears and `engine retry` makes again.
            store.update_meta_lazily(meta).map_err(|e| e.to_string())
        })
        .map_err(|e| {
            format!(
                "could not remove the worktree {} of run {}: {e} (`engine gc` retries)",
                worktree.display(),
                meta.run_id
            )
        })?;
    Ok(Some(worktree))
}
