//! [`Host`]: one wasmtime engine and linker per process, loading stages and running attempts.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use engine_core::{Failure, FailureKind, Permissions, PluginRef};
use sha2::{Digest, Sha256};
use wasmtime::component::{HasSelf, InstancePre, Linker};
use wasmtime::{Config, Engine, Store, UpdateDeadline};

use crate::attempt::{AttemptObserver, AttemptRequest, AttemptResult, LogLevel, NullObserver};
use crate::bindings::{Stage, StagePre};
use crate::builtins;
use crate::cache::{CacheStats, CompileObserver, ComponentCache};
use crate::descriptor::Descriptor;
use crate::errors::RuntimeError;
use crate::failure::{self, Ending};
use crate::inspect::{self, Inspection, Role};
use crate::sandbox::{SandboxSpec, StageState, mounted_workspace};
use crate::source_bindings::SourcePre;

/// How often the epoch ticks; deadlines are accurate to about one tick.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Time limit of `describe`.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Memory limit of `describe`.
const DESCRIBE_MEMORY_LIMIT: u64 = 128 * 1024 * 1024;

/// Lines of the guest's stderr shown when `describe` traps.
const DESCRIBE_STDERR_LINES: usize = 20;

/// How the host is set up.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Directory of the compiled-component cache (created if missing; host-owned: never point
    /// it at a directory others can write).
    pub cache_dir: PathBuf,
}

/// A compiled, pre-instantiated stage component. Cheap to clone.
#[derive(Clone)]
pub struct LoadedStage {
    label: String,
    sha256: String,
    pre: StagePre<StageState>,
}

