//! Task sources (world `engine:stage/source`): loading them and calling `describe`,
//! `list-tasks`, `claim`, `update` and, when the component has it, `check-item` (world
//! `source-checklist`), each in a fresh sandbox like a stage attempt (epoch
//! deadline, memory limit, empty environment, no sockets), with the repository mounted at
//! `/workspace`: read-only for `list-tasks`, with the granted access for `claim` and `update`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_core::{Permissions, PluginRef, WorkspaceAccess};
use engine_tasks::{SourceError, Task, TaskList, TaskStatus};
use wasmtime::Store;

use crate::attempt::{AttemptObserver, NullObserver};
use crate::errors::RuntimeError;
use crate::failure::{self, Ending};
use crate::host::{Host, plugin_bytes, with_stderr_tail};
use crate::inspect::Role;
use crate::sandbox::{SandboxSpec, StageState};
use crate::source_bindings::SourcePre;
use crate::source_bindings::engine::stage::source_types as wit;
use crate::source_convert::SourceDescriptor;
use sha2::{Digest, Sha256};

/// Time limit of a source's `describe`.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Memory limit of a source's `describe`.
const DESCRIBE_MEMORY_LIMIT: u64 = 128 * 1024 * 1024;

/// Default time limit of `list-tasks`, `claim` and `update`.
pub const DEFAULT_SOURCE_TIMEOUT: Duration = Duration::from_mins(2);

/// Default memory limit of `list-tasks`, `claim` and `update`.
pub const DEFAULT_SOURCE_MEMORY_LIMIT: u64 = 256 * 1024 * 1024;

impl crate::source_bindings::engine::stage::source_types::Host for StageState {}

/// A compiled, pre-instantiated task source component. Cheap to clone.
#[derive(Clone)]
pub struct LoadedSource {
    label: String,
    sha256: String,
    pre: SourcePre<StageState>,
}

impl LoadedSource {
    /// `builtin:NAME` or the plugin's path, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// sha256 of the component's bytes, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Whether the component exports `check-item` (world `engine:stage/source-checklist`):
    /// whether [`Host::check_item`] can tick its tasks' checklist items.
    pub fn can_check_items(&self) -> bool {
        self.pre
            .instance_pre()
            .component()
            .get_export_index(None, CHECK_ITEM)
            .is_some()
    }
}

/// The optional export of world `source-checklist`, looked up by name: sources built against
/// world `source` do not have it.
const CHECK_ITEM: &str = "check-item";

impl std::fmt::Debug for LoadedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedSource")
            .field("label", &self.label)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// How one call to a source runs.
#[derive(Clone)]
pub struct SourceCall {
    /// The repository root on the host, mounted at `/workspace`.
    pub workspace: PathBuf,
    /// What the workflow grants the source (`tasks.permissions`). `list-tasks` never gets more
    /// than read access.
    pub permissions: Permissions,
    /// The source's config (the workflow's `tasks:` mapping without the engine's own keys).
    pub config: serde_json::Value,
    /// Time limit of the call, programs it runs included.
    pub timeout: Duration,
    /// Limit of each linear memory, in bytes.
    pub memory_limit_bytes: u64,
    /// Extra environment for programs the source runs (the workflow's `env:`).
    pub exec_env: Vec<(String, String)>,
    /// Receives the source's log lines and exec reports.
    pub observer: Arc<dyn AttemptObserver>,
}

impl SourceCall {
    /// A call with the default limits, no extra environment and no observer.
    pub fn new(workspace: PathBuf, permissions: Permissions, config: serde_json::Value) -> Self {
        SourceCall {
            workspace,
            permissions,
            config,
            timeout: DEFAULT_SOURCE_TIMEOUT,
            memory_limit_bytes: DEFAULT_SOURCE_MEMORY_LIMIT,
            exec_env: Vec::new(),
            observer: Arc::new(NullObserver),
        }
    }
}

