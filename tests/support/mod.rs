//! Shared helpers for the end-to-end tests (tests/e2e) and the conformance suite
//! (tests/conformance): temporary git repositories, workflows built up fluently, the scripted
//! agent, the fixture plugins, running the real `engine` binary and checking what it did, and
//! `engine show --json` typed. docs/testing.md shows how a test reads.

#![allow(dead_code)]

pub mod agent;
pub mod command;
pub mod diff;
pub mod fake_trackers;
pub mod handshake;
pub mod http_client;
pub mod http_server;
pub mod normalise;
pub mod process;
pub mod repo;
pub mod report;
pub mod workflow;

// Two test crates include this module (tests/e2e, tests/conformance), each using part of it.
#[allow(unused_imports)]
pub use command::{EngineCommand, EngineOutput, Run, Spawned};
#[allow(unused_imports)]
pub use handshake::Handshake;
#[allow(unused_imports)]
pub use process::{assert_no_process_under, wait_for_file, wait_until};
#[allow(unused_imports)]
pub use repo::TestRepo;
#[allow(unused_imports)]
pub use report::RunReport;
#[allow(unused_imports)]
pub use workflow::{GATED, QUICK, Workflow, uses_fixture};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The `engine` binary under test.
pub fn engine_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_engine"))
}

/// A compiled-component cache shared by every test process (compiling a component costs
/// ~200 ms; the cache is keyed by content hash, so sharing it is safe).
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// The directory holding the fixture plugins (`fixture_loop.wasm`...), built once.
pub fn fixtures_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        engine_testkit::build_fixture_plugins()
            .unwrap_or_else(|e| panic!("building fixture plugins failed: {e}"))
    })
}

/// Path and sha256 of a fixture plugin, e.g. `fixture("fixture_echo")`.
pub fn fixture(name: &str) -> (PathBuf, String) {
    let path = fixtures_dir().join(format!("{name}.wasm"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path, hex::encode(Sha256::digest(&bytes)))
}

/// `uses:` + `sha256:` lines for a fixture plugin, ready to paste into a stage.
pub fn fixture_uses(name: &str) -> String {
    let (path, sha) = fixture(name);
    format!("uses: {}\n    sha256: {sha}", path.display())
}
