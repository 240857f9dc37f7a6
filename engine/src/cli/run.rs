//! `engine run FILE`: start a run of a workflow for a task, in a fresh worktree.

use std::path::{Path, PathBuf};

use clap::Args;
use engine_core::{RunState, Task};
use engine_store::{RunMeta, StateDir, Store};
use sha2::{Digest, Sha256};

use super::drive::drive_run;
use crate::EngineError;
use crate::project::{PreparedWorkflow, Project, host};
use crate::time::now_ms;

/// Arguments of `engine run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow file.
    pub workflow: PathBuf,
    /// The task, as text (first line = title).
    #[arg(long, conflicts_with = "task_file")]
    pub task: Option<String>,
    /// Read the task from a file (first line = title).
    #[arg(long, value_name = "FILE")]
    pub task_file: Option<PathBuf>,
    /// A label of the task (repeatable): `builtin:triage` rules and `if:` conditions
    /// (`'docs' in task.labels`) read them.
    #[arg(long = "label", value_name = "LABEL")]
    pub labels: Vec<String>,
    /// Base branch to start from and merge into (default: the workflow's `git.base`, else
    /// origin's HEAD branch, else main, else master, else the current branch).
    #[arg(long)]
    pub base: Option<String>,
    /// Print only a JSON document describing the finished run on stdout.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn execute(args: RunArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let project = Project::locate(state_dir)?;
    let workflow_file = absolute(&args.workflow)?;
    let task = task_from(&args)?;
    let loaded = engine_workflow::load_file(&workflow_file)?;
    let host = host()?;
    let prepared = PreparedWorkflow::prepare(&host, loaded).await?;
    let holder = format!(
        "engine run {} (pid {})",
        args.workflow.display(),
        std::process::id()
    );
    let state_dir = StateDir::open_locked(&project.state_dir, &holder)?;
    crate::agents::budget::check_day_budget(
        state_dir.store(),
        prepared.agents.day_budget_usd,
        now_ms(),
    )?;

    let repo = &project.repo;
    let base_branch = match args.base.as_ref().or(prepared.loaded.git.base.as_ref()) {
        Some(base) => base.clone(),
        None => repo.default_base_branch()?,
    };
    let base_commit = repo.rev_parse(&base_branch)?;
    let branch =
        repo.unique_branch_name(&run_branch_name(&prepared.loaded.git.branch_prefix, &task))?;
    let run_id = ulid::Ulid::new().to_string();
    let worktree = state_dir.worktrees_dir().join(&run_id);
    let meta = RunMeta {
        run_id: run_id.clone(),
        workflow_file,
        workflow_name: prepared.loaded.workflow.name.clone(),
        workflow_source: prepared.loaded.source.clone(),
        created_at_ms: now_ms(),
        repo_root: repo.root().to_path_buf(),
        worktree: Some(worktree.clone()),
        branch: branch.clone(),
        base_branch,
        base_commit: base_commit.clone(),
    };
    let initial = RunState::new(run_id.clone(), task, &prepared.loaded.workflow);
    // The run is recorded before anything happens on disk, so a crash from here on leaves a
    // run that `engine resume` can finish (it recreates the worktree if needed).
    state_dir.store().create_run(&meta, &initial)?;
    repo.add_worktree(&worktree, &branch, &base_commit)?;
    if !args.json {
        println!("{run_id}");
    }
    let first = engine_core::Event::RunStarted { at_ms: now_ms() };
    drive_run(
        &project.repo,
        &state_dir,
        host,
        prepared,
        meta,
        initial,
        Some(first),
        args.json,
    )
    .await
}

/// `engine/<task-id>-<slug>` with the workflow's `git.branch_prefix` instead of `engine/`.
fn run_branch_name(prefix: &str, task: &Task) -> String {
    let name = engine_git::branch_name(&task.id, &task.title);
    let rest = name.strip_prefix("engine/").unwrap_or(&name);
    format!("{prefix}{rest}")
}

fn absolute(path: &Path) -> Result<PathBuf, EngineError> {
    std::path::absolute(path).map_err(|e| EngineError::io(path, e))
}

/// The task from `--task`/`--task-file`; without either, a task named after the workflow.
fn task_from(args: &RunArgs) -> Result<Task, EngineError> {
    let text = match (&args.task, &args.task_file) {
        (Some(text), _) => text.clone(),
        (None, Some(file)) => {
            std::fs::read_to_string(file).map_err(|e| EngineError::io(file, e))?
        }
        (None, None) => String::new(),
    };
    let text = text.trim();
    if text.is_empty() {
        if args.task.is_some() || args.task_file.is_some() {
            return Err(EngineError::Usage("the task is empty".into()));
        }
        let name = args
            .workflow
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        return Ok(Task {
            id: "adhoc".into(),
            title: format!("run of {name}"),
            body: String::new(),
            labels: args.labels.clone(),
        });
    }
    let title: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(100)
        .collect();
    let digest = Sha256::digest(text.as_bytes());
    Ok(Task {
        id: format!("t{}", &hex::encode(digest)[..8]),
        title,
        body: text.to_string(),
        labels: args.labels.clone(),
    })
}
