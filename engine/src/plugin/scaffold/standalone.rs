//! The Rust SDK crates made standalone for a plugin project's `.engine/sdk/rust/`.
//!
//! In the repository, `plugins/sdk` and `plugins/source-sdk` inherit their version, edition
//! and dependencies from the plugins workspace (`x.workspace = true`) and generate their
//! bindings from the repository's `wit/` (`path: "../../wit"`). In a project they sit at
//! `.engine/sdk/rust/<crate>/`, next to `.engine/wit/`: their manifests get the workspace's
//! concrete values (a workspace path dependency becomes a sibling directory) and their bindings
//! point at `../../../wit`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Where the bindings of a crate in the repository find the WIT (relative to the crate).
const REPO_WIT: &str = "path: \"../../wit\"";
/// Where they find it in a project's `.engine/sdk/rust/<crate>/`.
const PROJECT_WIT: &str = "path: \"../../../wit\"";

/// The workspace's inherited values: `[workspace.package]` and `[workspace.dependencies]`.
#[derive(Debug, Default)]
pub(crate) struct Workspace {
    package: BTreeMap<String, String>,
    dependencies: BTreeMap<String, String>,
}

impl Workspace {
    /// Reads the two tables from the plugins workspace's `Cargo.toml` (one `key = value` per
    /// line, as that file is written).
    pub(crate) fn parse(manifest: &str) -> Workspace {
        let mut workspace = Workspace::default();
        let mut section = String::new();
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                section = line.to_string();
                continue;
            }
            let Some((key, value)) = key_value(line) else {
                continue;
            };
            match section.as_str() {
                "[workspace.package]" => {
                    workspace.package.insert(key, value);
                }
                "[workspace.dependencies]" => {
                    workspace.dependencies.insert(key, value);
                }
                _ => {}
            }
        }
        workspace
    }
}

/// The SDK crate's `Cargo.toml` with everything it inherits from the workspace written out, and
/// its `[lints]` table (the workspace's lint levels) left out. `origin` names the crate in the
/// header comment and in errors (`plugins/sdk`).
pub(crate) fn manifest(text: &str, workspace: &Workspace, origin: &str) -> Result<String, String> {
    let mut out = format!(
        "# {origin} of engine {}, made standalone for this project by `engine plugin build`,\n\
         # which rewrites this directory before every build: do not edit.\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut section = String::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = || format!("{origin}/Cargo.toml:{}", index + 1);
        if line.starts_with('[') {
            section = line.to_string();
        }
        if section == "[lints]" {
            continue;
        }
        if !line.contains("workspace") || line.starts_with('#') {
            out.push_str(raw);
            out.push('\n');
            continue;
        }
        let Some(key) = line
            .strip_suffix(".workspace = true")
            .map(str::trim)
            .filter(|k| !k.contains(['=', ' ']))
        else {
            return Err(format!(
                "{}: only `key.workspace = true` can be made standalone, not {line:?}",
                at()
            ));
        };
        let value = if section == "[package]" {
            workspace.package.get(key).cloned()
        } else if section.ends_with("dependencies]") {
            workspace.dependencies.get(key).map(|v| sibling_paths(v))
        } else {
            None
        }
        .ok_or_else(|| format!("{}: the workspace has no value for {key} ({section})", at()))?;
        let _ = writeln!(out, "{key} = {value}");
    }
    Ok(out)
}

/// A source file of the SDK with its bindings pointed at the project's `.engine/wit`; `None`
/// when the file does not name the WIT directory.
pub(crate) fn source(text: &str) -> Option<String> {
    text.contains(REPO_WIT)
        .then(|| text.replace(REPO_WIT, PROJECT_WIT))
}

/// `path = "sdk"` (relative to the workspace root) -> `path = "../sdk"` (relative to a sibling
/// crate).
fn sibling_paths(value: &str) -> String {
    value.replace("path = \"", "path = \"../")
}

/// `key = value` of one line (comments and blank lines give `None`).
fn key_value(line: &str) -> Option<(String, String)> {
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (key, value) = line.split_once('=')?;
    Some((key.trim().to_string(), value.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::embedded;
    use super::*;

    fn text(path: &str) -> String {
        String::from_utf8(embedded::file(path).unwrap().to_vec()).unwrap()
    }

    #[test]
    fn the_real_sdk_manifests_become_standalone() {
        let workspace = Workspace::parse(&text("plugins/Cargo.toml"));
        for (krate, origin) in [("sdk", "plugins/sdk"), ("source-sdk", "plugins/source-sdk")] {
            let original = text(&format!("sdk/rust/{krate}/Cargo.toml"));
            let standalone = manifest(&original, &workspace, origin).unwrap();
            assert!(!standalone.contains("workspace"), "{standalone}");
            assert!(!standalone.contains("[lints]"), "{standalone}");
            assert!(
                standalone.contains("\nversion = \"0.1.0\"\n"),
                "{standalone}"
            );
            assert!(
                standalone.contains("\nedition = \"2024\"\n"),
                "{standalone}"
            );
            assert!(
                standalone.contains("wit-bindgen = { version = "),
                "{standalone}"
            );
        }
        let source_sdk = manifest(
            &text("sdk/rust/source-sdk/Cargo.toml"),
            &workspace,
            "plugins/source-sdk",
        )
        .unwrap();
        assert!(
            source_sdk.contains("engine-stage-sdk = { path = \"../sdk\""),
            "{source_sdk}"
        );
    }

    #[test]
    fn the_real_bindings_point_at_the_project_wit() {
        for krate in ["sdk", "source-sdk"] {
            let original = text(&format!("sdk/rust/{krate}/src/bindings.rs"));
            let moved = source(&original).unwrap();
            assert!(moved.contains("path: \"../../../wit\""), "{moved}");
            assert!(!moved.contains("path: \"../../wit\""));
        }
        assert_eq!(source("fn main() {}"), None);
    }

    #[test]
    fn what_cannot_be_made_standalone_is_named() {
        let workspace = Workspace::parse("[workspace.dependencies]\nserde = \"1\"\n");
        let err = manifest(
            "[package]\nname = \"x\"\n\n[dependencies]\nserde = { workspace = true, features = [\"derive\"] }\n",
            &workspace,
            "plugins/sdk",
        )
        .unwrap_err();
        assert!(err.starts_with("plugins/sdk/Cargo.toml:5:"), "{err}");
        let err = manifest(
            "[dependencies]\nshlex.workspace = true\n",
            &workspace,
            "plugins/sdk",
        )
        .unwrap_err();
        assert!(err.contains("no value for shlex"), "{err}");
        let ok = manifest(
            "[dependencies]\nserde.workspace = true\n\n[lints]\nworkspace = true\n",
            &workspace,
            "plugins/sdk",
        )
        .unwrap();
        assert!(ok.ends_with("[dependencies]\nserde = \"1\"\n\n"), "{ok}");
    }
}
