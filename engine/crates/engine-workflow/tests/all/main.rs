//! engine-workflow's integration tests, one test binary with a module per suite: the valid and
//! invalid fixture workflows (snapshots of the diagnostics in `snapshots/`), plugin checks, task
//! sources and the fuzzed loader. `cargo test -p engine-workflow --test all fuzz_loader::` runs
//! one module.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

mod common;
// The input mutator shared by every fuzz test of the repository, as a file.
#[path = "../../../../../tests/fuzz/mutate.rs"]
mod mutate;

mod fuzz_loader;
mod invalid_fixtures;
mod plugin_checks;
mod task_source;
mod valid_fixtures;
