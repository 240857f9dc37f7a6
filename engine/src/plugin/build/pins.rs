//! After a build: the pins of the workflows that use the component. Which stages (and which
//! `tasks.source`) use it is decided here, by resolving each `uses:` as the engine does (relative
//! to the workflow file's directory); rewriting a pin in place is [`crate::plugin::pin`]'s job.

use std::path::{Path, PathBuf};

use crate::plugin::pin::{PinChange, PinError, pin_task_source, pin_workflow};

/// The workflow file a project ships (`<project>/workflow.yaml`).
pub const PROJECT_WORKFLOW: &str = "workflow.yaml";

/// Why a workflow's pins could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum PinUpdateError {
    /// The workflow does not load (its diagnostics, one per line).
    #[error("{workflow}: cannot update its pins, the workflow is invalid:\n{diagnostics}")]
    Invalid {
        /// The workflow file.
        workflow: String,
        /// What is wrong with it.
        diagnostics: String,
    },
    /// Rewriting a pin failed.
    #[error("{0}")]
    Pin(#[from] PinError),
}

/// What one workflow's update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repinned {
    /// The workflow file.
    pub workflow: PathBuf,
    /// One line per pin that uses the component, brought up to date or found current
    /// (`stage hello: sha256 (none) -> 9b1c…`).
    pub users: Vec<String>,
}

/// The workflows a build updates: the project's own `workflow.yaml` when there is one, then
/// `extra` (the `--workflow` given), each once.
pub fn workflows(project: &Path, extra: Option<&Path>) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    let own = project.join(PROJECT_WORKFLOW);
    let candidates = own
        .is_file()
        .then_some(own)
        .into_iter()
        .chain(extra.map(Path::to_path_buf));
    for candidate in candidates {
        let same = |p: &PathBuf| canonical(p) == canonical(&candidate);
        if !found.iter().any(same) {
            found.push(candidate);
        }
    }
    found
}

/// Updates the pin of every stage of `workflow` (and its `tasks.source`) whose `uses:` resolves
/// to `component`.
pub fn update(workflow: &Path, component: &Path) -> Result<Repinned, PinUpdateError> {
    let name = workflow
        .strip_prefix(".")
        .unwrap_or(workflow)
        .display()
        .to_string();
    let loaded = engine_workflow::load_file(workflow).map_err(|d| PinUpdateError::Invalid {
        workflow: name.clone(),
        diagnostics: d.to_string(),
    })?;
    let target = canonical(component);
    let is_target = |path: PathBuf| canonical(&path) == target;
    let mut users = Vec::new();
    for def in loaded.stage_defs().chain(loaded.finally_defs()) {
        if loaded.plugin_path(def.spec).is_some_and(is_target) {
            let changes = pin_workflow(workflow, Some(&def.stage.id))?;
            users.extend(changes.iter().map(|c| c.describe(false)));
        }
    }
    if let Some(tasks) = &loaded.tasks
        && let engine_core::PluginRef::Path { path, .. } = &tasks.source
        && is_target(loaded.base_dir.join(path))
    {
        let change: PinChange = pin_task_source(workflow)?;
        users.push(change.describe(false));
    }
    Ok(Repinned {
        workflow: workflow.to_path_buf(),
        users,
    })
}

