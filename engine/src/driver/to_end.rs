//! Driving one run to its end (or until it is stopped) and tidying up after it: what
//! `engine run`, `engine resume` and the run modes (`--all`, `watch`) share.

use std::path::PathBuf;
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
    } = setup;
    reporter.run_started(&meta, !matches!(first, Some(Event::RunStarted { .. })));
    let keep = prepared.loaded.git.keep_worktree;
    let redactor = Arc::new(Redactor::for_workflow(
        &prepared.loaded.workflow,
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
        reporter.run_finished(&state);
        if !keep.keeps(state.status == RunStatus::Succeeded) {
            remove_worktree(&repo, store, &mut meta, reporter.as_ref());
        }
    }
    Ok(Driven {
        state,
        interrupted,
        meta,
    })
}

/// Removes a finished run's worktree (its branch stays) and records that it is gone. A failure
/// here is reported, not fatal: `engine gc` can finish the job.
fn remove_worktree(repo: &Repo, store: &dyn Store, meta: &mut RunMeta, reporter: &dyn Reporter) {
    let Some(worktree) = meta.worktree.clone() else {
        return;
    };
    let result = repo
        .remove_run_worktree(&worktree)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            meta.worktree = None;
            store.update_meta(meta).map_err(|e| e.to_string())
        });
    match result {
        Ok(()) => reporter.note(&format!(
            "removed the worktree {} (branch {} keeps the work)",
            worktree.display(),
            meta.branch
        )),
        Err(e) => eprintln!(
            "warning: could not remove the worktree {} of run {}: {e} (`engine gc` retries)",
            worktree.display(),
            meta.run_id
        ),
    }
}
