//! Shared by `engine run` and `engine resume`: drive a run to its end and report how it went.

use std::sync::Arc;

use engine_core::{Event, RunState, RunStatus};
use engine_runtime::Host;
use engine_store::{RunMeta, StateDir, Store};

use crate::driver::{DriveOutcome, Driver};
use crate::project::PreparedWorkflow;
use crate::report::{Human, Quiet, Reporter};
use crate::secrets::Redactor;
use crate::{EngineError, exit};

/// Drives the run and prints the result; returns the exit code for the run's outcome.
#[allow(clippy::too_many_arguments)]
pub(super) async fn drive_run(
    repo: &engine_git::Repo,
    state_dir: &StateDir,
    host: Arc<Host>,
    prepared: PreparedWorkflow,
    meta: RunMeta,
    state: RunState,
    first: Option<Event>,
    json: bool,
) -> Result<u8, EngineError> {
    let reporter: Arc<dyn Reporter> = if json {
        Arc::new(Quiet)
    } else {
        Arc::new(Human::stderr())
    };
    reporter.run_started(&meta, !matches!(first, Some(Event::RunStarted { .. })));
    let keep = prepared.loaded.git.keep_worktree;
    let redactor = Arc::new(Redactor::for_workflow(
        &prepared.loaded.workflow,
        &prepared.loaded.agents.secrets,
    ));
    let mut meta = meta;
    let driver = Driver {
        store: state_dir.store(),
        host,
        prepared: Arc::new(prepared),
        meta: meta.clone(),
        state_dir: state_dir.path().to_path_buf(),
        reporter,
        handle_signals: true,
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
        driver.reporter.run_finished(&state);
    }
    if !interrupted && remove_worktree(keep, &state.status) {
        cleanup_worktree(repo, state_dir, &mut meta, json);
    }
    if json {
        let record = state_dir.store().load(&state.run_id)?;
        super::print_json(&serde_json::json!({
            "run_id": state.run_id,
            "status": state.status.name(),
            "interrupted": interrupted,
            "run": record,
        }))?;
    } else if interrupted {
        eprintln!(
            "run {} stopped before it finished; continue it with `engine resume {}`",
            state.run_id, state.run_id
        );
    }
    Ok(if interrupted {
        exit::RUN_INTERRUPTED
    } else {
        exit_code_for(&state.status)
    })
}

/// Whether a finished run's worktree goes, under `git.keep_worktree`.
fn remove_worktree(keep: engine_workflow::KeepWorktree, status: &RunStatus) -> bool {
    use engine_workflow::KeepWorktree;
    match keep {
        KeepWorktree::Always => false,
        KeepWorktree::Never => true,
        KeepWorktree::OnFailure => *status == RunStatus::Succeeded,
    }
}

/// Removes a finished run's worktree (its branch stays) and records that it is gone. A failure
/// here is reported, not fatal: `engine gc` can finish the job.
fn cleanup_worktree(
    repo: &engine_git::Repo,
    state_dir: &StateDir,
    meta: &mut RunMeta,
    quiet: bool,
) {
    let Some(worktree) = meta.worktree.clone() else {
        return;
    };
    let result = repo
        .remove_run_worktree(&worktree)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            meta.worktree = None;
            state_dir
                .store()
                .update_meta(meta)
                .map_err(|e| e.to_string())
        });
    match result {
        Ok(()) if !quiet => eprintln!(
            "removed the worktree {} (branch {} keeps the work)",
            worktree.display(),
            meta.branch
        ),
        Ok(()) => {}
        Err(e) => eprintln!(
            "warning: could not remove the worktree {}: {e} (`engine gc` retries)",
            worktree.display()
        ),
    }
}

/// The exit code that reports a run's status.
pub(super) fn exit_code_for(status: &RunStatus) -> u8 {
    match status {
        RunStatus::Succeeded => exit::SUCCESS,
        RunStatus::Failed { .. } => exit::RUN_FAILED,
        RunStatus::Cancelled { .. } => exit::RUN_CANCELLED,
        RunStatus::NeedsAttention { .. } => exit::RUN_NEEDS_ATTENTION,
        RunStatus::Pending | RunStatus::Running => exit::RUN_INTERRUPTED,
    }
}
