//! Builds the built-in stages (the `plugins/` workspace) for `wasm32-wasip2` with a nested cargo,
//! copies the components into `OUT_DIR` and writes `builtins.rs`, which embeds them.
//!
//! A built-in is a member directory of `plugins/` whose `Cargo.toml` builds a `cdylib`; its
//! name is the directory name (`plugins/gate` -> `builtin:gate`).

#[path = "src/nested_cargo.rs"]
#[allow(dead_code)]
mod nested_cargo;

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR")?);
    let repo = manifest_dir.join("../../..");
    let plugins = repo.join("plugins");
    let out_dir = PathBuf::from(env("OUT_DIR")?);
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));

    let builtins = discover(&plugins)?;
    announce_inputs(&repo, &plugins)?;

    let manifest = plugins.join("Cargo.toml");
    let target_dir = repo.join("target").join("wasm-plugins");
    // For developers: ENGINE_REUSE_PLUGINS=1 embeds the components built last time instead of
    // building the plugins workspace (e.g. while a plugin under construction does not compile);
    // plugins never built are left out.
    println!("cargo:rerun-if-env-changed=ENGINE_REUSE_PLUGINS");
    let reuse = std::env::var_os("ENGINE_REUSE_PLUGINS").is_some_and(|v| v == "1");
    let artifacts = if reuse {
        nested_cargo::artifact_dir(&target_dir)
    } else {
        nested_cargo::build(&cargo, &manifest, &target_dir)?
    };
    let builtins: Vec<(String, String)> = builtins
        .into_iter()
        .filter(|(_, package)| {
            !reuse
                || artifacts
                    .join(nested_cargo::artifact_name(package))
                    .exists()
        })
        .collect();

    let mut entries = String::new();
    for (name, package) in &builtins {
        let built = artifacts.join(nested_cargo::artifact_name(package));
        let embedded = out_dir.join(format!("{name}.wasm"));
        fs::copy(&built, &embedded).map_err(|e| {
            format!(
                "cannot copy {} to {}: {e}",
                built.display(),
                embedded.display()
            )
        })?;
        entries.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            embedded.display().to_string()
        ));
    }
    let names: Vec<String> = builtins.iter().map(|(n, _)| format!("{n:?}")).collect();
    let source = format!(
        "/// Built-in stages embedded at build time: (name, component bytes), sorted by name.\n\
         pub(crate) static BUILTINS: &[(&str, &[u8])] = &[\n{entries}];\n\n\
         /// Names of the built-in stages, sorted.\n\
         pub(crate) static BUILTIN_NAMES: &[&str] = &[{}];\n",
        names.join(", ")
    );
    let generated = out_dir.join("builtins.rs");
    fs::write(&generated, source).map_err(|e| format!("cannot write {}: {e}", generated.display()))
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// Built-in stages: (name, package) of each member directory building a `cdylib`, sorted.
fn discover(plugins: &Path) -> Result<Vec<(String, String)>, String> {
    let entries =
        fs::read_dir(plugins).map_err(|e| format!("cannot read {}: {e}", plugins.display()))?;
    let mut builtins = Vec::new();
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        if !text.contains("cdylib") {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let package = package_name(&text)
            .ok_or_else(|| format!("{} has no [package] name", manifest.display()))?;
        builtins.push((name, package));
    }
    builtins.sort();
    Ok(builtins)
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

/// Re-run when a plugin source, a manifest or the WIT changes.
fn announce_inputs(repo: &Path, plugins: &Path) -> Result<(), String> {
    println!("cargo:rerun-if-changed={}", repo.join("wit").display());
    println!(
        "cargo:rerun-if-changed={}",
        plugins.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        plugins.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-changed=src/nested_cargo.rs");
    let entries =
        fs::read_dir(plugins).map_err(|e| format!("cannot read {}: {e}", plugins.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        // Member directories only: a stray plugins/target must not trigger rebuilds.
        if path.join("Cargo.toml").is_file() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    Ok(())
}
