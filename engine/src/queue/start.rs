//! The steps around a run's start that [`super::Lifecycle`] takes: creating its worktree (after
//! the run is recorded), taking an interrupted run up again, ending a run whose claim was
//! refused, and tidying the worktrees of ended runs up.

use std::sync::Arc;

use engine_core::{Event, RunState, RunStatus, Task};
use engine_git::Repo;
use engine_runtime::Host;
use engine_store::{RunMeta, StateDir, Store};

use crate::EngineError;
use crate::driver::commit_step;
use crate::driver::debug_hold::{self, Hold};
use crate::project::{PreparedWorkflow, stored_workflow};
use crate::report::Reporter;
use crate::time::Clock;

/// Creates a recorded run's worktree (idempotent), taking an idle one from the repository's
/// worktree pool when its workflow's `git.worktree_pool` is not 0. What a killed `git worktree
/// add`, park or claim left there is removed first and the worktree created again (each repair
/// is reported as a warning).
pub fn add_run_worktree(
    repo: &Repo,
    meta: &RunMeta,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    let Some(worktree) = &meta.worktree else {
        return Ok(());
    };
    debug_hold::at("worktree-add");
    // The stored workflow was checked when the run was recorded; unreadable now: no pool.
    let reuse = stored_workflow(meta).is_ok_and(|loaded| loaded.git.worktree_pool > 0);
    let mut holds = engine_git::WorktreeHolds {
        before_checkout: &mut || debug_hold::at("worktree-checkout"),
        at_claim: &mut || debug_hold::at("pool-claim"),
    };
    let added =
        repo.add_worktree_reusing(worktree, &meta.branch, &meta.base_commit, reuse, &mut holds)?;
    for repair in added.repairs {
        reporter.warning(&format!("run {}: {repair}", meta.run_id));
    }
    if let Some(from) = added.reused {
        tracing::debug!(
            "run {}: reused the idle worktree {} from the pool",
            meta.run_id,
            from.display()
        );
    }
    Ok(())
}

/// Removes the lock files a killed git command left for a resumed run's worktree
/// (`index.lock`...), with a warning each: nothing else can be running git there, since engine
/// is the only writer of a run's worktree and the caller holds the state directory's lock.
pub(super) fn clear_stale_locks(
    repo: &Repo,
    meta: &RunMeta,
    reporter: &dyn Reporter,
) -> Result<(), EngineError> {
    let Some(worktree) = &meta.worktree else {
        return Ok(());
    };
    for lock in repo.clear_stale_locks(worktree, &meta.branch)? {
        reporter.warning(&format!(
            "run {}: removed the stale git lock {} (left by a git command that was killed; no \
             git process is working in the run's worktree)",
            meta.run_id,
            lock.display()
        ));
    }
    Ok(())
}

/// Removes the worktrees ended runs of `repo` still have although their workflow's
/// `git.keep_worktree` says they go (the engine was killed after the run ended and before its
/// worktree was removed). Runs whose `finally:` stages are still to run are left to `engine
/// resume`. Done once per process and state directory (the runs this process drives remove
/// their own); a failure is a warning (`engine gc` retries).
pub fn remove_ended_worktrees(repo: &Repo, state_dir: &StateDir, reporter: &dyn Reporter) {
    static SWEPT: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());
    {
        let mut swept = SWEPT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if swept.iter().any(|p| p == state_dir.path()) {
            return;
        }
        swept.push(state_dir.path().to_path_buf());
    }
    let store = state_dir.store();
    // A run's worktree is `<state>/worktrees/<run-id>`: the runs read are those whose
    // worktree directory is there, not every run ever stored (a scan that grew with them).
    let Ok(entries) = std::fs::read_dir(state_dir.worktrees_dir()) else {
        return;
    };
    let mut run_ids: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.'))
        .collect();
    run_ids.sort();
    let root = repo.root().canonicalize().ok();
    for run_id in run_ids {
        let record = match store.load(&run_id) {
            Ok(Some(record)) => record,
            // Not a run's (a leftover `engine gc` removes), or gone meanwhile.
            Ok(None) | Err(engine_store::StoreError::InvalidRunId(_)) => continue,
            Err(e) => {
                reporter.warning(&format!(
                    "could not read run {run_id} to clean up after: {e}"
                ));
                continue;
            }
        };
        let same_repo = record.meta.repo_root.canonicalize().ok() == root;
        // A recorded worktree that is already gone is left for `engine gc` to forget.
        let present = record
            .meta
            .worktree
            .as_ref()
            .is_some_and(|w| w.symlink_metadata().is_ok());
        if !same_repo || !present || !record.state.status.is_terminal() {
            continue;
        }
        let mut meta = record.meta;
        remove_if_not_kept(repo, store, &mut meta, &record.state, reporter);
    }
}

/// Removes an ended run's worktree unless its stored workflow keeps it (`git.keep_worktree`) or
/// its `finally:` stages are still to run; reports what it did.
fn remove_if_not_kept(
    repo: &Repo,
    store: &dyn Store,
    meta: &mut RunMeta,
    state: &RunState,
    reporter: &dyn Reporter,
) {
    let Ok(loaded) = stored_workflow(meta) else {
        return;
    };
    let keep = loaded.git.keep_worktree;
    if !state.pending_finally(&loaded.workflow).is_empty()
        || keep.keeps(state.status == RunStatus::Succeeded)
    {
        return;
    }
    match crate::driver::remove_ended_worktree(repo, store, meta, loaded.git.worktree_pool) {
        Ok(Some(worktree)) => reporter.message(&format!(
            "removed the worktree {} of run {}, which ended ({}) before it was removed \
             (branch {} keeps the work)",
            worktree.display(),
            meta.run_id,
            state.status.name(),
            meta.branch
        )),
        Ok(None) => {}
        Err(e) => reporter.warning(&e),
    }
}

