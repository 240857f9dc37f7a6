//! `engine plugin run`: one attempt of a stage component, run locally without a workflow, in
//! the sandbox a run gives it — the same wasmtime host, limits and WASI mounts, and the same
//! bubblewrap confinement of the programs it starts — or, for a task source, one `list-tasks`.
//!
//! The component is granted exactly what its `describe()` declares (workspace access, programs,
//! hosts), plus the programs given with `--exec` (for stages such as `builtin:gate` that take
//! theirs from the config); `--workspace-access` may lower or raise the workspace grant. The
//! config is checked against the stage's config schema by the code `engine validate` uses. The
//! context is the one a run builds: run id `local-<ulid>`, attempt 1, the idempotency keys, the
//! task (`--task`, its id derived like `engine run --task` derives it), the outputs of earlier
//! stages (`--output`, plus the run's facts as `@run`) and, when the workspace is in a git
//! repository, its branch, base branch (the current branch), base commit (`HEAD`, or `--base`)
//! and root. Templates in the config are not rendered: it is passed to the stage as given.
//! Stages that ask for agent sessions are refused: sessions need a workflow's `agents:`
//! settings and budgets.

mod config_check;
mod context;
mod error;
mod observer;
mod render;
mod sandbox;
mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_core::{Permissions, PluginRef, Task, WorkspaceAccess};
use engine_runtime::{AttemptContext, AttemptRequest, Host, LoadedSource, LoadedStage, RunGit};
use engine_runtime::{AttemptResult, RuntimeError};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::report::Reporter;
use crate::tasks::Listing;

pub use error::LocalRunError;
pub use observer::LogRecord;
pub use render::{json_text, report_json, result_lines};

/// The largest `--task-file` read, as for `engine run`.
pub const MAX_TASK_FILE_BYTES: u64 = 1 << 20;

/// What `engine plugin run` runs: a built-in (`builtin:gate`) or a component file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentRef {
    /// `builtin:NAME`.
    Builtin(String),
    /// A `.wasm` component on disk.
    File(PathBuf),
}

impl ComponentRef {
    /// `builtin:NAME` names a built-in; anything else is a file path.
    pub fn parse(text: &str) -> ComponentRef {
        match text.strip_prefix("builtin:") {
            Some(name) => ComponentRef::Builtin(name.to_string()),
            None => ComponentRef::File(PathBuf::from(text)),
        }
    }
}

/// One local run, as `engine plugin run` was asked for it.
#[derive(Debug, Clone)]
pub struct LocalRun {
    /// The component.
    pub component: ComponentRef,
    /// The directory mounted at `/workspace` (with the granted access).
    pub workspace: PathBuf,
    /// The stage's config (`with:`), or a task source's config; `{}` when not given.
    pub config: Value,
    /// The task as text (first line = title); `None`: a task named after the component.
    pub task: Option<String>,
    /// The stage id (default: the component's name, made a valid id).
    pub stage_id: Option<String>,
    /// Outputs of earlier stages the stage sees, by stage id (each a JSON object).
    pub outputs: BTreeMap<String, Value>,
    /// Programs granted on top of what the component declares.
    pub exec: Vec<String>,
    /// The workspace access to grant instead of the declared one.
    pub workspace_access: Option<WorkspaceAccess>,
    /// Time limit of the attempt (default: a workflow stage's default).
    pub timeout: Option<Duration>,
    /// The base commit (a branch, tag or commit) instead of `HEAD`.
    pub base: Option<String>,
    /// Also show the stage's debug lines (its own stdout and stderr among them).
    pub verbose: bool,
}

/// What a component says about itself, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentInfo {
    /// `builtin:NAME` or the file as given.
    pub label: String,
    /// sha256 of its bytes (the pin a workflow needs for a file).
    pub sha256: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its one-line summary.
    pub summary: String,
    /// The permissions it declares.
    pub declared: Permissions,
}

impl ComponentInfo {
    /// From where the component came from and what its descriptor says (`[name, version,
    /// summary]`: stages and task sources have different descriptor types).
    pub(crate) fn new(
        label: &str,
        sha256: &str,
        [name, version, summary]: [&String; 3],
        declared: &Permissions,
    ) -> Self {
        ComponentInfo {
            label: label.to_string(),
            sha256: sha256.to_string(),
            name: name.clone(),
            version: version.clone(),
            summary: summary.clone(),
            declared: declared.clone(),
        }
    }
}