impl LoadedStage {
    /// `builtin:NAME` or the plugin's path, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// sha256 of the component's bytes, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

impl std::fmt::Debug for LoadedStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedStage")
            .field("label", &self.label)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// The wasmtime host: one engine (epoch interruption, a ticker thread) and one linker.
pub struct Host {
    engine: Engine,
    linker: Linker<StageState>,
    cache: ComponentCache,
    loaded: Mutex<HashMap<[u8; 32], StagePre<StageState>>>,
    /// Task sources loaded so far, by content digest (like `loaded` for stages).
    sources: Mutex<HashMap<[u8; 32], SourcePre<StageState>>>,
    null_observer: Arc<dyn AttemptObserver>,
    compile_observer: Option<Arc<dyn CompileObserver>>,
}

impl Host {
    /// Sets up the engine, the linker (WASI p2 plus the stage world's imports), the cache
    /// directory and the epoch ticker (a thread that stops when the host is dropped).
    pub fn new(opts: HostOptions) -> Result<Host, RuntimeError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = Engine::new(&config).map_err(|e| RuntimeError::Engine(chain(&e)))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError::Engine(chain(&e)))?;
        // wasi:http for stages that import it; each request is checked against the stage's
        // `permissions.net` (see `net.rs`). Components that do not import it are unaffected.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError::Engine(chain(&e)))?;
        Stage::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| RuntimeError::Engine(chain(&e)))?;
        // Task sources (world `source`) share `types`, `log` and `exec` with stages; only their
        // own types interface is added.
        crate::source_bindings::engine::stage::source_types::add_to_linker::<_, HasSelf<_>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| RuntimeError::Engine(chain(&e)))?;
        std::fs::create_dir_all(&opts.cache_dir).map_err(|source| RuntimeError::CacheDir {
            path: opts.cache_dir.clone(),
            source,
        })?;
        let cache = ComponentCache::new(opts.cache_dir, &engine);
        start_epoch_ticker(&engine)?;
        Ok(Host {
            engine,
            linker,
            cache,
            loaded: Mutex::new(HashMap::new()),
            sources: Mutex::new(HashMap::new()),
            null_observer: Arc::new(NullObserver),
            compile_observer: None,
        })
    }

    /// This host, telling `observer` about compiles of components that are not in the cache
    /// and take longer than its threshold (a first compile of a Python or JavaScript component
    /// takes tens of seconds).
    #[must_use]
    pub fn with_compile_observer(mut self, observer: Arc<dyn CompileObserver>) -> Host {
        self.compile_observer = Some(observer);
        self
    }

    /// The directory of the compiled-component cache ([`HostOptions::cache_dir`]).
    pub fn cache_dir(&self) -> &Path {
        self.cache.dir()
    }

    /// Counters of the compiled-component cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Compiles (or loads from the cache) and pre-instantiates a component, so one that does not
    /// fit the stage world fails here. Loading the same bytes again in this process reuses the
    /// first result.
    pub fn load(&self, bytes: &[u8], label: &str) -> Result<LoadedStage, RuntimeError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        self.load_with_digest(bytes, digest, label)
    }

    /// Loads what a workflow's `uses:` names: `builtin:NAME` from the embedded set, or a file
    /// (relative to `base_dir`) whose sha256 must match the pin.
    pub fn load_plugin(
        &self,
        plugin: &PluginRef,
        base_dir: &Path,
    ) -> Result<LoadedStage, RuntimeError> {
        let (bytes, digest, label) = plugin_bytes(plugin, base_dir)?;
        self.load_with_digest(&bytes, digest, &label)
    }

    fn load_with_digest(
        &self,
        bytes: &[u8],
        digest: [u8; 32],
        label: &str,
    ) -> Result<LoadedStage, RuntimeError> {
        let stage = |pre| LoadedStage {
            label: label.to_string(),
            sha256: hex::encode(digest),
            pre,
        };
        if let Some(pre) = self.memo().get(&digest) {
            return Ok(stage(pre.clone()));
        }
        let (instance_pre, inspection) = self.instance_pre(bytes, &digest, label, Role::Stage)?;
        let pre = StagePre::new(instance_pre)
            .map_err(|e| self.link_error(label, &inspection, Role::Stage, &e))?;
        self.memo().insert(digest, pre.clone());
        Ok(stage(pre))
    }

    /// Checks what the bytes are ([`inspect::inspect`]: a file that cannot be a `role` is
    /// refused before anything is compiled), then compiles (or loads from the cache) the
    /// component and pre-instantiates it against the linker. Every error says in plain words
    /// what is wrong.
    pub(crate) fn instance_pre(
        &self,
        bytes: &[u8],
        digest: &[u8; 32],
        label: &str,
        role: Role,
    ) -> Result<(InstancePre<StageState>, Inspection), RuntimeError> {
        let inspection = inspect::inspect(bytes);
        if let Some(refusal) = inspection.refusal(role) {
            let mut message = refusal.message;
            if inspection.kind == inspect::FileKind::OtherComponent {
                message.push_str(&Inspection::unprovided_suffix(
                    &self.unprovided(&inspection),
                ));
            }
            return Err(if refusal.not_a_component {
                RuntimeError::Compile {
                    label: label.to_string(),
                    message,
                }
            } else {
                RuntimeError::incompatible(role, label, message)
            });
        }
        let component = self
            .cache
            .load_or_compile(
                &self.engine,
                bytes,
                digest,
                label,
                self.compile_observer.as_deref(),
            )
            .map_err(|e| RuntimeError::Compile {
                label: label.to_string(),
                message: format!("is not a valid WebAssembly component: {}", chain(&e)),
            })?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| self.link_error(label, &inspection, role, &e))?;
        Ok((pre, inspection))
    }

    /// The error for a component that did not fit the linker or the world's exports: the
    /// interfaces it imports that this host lacks, else wasmtime's words as the detail.
    pub(crate) fn link_error(
        &self,
        label: &str,
        inspection: &Inspection,
        role: Role,
        error: &wasmtime::Error,
    ) -> RuntimeError {
        let unprovided = self.unprovided(inspection);
        RuntimeError::incompatible(
            role,
            label,
            inspection.link_failure(&unprovided, &chain(error)),
        )
    }

    /// The imports of the inspected component that this host's linker does not provide.
    pub(crate) fn unprovided(&self, inspection: &Inspection) -> Vec<String> {
        inspect::unprovided_imports(&self.engine, &self.linker, &inspection.imports)
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], StagePre<StageState>>> {
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The task sources loaded so far (see [`Host::load_source`]).
    pub(crate) fn source_memo(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], SourcePre<StageState>>> {
        self.sources.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Calls `describe` in a fresh sandbox: no workspace, no exec, a short deadline.
    pub async fn describe(&self, stage: &LoadedStage) -> Result<Descriptor, RuntimeError> {
        let deadline = Instant::now() + DESCRIBE_TIMEOUT;
        let describe_error = |message: String| RuntimeError::Describe {
            label: stage.label.clone(),
            message,
        };
        let state = StageState::new(SandboxSpec {
            stage_id: &stage.label,
            workspace: None,
            permissions: &Permissions::default(),
            deadline,
            memory_limit_bytes: DESCRIBE_MEMORY_LIMIT,
            exec_env: &[],
            observer: self.null_observer.clone(),
            agent: None,
            confinement: None,
        })
        .map_err(describe_error)?;
        let stderr = state.stderr.clone();
        let mut store = self.new_store(state, deadline);
        let outcome = tokio::time::timeout(DESCRIBE_TIMEOUT, async {
            let instance = stage.pre.instantiate_async(&mut store).await?;
            instance.call_describe(&mut store).await
        })
        .await;
        drop(store);
        let raw = match outcome {
            Err(_) => return Err(describe_error(failure::timed_out(DESCRIBE_TIMEOUT).message)),
            Ok(Err(error)) => {
                let ending = Ending {
                    timeout: DESCRIBE_TIMEOUT,
                    memory_limit: DESCRIBE_MEMORY_LIMIT,
                    memory_exceeded: false,
                    stderr: &stderr.tail_text(),
                };
                let message = match failure::classify(Some(Err(error)), &ending) {
                    Err(f) => f.message,
                    Ok(_) => "unexpected success".to_string(),
                };
                return Err(describe_error(with_stderr_tail(
                    message,
                    &stderr.tail_text(),
                )));
            }
            Ok(Ok(raw)) => raw,
        };
        Descriptor::from_wit(raw).map_err(|e| RuntimeError::BadDescriptor {
            label: stage.label.clone(),
            message: e.to_string(),
        })
    }

    /// Runs one attempt in a fresh sandbox. Never panics on guest behaviour: every way the
    /// attempt can end is an [`AttemptResult`]. Dropping the returned future cancels the attempt
    /// and kills the programs it started.
    pub async fn run_attempt(&self, stage: &LoadedStage, req: AttemptRequest) -> AttemptResult {
        let now = Instant::now();
        let deadline = now
            .checked_add(req.timeout)
            .or_else(|| now.checked_add(Duration::from_hours(87600)))
            .unwrap_or(now);
        let mounted =
            mounted_workspace(req.workspace.as_deref(), req.permissions.workspace).is_some();
        let context = req.context.to_wit(mounted);
        let state = StageState::new(SandboxSpec {
            stage_id: &req.context.stage_id,
            workspace: req.workspace.as_deref(),
            permissions: &req.permissions,
            deadline,
            memory_limit_bytes: req.memory_limit_bytes,
            exec_env: &req.exec_env,
            observer: req.observer.clone(),
            agent: req.agent.clone(),
            confinement: req.confinement.clone(),
        })
        .map_err(|message| Failure {
            kind: FailureKind::Fatal,
            message,
            detail: serde_json::Value::Null,
            retry_at_ms: None,
        })?;
        let (stdout, stderr) = (state.stdout.clone(), state.stderr.clone());
        let mut store = self.new_store(state, deadline);
        let outcome = tokio::time::timeout(req.timeout, async {
            let instance = stage.pre.instantiate_async(&mut store).await?;
            instance.call_run(&mut store, &context).await
        })
        .await
        .ok();
        let memory_exceeded = store.data().limiter.exceeded;
        drop(store);

        let stderr = stderr.tail_text();
        forward_stdio(req.observer.as_ref(), "stdout", &stdout.tail_text());
        forward_stdio(req.observer.as_ref(), "stderr", &stderr);
        failure::classify(
            outcome,
            &Ending {
                timeout: req.timeout,
                memory_limit: req.memory_limit_bytes,
                memory_exceeded,
                stderr: &stderr,
            },
        )
    }

    /// A store with the memory limiter and an epoch deadline: the guest yields every tick and is
    /// interrupted once `deadline` has passed.
    pub(crate) fn new_store(&self, state: StageState, deadline: Instant) -> Store<StageState> {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if Instant::now() >= deadline {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });
        store
    }
}

