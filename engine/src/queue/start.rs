//! Starting a run for a task (recorded before its worktree exists) and picking an interrupted
//! run up again: shared by `engine run`, `engine resume` and the run modes.

use std::path::Path;
use std::sync::Arc;

use engine_core::{Event, RunState, RunStatus, Task};
use engine_git::Repo;
use engine_runtime::Host;
use engine_store::{RunMeta, StateDir, Store, TaskLink};

use super::TaskSource;
use crate::EngineError;
use crate::driver::debug_hold;
use crate::project::{PreparedWorkflow, stored_workflow};
use crate::time::now_ms;

/// Records a new run of `prepared` for `task`, from the tip of the base branch (`base`, else
/// the workflow's `git.base`, else detected), then creates its worktree. The run is recorded
/// first, so a crash in between leaves a run `engine resume` can finish.
pub fn create_run(
    repo: &Repo,
    state_dir: &StateDir,
    prepared: &PreparedWorkflow,
    workflow_file: &Path,
    base: Option<&str>,
    task: Task,
    task_source: Option<TaskLink>,
) -> Result<(RunMeta, RunState), EngineError> {
    remove_ended_worktrees(repo, state_dir);
    let (meta, state) = record_run(
        repo,
        state_dir,
        prepared,
        workflow_file,
        base,
        task,
        task_source,
    )?;
    add_run_worktree(repo, &meta)?;
    Ok((meta, state))
}

/// Records a new run (see [`create_run`]) without creating its worktree yet.
pub fn record_run(
    repo: &Repo,
    state_dir: &StateDir,
    prepared: &PreparedWorkflow,
    workflow_file: &Path,
    base: Option<&str>,
    task: Task,
    task_source: Option<TaskLink>,
) -> Result<(RunMeta, RunState), EngineError> {
    let base_branch = match base.or(prepared.loaded.git.base.as_deref()) {
        Some(base) => base.to_string(),
        None => repo.default_base_branch()?,
    };
    let base_commit = repo.rev_parse(&base_branch)?;
    let branch =
        repo.unique_branch_name(&run_branch_name(&prepared.loaded.git.branch_prefix, &task))?;
    let run_id = ulid::Ulid::new().to_string();
    let worktree = state_dir.worktrees_dir().join(&run_id);
    let meta = RunMeta {
        run_id: run_id.clone(),
        workflow_file: workflow_file.to_path_buf(),
        workflow_name: prepared.loaded.workflow.name.clone(),
        workflow_source: prepared.loaded.source.clone(),
        created_at_ms: now_ms(),
        repo_root: repo.root().to_path_buf(),
        worktree: Some(worktree),
        branch,
        base_branch,
        base_commit,
        task_source,
    };
    let initial = RunState::new(run_id, task, &prepared.loaded.workflow);
    state_dir.store().create_run(&meta, &initial)?;
    Ok((meta, initial))
}

/// Creates a recorded run's worktree (idempotent). What a killed `git worktree add` left there
/// is removed first and the worktree created again (each repair is reported as a warning).
pub fn add_run_worktree(repo: &Repo, meta: &RunMeta) -> Result<(), EngineError> {
    let Some(worktree) = &meta.worktree else {
        return Ok(());
    };
    debug_hold::at("worktree-add");
    let repairs = repo.add_worktree_with(worktree, &meta.branch, &meta.base_commit, &mut || {
        debug_hold::at("worktree-checkout")
    })?;
    for repair in repairs {
        eprintln!(
            "warning: run {}: {}",
            meta.run_id,
            crate::terminal::safe_lines(&repair)
        );
    }
    Ok(())
}

/// Removes the lock files a killed git command left for a resumed run's worktree
/// (`index.lock`...), with a warning each: nothing else can be running git there, since engine
/// is the only writer of a run's worktree and the caller holds the state directory's lock.
fn clear_stale_locks(repo: &Repo, meta: &RunMeta) -> Result<(), EngineError> {
    let Some(worktree) = &meta.worktree else {
        return Ok(());
    };
    for lock in repo.clear_stale_locks(worktree, &meta.branch)? {
        eprintln!(
            "warning: run {}: removed the stale git lock {} (left by a git command that was \
             killed; no git process is working in the run's worktree)",
            meta.run_id,
            lock.display()
        );
    }
    Ok(())
}

