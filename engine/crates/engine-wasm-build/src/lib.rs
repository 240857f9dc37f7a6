//! Builds cargo workspaces of stage components for `wasm32-wasip2` with a nested `cargo build`.
//!
//! Two callers share it: engine-runtime's build script, which builds the built-in stages of
//! `plugins/` and embeds them, and `engine-testkit`, which builds the fixture plugins of
//! `tests/fixtures/plugins` for the tests. Both workspaces live at the repository root, which
//! [`repo_root`] names in one place.

mod nested;
mod packages;

use std::path::{Path, PathBuf};

pub use nested::{
    BuildError, NESTED_WRAPPER_VAR, WASM_TARGET, artifact_dir, artifact_name, build, build_command,
    build_command_with_wrapper,
};
pub use packages::{ComponentPackage, PackageError, component_packages};

/// The repository root: the directory holding the `plugins/` and `wit/` directories, the
/// fixture plugins (`tests/fixtures/plugins`) and the `target/` directory.
///
/// This is the one place that knows where the root is relative to the crates: this crate lives
/// in `engine/crates/engine-wasm-build`, three levels below it. engine-runtime's build script
/// and the test kit find `plugins/`, `wit/`, `tests/fixtures/plugins` and `target/` from here.
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Without `..` components, so paths under it compare with the ones cargo writes.
    manifest_dir
        .ancestors()
        .nth(LEVELS_BELOW_REPO_ROOT)
        .map_or_else(|| manifest_dir.join("../../.."), Path::to_path_buf)
}

/// How many directories this crate's manifest directory is below the repository root
/// (`engine/crates/engine-wasm-build`).
const LEVELS_BELOW_REPO_ROOT: usize = 3;

/// `<repo>/target/wasm-plugins`: the one target directory of every nested build, so the
/// dependencies the plugins and the fixtures share are built once.
pub fn components_target_dir() -> PathBuf {
    repo_root().join("target").join("wasm-plugins")
}

/// The cargo to run: the `CARGO` of the calling process (set by cargo for build scripts and
/// tests), else the one that built this crate, else `cargo` on `PATH`.
pub fn cargo_program() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .or_else(|| option_env!("CARGO").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_repository_root_holds_the_component_workspaces() {
        let root = super::repo_root();
        assert!(
            root.join("plugins/Cargo.toml").is_file(),
            "{}",
            root.display()
        );
        assert!(root.join("tests/fixtures/plugins/Cargo.toml").is_file());
        assert!(root.join("wit").is_dir());
        assert!(
            !root
                .components()
                .any(|c| c == std::path::Component::ParentDir),
            "{}",
            root.display()
        );
    }
}
