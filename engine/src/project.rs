//! Finding what a command works on: the repository, the state directory, the wasm host and the
//! workflow with its plugins loaded and checked.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine_core::PluginRef;
use engine_git::Repo;
use engine_runtime::{Descriptor, Host, HostOptions, LoadedStage};
use engine_store::RunMeta;
use engine_workflow::{Diagnostics, LoadedWorkflow, PluginInfo};

use crate::EngineError;
use crate::agents::AgentConfig;

/// Name of the state directory at the repository root.
pub const STATE_DIR_NAME: &str = ".engine";

/// The repository a command works in and where its state lives.
pub struct Project {
    /// The repository (found from the current directory).
    pub repo: Repo,
    /// The state directory (`<repo>/.engine` unless `--state-dir` says otherwise).
    pub state_dir: PathBuf,
}

impl Project {
    /// Finds the repository around the current directory and the state directory, refusing a
    /// state directory that git tracks, and keeping it out of `git status`.
    pub fn locate(state_dir: Option<&Path>) -> Result<Project, EngineError> {
        let cwd = std::env::current_dir().map_err(|e| EngineError::io(".", e))?;
        let repo = Repo::discover(&cwd).map_err(|e| {
            EngineError::Usage(format!(
                "{e}\nengine runs inside a git repository: cd into one (or `git init`)"
            ))
        })?;
        let state_dir = match state_dir {
            Some(dir) if dir.is_absolute() => dir.to_path_buf(),
            Some(dir) => cwd.join(dir),
            None => repo.root().join(STATE_DIR_NAME),
        };
        if let Ok(rel) = state_dir.strip_prefix(repo.root()) {
            if !rel.as_os_str().is_empty() && repo.is_tracked(rel)? {
                return Err(EngineError::Usage(format!(
                    "{} is tracked by git; engine keeps private state there and refuses to use a \
                     tracked directory. Untrack it with `git rm -r --cached {}` or pass \
                     --state-dir",
                    state_dir.display(),
                    rel.display()
                )));
            }
            if !rel.as_os_str().is_empty() {
                repo.ensure_excluded(&format!("/{}/", rel.display()))?;
            }
        }
        // builtin:gate's baseline checks the base commit out there, inside a run's worktree, for
        // moments; a crash must never leave it to be committed with the run's work.
        repo.ensure_excluded("/.engine-baseline/")?;
        // aider keeps its repo-map cache in the worktree's root and has no switch to move it;
        // it is the CLI's state, never part of a run's change.
        repo.ensure_excluded("/.aider.tags.cache.v*/")?;
        Ok(Project { repo, state_dir })
    }

    /// The state directory a read-only command looks at: like [`Project::locate`] but without
    /// requiring or changing anything.
    pub fn state_dir_for_reading(state_dir: Option<&Path>) -> Result<PathBuf, EngineError> {
        let cwd = std::env::current_dir().map_err(|e| EngineError::io(".", e))?;
        match state_dir {
            Some(dir) if dir.is_absolute() => Ok(dir.to_path_buf()),
            Some(dir) => Ok(cwd.join(dir)),
            None => {
                let repo = Repo::discover(&cwd).map_err(|e| {
                    EngineError::Usage(format!("{e}\npass --state-dir or cd into the repository"))
                })?;
                Ok(repo.root().join(STATE_DIR_NAME))
            }
        }
    }
}

/// Where compiled components are cached: `$ENGINE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/engine/components`, else `~/.cache/engine/components`.
pub fn component_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ENGINE_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("engine").join("components")
}

/// Creates the process's wasm host with the default component cache.
pub fn host() -> Result<Arc<Host>, EngineError> {
    // A first compile that takes long (a Python or JS component) says so while it runs.
    Ok(Arc::new(
        crate::plugin::check::progress::with_compile_progress(Host::new(HostOptions {
            cache_dir: component_cache_dir(),
        })?),
    ))
}

