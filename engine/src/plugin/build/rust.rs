//! The rust recipe of `engine plugin build`: `cargo build --release --target wasm32-wasip2` in
//! the project (cargo's own output is the progress), then the crate's component copied to
//! `dist/<name>.wasm`.
//!
//! The target is added with rustup when it is missing. Where cargo put the component is read
//! from its JSON messages, so `CARGO_TARGET_DIR` and a project's `.cargo/config.toml` work.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{BuildError, Recipe};
use crate::plugin::scaffold::snake_name;
use crate::plugin::toolchain::{progress, run_tool};

/// The target a Rust component is built for.
pub(super) const TARGET: &str = "wasm32-wasip2";

/// Builds the project into `recipe.output`.
pub(super) fn build(recipe: &Recipe<'_>) -> Result<(), BuildError> {
    if !recipe.project.join("Cargo.toml").is_file() {
        return Err(BuildError::Project(format!(
            "{} has no Cargo.toml: a Rust plugin is a cdylib crate (`engine plugin new NAME \
             --lang rust` makes one)",
            recipe.project.display()
        )));
    }
    ensure_target()?;
    progress(&format!(
        "cargo: building {} for {TARGET} (release)...",
        recipe.name
    ));
    let component = cargo_build(recipe.project, &snake_name(recipe.name))?;
    std::fs::copy(&component, recipe.output).map_err(|source| BuildError::Io {
        path: recipe.output.to_path_buf(),
        source,
    })?;
    Ok(())
}

/// Makes sure cargo is there and, when rustup manages the toolchain, that it has the target.
fn ensure_target() -> Result<(), BuildError> {
    if Command::new("cargo")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        return Err(BuildError::ToolInstall {
            tool: "cargo".into(),
            message: "cargo is not on PATH. Install Rust with rustup (https://rustup.rs), then \
                      run `rustup target add wasm32-wasip2`"
                .into(),
        });
    }
    // Without rustup (a distribution's Rust), cargo says itself when the target is missing.
    let Ok(installed) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
    else {
        return Ok(());
    };
    let listed = String::from_utf8_lossy(&installed.stdout);
    if !installed.status.success() || listed.lines().any(|l| l.trim() == TARGET) {
        return Ok(());
    }
    progress(&format!(
        "installing the Rust target {TARGET} with rustup (first use)..."
    ));
    run_tool(
        Command::new("rustup").args(["target", "add", TARGET]),
        "rustup target add",
    )
    .map_err(|e| BuildError::ToolInstall {
        tool: format!("the Rust target {TARGET}"),
        message: e.to_string(),
    })?;
    Ok(())
}

/// Runs cargo with its progress and diagnostics on this process's stderr, and returns the path
/// of the component it built for the crate `lib_name`.
fn cargo_build(project: &Path, lib_name: &str) -> Result<PathBuf, BuildError> {
    let mut child = Command::new("cargo")
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(project)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| BuildError::ToolFailed {
            tool: "cargo".into(),
            status: "could not start".into(),
            output: e.to_string(),
        })?;
    let mut components = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            components.extend(component_of(&line));
        }
    }
    let status = child.wait().map_err(|e| BuildError::ToolFailed {
        tool: "cargo".into(),
        status: "could not be waited for".into(),
        output: e.to_string(),
    })?;
    if !status.success() {
        return Err(BuildError::ToolFailed {
            tool: "cargo build".into(),
            status: status.to_string(),
            output: "cargo's messages are above".into(),
        });
    }
    pick(&components, lib_name)
}

/// A cdylib component (target name, `.wasm` path) from one of cargo's JSON messages.
fn component_of(line: &str) -> Option<(String, PathBuf)> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" {
        return None;
    }
    let target = &message["target"];
    let is_cdylib = target["kind"]
        .as_array()?
        .iter()
        .any(|k| k.as_str() == Some("cdylib"));
    if !is_cdylib {
        return None;
    }
    let name = target["name"].as_str()?.to_string();
    let wasm = message["filenames"]
        .as_array()?
        .iter()
        .filter_map(serde_json::Value::as_str)
        .find(|f| {
            Path::new(f)
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("wasm"))
        })?;
    Some((name, PathBuf::from(wasm)))
}

/// The component of the crate `lib_name`, or the only one built.
fn pick(components: &[(String, PathBuf)], lib_name: &str) -> Result<PathBuf, BuildError> {
    if let Some((_, path)) = components.iter().find(|(name, _)| name == lib_name) {
        return Ok(path.clone());
    }
    let names: Vec<&str> = components.iter().map(|(n, _)| n.as_str()).collect();
    match components {
        [(_, path)] => Ok(path.clone()),
        [] => Err(BuildError::Project(
            "cargo built no component: the crate needs `[lib] crate-type = [\"cdylib\"]` in its \
             Cargo.toml"
                .into(),
        )),
        _ => Err(BuildError::Project(format!(
            "cargo built several components ({}) and none is named {lib_name}: the plugin's name \
             in plugin.toml must match the crate's",
            names.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_component_is_read_from_cargos_messages() {
        let artifact = r#"{"reason":"compiler-artifact","package_id":"x","target":{"kind":["cdylib"],"crate_types":["cdylib"],"name":"hello_world","src_path":"/p/src/lib.rs"},"filenames":["/t/wasm32-wasip2/release/hello_world.wasm"],"fresh":false}"#;
        assert_eq!(
            component_of(artifact),
            Some((
                "hello_world".into(),
                PathBuf::from("/t/wasm32-wasip2/release/hello_world.wasm")
            ))
        );
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"serde"},"filenames":["/t/libserde.rlib"]}"#;
        assert_eq!(component_of(lib), None);
        assert_eq!(
            component_of(r#"{"reason":"build-finished","success":true}"#),
            None
        );
        assert_eq!(component_of("not json"), None);
    }

    #[test]
    fn the_crates_own_component_is_picked() {
        let built = vec![
            ("other".to_string(), PathBuf::from("/t/other.wasm")),
            ("hello".to_string(), PathBuf::from("/t/hello.wasm")),
        ];
        assert_eq!(
            pick(&built, "hello").unwrap(),
            PathBuf::from("/t/hello.wasm")
        );
        let err = pick(&built, "renamed").unwrap_err().to_string();
        assert!(
            err.contains("other, hello") && err.contains("renamed"),
            "{err}"
        );
        let one = vec![("crate_name".to_string(), PathBuf::from("/t/c.wasm"))];
        assert_eq!(
            pick(&one, "plugin_name").unwrap(),
            PathBuf::from("/t/c.wasm")
        );
        assert!(pick(&[], "x").unwrap_err().to_string().contains("cdylib"));
    }
}
