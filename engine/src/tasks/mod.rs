//! Tasks from a task source: loading the source a workflow's `tasks:` names (or
//! `builtin:tasks-md` for a tasks file given directly), checking its config against what the
//! source declares, listing its tasks and deciding which are ready ([`engine_tasks::readiness`]).
//! [`render`] turns a [`Listing`] into what `engine tasks` prints.

pub mod adhoc;
pub mod commands;
pub mod graph;
pub mod render;
pub mod sync;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine_git::Repo;
use engine_runtime::{Host, LoadedSource, SourceCall, SourceDescriptor};
use engine_tasks::{Diagnostic, Readiness, Task, readiness};
use engine_workflow::{LoadedWorkflow, PluginInfo, TaskSourceSpec};

use crate::EngineError;

/// The built-in source a tasks file given directly is read with.
pub const TASKS_MD: &str = "tasks-md";

/// A task source, loaded and checked against the workflow.
#[derive(Debug, Clone)]
pub struct PreparedSource {
    /// What the workflow says (or what a tasks file given directly implies).
    pub spec: TaskSourceSpec,
    /// The compiled component.
    pub source: Arc<LoadedSource>,
    /// What it says about itself.
    pub descriptor: SourceDescriptor,
}

impl PreparedSource {
    /// A call with this source's config and grant, the repository at `repo_root`.
    pub fn call(&self, repo_root: &Path) -> SourceCall {
        SourceCall::new(
            repo_root.to_path_buf(),
            self.spec.permissions.clone(),
            self.spec.config.clone(),
        )
    }
}

/// Loads and describes the workflow's task source and checks `tasks:` against it. `Ok(None)`
/// without `tasks:`; the diagnostics (<file:line:col>) when the source cannot be loaded or the
/// section does not fit it.
pub async fn prepare_source(
    host: &Host,
    loaded: &LoadedWorkflow,
) -> Result<Option<PreparedSource>, Vec<engine_workflow::Diagnostic>> {
    let Some(spec) = &loaded.tasks else {
        return Ok(None);
    };
    let prepared = match host.load_source(&spec.source, &loaded.base_dir) {
        Ok(source) => match host.describe_source(&source).await {
            Ok(descriptor) => Ok(PreparedSource {
                spec: spec.clone(),
                source: Arc::new(source),
                descriptor,
            }),
            Err(e) => Err(format!("{} could not describe itself: {e}", spec.source)),
        },
        Err(e) => Err(e.to_string()),
    };
    let info = prepared.as_ref().map_err(Clone::clone).map(|p| PluginInfo {
        config_schema: p.descriptor.config_schema.clone(),
        permissions: p.descriptor.permissions.clone(),
    });
    let diagnostics = loaded.check_task_source(info);
    match prepared {
        Ok(prepared) if diagnostics.is_empty() => Ok(Some(prepared)),
        _ => Err(diagnostics),
    }
}

/// `builtin:tasks-md` reading `file` directly: the repository is the git work tree holding the
/// file (or, outside git, the file's directory), and `path` is the file relative to it.
pub async fn prepare_tasks_file(
    host: &Host,
    file: &Path,
) -> Result<(PreparedSource, PathBuf), EngineError> {
    let metadata = std::fs::metadata(file).map_err(|e| {
        EngineError::Usage(format!(
            "{}: {e}",
            crate::terminal::safe(&file.display().to_string())
        ))
    })?;
    if !metadata.is_file() {
        return Err(EngineError::Usage(format!(
            "{}: not a regular file; give a tasks file",
            crate::terminal::safe(&file.display().to_string())
        )));
    }
    let full = file.canonicalize().map_err(|e| EngineError::io(file, e))?;
    let dir = full.parent().unwrap_or(Path::new("/")).to_path_buf();
    let root = match Repo::discover(&dir) {
        Ok(repo) => repo
            .root()
            .canonicalize()
            .map_err(|e| EngineError::io(repo.root(), e))?,
        Err(_) => dir,
    };
    let relative = full.strip_prefix(&root).map_err(|_| {
        EngineError::Usage(format!(
            "{} is outside the repository at {}",
            file.display(),
            root.display()
        ))
    })?;
    let spec = TaskSourceSpec::builtin(
        TASKS_MD,
        serde_json::json!({ "path": relative.to_string_lossy() }),
    );
    let source = host.load_source(&spec.source, &root)?;
    let descriptor = host.describe_source(&source).await?;
    Ok((
        PreparedSource {
            spec,
            source: Arc::new(source),
            descriptor,
        },
        root,
    ))
}

/// Refuses a tasks file that is a directory, a device or a FIFO, is too large, or resolves
/// (through symbolic links) outside the repository. A file that does not exist is left to the
/// source, which says so in its own words.
pub fn check_tasks_path(repo_root: &Path, path: &str) -> Result<(), EngineError> {
    let shown = crate::terminal::safe(path).into_owned();
    let refuse = |why: String| Err(EngineError::Usage(format!("tasks path {shown}: {why}")));
    let joined = repo_root.join(path);
    let Ok(metadata) = std::fs::metadata(&joined) else {
        return Ok(());
    };
    let root = repo_root
        .canonicalize()
        .map_err(|e| EngineError::io(repo_root, e))?;
    let resolved = joined
        .canonicalize()
        .map_err(|e| EngineError::io(&joined, e))?;
    if !resolved.starts_with(&root) {
        return refuse(format!(
            "resolves to {}, outside the repository at {}; a task source reads files of the \
             repository only",
            crate::terminal::safe(&resolved.display().to_string()),
            root.display()
        ));
    }
    if !metadata.is_file() {
        let kind = if metadata.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return refuse(format!("is {kind}; give the tasks file itself"));
    }
    if metadata.len() > MAX_TASKS_FILE_BYTES {
        return refuse(format!(
            "is {} bytes; the limit is {MAX_TASKS_FILE_BYTES} bytes",
            metadata.len()
        ));
    }
    Ok(())
}

/// Every task of a source with the verdict on each.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The source (`builtin:tasks-md`).
    pub source: String,
    /// The tasks, in the source's order.
    pub tasks: Vec<Task>,
    /// Which are ready, in readiness order, and why the others are not.
    pub readiness: Readiness,
    /// What the source warned about.
    pub warnings: Vec<Diagnostic>,
}

/// The largest tasks file a source's `path` may name (100,000 tasks fit).
pub const MAX_TASKS_FILE_BYTES: u64 = 8 << 20;

/// Lists the source's tasks (the repository mounted read-only) and decides readiness. A `path`
/// in the source's config must name a regular file inside the repository, of at most
/// [`MAX_TASKS_FILE_BYTES`] (checked here, before the source reads it).
pub async fn list(
    host: &Host,
    prepared: &PreparedSource,
    repo_root: &Path,
) -> Result<Listing, EngineError> {
    if let Some(path) = prepared.spec.config.get("path").and_then(|p| p.as_str()) {
        check_tasks_path(repo_root, path)?;
    }
    let list = host
        .list_tasks(&prepared.source, &prepared.call(repo_root))
        .await?;
    let readiness = readiness(&list.tasks);
    Ok(Listing {
        source: prepared.source.label().to_string(),
        tasks: list.tasks,
        readiness,
        warnings: list.warnings,
    })
}
