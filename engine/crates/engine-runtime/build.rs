//! Builds the built-in stages (the `plugins/` workspace at the repository root) for
//! `wasm32-wasip2` with a nested cargo, copies the components into `OUT_DIR` and writes
//! `builtins.rs`, which embeds them.
//!
//! A built-in is a member directory of `plugins/` whose `Cargo.toml` builds a `cdylib`; its
//! name is the directory name (`plugins/gate` -> `builtin:gate`). Where the repository root
//! is, and how the nested build runs, is `engine-wasm-build`'s business.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use engine_wasm_build::{ComponentPackage, artifact_dir, component_packages};

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let repo = engine_wasm_build::repo_root();
    let plugins = repo.join("plugins");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);

    let builtins = component_packages(&plugins).map_err(|e| e.to_string())?;
    announce_inputs(&repo, &plugins)?;

    let target_dir = engine_wasm_build::components_target_dir();
    // For developers: ENGINE_REUSE_PLUGINS=1 embeds the components built last time instead of
    // building the plugins workspace (e.g. while a plugin under construction does not compile);
    // plugins never built are left out.
    println!("cargo:rerun-if-env-changed=ENGINE_REUSE_PLUGINS");
    // CI lints the components as they are built (engine_wasm_build::NESTED_WRAPPER_VAR).
    println!(
        "cargo:rerun-if-env-changed={}",
        engine_wasm_build::NESTED_WRAPPER_VAR
    );
    let reuse = std::env::var_os("ENGINE_REUSE_PLUGINS").is_some_and(|v| v == "1");
    let artifacts = if reuse {
        artifact_dir(&target_dir)
    } else {
        engine_wasm_build::build(
            &engine_wasm_build::cargo_program(),
            &plugins.join("Cargo.toml"),
            &target_dir,
        )
        .map_err(|e| e.to_string())?
    };
    let builtins: Vec<ComponentPackage> = builtins
        .into_iter()
        .filter(|builtin| !reuse || artifacts.join(builtin.artifact_name()).exists())
        .collect();

    let mut entries = String::new();
    for builtin in &builtins {
        let name = &builtin.dir_name;
        let built = artifacts.join(builtin.artifact_name());
        let embedded = out_dir.join(format!("{name}.wasm"));
        fs::copy(&built, &embedded).map_err(|e| {
            format!(
                "cannot copy {} to {}: {e}",
                built.display(),
                embedded.display()
            )
        })?;
        writeln!(
            entries,
            "    ({name:?}, include_bytes!({:?})),",
            embedded.display().to_string()
        )
        .map_err(|e| format!("cannot format the builtin table: {e}"))?;
    }
    let names: Vec<String> = builtins
        .iter()
        .map(|b| format!("{:?}", b.dir_name))
        .collect();
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
    let entries =
        fs::read_dir(plugins).map_err(|e| format!("cannot read {}: {e}", plugins.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        // Member directories only (the SDKs included): a stray plugins/target must not trigger
        // rebuilds.
        if path.join("Cargo.toml").is_file() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    Ok(())
}