/// What [`TaskLink::written_back`] says for a run whose task was never claimed: nothing is
/// written for it.
pub const NOT_CLAIMED: &str = "not claimed";

/// Ends a run that never started because its task's claim was refused: stored as cancelled
/// with `reason` (its `finally:` stages do not run), and marked so that nothing is written
/// back for it. `had_worktree`: its worktree may exist (an interrupted run), so `engine gc`
/// keeps track of it. `at_ms`: when.
pub async fn abandon_run(
    store: &dyn Store,
    workflow: &engine_core::Workflow,
    meta: &mut RunMeta,
    state: &RunState,
    reason: &str,
    had_worktree: bool,
    at_ms: u64,
) -> Result<(), EngineError> {
    let event = Event::CancelRequested {
        at_ms,
        reason: reason.to_string(),
    };
    commit_step(store, workflow, state, &event, &Hold::none()).await?;
    if !had_worktree {
        meta.worktree = None;
    }
    if let Some(link) = meta.task_source.as_mut() {
        link.written_back = Some(NOT_CLAIMED.to_string());
    }
    store.update_meta(meta)?;
    Ok(())
}

/// `engine/<task-id>-<slug>` with the workflow's `git.branch_prefix` instead of `engine/`.
pub(super) fn run_branch_name(prefix: &str, task: &Task) -> String {
    let name = engine_git::branch_name(&task.id, &task.title);
    let rest = name.strip_prefix("engine/").unwrap_or(&name);
    format!("{prefix}{rest}")
}

/// A stored run ready to be driven again.
pub struct Resumable {
    /// The workflow it was started with (the stored text, not the file as it is now).
    pub prepared: PreparedWorkflow,
    /// Its facts.
    pub meta: RunMeta,
    /// Its state as stored.
    pub state: RunState,
    /// `RunStarted` (it never started), `Resumed`, or `None` (it ended; only `finally:`
    /// stages are left).
    pub first: Option<Event>,
}

/// Loads run `run_id` to drive it again: its stored workflow prepared, its worktree
/// recreated when it is gone (repairs reported). `Err(status)` when the run ended with nothing
/// left to do. Its first event carries `clock`'s time.
pub async fn resumable(
    repo: &Repo,
    store: &dyn Store,
    host: &Arc<Host>,
    run_id: &str,
    clock: &dyn Clock,
    reporter: &dyn Reporter,
) -> Result<Result<Resumable, RunStatus>, EngineError> {
    let record = store
        .load(run_id)?
        .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
    // The workflow as it was when the run started, not as it is on disk now.
    let loaded = stored_workflow(&record.meta)?;
    let finally_left = !record.state.pending_finally(&loaded.workflow).is_empty();
    let terminal = record.state.status.is_terminal();
    if terminal && !finally_left {
        // Ended, but maybe killed before its worktree was removed.
        let mut meta = record.meta;
        remove_if_not_kept(repo, store, &mut meta, &record.state, reporter);
        return Ok(Err(record.state.status));
    }
    let prepared = PreparedWorkflow::prepare(host, loaded).await?;
    if !terminal {
        add_run_worktree(repo, &record.meta, reporter)?;
        clear_stale_locks(repo, &record.meta, reporter)?;
    }
    let first = if terminal {
        None
    } else if record.state.status == RunStatus::Pending {
        Some(Event::RunStarted {
            at_ms: clock.now_ms(),
        })
    } else {
        Some(Event::Resumed {
            at_ms: clock.now_ms(),
        })
    };
    Ok(Ok(Resumable {
        prepared,
        meta: record.meta,
        state: record.state,
        first,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_store::{MemoryStore, TaskLink};
    use std::path::Path;

    #[tokio::test]
    async fn an_abandoned_run_is_cancelled_and_writes_nothing_back() {
        let loaded = engine_workflow::load_str(
            "wf.yaml",
            Path::new("."),
            "name: wf\nstages:\n  only: { uses: builtin:gate }\n",
        )
        .unwrap();
        let store = MemoryStore::default();
        let mut meta = RunMeta {
            worktree: Some("/r/.engine/worktrees/R1".into()),
            task_source: Some(TaskLink {
                source: "builtin:tasks-md".into(),
                written_back: None,
            }),
            ..crate::test_fixtures::run_meta("R1", "engine/t-1")
        };
        let state = RunState::new("R1", Task::default(), &loaded.workflow);
        store.create_run(&meta, &state).unwrap();
        abandon_run(
            &store,
            &loaded.workflow,
            &mut meta,
            &state,
            "claim refused",
            false,
            1,
        )
        .await
        .unwrap();
        let record = store.load("R1").unwrap().unwrap();
        assert_eq!(
            record.state.status,
            RunStatus::Cancelled {
                reason: "claim refused".into()
            }
        );
        assert_eq!(record.meta.worktree, None);
        let link = record.meta.task_source.unwrap();
        assert_eq!(link.written_back.as_deref(), Some(NOT_CLAIMED));
        // Known as neither unfinished nor done.
        let known =
            super::super::known_from_runs(&store.list().unwrap(), "builtin:tasks-md", false);
        assert_eq!(known, engine_tasks::Known::default());
    }
}
