//! Helpers for tests (here and in the engine crate): building the fixture plugins of
//! `tests/fixtures/plugins`. Not part of the stable API.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::nested_cargo;

/// The repository root (this crate lives in `engine/crates/engine-runtime`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// Builds the fixture plugins (`tests/fixtures/plugins`) for `wasm32-wasip2` into
/// `<repo>/target/wasm-plugins` and returns the directory holding their `.wasm` files (e.g.
/// `fixture_echo.wasm`). Built once per process; concurrent test processes are serialised by
/// cargo's lock on the target directory.
pub fn build_fixture_plugins() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let repo = repo_root();
            let cargo = std::env::var_os("CARGO")
                .map(PathBuf::from)
                .or_else(|| option_env!("CARGO").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("cargo"));
            nested_cargo::build(
                &cargo,
                &repo.join("tests/fixtures/plugins/Cargo.toml"),
                &repo.join("target/wasm-plugins"),
            )
        })
        .clone()
}

/// The path of one fixture plugin's component, e.g. `fixture_plugin("fixture-echo")`, building
/// the fixtures first if needed.
pub fn fixture_plugin(package: &str) -> Result<PathBuf, String> {
    let path = build_fixture_plugins()?.join(nested_cargo::artifact_name(package));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("fixture plugin {} was not built", path.display()))
    }
}