/// How a local stage attempt went.
#[derive(Debug, Clone)]
pub struct StageRun {
    /// The component.
    pub component: ComponentInfo,
    /// The stage id the attempt ran as.
    pub stage_id: String,
    /// The run id (`local-<ulid>`).
    pub run_id: String,
    /// The task the stage saw.
    pub task: Task,
    /// The workspace (absolute).
    pub workspace: PathBuf,
    /// What the attempt was granted.
    pub granted: Permissions,
    /// The git facts the stage saw, when the workspace is in a git repository.
    pub git: Option<RunGit>,
    /// The attempt's result.
    pub result: AttemptResult,
    /// How long the attempt took.
    pub duration_ms: u64,
    /// The stage's log lines and progress reports, in order.
    pub logs: Vec<LogRecord>,
    /// The last lines the stage's programs printed.
    pub output_tail: Vec<String>,
}

/// How a task source's `list-tasks` went.
#[derive(Debug, Clone)]
pub struct SourceRun {
    /// The component.
    pub component: ComponentInfo,
    /// The config it was given.
    pub config: Value,
    /// Its tasks with their readiness, or why it could not list them.
    pub listing: Result<Listing, String>,
}

/// What `engine plugin run` did.
#[derive(Debug, Clone)]
pub enum LocalOutcome {
    /// A stage ran one attempt.
    Stage(Box<StageRun>),
    /// A task source listed its tasks.
    Source(Box<SourceRun>),
}

impl LocalOutcome {
    /// 0 when the stage succeeded or the source listed its tasks, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        let ok = match self {
            LocalOutcome::Stage(run) => run.result.is_ok(),
            LocalOutcome::Source(run) => run.listing.is_ok(),
        };
        if ok {
            crate::exit::SUCCESS
        } else {
            crate::exit::RUN_FAILED
        }
    }
}

/// Runs the component as `request` asks: one stage attempt, or a task source's `list-tasks`.
/// Progress (the stage's log lines, its start and end) goes to `reporter` as it happens.
/// `Err` only when nothing could run (bad input, no confinement); a stage's failure is an
/// `Ok` outcome.
pub async fn run_local(
    request: &LocalRun,
    reporter: Arc<dyn Reporter>,
) -> Result<LocalOutcome, LocalRunError> {
    let workspace = checked_workspace(&request.workspace)?;
    // The plugin commands' host: a first compile longer than a second is announced.
    let host = crate::plugin::check::host().map_err(LocalRunError::Host)?;
    match load(&host, &request.component)? {
        Loaded::Stage(stage) => {
            let run = run_stage(&host, &stage, request, &workspace, reporter).await?;
            Ok(LocalOutcome::Stage(Box::new(run)))
        }
        Loaded::Source(source, plugin) => {
            let run = source::list(&host, source, plugin, request, &workspace).await?;
            Ok(LocalOutcome::Source(Box::new(run)))
        }
    }
}

/// The workspace, absolute, when it is a directory.
fn checked_workspace(path: &Path) -> Result<PathBuf, LocalRunError> {
    let error = |why: String| LocalRunError::Workspace {
        path: path.to_path_buf(),
        why,
    };
    let metadata = std::fs::metadata(path).map_err(|e| error(e.to_string()))?;
    if !metadata.is_dir() {
        return Err(error("not a directory".to_string()));
    }
    path.canonicalize().map_err(|e| error(e.to_string()))
}

/// A component loaded as what it is.
enum Loaded {
    Stage(LoadedStage),
    Source(LoadedSource, PluginRef),
}

/// Loads the component as a stage, or, when it does not fit the stage world, as a task
/// source; when it is neither, the stage world's complaint is the error.
fn load(host: &Host, component: &ComponentRef) -> Result<Loaded, LocalRunError> {
    let (bytes, plugin, label) = match component {
        ComponentRef::Builtin(name) => {
            let plugin = PluginRef::Builtin { name: name.clone() };
            let Some(bytes) = engine_runtime::builtin(name) else {
                return Err(LocalRunError::Load(RuntimeError::UnknownBuiltin {
                    name: name.clone(),
                    known: engine_runtime::builtin_names()
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                }));
            };
            (bytes.to_vec(), plugin, format!("builtin:{name}"))
        }
        ComponentRef::File(path) => {
            let bytes = std::fs::read(path).map_err(|source| LocalRunError::ReadComponent {
                path: path.clone(),
                source,
            })?;
            // As given (relative to the current directory, see `load_source` below), so a
            // source's label is the path the user wrote, as a stage's is.
            let plugin = PluginRef::Path {
                path: path.to_string_lossy().into_owned(),
                sha256: hex::encode(Sha256::digest(&bytes)),
            };
            (bytes, plugin, path.display().to_string())
        }
    };
    match host.load(&bytes, &label) {
        Ok(stage) => Ok(Loaded::Stage(stage)),
        Err(stage_error @ RuntimeError::Incompatible { .. }) => {
            // The file is read again, and must still have the bytes just hashed.
            match host.load_source(&plugin, Path::new("")) {
                Ok(source) => Ok(Loaded::Source(source, plugin)),
                Err(_) => Err(LocalRunError::Load(stage_error)),
            }
        }
        Err(e) => Err(LocalRunError::Load(e)),
    }
}