/// Why a stage's plugin cannot be checked: the reason in its "cannot load plugin" diagnostic.
#[derive(Debug, thiserror::Error)]
pub enum PluginFailure {
    /// The component could not be loaded (unknown builtin, missing file, sha256 mismatch,
    /// incompatible component).
    #[error("{0}")]
    Load(engine_runtime::RuntimeError),
    /// The component loaded but its `describe()` failed.
    #[error("{uses} could not describe itself: {source}")]
    Describe {
        /// The stage's `uses:`.
        uses: String,
        /// Why describe failed.
        source: engine_runtime::RuntimeError,
    },
    /// No component was loaded for the stage.
    #[error("stage {0:?} was not loaded")]
    NotLoaded(String),
}

/// A stage's plugin loaded and described once for every stage that uses it, or why not.
type LoadedPlugin = Result<(Arc<LoadedStage>, Descriptor), Arc<PluginFailure>>;

/// A workflow whose every stage component is compiled, pre-instantiated and described, and
/// whose configs and permissions have been checked against the components.
pub struct PreparedWorkflow {
    /// The workflow as loaded.
    pub loaded: LoadedWorkflow,
    /// Each stage's component, by stage id.
    pub stages: BTreeMap<String, Arc<LoadedStage>>,
    /// Each stage's descriptor, by stage id.
    pub descriptors: BTreeMap<String, Descriptor>,
    /// How agent sessions run (backends, tiers, budgets, limits).
    pub agents: Arc<AgentConfig>,
    /// The workflow's task source (`tasks:`), loaded and checked; `None` without `tasks:`.
    pub task_source: Option<crate::tasks::PreparedSource>,
}

impl PreparedWorkflow {
    /// [`PreparedWorkflow::prepare_unconfined`], then fails closed when the workflow confines
    /// processes (the default) and this machine cannot: nothing may start.
    pub async fn prepare(host: &Host, loaded: LoadedWorkflow) -> Result<Self, EngineError> {
        let began = std::time::Instant::now();
        let prepared = Self::prepare_unconfined(host, loaded).await?;
        let loaded_ms = began.elapsed().as_secs_f64() * 1000.0;
        if prepared.loaded.sandbox.enabled {
            engine_confine::available()?;
        }
        tracing::debug!(
            workflow = ?prepared.loaded.workflow.name,
            components_ms = format_args!("{loaded_ms:.1}"),
            ms = format_args!("{:.1}", began.elapsed().as_secs_f64() * 1000.0),
            "workflow prepared (its components loaded and described, confinement checked)"
        );
        Ok(prepared)
    }

    /// What `validate` says about confinement: a warning when the workflow turns it off, or
    /// when it is on and this machine cannot confine (runs would refuse to start).
    pub fn confinement_warning(&self) -> Option<String> {
        if !self.loaded.sandbox.enabled {
            return Some(
                "sandbox.enabled is false: every process a run starts (agents, gate commands, \
                 git) runs with your full rights and can change anything you can (see \
                 docs/security.md)"
                    .to_string(),
            );
        }
        engine_confine::available().err().map(|e| {
            format!(
                "{e}; `engine run` refuses to start here (exit {})",
                crate::exit::CANNOT_CONFINE
            )
        })
    }