impl std::fmt::Debug for SourceCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceCall")
            .field("workspace", &self.workspace)
            .field("permissions", &self.permissions)
            .field("config", &self.config)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Loads what a workflow's `tasks.source` names (a builtin or a pinned file) as a task
    /// source: compiled (or taken from the cache) and pre-instantiated, so a component that is
    /// not a source fails here. Loading the same bytes again in this process reuses the first
    /// result.
    pub fn load_source(
        &self,
        plugin: &PluginRef,
        base_dir: &Path,
    ) -> Result<LoadedSource, RuntimeError> {
        let (bytes, digest, label) = plugin_bytes(plugin, base_dir)?;
        self.load_source_with_digest(&bytes, digest, &label)
    }

    /// Compiles (or loads from the cache) and pre-instantiates a task source component from its
    /// bytes (`engine plugin check`), so one that is not a source fails here.
    pub fn load_source_bytes(
        &self,
        bytes: &[u8],
        label: &str,
    ) -> Result<LoadedSource, RuntimeError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        self.load_source_with_digest(bytes, digest, label)
    }

    fn load_source_with_digest(
        &self,
        bytes: &[u8],
        digest: [u8; 32],
        label: &str,
    ) -> Result<LoadedSource, RuntimeError> {
        let source = |pre| LoadedSource {
            label: label.to_string(),
            sha256: hex::encode(digest),
            pre,
        };
        if let Some(pre) = self.source_memo().get(&digest) {
            return Ok(source(pre.clone()));
        }
        let (instance_pre, inspection) = self.instance_pre(bytes, &digest, label, Role::Source)?;
        let pre = SourcePre::new(instance_pre)
            .map_err(|e| self.link_error(label, &inspection, Role::Source, &e))?;
        self.source_memo().insert(digest, pre.clone());
        Ok(source(pre))
    }

    /// Calls the source's `describe` in a fresh sandbox without workspace or exec.
    pub async fn describe_source(
        &self,
        source: &LoadedSource,
    ) -> Result<SourceDescriptor, RuntimeError> {
        let error = |message: String| RuntimeError::Describe {
            label: source.label.clone(),
            message,
        };
        let call = SourceCall {
            timeout: DESCRIBE_TIMEOUT,
            memory_limit_bytes: DESCRIBE_MEMORY_LIMIT,
            ..SourceCall::new(
                PathBuf::new(),
                Permissions::default(),
                serde_json::Value::Null,
            )
        };
        let mut store = self.source_store(source, &call, None).map_err(error)?;
        let stderr = store.data().stderr.clone();
        let outcome = tokio::time::timeout(call.timeout, async {
            let instance = source.pre.instantiate_async(&mut store).await?;
            instance.call_describe(&mut store).await
        })
        .await;
        let raw = ended(source, &call, outcome, store)
            .map_err(|e| error(with_stderr_tail(e.to_string(), &stderr.tail_text())))?;
        SourceDescriptor::from_wit(raw).map_err(|e| RuntimeError::BadDescriptor {
            label: source.label.clone(),
            message: e.to_string(),
        })
    }

    /// Every task of the source (`list-tasks`), the workspace mounted read-only.
    pub async fn list_tasks(
        &self,
        source: &LoadedSource,
        call: &SourceCall,
    ) -> Result<TaskList, SourceError> {
        let access = call.permissions.workspace.min(WorkspaceAccess::Read);
        let mut store = self
            .source_store(source, call, Some(access))
            .map_err(SourceError::Failed)?;
        let config = call.config.to_string();
        let outcome = tokio::time::timeout(call.timeout, async {
            let instance = source.pre.instantiate_async(&mut store).await?;
            instance.call_list_tasks(&mut store, &config).await
        })
        .await;
        ended(source, call, outcome, store)?
            .map(TaskList::from)
            .map_err(SourceError::from)
    }

    /// Claims a task for `claimant` (`claim`), with the granted workspace access.
    pub async fn claim_task(
        &self,
        source: &LoadedSource,
        call: &SourceCall,
        id: &str,
        claimant: &str,
    ) -> Result<Task, SourceError> {
        let access = call.permissions.workspace;
        let mut store = self
            .source_store(source, call, Some(access))
            .map_err(SourceError::Failed)?;
        let config = call.config.to_string();
        let outcome = tokio::time::timeout(call.timeout, async {
            let instance = source.pre.instantiate_async(&mut store).await?;
            instance.call_claim(&mut store, &config, id, claimant).await
        })
        .await;
        ended(source, call, outcome, store)?
            .map(Task::from)
            .map_err(SourceError::from)
    }

    /// Sets a task's status (`update`), with the granted workspace access.
    pub async fn update_task(
        &self,
        source: &LoadedSource,
        call: &SourceCall,
        id: &str,
        status: TaskStatus,
        note: Option<&str>,
    ) -> Result<Task, SourceError> {
        let access = call.permissions.workspace;
        let mut store = self
            .source_store(source, call, Some(access))
            .map_err(SourceError::Failed)?;
        let config = call.config.to_string();
        let note = note.map(str::to_string);
        let outcome = tokio::time::timeout(call.timeout, async {
            let instance = source.pre.instantiate_async(&mut store).await?;
            instance
                .call_update(&mut store, &config, id, status.into(), note.as_deref())
                .await
        })
        .await;
        ended(source, call, outcome, store)?
            .map(Task::from)
            .map_err(SourceError::from)
    }

    /// Ticks (`done`) or unticks item `index` (1-based) of task `id`'s checklist
    /// (`check-item`), with the granted workspace access. A source without the export (built
    /// against world `source`) is [`SourceError::Unsupported`], before anything runs.
    pub async fn check_item(
        &self,
        source: &LoadedSource,
        call: &SourceCall,
        id: &str,
        index: u32,
        done: bool,
    ) -> Result<Task, SourceError> {
        if !source.can_check_items() {
            return Err(SourceError::Unsupported(format!(
                "task source {} cannot tick checklist items: it does not export `check-item` \
                 (world engine:stage/source-checklist)",
                source.label
            )));
        }
        let access = call.permissions.workspace;
        let mut store = self
            .source_store(source, call, Some(access))
            .map_err(SourceError::Failed)?;
        let config = call.config.to_string();
        let outcome = tokio::time::timeout(call.timeout, async {
            let instance = source
                .pre
                .instance_pre()
                .instantiate_async(&mut store)
                .await?;
            let func = instance
                .get_typed_func::<(&str, &str, u32, bool), (Result<wit::Task, wit::SourceError>,)>(
                    &mut store, CHECK_ITEM,
                )?;
            let (answer,) = func
                .call_async(&mut store, (config.as_str(), id, index, done))
                .await?;
            Ok::<_, wasmtime::Error>(answer)
        })
        .await;
        ended(source, call, outcome, store)?
            .map(Task::from)
            .map_err(SourceError::from)
    }

    /// A fresh sandbox for one call: the workspace mounted with `access` (`None`: not at all),
    /// `exec` limited to the granted programs.
    fn source_store(
        &self,
        source: &LoadedSource,
        call: &SourceCall,
        access: Option<WorkspaceAccess>,
    ) -> Result<Store<StageState>, String> {
        let now = Instant::now();
        let deadline = now.checked_add(call.timeout).unwrap_or(now);
        let permissions = Permissions {
            workspace: access.unwrap_or(WorkspaceAccess::None),
            ..call.permissions.clone()
        };
        let state = StageState::new(SandboxSpec {
            stage_id: &source.label,
            workspace: access.map(|_| call.workspace.as_path()),
            permissions: &permissions,
            deadline,
            memory_limit_bytes: call.memory_limit_bytes,
            exec_env: &call.exec_env,
            observer: call.observer.clone(),
            agent: None,
            // Task sources run before any run exists, with the user's own tools (see
            // docs/security.md): not confined.
            confinement: None,
        })?;
        Ok(self.new_store(state, deadline))
    }
}

