//! The nested `cargo build --release --target wasm32-wasip2`, run with the outer build's
//! variables removed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

/// The target every stage component is built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Variables of an outer cargo (or of a build script) that would bend a nested build for another
/// target: flags meant for the host, a redirected target dir, a jobserver, clippy's wrapper.
const SCRUBBED_VARS: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "OUT_DIR",
    "TARGET",
    "HOST",
    "OPT_LEVEL",
    "PROFILE",
    "DEBUG",
    "NUM_JOBS",
    "RUSTDOC",
    "CARGO_INCREMENTAL",
];

/// Prefixes of variables scrubbed the same way (per-target and per-profile overrides, build
/// script metadata).
const SCRUBBED_PREFIXES: &[&str] = &[
    "CARGO_TARGET_",
    "CARGO_PROFILE_",
    "CARGO_CFG_",
    "CARGO_FEATURE_",
    "CARGO_PKG_",
    "DEP_",
];

fn is_scrubbed(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    SCRUBBED_VARS.contains(&name) || SCRUBBED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A nested build that could not run or failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The cargo program could not be started.
    #[error("cannot run `{}`: {source}", cargo.display())]
    Spawn {
        /// The program that was run.
        cargo: PathBuf,
        /// Why it did not start.
        #[source]
        source: std::io::Error,
    },
    /// The nested cargo ran and failed; `stderr` is what it printed.
    #[error(
        "nested `cargo build --release --target {WASM_TARGET} --manifest-path {}` failed ({status}):\n{stderr}{}",
        manifest.display(),
        missing_target_hint(stderr)
    )]
    Failed {
        /// The workspace manifest that was built.
        manifest: PathBuf,
        /// How the nested cargo exited.
        status: ExitStatus,
        /// Its standard error.
        stderr: String,
    },
}

/// A hint to install the target when the nested cargo's stderr says it is missing.
fn missing_target_hint(stderr: &str) -> String {
    if stderr.contains("target may not be installed")
        || stderr.contains("can't find crate for `std`")
    {
        format!("\nhint: install the target with `rustup target add {WASM_TARGET}`")
    } else {
        String::new()
    }
}

/// Names the compiler wrapper of the nested build's workspace members (it becomes the nested
/// cargo's `RUSTC_WORKSPACE_WRAPPER`, which is otherwise scrubbed). CI sets it to clippy-driver,
/// with `CLIPPY_ARGS`, so the components are linted for their own target as they are built.
pub const NESTED_WRAPPER_VAR: &str = "ENGINE_NESTED_RUSTC_WORKSPACE_WRAPPER";

/// `cargo build --release --target wasm32-wasip2 --manifest-path MANIFEST --target-dir DIR`,
/// run from the manifest's directory (so `rust-toolchain.toml` applies) with the outer build's
/// variables removed, and the wrapper [`NESTED_WRAPPER_VAR`] names, if any.
pub fn build_command(cargo: &Path, manifest: &Path, target_dir: &Path) -> Command {
    build_command_with_wrapper(
        cargo,
        manifest,
        target_dir,
        std::env::var_os(NESTED_WRAPPER_VAR).as_deref(),
    )
}

/// [`build_command`] with the workspace wrapper given rather than read from
/// [`NESTED_WRAPPER_VAR`].
pub fn build_command_with_wrapper(
    cargo: &Path,
    manifest: &Path,
    target_dir: &Path,
    wrapper: Option<&OsStr>,
) -> Command {
    let mut command = Command::new(cargo);
    command
        .arg("build")
        .arg("--release")
        .arg("--target")
        .arg(WASM_TARGET)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir);
    if let Some(dir) = manifest.parent() {
        command.current_dir(dir);
    }
    for (name, _) in std::env::vars_os() {
        if is_scrubbed(&name) {
            command.env_remove(&name);
        }
    }
    if let Some(wrapper) = wrapper.filter(|w| !w.is_empty()) {
        command.env("RUSTC_WORKSPACE_WRAPPER", wrapper);
    }
    command
}