/// Removes the worktrees ended runs of `repo` still have although their workflow's
/// `git.keep_worktree` says they go (the engine was killed after the run ended and before its
/// worktree was removed). Runs whose `finally:` stages are still to run are left to `engine
/// resume`. Done once per process and state directory (the runs this process drives remove
/// their own); a failure is a warning (`engine gc` retries).
pub fn remove_ended_worktrees(repo: &Repo, state_dir: &StateDir) {
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
    let records = match store.list() {
        Ok(records) => records,
        Err(e) => {
            eprintln!("warning: could not list runs to clean up after: {e}");
            return;
        }
    };
    let root = repo.root().canonicalize().ok();
    for record in records {
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
        remove_if_not_kept(repo, store, &mut meta, &record.state);
    }
}

/// Removes ended run's worktree unless its stored workflow keeps it (`git.keep_worktree`) or
/// its `finally:` stages are still to run; reports what it did on stderr.
fn remove_if_not_kept(repo: &Repo, store: &dyn Store, meta: &mut RunMeta, state: &RunState) {
    let Ok(loaded) = stored_workflow(meta) else {
        return;
    };
    let keep = loaded.git.keep_worktree;
    if !state.pending_finally(&loaded.workflow).is_empty()
        || keep.keeps(state.status == RunStatus::Succeeded)
    {
        return;
    }
    match crate::driver::remove_ended_worktree(repo, store, meta) {
        Ok(Some(worktree)) => eprintln!(
            "removed the worktree {} of run {}, which ended ({}) before it was removed \
             (branch {} keeps the work)",
            worktree.display(),
            meta.run_id,
            state.status.name(),
            meta.branch
        ),
        Ok(None) => {}
        Err(e) => eprintln!("warning: {}", crate::terminal::safe_lines(&e.to_string())),
    }
}

/// What [`TaskLink::written_back`] says for a run whose task was never claimed: nothing is
/// written for it.
pub const NOT_CLAIMED: &str = "not claimed";

/// Ends a run that never started because its task's claim was refused: stored as cancelled
/// with `reason` (its `finally:` stages do not run), and marked so that nothing is written
/// back for it. `had_worktree`: its worktree may exist (an interrupted run), so `engine gc`
/// keeps track of it.
pub fn abandon_run(
    store: &dyn Store,
    workflow: &engine_core::Workflow,
    meta: &mut RunMeta,
    state: &RunState,
    reason: &str,
    had_worktree: bool,
) -> Result<(), EngineError> {
    let event = Event::CancelRequested {
        at_ms: now_ms(),
        reason: reason.to_string(),
    };
    let transition = engine_core::step(workflow, state, &event)?;
    store.commit(&state.run_id, &event, &transition.state)?;
    if !had_worktree {
        meta.worktree = None;
    }
    if let Some(link) = meta.task_source.as_mut() {
        link.written_back = Some(NOT_CLAIMED.to_string());
    }
    store.update_meta(meta)?;
    Ok(())
}

/// A run begun for a task of the source, ready to drive.
pub struct Started {
    /// The workflow it runs when that is not the one loaded now (a resumed run's stored one).
    pub prepared: Option<PreparedWorkflow>,
    /// Its facts.
    pub meta: RunMeta,
    /// Its state.
    pub state: RunState,
    /// Its first event.
    pub first: Option<Event>,
}

/// How beginning a run for a task of the source went.
pub enum Begun {
    /// Ready to drive.
    Run(Box<Started>),
    /// The claim was refused: the run was stored as cancelled, the task is left alone.
    Refused(String),
}

/// What a source run is begun from.
pub struct SourceRun<'a> {
    /// The repository.
    pub repo: &'a Repo,
    /// The state directory (held).
    pub state_dir: &'a StateDir,
    /// The wasm host.
    pub host: &'a Arc<Host>,
    /// The workflow as loaded now.
    pub prepared: &'a PreparedWorkflow,
    /// Its file.
    pub workflow_file: &'a Path,
    /// `--base`.
    pub base: Option<&'a str>,
    /// `--label`s added to the task's own.
    pub labels: &'a [String],
    /// The task source.
    pub source: &'a TaskSource,
}

