//! Finding what a command works on: the repository, the state directory, the wasm host and the
//! workflow with its plugins loaded and checked.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine_core::PluginRef;
use engine_git::Repo;
use engine_runtime::{Descriptor, Host, HostOptions, LoadedSource, LoadedStage, RuntimeError};
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
        let prepared = Self::prepare_unconfined(host, loaded).await?;
        if prepared.loaded.sandbox.enabled {
            engine_confine::available()?;
        }
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
        let (mut components, source) = load_components(host, &loaded);
        for def in loaded.component_stages() {
            let key = format!("{:?}", def.spec.uses);
            let loaded_once = if let Some(done) = seen.get(&key) {
                done.clone()
            } else {
                let component = components
                    .remove(&key)
                    .unwrap_or_else(|| host.load_plugin(&def.spec.uses, &loaded.base_dir));
                let done = match component {
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
        let task_source = match crate::tasks::check_source(host, &loaded, source).await {
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

/// Each distinct component of `loaded` (its stages' plugins, keyed like
/// [`PreparedWorkflow::prepare_unconfined`] keys them, and its task source, `None` without
/// `tasks:`), compiled or taken from the cache at the same time on threads of their own: a
/// cached one is mostly reading, checking and mapping its entry (about 3 ms each in a release
/// build), and a first run compiles each (hundreds of milliseconds). Errors are kept for the
/// caller to report in order. A stage plugin whose thread cannot start is left out (the caller
/// loads it in line); the source is then loaded on this thread.
fn load_components(host: &Host, loaded: &LoadedWorkflow) -> (StageLoads, SourceLoad) {
    let mut plugins: Vec<(String, &PluginRef)> = Vec::new();
    for def in loaded.component_stages() {
        let key = format!("{:?}", def.spec.uses);
        if !plugins.iter().any(|(k, _)| *k == key) {
            plugins.push((key, &def.spec.uses));
        }
    }
    let base_dir = &loaded.base_dir;
    std::thread::scope(|scope| {
        let source = loaded.tasks.as_ref().map(|spec| {
            let load = move || host.load_source(&spec.source, base_dir);
            (
                std::thread::Builder::new()
                    .name("engine-load-source".into())
                    .spawn_scoped(scope, load)
                    .ok(),
                load,
            )
        });
        // The first plugin loads on this thread, the others on threads of their own.
        let others: Vec<_> = plugins
            .iter()
            .skip(1)
            .map(|(key, plugin)| {
                let handle = std::thread::Builder::new()
                    .name("engine-load-stage".into())
                    .spawn_scoped(scope, move || host.load_plugin(plugin, base_dir));
                (key, handle.ok())
            })
            .collect();
        let mut stages = HashMap::new();
        if let Some((key, plugin)) = plugins.first() {
            stages.insert(key.clone(), host.load_plugin(plugin, base_dir));
        }
        for (key, handle) in others {
            if let Some(handle) = handle {
                stages.insert(key.clone(), joined(handle));
            }
        }
        let source = source.map(|(handle, load)| match handle {
            Some(handle) => joined(handle),
            None => load(),
        });
        (stages, source)
    })
}

/// Each distinct stage plugin's load, by the key [`PreparedWorkflow::prepare_unconfined`] uses.
type StageLoads = HashMap<String, Result<LoadedStage, RuntimeError>>;

/// The task source's load; `None` without `tasks:`.
type SourceLoad = Option<Result<LoadedSource, RuntimeError>>;

/// What a scoped thread returned; its panic goes on in the caller, as if the work had been done
/// there.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

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
