//! The members of a component workspace: each member directory whose `Cargo.toml` builds a
//! `cdylib` (a stage component once built for `wasm32-wasip2`).

use std::fs;
use std::path::{Path, PathBuf};

/// One member of a component workspace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ComponentPackage {
    /// The member's directory name (`gate` for `plugins/gate`): a built-in's name.
    pub dir_name: String,
    /// The `[package]` name (`engine-gate`), which names the component file.
    pub package: String,
    /// The member's directory.
    pub dir: PathBuf,
}

impl ComponentPackage {
    /// The file name of the component the package builds ([`crate::artifact_name`]).
    pub fn artifact_name(&self) -> String {
        crate::artifact_name(&self.package)
    }
}

/// A workspace whose members could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The workspace directory could not be read.
    #[error("cannot read {}: {source}", dir.display())]
    ReadDir {
        /// The workspace directory.
        dir: PathBuf,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
    /// A member manifest builds a `cdylib` but names no package.
    #[error("{} has no [package] name", manifest.display())]
    NoPackageName {
        /// The member's `Cargo.toml`.
        manifest: PathBuf,
    },
}

/// The members of the workspace in `workspace_dir` that build a component, sorted by directory
/// name.
pub fn component_packages(workspace_dir: &Path) -> Result<Vec<ComponentPackage>, PackageError> {
    let entries = fs::read_dir(workspace_dir).map_err(|source| PackageError::ReadDir {
        dir: workspace_dir.to_path_buf(),
        source,
    })?;
    let mut packages = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        if !text.contains("cdylib") {
            continue;
        }
        let package = package_name(&text).ok_or(PackageError::NoPackageName { manifest })?;
        packages.push(ComponentPackage {
            dir_name: entry.file_name().to_string_lossy().into_owned(),
            package,
            dir,
        });
    }
    packages.sort();
    Ok(packages)
}

/// The `name = "..."` of the `[package]` table (a line scan is enough for our own manifests).
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package && let Some(rest) = line.strip_prefix("name") {
            let value = rest.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_name_comes_from_the_package_table() {
        let manifest = "[workspace]\nname = \"not this\"\n\n[package]\nname = \"engine-gate\"\n\
                        version = \"0.1.0\"\n\n[lib]\nname = \"gate\"\ncrate-type = [\"cdylib\"]\n";
        assert_eq!(package_name(manifest).as_deref(), Some("engine-gate"));
        assert_eq!(package_name("[lib]\nname = \"x\"\n"), None);
    }

    #[test]
    fn only_members_building_a_cdylib_are_components() {
        let workspace = tempfile::tempdir().unwrap();
        let member = |dir: &str, manifest: &str| {
            std::fs::create_dir(workspace.path().join(dir)).unwrap();
            std::fs::write(workspace.path().join(dir).join("Cargo.toml"), manifest).unwrap();
        };
        member(
            "gate",
            "[package]\nname = \"engine-gate\"\n[lib]\ncrate-type = [\"cdylib\"]\n",
        );
        member("sdk", "[package]\nname = \"engine-stage-sdk\"\n");
        std::fs::create_dir(workspace.path().join("target")).unwrap();
        let packages = component_packages(workspace.path()).unwrap();
        assert_eq!(
            packages,
            [ComponentPackage {
                dir_name: "gate".into(),
                package: "engine-gate".into(),
                dir: workspace.path().join("gate"),
            }]
        );
        assert_eq!(packages[0].artifact_name(), "engine_gate.wasm");

        member("broken", "[lib]\ncrate-type = [\"cdylib\"]\n");
        let err = component_packages(workspace.path()).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("broken/Cargo.toml has no [package] name")
        );
    }
}
