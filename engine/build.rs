//! Embeds what `engine plugin new` and `engine plugin build` write into a plugin project: the
//! project templates (`plugins/templates/<lang>/<kind>/`), this engine's WIT (`wit/`), the guest
//! SDKs (`plugins/sdk`, `plugins/source-sdk`, `plugins/sdk-python`, `plugins/sdk-js`) and the
//! plugins workspace's manifest and lock file (the SDK crates' dependency versions).
//!
//! It writes `$OUT_DIR/plugin_files.rs`: one table of (logical path, bytes) pairs, each file
//! `include_bytes!`-ed, sorted by path. Logical paths start with the part's name (`templates/`,
//! `wit/`, `sdk/rust/sdk/`, `sdk/rust/source-sdk/`, `sdk/python/`, `sdk/js/`, `plugins/`).
//! A directory that does not exist is left out (and not watched: cargo would re-run this script
//! on every build while it is missing).
//!
//! It also sets `ENGINE_WASMTIME_VERSION` (from Cargo.lock) for `engine bug-report`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// (logical prefix, directory relative to the repository root).
const TREES: &[(&str, &str)] = &[
    ("templates", "plugins/templates"),
    ("wit", "wit"),
    ("sdk/rust/sdk", "plugins/sdk"),
    ("sdk/rust/source-sdk", "plugins/source-sdk"),
    ("sdk/python", "plugins/sdk-python"),
    ("sdk/js", "plugins/sdk-js"),
];

/// Entries left out of one tree (logical paths): the SDKs' own tests stay in the repository;
/// a project gets the SDK only.
const SKIPPED_ENTRIES: &[&str] = &["sdk/python/tests", "sdk/js/tests"];

/// Single files: (logical path, path relative to the repository root).
const FILES: &[(&str, &str)] = &[
    ("plugins/Cargo.toml", "plugins/Cargo.toml"),
    ("plugins/Cargo.lock", "plugins/Cargo.lock"),
];

/// Directory names never embedded: build output, installed packages, caches.
const SKIPPED_DIRS: &[&str] = &[
    "target",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".venv",
    ".engine",
];

fn main() {
    if let Err(message) = run() {
        eprintln!("error: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("CARGO_MANIFEST_DIR unset")?);
    let repo = manifest_dir
        .parent()
        .ok_or("the engine crate has no parent directory")?
        .to_path_buf();
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);

    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for (prefix, dir) in TREES {
        let root = repo.join(dir);
        if !root.is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", root.display());
        collect(&root, prefix, &mut files)?;
    }
    for (logical, rel) in FILES {
        let path = repo.join(rel);
        if path.is_file() {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push(((*logical).to_string(), path));
        }
    }
    files.sort();

    let mut entries = String::new();
    for (logical, path) in &files {
        let absolute = path
            .to_str()
            .ok_or_else(|| format!("{} is not UTF-8", path.display()))?;
        writeln!(entries, "    ({logical:?}, include_bytes!({absolute:?})),")
            .map_err(|e| e.to_string())?;
    }
    let source = format!(
        "/// The embedded plugin files: (logical path, bytes), sorted by path.\n\
         pub(crate) static FILES: &[(&str, &[u8])] = &[\n{entries}];\n"
    );
    let generated = out_dir.join("plugin_files.rs");
    fs::write(&generated, source)
        .map_err(|e| format!("cannot write {}: {e}", generated.display()))?;

    // `engine bug-report` names the wasmtime the binary links: the version Cargo.lock resolved.
    let lock = repo.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text =
        fs::read_to_string(&lock).map_err(|e| format!("cannot read {}: {e}", lock.display()))?;
    let wasmtime = locked_version(&text, "wasmtime")
        .ok_or_else(|| format!("{} has no wasmtime package", lock.display()))?;
    println!("cargo:rustc-env=ENGINE_WASMTIME_VERSION={wasmtime}");
    Ok(())
}

/// The version of package `name` in a Cargo.lock (`[[package]]` tables: `name`, then `version`).
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return version.strip_suffix('"');
        }
    }
    None
}

/// Whether `path` is Python bytecode (`.pyc`), which is never embedded.
fn is_compiled_python(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("pyc"))
}

/// Adds every file under `dir` to `files`, named `prefix/<relative path>`.
fn collect(dir: &Path, prefix: &str, files: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name
            .to_str()
            .ok_or_else(|| format!("{} is not UTF-8", path.display()))?;
        let logical = format!("{prefix}/{name}");
        if SKIPPED_ENTRIES.contains(&logical.as_str()) {
            continue;
        }
        let kind = fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if kind.is_dir() {
            if !SKIPPED_DIRS.contains(&name) {
                collect(&path, &logical, files)?;
            }
        } else if kind.is_file() && !is_compiled_python(&path) && name != ".DS_Store" {
            files.push((logical, path));
        }
    }
    Ok(())
}
