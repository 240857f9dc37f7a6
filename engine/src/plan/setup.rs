//! What `engine plan` works with, found before the agent starts: the repository and state
//! directory, the workflow whose agent settings it uses (the given one, else
//! `workflows/engine.yaml` when the repository has it, else the defaults), the backend, and the
//! files it may write (`--out`, default `spec/tasks.md`, and with `--full` `requirements.md`
//! and `design.md` beside it), which must lie inside the repository.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use engine_runtime::Host;
use engine_workflow::SandboxSettings;

use super::error::PlanError;
use super::files::Target;
use super::reply::Document;
use super::session::AgentSite;
use crate::EngineError;
use crate::agents::AgentConfig;
use crate::project::Project;
use crate::terminal::safe;

/// The default tasks file, relative to the repository root.
pub const DEFAULT_OUT: &str = "spec/tasks.md";
/// The workflow whose agent settings are used when none is given (the one `engine init`
/// writes), when the repository has it.
pub const DEFAULT_WORKFLOW: &str = "workflows/engine.yaml";
/// The backend used when neither `--backend` says otherwise (as `builtin:agent`'s examples).
pub const DEFAULT_BACKEND: &str = "claude";

/// What the command line says about where and how to plan.
#[derive(Debug, Clone, Default)]
pub struct SetupOptions {
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--workflow`.
    pub workflow: Option<PathBuf>,
    /// `--backend`.
    pub backend: Option<String>,
    /// `--model`.
    pub model: Option<String>,
    /// `--out`, relative to the current directory.
    pub out: Option<PathBuf>,
    /// `--full`.
    pub full: bool,
}

/// Everything a plan needs, prepared.
pub struct Setup {
    /// How the agent runs.
    pub agent: AgentSite,
    /// The wasm host (for `builtin:tasks-md`).
    pub host: Arc<Host>,
    /// The files: the tasks file first, then requirements and design (written only with
    /// `--full`).
    pub targets: Vec<Target>,
    /// `<state>/plan/<id>`: transcripts, replies, the draft.
    pub plan_dir: PathBuf,
}

impl Setup {
    /// Finds and checks everything; refuses a bad backend, workflow or output path before any
    /// agent runs.
    pub fn prepare(options: &SetupOptions) -> Result<Setup, PlanError> {
        let project = Project::locate(options.state_dir.as_deref())?;
        let root = project
            .repo
            .root()
            .canonicalize()
            .map_err(|e| PlanError::io(project.repo.root(), e))?;
        let workflow = match &options.workflow {
            Some(path) if !path.is_file() => {
                return Err(EngineError::Usage(format!(
                    "--workflow {}: no such file",
                    safe(&path.display().to_string())
                ))
                .into());
            }
            Some(path) => Some(path.clone()),
            None => Some(root.join(DEFAULT_WORKFLOW)).filter(|p| p.is_file()),
        };
        let (config, sandbox) = match workflow {
            Some(path) => {
                let loaded = engine_workflow::load_file(&path).map_err(EngineError::from)?;
                let config = AgentConfig::from_workflow(&loaded)
                    .map_err(|d| EngineError::from(engine_workflow::Diagnostics(d)))?;
                (config, loaded.sandbox.clone())
            }
            None => (AgentConfig::default(), SandboxSettings::default()),
        };
        let backend = options
            .backend
            .clone()
            .unwrap_or_else(|| DEFAULT_BACKEND.to_string());
        let settings = config.backends.get(&backend).cloned().unwrap_or_default();
        if let Err(e) = engine_agent::backends::backend(&backend, &settings, &config.custom) {
            return Err(EngineError::Usage(format!("--backend {}: {e}", safe(&backend))).into());
        }
        let cwd = std::env::current_dir().map_err(|e| EngineError::io(".", e))?;
        let out = match &options.out {
            Some(out) => cwd.join(out),
            None => root.join(DEFAULT_OUT),
        };
        let (out, shown) = inside(&root, &out)?;
        let dir = out.parent().unwrap_or(&root).to_path_buf();
        let shown_dir = Path::new(&shown).parent().unwrap_or(Path::new(""));
        let mut targets = vec![Target::read(Document::Tasks, out.clone(), shown.clone())?];
        // The documents beside the tasks file: written with --full; without it only read, for
        // the ids tasks may trace to (one that cannot be read then counts as absent).
        for document in [Document::Requirements, Document::Design] {
            let path = dir.join(document.name());
            if path == out {
                if options.full {
                    return Err(EngineError::Usage(format!(
                        "--out {shown}: with --full, {} is written beside the tasks file; name \
                         the tasks file otherwise",
                        document.name()
                    ))
                    .into());
                }
                continue;
            }
            let shown = shown_dir.join(document.name()).display().to_string();
            match Target::read(document, path, shown) {
                Ok(target) => targets.push(target),
                Err(e) if options.full => return Err(e),
                Err(_) => {}
            }
        }
        let host = crate::project::host()?;
        let plan_dir = project
            .state_dir
            .join("plan")
            .join(ulid::Ulid::new().to_string().to_lowercase());
        std::fs::create_dir_all(&plan_dir).map_err(|e| PlanError::io(&plan_dir, e))?;
        Ok(Setup {
            agent: AgentSite {
                config: Arc::new(config),
                sandbox,
                backend,
                model: options.model.clone(),
                repo: project.repo.clone(),
                state_dir: project.state_dir.clone(),
                plan_dir: plan_dir.clone(),
            },
            host,
            targets,
            plan_dir,
        })
    }
}

/// `path` resolved (the part that exists, through links) and checked to be inside the
/// repository at `root` (canonical) and outside its `.git`; with its path relative to `root`.
fn inside(root: &Path, path: &Path) -> Result<(PathBuf, String), PlanError> {
    let shown = safe(&path.display().to_string()).into_owned();
    let refuse = |why: &str| Err(EngineError::Usage(format!("--out {shown}: {why}")).into());
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        let Some(name) = existing.file_name() else {
            return refuse("has no existing parent directory");
        };
        rest.push(name.to_os_string());
        if !existing.pop() {
            return refuse("has no existing parent directory");
        }
    }
    let mut resolved = existing
        .canonicalize()
        .map_err(|e| PlanError::io(&existing, e))?;
    for name in rest.iter().rev() {
        match Path::new(name).components().next() {
            Some(Component::Normal(_)) => resolved.push(name),
            _ => return refuse("must not contain `..`"),
        }
    }
    let Ok(relative) = resolved.strip_prefix(root) else {
        return refuse(&format!(
            "is outside the repository at {}; engine plan writes inside it only",
            safe(&root.display().to_string())
        ));
    };
    if relative.as_os_str().is_empty() {
        return refuse("is the repository itself; give a file");
    }
    if relative.components().next() == Some(Component::Normal(".git".as_ref())) {
        return refuse("is inside .git");
    }
    let relative = relative.display().to_string();
    Ok((resolved, relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_must_resolve_inside_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (path, shown) = inside(&root, &root.join("spec/tasks.md")).unwrap();
        assert_eq!(
            (path, shown.as_str()),
            (root.join("spec/tasks.md"), "spec/tasks.md")
        );
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();
        for bad in [
            "escape/tasks.md",
            "../x.md",
            ".git/tasks.md",
            "spec/../../x.md",
        ] {
            let e = inside(&root, &root.join(bad)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}: {e}");
        }
    }
}