    /// Loads every stage's plugin and runs the plugin-dependent checks (unknown plugin, sha256
    /// pin, incompatible component, `with:` against the plugin's schema, permission shortfall).
    /// Does not check that this machine can confine processes.
    pub async fn prepare_unconfined(
        host: &Host,
        loaded: LoadedWorkflow,
    ) -> Result<Self, EngineError> {
        let mut stages = BTreeMap::new();
        let mut descriptors = BTreeMap::new();
        let mut infos: BTreeMap<String, Result<PluginInfo, Arc<PluginFailure>>> = BTreeMap::new();
        // Stages, then finally stages; approval stages have no component (the engine itself
        // waits for the human).
        // Issue 12 (validate near-linear): each distinct `uses` is loaded, hashed and described
        // once, however many stages share it (1,000 gate stages were 1,000 loads).
        let mut seen: HashMap<String, LoadedPlugin> = HashMap::new();
        preload_components(host, &loaded);
        for def in loaded.component_stages() {
            let key = format!("{:?}", def.spec.uses);
            let loaded_once = if let Some(done) = seen.get(&key) {
                done.clone()
            } else {
                let done = match host.load_plugin(&def.spec.uses, &loaded.base_dir) {
                    Ok(component) => match host.describe(&component).await {
                        Ok(descriptor) => Ok((Arc::new(component), descriptor)),
                        Err(source) => Err(Arc::new(PluginFailure::Describe {
                            uses: def.spec.uses.to_string(),
                            source,
                        })),
                    },
                    Err(e) => Err(Arc::new(PluginFailure::Load(e))),
                };
                seen.insert(key, done.clone());
                done
            };
            let info = loaded_once.map(|(component, descriptor)| {
                let info = PluginInfo {
                    config_schema: descriptor.config_schema.clone(),
                    permissions: descriptor.permissions.clone(),
                };
                stages.insert(def.stage.id.clone(), component);
                descriptors.insert(def.stage.id.clone(), descriptor);
                info
            });
            infos.insert(def.stage.id.clone(), info);
        }
        let mut diagnostics = loaded.check_plugins(|def| {
            infos
                .remove(&def.stage.id)
                .unwrap_or_else(|| Err(Arc::new(PluginFailure::NotLoaded(def.stage.id.clone()))))
        });
        let task_source = match crate::tasks::prepare_source(host, &loaded).await {
            Ok(source) => source,
            Err(problems) => {
                diagnostics.extend(problems);
                None
            }
        };
        let agents = match AgentConfig::from_workflow(&loaded) {
            Ok(config) => {
                diagnostics.extend(crate::agents::stage_checks::check_stage_backends(
                    &loaded, &config,
                ));
                config
            }
            Err(problems) => {
                diagnostics.extend(problems);
                AgentConfig::default()
            }
        };
        if !diagnostics.is_empty() {
            diagnostics.sort();
            return Err(Diagnostics(diagnostics).into());
        }
        Ok(PreparedWorkflow {
            loaded,
            stages,
            descriptors,
            agents: Arc::new(agents),
            task_source,
        })
    }
}