/// Runs one attempt of a stage.
async fn run_stage(
    host: &Host,
    stage: &LoadedStage,
    request: &LocalRun,
    workspace: &Path,
    reporter: Arc<dyn Reporter>,
) -> Result<StageRun, LocalRunError> {
    let descriptor = host.describe(stage).await.map_err(LocalRunError::Load)?;
    let component = ComponentInfo::new(
        stage.label(),
        stage.sha256(),
        [&descriptor.name, &descriptor.version, &descriptor.summary],
        &descriptor.permissions,
    );
    if descriptor.permissions.agent {
        return Err(LocalRunError::Agent {
            label: component.label,
        });
    }
    let granted = grants(&descriptor.permissions, request);
    let stage_id = context::stage_id(request.stage_id.as_deref(), &descriptor.name)?;
    // Less workspace access than declared is allowed here (see the warning below).
    let checked_grant = Permissions {
        workspace: granted.workspace.max(descriptor.permissions.workspace),
        ..granted.clone()
    };
    let problems = config_check::check_stage(
        &component.label,
        &stage_id,
        &request.config,
        &checked_grant,
        &engine_workflow::PluginInfo {
            config_schema: descriptor.config_schema.clone(),
            permissions: descriptor.permissions.clone(),
        },
    );
    if !problems.is_empty() {
        return Err(LocalRunError::Config {
            label: component.label,
            problems,
        });
    }
    if granted.workspace < descriptor.permissions.workspace {
        reporter.warning(&format!(
            "{} declares workspace: {}; running it with {} as --workspace-access asks (a \
             workflow would refuse this grant)",
            component.label,
            access_name(descriptor.permissions.workspace),
            access_name(granted.workspace)
        ));
    }
    let run_id = format!("local-{}", ulid::Ulid::new().to_string().to_lowercase());
    let task = context::task(request.task.as_deref(), &descriptor.name)?;
    let git = context::git_facts(workspace, request.base.as_deref())?;
    let outputs = context::outputs(&request.outputs, &run_id, git.as_ref())?;
    let confinement = sandbox::LocalSandbox::prepare(
        workspace,
        granted.workspace,
        !granted.exec.is_empty(),
        git.as_ref().map(|g| Path::new(&g.repo_root)),
    )?;
    let observer = Arc::new(observer::LocalObserver::new(
        &stage_id,
        reporter.clone(),
        request.verbose,
    ));
    let attempt = AttemptRequest {
        context: AttemptContext {
            run_id: run_id.clone(),
            stage_id: stage_id.clone(),
            attempt: 1,
            task: task.clone(),
            config: request.config.clone(),
            outputs,
            feedback: None,
            interrupted: false,
            previous_failure: None,
            git: git.clone(),
        },
        workspace: Some(workspace.to_path_buf()),
        permissions: granted.clone(),
        timeout: request
            .timeout
            .unwrap_or(Duration::from_millis(engine_workflow::DEFAULT_TIMEOUT_MS)),
        memory_limit_bytes: engine_workflow::DEFAULT_MEMORY_LIMIT_BYTES,
        exec_env: Vec::new(),
        observer: observer.clone(),
        agent: None,
        confinement: confinement.sandbox.clone(),
    };
    reporter.note(&format!("▶ {stage_id} (attempt 1)"));
    let started = Instant::now();
    let result = host
        .run_attempt(stage, attempt)
        .await
        .map_err(crate::driver::with_needs_attention);
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    drop(confinement);
    let (logs, output_tail) = observer.finish();
    let run = StageRun {
        component,
        stage_id,
        run_id,
        task,
        workspace: workspace.to_path_buf(),
        granted,
        git,
        result,
        duration_ms,
        logs,
        output_tail,
    };
    for line in result_lines(&run) {
        reporter.note(&line);
    }
    Ok(run)
}

/// What the stage is granted: what it declares, `--exec` programs added, the workspace access
/// `--workspace-access` asks for.
pub(super) fn grants(declared: &Permissions, request: &LocalRun) -> Permissions {
    let mut granted = declared.clone();
    granted.agent = false;
    if let Some(access) = request.workspace_access {
        granted.workspace = access;
    }
    for program in &request.exec {
        if !granted.exec.contains(program) {
            granted.exec.push(program.clone());
        }
    }
    granted
}

/// `none`, `read` or `write`.
pub fn access_name(access: WorkspaceAccess) -> &'static str {
    match access {
        WorkspaceAccess::None => "none",
        WorkspaceAccess::Read => "read",
        WorkspaceAccess::Write => "write",
    }
}
