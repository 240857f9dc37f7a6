//! The workflow a command works on when none is given: the one `engine init` writes,
//! `workflows/engine.yaml` at the root of the repository the command runs in.

use std::path::{Path, PathBuf};

use crate::EngineError;
use crate::terminal::safe;

/// Where `engine init` writes the workflow, relative to the repository root.
pub const DEFAULT_WORKFLOW: &str = "workflows/engine.yaml";

/// The workflow file: `given`, else [`DEFAULT_WORKFLOW`] of the repository around the current
/// directory, which must exist.
pub fn resolve(given: Option<&Path>) -> Result<PathBuf, EngineError> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| EngineError::io(".", e))?;
    let root = engine_git::Repo::discover(&cwd)
        .map(|repo| repo.root().to_path_buf())
        .map_err(|e| {
            EngineError::Usage(format!(
                "no workflow given, and {e}: pass the workflow file (e.g. `engine run \
                 path/to/workflow.yaml`)"
            ))
        })?;
    default_in(&root)
}

/// [`DEFAULT_WORKFLOW`] under `root`, or why it cannot be used.
fn default_in(root: &Path) -> Result<PathBuf, EngineError> {
    let path = root.join(DEFAULT_WORKFLOW);
    if path.is_file() {
        return Ok(path);
    }
    Err(EngineError::Usage(format!(
        "no workflow given, and {} has no {DEFAULT_WORKFLOW} (the workflow `engine init` \
         writes): pass the workflow file, or create it with `engine init`",
        safe(&root.display().to_string())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_file_init_writes_or_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = default_in(dir.path()).unwrap_err();
        assert_eq!(e.exit_code(), crate::exit::INVALID_INPUT);
        assert!(
            e.to_string()
                .contains("has no workflows/engine.yaml (the workflow `engine init` writes)"),
            "{e}"
        );
        std::fs::create_dir_all(dir.path().join("workflows")).unwrap();
        std::fs::write(dir.path().join(DEFAULT_WORKFLOW), "name: x\n").unwrap();
        assert_eq!(
            default_in(dir.path()).unwrap(),
            dir.path().join("workflows/engine.yaml")
        );
        let given = Path::new("other.yaml");
        assert_eq!(resolve(Some(given)).unwrap(), given);
    }
}