/// Runs the nested build and returns the directory holding the components
/// ([`artifact_dir`]); on failure the error carries the nested cargo's stderr.
pub fn build(cargo: &Path, manifest: &Path, target_dir: &Path) -> Result<PathBuf, BuildError> {
    let output = build_command(cargo, manifest, target_dir)
        .output()
        .map_err(|source| BuildError::Spawn {
            cargo: cargo.to_path_buf(),
            source,
        })?;
    if output.status.success() {
        return Ok(artifact_dir(target_dir));
    }
    Err(BuildError::Failed {
        manifest: manifest.to_path_buf(),
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Where the nested build puts the `.wasm` components.
pub fn artifact_dir(target_dir: &Path) -> PathBuf {
    target_dir.join(WASM_TARGET).join("release")
}

/// The file name of the component a package builds (`engine-gate` -> `engine_gate.wasm`).
pub fn artifact_name(package: &str) -> String {
    format!("{}.wasm", package.replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_build_variables_are_scrubbed() {
        for name in [
            "RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_MAKEFLAGS",
        ] {
            assert!(is_scrubbed(OsStr::new(name)), "{name}");
        }
        for name in ["PATH", "HOME", "CARGO_HOME", "RUSTUP_TOOLCHAIN", "CARGO"] {
            assert!(!is_scrubbed(OsStr::new(name)), "{name}");
        }
        assert_eq!(artifact_name("engine-gate"), "engine_gate.wasm");
    }

    #[test]
    fn the_nested_wrapper_becomes_the_nested_workspace_wrapper() {
        let with = build_command_with_wrapper(
            Path::new("cargo"),
            Path::new("/p/Cargo.toml"),
            Path::new("/t"),
            Some(OsStr::new("/bin/clippy-driver")),
        );
        assert!(
            with.get_envs().any(|(k, v)| k == "RUSTC_WORKSPACE_WRAPPER"
                && v == Some(OsStr::new("/bin/clippy-driver")))
        );
        let without = build_command_with_wrapper(
            Path::new("cargo"),
            Path::new("/p/Cargo.toml"),
            Path::new("/t"),
            None,
        );
        assert!(
            !without
                .get_envs()
                .any(|(k, v)| k == "RUSTC_WORKSPACE_WRAPPER" && v.is_some())
        );
    }

    /// A nested project in the repository's target directory (so rust-toolchain.toml selects
    /// the pinned toolchain) whose library is `lib_rs`.
    fn scratch_project(lib_rs: &str) -> tempfile::TempDir {
        let scratch = crate::repo_root().join("target/nested-cargo-test");
        std::fs::create_dir_all(&scratch).unwrap();
        let project = tempfile::tempdir_in(&scratch).unwrap();
        std::fs::write(
            project.path().join("Cargo.toml"),
            "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
             [lib]\ncrate-type = [\"cdylib\"]\n[workspace]\n",
        )
        .unwrap();
        std::fs::create_dir(project.path().join("src")).unwrap();
        std::fs::write(project.path().join("src/lib.rs"), lib_rs).unwrap();
        project
    }

    #[test]
    fn with_clippy_driver_as_the_nested_wrapper_a_lint_fails_the_build() {
        let driver = Command::new("rustup")
            .args(["which", "clippy-driver"])
            .current_dir(crate::repo_root())
            .output()
            .unwrap();
        assert!(driver.status.success(), "{driver:?}");
        let driver = String::from_utf8(driver.stdout).unwrap();
        let project = scratch_project(
            "//! Scratch.\n/// Empty or not.\npub fn empty(v: &[u8]) -> bool { v.len() == 0 }\n",
        );
        let manifest = project.path().join("Cargo.toml");
        let target = project.path().join("target");
        let mut command = build_command_with_wrapper(
            &crate::cargo_program(),
            &manifest,
            &target,
            Some(OsStr::new(driver.trim())),
        );
        let linted = command
            .env(
                "CLIPPY_ARGS",
                "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
            )
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&linted.stderr);
        assert!(!linted.status.success(), "{stderr}");
        assert!(stderr.contains("clippy::len_zero"), "{stderr}");
        // Without the wrapper the same code builds.
        let plain = build_command_with_wrapper(&crate::cargo_program(), &manifest, &target, None)
            .env_remove("CLIPPY_ARGS")
            .output()
            .unwrap();
        assert!(
            plain.status.success(),
            "{}",
            String::from_utf8_lossy(&plain.stderr)
        );
    }

    #[test]
    fn a_failing_nested_build_reports_its_stderr() {
        let project = scratch_project("compile_error!(\"broken on purpose\");\n");
        let err = build(
            &crate::cargo_program(),
            &project.path().join("Cargo.toml"),
            &project.path().join("target"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("broken on purpose"), "{err}");
        assert!(
            err.starts_with("nested `cargo build --release --target wasm32-wasip2"),
            "{err}"
        );
    }
}
