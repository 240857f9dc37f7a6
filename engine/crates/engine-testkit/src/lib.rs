//! Test scaffolding shared by engine's crates, kept out of the shipped libraries: a
//! dev-dependency only.
//!
//! - [`build_fixture_plugins`] / [`fixture_plugin`]: the stage components of
//!   `tests/fixtures/plugins`, built for `wasm32-wasip2` once per test session however many test
//!   binaries ask at the same time (a file lock under `target/`, and no nested cargo at all when
//!   nothing changed since the last build).
//! - [`entry_point`]: `#[ignore]`d tests that are the child-process half of another test, run by
//!   it through this test binary.
//! - [`repo_root`]: the repository root, for tests that read its `workflows/`, `docs/` or
//!   `tests/` (named in one place, `engine-wasm-build`).

pub mod entry_point;
mod fixtures;
mod freshness;

pub use engine_wasm_build::repo_root;
pub use fixtures::{FixtureError, build_fixture_plugins, fixture_plugin};