impl SourceRun<'_> {
    /// Begins a run for `task`: resumes `resume` (its unfinished run) or records a new one,
    /// then claims the task in the name of that run (a retried claim by the same run is
    /// harmless), then creates the worktree. A refused claim ends the run as cancelled.
    pub async fn begin(
        &self,
        task: &engine_tasks::Task,
        resume: Option<&str>,
    ) -> Result<Begun, EngineError> {
        remove_ended_worktrees(self.repo, self.state_dir);
        let store = self.state_dir.store();
        if let Some(run_id) = resume {
            if let Err(e) = super::writeback::claim(self.source, &task.id, run_id).await {
                let record = store
                    .load(run_id)?
                    .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
                let workflow = stored_workflow(&record.meta)?.workflow;
                let mut meta = record.meta;
                let why = format!("the claim of {} was refused: {e}", task.id);
                abandon_run(store, &workflow, &mut meta, &record.state, &why, true)?;
                return Ok(Begun::Refused(why));
            }
            return Ok(
                match resumable(self.repo, store, self.host, run_id).await? {
                    Ok(r) => Begun::Run(Box::new(Started {
                        prepared: Some(r.prepared),
                        meta: r.meta,
                        state: r.state,
                        first: r.first,
                    })),
                    Err(status) => {
                        Begun::Refused(format!("run {run_id} already ended: {}", status.name()))
                    }
                },
            );
        }
        let mut run_task = task.to_run_task();
        run_task.labels.extend(self.labels.iter().cloned());
        let link = TaskLink {
            source: self.source.label().to_string(),
            written_back: None,
        };
        let (mut meta, state) = record_run(
            self.repo,
            self.state_dir,
            self.prepared,
            self.workflow_file,
            self.base,
            run_task,
            Some(link),
        )?;
        if let Err(e) = super::writeback::claim(self.source, &task.id, &meta.run_id).await {
            let why = format!("the claim of {} was refused: {e}", task.id);
            let workflow = &self.prepared.loaded.workflow;
            abandon_run(store, workflow, &mut meta, &state, &why, false)?;
            return Ok(Begun::Refused(why));
        }
        add_run_worktree(self.repo, &meta)?;
        Ok(Begun::Run(Box::new(Started {
            prepared: None,
            meta,
            state,
            first: Some(Event::RunStarted { at_ms: now_ms() }),
        })))
    }
}

/// `engine/<task-id>-<slug>` with the workflow's `git.branch_prefix` instead of `engine/`.
fn run_branch_name(prefix: &str, task: &Task) -> String {
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
/// recreated when it is gone. `Err(status)` when the run ended with nothing left to do.
pub async fn resumable(
    repo: &Repo,
    store: &dyn Store,
    host: &Arc<Host>,
    run_id: &str,
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
        remove_if_not_kept(repo, store, &mut meta, &record.state);
        return Ok(Err(record.state.status));
    }
    let prepared = PreparedWorkflow::prepare(host, loaded).await?;
    if !terminal {
        add_run_worktree(repo, &record.meta)?;
        clear_stale_locks(repo, &record.meta)?;
    }
    let first = if terminal {
        None
    } else if record.state.status == RunStatus::Pending {
        Some(Event::RunStarted { at_ms: now_ms() })
    } else {
        Some(Event::Resumed { at_ms: now_ms() })
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
    use engine_store::MemoryStore;

    #[test]
    fn an_abandoned_run_is_cancelled_and_writes_nothing_back() {
        let loaded = engine_workflow::load_str(
            "wf.yaml",
            Path::new("."),
            "name: wf\nstages:\n  only: { uses: builtin:gate }\n",
        )
        .unwrap();
        let store = MemoryStore::default();
        let mut meta = RunMeta {
            run_id: "R1".into(),
            workflow_file: "/r/wf.yaml".into(),
            workflow_name: "wf".into(),
            workflow_source: String::new(),
            created_at_ms: 0,
            repo_root: "/r".into(),
            worktree: Some("/r/.engine/worktrees/R1".into()),
            branch: "engine/t-1".into(),
            base_branch: "main".into(),
            base_commit: "0".repeat(40),
            task_source: Some(TaskLink {
                source: "builtin:tasks-md".into(),
                written_back: None,
            }),
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
        )
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