/// A component's bytes, their sha256 and the label used in messages.
pub(crate) type PluginBytes = (Cow<'static, [u8]>, [u8; 32], String);

/// The bytes, sha256 and label of what a workflow names: `builtin:NAME` from the embedded set,
/// or a file (relative to `base_dir`) whose sha256 must match the pin.
pub(crate) fn plugin_bytes(
    plugin: &PluginRef,
    base_dir: &Path,
) -> Result<PluginBytes, RuntimeError> {
    match plugin {
        PluginRef::Builtin { name } => {
            let (bytes, digest) = builtins::builtin_with_digest(name).ok_or_else(|| {
                RuntimeError::UnknownBuiltin {
                    name: name.clone(),
                    known: builtins::builtin_names()
                        .iter()
                        .map(std::string::ToString::to_string)
                        .collect(),
                }
            })?;
            Ok((Cow::Borrowed(bytes), digest, format!("builtin:{name}")))
        }
        PluginRef::Path { path, sha256 } => {
            // `components()` drops the `.` segments a relative base and path produce.
            let full: PathBuf = base_dir.join(path).components().collect();
            let bytes = std::fs::read(&full).map_err(|source| RuntimeError::ReadPlugin {
                path: full.clone(),
                source,
            })?;
            let digest: [u8; 32] = Sha256::digest(&bytes).into();
            let actual = hex::encode(digest);
            if !actual.eq_ignore_ascii_case(sha256.trim()) {
                return Err(RuntimeError::Sha256Mismatch {
                    expected: sha256.clone(),
                    actual,
                    path: full,
                });
            }
            Ok((Cow::Owned(bytes), digest, path.clone()))
        }
    }
}

/// Increments the engine's epoch every [`EPOCH_TICK`] until the engine is dropped.
fn start_epoch_ticker(engine: &Engine) -> Result<(), RuntimeError> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("engine-epoch".to_string())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            }
        })
        .map(|_| ())
        .map_err(|e| RuntimeError::Engine(format!("cannot start the epoch ticker: {e}")))
}