/// `path` made absolute and resolved, or as given when it does not exist.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use sha2::Digest as _;

    use super::*;

    #[test]
    fn the_projects_workflow_comes_first_and_each_file_once() {
        let dir = tempfile::tempdir().unwrap();
        assert!(workflows(dir.path(), None).is_empty());
        std::fs::write(dir.path().join("workflow.yaml"), "name: x\n").unwrap();
        std::fs::write(dir.path().join("other.yaml"), "name: y\n").unwrap();
        assert_eq!(
            workflows(dir.path(), Some(&dir.path().join("other.yaml"))),
            [
                dir.path().join("workflow.yaml"),
                dir.path().join("other.yaml")
            ]
        );
        let same = dir.path().join(".").join("workflow.yaml");
        assert_eq!(
            workflows(dir.path(), Some(&same)),
            [dir.path().join("workflow.yaml")]
        );
    }

    /// A workflow with a builtin stage and two stages using `dist/x.wasm` (one through `./`).
    fn project_using_x() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dist")).unwrap();
        std::fs::write(dir.path().join("dist/x.wasm"), "x").unwrap();
        std::fs::write(dir.path().join("dist/y.wasm"), "y").unwrap();
        let zeros = "0".repeat(64);
        std::fs::write(
            dir.path().join("workflow.yaml"),
            format!(
                "name: t\nstages:\n  check:\n    uses: builtin:gate\n    \
                 with: {{ commands: [\"true\"] }}\n    \
                 permissions: {{ workspace: read, exec: [\"true\"] }}\n  \
                 mine:\n    uses: ./dist/x.wasm\n    sha256: {zeros}\n  \
                 theirs:\n    uses: dist/y.wasm\n    sha256: {zeros}\n\
                 finally:\n  again:\n    uses: dist/x.wasm\n    sha256: {zeros}\n"
            ),
        )
        .unwrap();
        dir
    }

    #[test]
    fn a_workflow_that_does_not_use_the_component_is_left_alone() {
        let dir = project_using_x();
        let before = std::fs::read_to_string(dir.path().join("workflow.yaml")).unwrap();
        let got = update(
            &dir.path().join("workflow.yaml"),
            &dir.path().join("dist/z.wasm"),
        )
        .unwrap();
        assert!(got.users.is_empty(), "{got:?}");
        let after = std::fs::read_to_string(dir.path().join("workflow.yaml")).unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn only_the_stages_using_the_component_are_repinned() {
        let dir = project_using_x();
        let got = update(
            &dir.path().join("workflow.yaml"),
            &dir.path().join("dist/x.wasm"),
        )
        .unwrap();
        assert_eq!(got.users.len(), 2, "{got:?}");
        assert!(
            got.users[0].starts_with("stage mine: sha256 000000000000… -> "),
            "{got:?}"
        );
        assert!(
            got.users[1].starts_with("stage again: sha256 000000000000… -> "),
            "{got:?}"
        );
        let text = std::fs::read_to_string(dir.path().join("workflow.yaml")).unwrap();
        let sha_of_x = hex::encode(sha2::Sha256::digest(b"x"));
        assert_eq!(text.matches(&sha_of_x).count(), 2, "{text}");
        assert_eq!(text.matches(&"0".repeat(64)).count(), 1, "{text}");
    }

    #[test]
    fn an_invalid_workflow_is_named_with_its_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("workflow.yaml"), "name: t\nstages: 3\n").unwrap();
        let err = update(&dir.path().join("workflow.yaml"), Path::new("x.wasm"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot update its pins, the workflow is invalid"),
            "{err}"
        );
        assert!(err.contains("workflow.yaml:2"), "{err}");
    }

    #[test]
    fn a_task_source_using_the_component_is_repinned() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dist")).unwrap();
        std::fs::write(dir.path().join("dist/t.wasm"), "t").unwrap();
        std::fs::write(
            dir.path().join("workflow.yaml"),
            format!(
                "name: t\ntasks:\n  source: dist/t.wasm\n  sha256: {}\n  path: tasks.txt\n\
                 stages:\n  a:\n    uses: builtin:gate\n    with: {{ commands: [\"true\"] }}\n    \
                 permissions: {{ workspace: read, exec: [\"true\"] }}\n",
                "0".repeat(64)
            ),
        )
        .unwrap();
        let got = update(
            &dir.path().join("workflow.yaml"),
            &dir.path().join("dist/t.wasm"),
        )
        .unwrap();
        assert_eq!(got.users.len(), 1, "{got:?}");
        assert!(got.users[0].starts_with("tasks.source: sha256 "), "{got:?}");
        let text = std::fs::read_to_string(dir.path().join("workflow.yaml")).unwrap();
        assert!(
            text.contains(&hex::encode(sha2::Sha256::digest(b"t"))),
            "{text}"
        );
    }
}