/// Loads every distinct component of `loaded` (its stages' plugins and its task source) into
/// the host, several at a time, so that the checks after it find each one remembered by the
/// host: a cached one is mostly reading, checking and mapping its entry (about 3 ms each in a
/// release build), and a first run compiles each (hundreds of milliseconds). At most
/// [`MAX_LOAD_THREADS`] load at once (a compile can take hundreds of megabytes); without
/// threads, all load on this one. A load that fails is not remembered: the checks load it
/// again and report its error in order. A panic goes on in the caller.
fn preload_components(host: &Host, loaded: &LoadedWorkflow) {
    let mut jobs: Vec<(bool, &PluginRef)> = Vec::new();
    if let Some(spec) = &loaded.tasks {
        jobs.push((true, &spec.source));
    }
    for def in loaded.component_stages() {
        if !jobs
            .iter()
            .any(|(source, uses)| !source && *uses == &def.spec.uses)
        {
            jobs.push((false, &def.spec.uses));
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        while let Some((source, plugin)) =
            jobs.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        {
            if *source {
                let _ = host.load_source(plugin, &loaded.base_dir);
            } else {
                let _ = host.load_plugin(plugin, &loaded.base_dir);
            }
        }
    };
    let helpers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(MAX_LOAD_THREADS)
        .min(jobs.len())
        .saturating_sub(1);
    std::thread::scope(|scope| {
        for _ in 0..helpers {
            // A helper that cannot start leaves its share to the others.
            let _ = std::thread::Builder::new()
                .name("engine-load".into())
                .spawn_scoped(scope, work);
        }
        work();
    });
}

/// The most components [`preload_components`] loads at once.
const MAX_LOAD_THREADS: usize = 4;

/// The workflow a run was started with, from the source text stored with the run (not the file
/// on disk, which may have changed since). Path plugins resolve against the file's directory.
///
/// Loaded once per process for each stored text: a run reads its workflow at several steps
/// (worktree, pool, hand-over, lifecycle), and `run --all`, `watch` and `serve` drive many runs
/// of the same workflow.
pub fn stored_workflow(meta: &RunMeta) -> Result<LoadedWorkflow, EngineError> {
    static LOADED: StoredWorkflows = StoredWorkflows::new();
    LOADED.load(meta)
}

/// Stored workflow texts already loaded, newest last. Loading is a pure function of the file name
/// and the text (it reads no other file), so a memo keyed by both gives what a fresh load would;
/// failures are not kept. A process rarely drives runs of more than one workflow: a few entries.
struct StoredWorkflows {
    loaded: std::sync::Mutex<Vec<(PathBuf, String, LoadedWorkflow)>>,
}

impl StoredWorkflows {
    /// How many texts are kept.
    const KEPT: usize = 4;

    const fn new() -> StoredWorkflows {
        StoredWorkflows {
            loaded: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<(PathBuf, String, LoadedWorkflow)>> {
        self.loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `entry` holds the load of `meta`'s file and stored text.
    fn is_of((file, source, _): &(PathBuf, String, LoadedWorkflow), meta: &RunMeta) -> bool {
        *file == meta.workflow_file && *source == meta.workflow_source
    }

    /// The workflow of `meta`'s stored text, if it was loaded before.
    fn remembered(&self, meta: &RunMeta) -> Option<LoadedWorkflow> {
        self.entries()
            .iter()
            .find(|entry| Self::is_of(entry, meta))
            .map(|(_, _, loaded)| loaded.clone())
    }

    fn load(&self, meta: &RunMeta) -> Result<LoadedWorkflow, EngineError> {
        if let Some(loaded) = self.remembered(meta) {
            return Ok(loaded);
        }
        let base_dir = meta
            .workflow_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let loaded = engine_workflow::load_str(
            &meta.workflow_file.display().to_string(),
            &base_dir,
            &meta.workflow_source,
        )?;
        let mut entries = self.entries();
        // Another thread may have loaded the same text meanwhile.
        if entries.iter().any(|entry| Self::is_of(entry, meta)) {
            return Ok(loaded);
        }
        if entries.len() >= Self::KEPT {
            entries.remove(0);
        }
        entries.push((
            meta.workflow_file.clone(),
            meta.workflow_source.clone(),
            loaded.clone(),
        ));
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests {
    use super::StoredWorkflows;
    use crate::test_fixtures::run_meta;

    fn workflow(gate_command: &str) -> String {
        format!(
            "name: wf\nstages:\n  check:\n    uses: builtin:gate\n    with: {{ command: \"{gate_command}\" }}\n    permissions: {{ workspace: read, exec: [sh] }}\n"
        )
    }

    fn command(memo: &StoredWorkflows, meta: &engine_store::RunMeta) -> serde_json::Value {
        let loaded = memo.load(meta).unwrap();
        loaded.spec("check").unwrap().with["command"].clone()
    }

    #[test]
    fn a_stored_workflow_is_loaded_once_and_a_different_text_is_loaded_anew() {
        let memo = StoredWorkflows::new();
        let mut meta = run_meta("r1", "engine/r1");
        meta.workflow_source = workflow("true");
        assert!(memo.remembered(&meta).is_none());
        assert_eq!(command(&memo, &meta), "true");
        assert!(
            memo.remembered(&meta).is_some(),
            "kept after the first load"
        );
        assert_eq!(
            command(&memo, &meta),
            "true",
            "the memo gives what the load gave"
        );
        // Another text of the same file (another run, the file edited in between).
        meta.workflow_source = workflow("false");
        assert!(memo.remembered(&meta).is_none());
        assert_eq!(command(&memo, &meta), "false");
        // The same text under another file name is another workflow (path plugins resolve
        // against its directory).
        let mut elsewhere = meta.clone();
        elsewhere.workflow_file = "/elsewhere/wf.yaml".into();
        assert!(memo.remembered(&elsewhere).is_none());
        assert_eq!(
            memo.load(&elsewhere).unwrap().base_dir,
            std::path::Path::new("/elsewhere")
        );
        // A broken text is an error every time (failures are not kept).
        meta.workflow_source = "name: [".into();
        assert!(memo.load(&meta).is_err());
        assert!(memo.remembered(&meta).is_none());
        assert!(memo.load(&meta).is_err());
        // More texts than the memo keeps: the oldest goes, each still loads as itself.
        let first = {
            let mut m = meta.clone();
            m.workflow_source = workflow("true");
            m
        };
        for n in 0..StoredWorkflows::KEPT {
            meta.workflow_source = workflow(&format!("exit {n}"));
            assert_eq!(command(&memo, &meta), format!("exit {n}").as_str());
        }
        assert!(
            memo.remembered(&first).is_none(),
            "the oldest text was let go"
        );
        assert_eq!(command(&memo, &first), "true");
    }
}