/// `message`, followed by the last lines the guest wrote to stderr before it trapped in
/// `describe` (without Rust's own panic report, which `message` already has): where a Python
/// or JavaScript stage's exception text is.
pub(crate) fn with_stderr_tail(message: String, stderr: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    let mut in_panic_report = false;
    for line in stderr.lines() {
        if line.contains("panicked at ") {
            in_panic_report = true;
        } else if in_panic_report {
            // The report is the message after the header, up to Rust's `note:` or a blank line.
            in_panic_report = !(line.starts_with("note: ") || line.trim().is_empty());
        } else if !line.trim().is_empty() {
            lines.push(line.trim_end());
        }
    }
    if lines.is_empty() {
        return message;
    }
    let tail = &lines[lines.len().saturating_sub(DESCRIBE_STDERR_LINES)..];
    format!(
        "{message}\nthe component's stderr ended with:\n  {}",
        tail.join("\n  ")
    )
}

/// The guest's captured output, to the observer as one debug entry per stream.
fn forward_stdio(observer: &dyn AttemptObserver, stream: &str, text: &str) {
    if !text.trim().is_empty() {
        observer.log(
            LogLevel::Debug,
            &format!("stage {stream}:\n{}", text.trim_end()),
        );
    }
}

/// An error and its causes (the first line of each), joined with `: `.
pub(crate) fn chain(error: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let full = cause.to_string();
        let text = full
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
