//! `engine tasks [FILE]`: every task of a task source, whether it is ready and, if not, why.
//! FILE is a workflow with a `tasks:` section, or a tasks file read with `builtin:tasks-md`.
//! Without a subcommand it is read-only: it never changes the tasks and works while a run is
//! in progress. The subcommands (`start`, `done`, `block`, `check`, `next`, `graph`, `sync`)
//! live in `tasks_commands.rs` and `tasks_sync.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use engine_core::WorkspaceAccess;
use engine_git::Repo;
use engine_runtime::Host;

use super::tasks_commands::{
    BlockArgs, CheckArgs, GraphArgs, IdArgs, NextArgs, execute as execute_command,
};
use super::tasks_sync::SyncArgs;
use crate::project::host;
use crate::tasks::{self, PreparedSource, render};
use crate::{EngineError, exit};

/// Arguments of `engine tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// A workflow file (`.yaml`/`.yml`) with a `tasks:` section, or a tasks file such as
    /// spec/tasks.md (read with builtin:tasks-md). Default: `workflows/engine.yaml` of the
    /// repository, the workflow `engine init` writes.
    pub file: Option<PathBuf>,
    /// Print JSON instead of text (the listing: `{"source", "tasks": [...], "warnings",
    /// "problems"}`).
    #[arg(long, global = true)]
    pub json: bool,
    /// List only the tasks of this epic (a tasks.md milestone: `1`, `Milestone 1` or its
    /// heading's text; a GitHub milestone's title; a Beads epic's id), as `engine run --all
    /// --epic` would see them. See docs/epics.md.
    #[arg(long, value_name = "ID")]
    pub epic: Option<String>,
    /// Change or inspect tasks (without one: list them).
    #[command(subcommand)]
    pub command: Option<TasksCommand>,
}

/// The subcommands of `engine tasks`. Each takes the workflow or tasks file as `-f FILE` (or
/// as `engine tasks FILE <command>`). See docs/task-commands.md.
#[derive(Debug, Subcommand)]
pub enum TasksCommand {
    /// Mark a task in progress (`todo` or `blocked` -> `in_progress`; a done task is refused).
    Start(IdArgs),
    /// Mark a task done.
    Done(IdArgs),
    /// Mark a task blocked (a done task is refused).
    Block(BlockArgs),
    /// Tick checklist item N (1-based) of a task; --undo unticks it.
    Check(CheckArgs),
    /// The task `engine run --all` would start next, and why the others are not ready; exits
    /// 8 when no task is ready.
    Next(NextArgs),
    /// The dependency graph: text, Graphviz DOT or Mermaid.
    Graph(GraphArgs),
    /// Mirror tasks to GitHub issues (`--to github`) or import issues as tasks
    /// (`--from github`); a dry run unless --apply. See docs/github-sync.md.
    Sync(SyncArgs),
}

/// `-f FILE` of the subcommands.
#[derive(Debug, Args)]
pub struct FileArg {
    /// The workflow or tasks file (as `engine tasks FILE`; default `workflows/engine.yaml`).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub(super) async fn execute(mut args: TasksArgs) -> Result<u8, EngineError> {
    let Some(command) = args.command.take() else {
        let file = super::workflow_path::resolve(args.file.take().as_deref())?;
        return list(&file, args.json, args.epic.as_deref()).await;
    };
    if args.epic.is_some() {
        return Err(EngineError::Usage(
            "--epic narrows the listing (`engine tasks --epic ID`); the subcommands take a \
             task id"
                .to_string(),
        ));
    }
    execute_command(command, args.file.take(), args.json).await
}

/// The file a subcommand works on: `engine tasks FILE <command>` or `<command> -f FILE`
/// (not both), else the default workflow.
pub(super) fn subcommand_file(
    outer: Option<PathBuf>,
    inner: Option<PathBuf>,
) -> Result<PathBuf, EngineError> {
    match (outer, inner) {
        (Some(_), Some(_)) => Err(EngineError::Usage(
            "the tasks file is given twice: pass it either before the subcommand or with -f"
                .to_string(),
        )),
        (Some(file), None) | (None, Some(file)) => super::workflow_path::resolve(Some(&file)),
        (None, None) => super::workflow_path::resolve(None),
    }
}

async fn list(file: &Path, json: bool, epic: Option<&str>) -> Result<u8, EngineError> {
    let (host, prepared, root) = prepare(file, false).await?;
    let mut listing = tasks::list(&host, &prepared, &root).await?;
    if let Some(epic) = epic {
        crate::queue::epic::check(&listing.tasks, epic, &listing.source)?;
        let member = crate::queue::epic::members(&listing.tasks, epic);
        listing
            .readiness
            .order
            .retain(|entry| member.get(entry.index).copied().unwrap_or(false));
    }
    if json {
        super::print_json(&render::json(&listing))?;
    } else {
        print!("{}", render::table(&listing));
        for warning in render::warnings(&listing) {
            eprintln!("{warning}");
        }
    }
    Ok(exit::SUCCESS)
}

/// The task source `file` names and the repository root its paths are relative to. With
/// `write`, a tasks file given directly may be written (the user named the file and asked for
/// a change); a workflow's source keeps the workflow's grant.
pub(super) async fn prepare(
    file: &Path,
    write: bool,
) -> Result<(Arc<Host>, PreparedSource, PathBuf), EngineError> {
    if !file.is_file() {
        return Err(EngineError::Usage(format!(
            "{}: no such file (give a workflow with a `tasks:` section or a tasks file)",
            crate::terminal::safe(&file.display().to_string())
        )));
    }
    let host = host()?;
    let (prepared, root) = if is_workflow(file) {
        let loaded = engine_workflow::load_file(file)?;
        if loaded.tasks.is_none() {
            return Err(EngineError::Usage(format!(
                "{} has no `tasks:` section; add one, e.g. `tasks: {{ source: tasks-md, path: \
                 spec/tasks.md }}`, or pass the tasks file itself",
                file.display()
            )));
        }
        let prepared = match tasks::prepare_source(&host, &loaded).await {
            Ok(Some(prepared)) => prepared,
            Ok(None) => {
                return Err(EngineError::Internal(
                    "the workflow has a `tasks:` section but no task source was prepared"
                        .to_string(),
                ));
            }
            Err(diagnostics) => return Err(engine_workflow::Diagnostics(diagnostics).into()),
        };
        (prepared, repository_root(file)?)
    } else {
        let (mut prepared, root) = tasks::prepare_tasks_file(&host, file).await?;
        if write {
            prepared.spec.permissions.workspace = WorkspaceAccess::Write;
        }
        (prepared, root)
    };
    Ok((host, prepared, root))
}

fn is_workflow(file: &Path) -> bool {
    file.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// The work tree holding the workflow: a workflow's task paths are relative to it.
fn repository_root(workflow: &Path) -> Result<PathBuf, EngineError> {
    let full = workflow
        .canonicalize()
        .map_err(|e| EngineError::io(workflow, e))?;
    let dir = full.parent().unwrap_or(Path::new("/"));
    let repo = Repo::discover(dir).map_err(|e| {
        EngineError::Usage(format!(
            "{e}\nthe tasks of a workflow are read from its git repository"
        ))
    })?;
    Ok(repo.root().to_path_buf())
}
