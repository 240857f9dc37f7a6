//! `engine tasks FILE`: every task of a task source, whether it is ready and, if not, why.
//! FILE is a workflow with a `tasks:` section, or a tasks file read with `builtin:tasks-md`.
//! Read-only: it never changes the tasks and works while a run is in progress.

use std::path::{Path, PathBuf};

use clap::Args;
use engine_git::Repo;

use crate::project::host;
use crate::tasks::{self, render};
use crate::{EngineError, exit};

/// Arguments of `engine tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// A workflow file (`.yaml`/`.yml`) with a `tasks:` section, or a tasks file such as
    /// spec/tasks.md (read with builtin:tasks-md). Default: `workflows/engine.yaml` of the
    /// repository, the workflow `engine init` writes.
    pub file: Option<PathBuf>,
    /// Print JSON (`{"source", "tasks": [...], "warnings", "problems"}`) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn execute(mut args: TasksArgs) -> Result<u8, EngineError> {
    let file = super::workflow_path::resolve(args.file.take().as_deref())?;
    execute_on(&file, &args).await
}

async fn execute_on(file: &Path, args: &TasksArgs) -> Result<u8, EngineError> {
    if !file.is_file() {
        return Err(EngineError::Usage(format!(
            "{}: no such file (give a workflow with a `tasks:` section or a tasks file)",
            file.display()
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
        tasks::prepare_tasks_file(&host, file).await?
    };
    let listing = tasks::list(&host, &prepared, &root).await?;
    if args.json {
        super::print_json(&render::json(&listing))?;
    } else {
        print!("{}", render::table(&listing));
        for warning in render::warnings(&listing) {
            eprintln!("{warning}");
        }
    }
    Ok(exit::SUCCESS)
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