/// The guest's answer, or the failure (timeout, trap, memory) as a [`SourceError`]: a timeout
/// is temporary, anything else is not.
fn ended<R>(
    source: &LoadedSource,
    call: &SourceCall,
    outcome: Result<wasmtime::Result<R>, tokio::time::error::Elapsed>,
    store: Store<StageState>,
) -> Result<R, SourceError> {
    let memory_exceeded = store.data().limiter.exceeded;
    let stderr = store.data().stderr.tail_text();
    drop(store);
    let error = match outcome {
        Ok(Ok(answer)) => return Ok(answer),
        Ok(Err(error)) => error,
        Err(_) => {
            return Err(SourceError::Unavailable(format!(
                "task source {} {}",
                source.label,
                after_stage(&failure::timed_out(call.timeout).message)
            )));
        }
    };
    let failure = failure::trap_failure(
        &error,
        &Ending {
            timeout: call.timeout,
            memory_limit: call.memory_limit_bytes,
            memory_exceeded,
            stderr: &stderr,
        },
    );
    let message = format!(
        "task source {} {}",
        source.label,
        after_stage(&failure.message)
    );
    Err(match failure.kind {
        engine_core::FailureKind::TimedOut => SourceError::Unavailable(message),
        _ => SourceError::Failed(message),
    })
}

/// `trapped: ...` from `stage trapped: ...` (the stage classifier's wording, reused).
fn after_stage(message: &str) -> &str {
    message.strip_prefix("stage ").unwrap_or(message)
}
