//! The fixture plugins of `tests/fixtures/plugins`, built once per test session.
//!
//! Every test binary that needs them calls [`build_fixture_plugins`]. The first caller of a
//! process takes an exclusive lock on `target/wasm-plugins/fixture-plugins.lock` (so binaries
//! started together wait for one build instead of each running cargo) and then runs the nested
//! cargo only when the components are missing or an input changed since the last build (see
//! `freshness`); the others find them up to date and do not start cargo at all.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use engine_wasm_build::{
    BuildError, ComponentPackage, PackageError, artifact_dir, component_packages,
};

use crate::freshness;

/// The fixture plugins could not be built or found.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FixtureError {
    /// A file the build needs (its lock, its stamp) could not be used.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: Arc<io::Error>,
    },
    /// The fixture workspace's members could not be listed.
    #[error(transparent)]
    Packages(Arc<PackageError>),
    /// The nested cargo failed.
    #[error(transparent)]
    Build(Arc<BuildError>),
    /// The build succeeded but did not produce this component (no such fixture package).
    #[error("fixture plugin {} was not built", path.display())]
    NotBuilt {
        /// Where the component was expected.
        path: PathBuf,
    },
}

impl FixtureError {
    fn io(action: &'static str, path: &Path, source: io::Error) -> FixtureError {
        FixtureError::Io {
            action,
            path: path.to_path_buf(),
            source: Arc::new(source),
        }
    }
}

/// Builds the fixture plugins (`tests/fixtures/plugins`) for `wasm32-wasip2` into
/// `<repo>/target/wasm-plugins` if they are not up to date, and returns the directory holding
/// their `.wasm` files (e.g. `fixture_echo.wasm`). Done once per process; concurrent test
/// processes wait for each other on a file lock.
pub fn build_fixture_plugins() -> Result<PathBuf, FixtureError> {
    static BUILT: OnceLock<Result<PathBuf, FixtureError>> = OnceLock::new();
    BUILT.get_or_init(build_once_per_session).clone()
}

/// The path of one fixture plugin's component, e.g. `fixture_plugin("fixture-echo")`, building
/// the fixtures first if needed.
pub fn fixture_plugin(package: &str) -> Result<PathBuf, FixtureError> {
    let path = build_fixture_plugins()?.join(engine_wasm_build::artifact_name(package));
    if path.is_file() {
        Ok(path)
    } else {
        Err(FixtureError::NotBuilt { path })
    }
}

/// The members of the fixture workspace that build a WASI program (a `[[bin]]` named like the
/// package with `_` for `-`, e.g. `fixture_command`): a command component, which
/// [`component_packages`] does not list (no `cdylib`) but whose freshness counts all the same.
fn command_packages(workspace: &Path) -> Vec<ComponentPackage> {
    let Ok(entries) = std::fs::read_dir(workspace) else {
        return Vec::new();
    };
    let mut packages: Vec<ComponentPackage> = entries
        .flatten()
        .filter_map(|entry| {
            let dir = entry.path();
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
            if !manifest.lines().any(|line| line.trim() == "[[bin]]") {
                return None;
            }
            let package = manifest.lines().find_map(|line| {
                let value = line
                    .trim()
                    .strip_prefix("name")?
                    .trim_start()
                    .strip_prefix('=')?;
                Some(value.trim().trim_matches('"').to_string())
            })?;
            Some(ComponentPackage {
                dir_name: entry.file_name().to_string_lossy().into_owned(),
                package,
                dir,
            })
        })
        .collect();
    packages.sort();
    packages
}

/// Under the session lock: the nested build, unless the last one is still up to date.
fn build_once_per_session() -> Result<PathBuf, FixtureError> {
    let workspace = engine_wasm_build::repo_root().join("tests/fixtures/plugins");
    let target_dir = engine_wasm_build::components_target_dir();
    std::fs::create_dir_all(&target_dir).map_err(|e| FixtureError::io("create", &target_dir, e))?;
    let lock_path = target_dir.join("fixture-plugins.lock");
    let lock = File::create(&lock_path).map_err(|e| FixtureError::io("open", &lock_path, e))?;
    // Released when `lock` is dropped (or the process dies).
    lock.lock()
        .map_err(|e| FixtureError::io("lock", &lock_path, e))?;

    let mut packages =
        component_packages(&workspace).map_err(|e| FixtureError::Packages(Arc::new(e)))?;
    packages.extend(command_packages(&workspace));
    let artifacts = artifact_dir(&target_dir);
    let stamp = target_dir.join("fixture-plugins.stamp");
    let inputs = freshness::Inputs::of_workspace(&workspace, &engine_wasm_build::repo_root());
    if inputs.up_to_date(&stamp, &artifacts, &packages) {
        return Ok(artifacts);
    }
    let started = SystemTime::now();
    let built = engine_wasm_build::build(
        &engine_wasm_build::cargo_program(),
        &workspace.join("Cargo.toml"),
        &target_dir,
    )
    .map_err(|e| FixtureError::Build(Arc::new(e)))?;
    // Stamped with the time the build started: an input edited during the build is newer.
    freshness::write_stamp(&stamp, started).map_err(|e| FixtureError::io("write", &stamp, e))?;
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_members_are_listed_as_command_components() {
        let workspace = tempfile::tempdir().unwrap();
        let member = |dir: &str, manifest: &str| {
            std::fs::create_dir(workspace.path().join(dir)).unwrap();
            std::fs::write(workspace.path().join(dir).join("Cargo.toml"), manifest).unwrap();
        };
        member(
            "fixture-command",
            "[package]\nname = \"fixture-command\"\n\n[[bin]]\nname = \"fixture_command\"\n",
        );
        member(
            "fixture-echo",
            "[package]\nname = \"fixture-echo\"\n[lib]\ncrate-type = [\"cdylib\"]\n",
        );
        let packages = command_packages(workspace.path());
        assert_eq!(packages.len(), 1, "{packages:?}");
        assert_eq!(packages[0].package, "fixture-command");
        assert_eq!(packages[0].artifact_name(), "fixture_command.wasm");
    }
}
