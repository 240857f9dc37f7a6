//! engine-runtime's integration tests: one test binary (one link of wasmtime and cranelift, one
//! host per process), a module per concern. `cargo test -p engine-runtime --test all net::`
//! runs one module.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

mod common;
// The HTTP server of the end-to-end tests, shared as a file.
#[path = "../../../../../tests/support/http_server.rs"]
mod http_server;

mod agent;
mod loading;
mod net;
mod sandbox;
mod source_clis;
mod sources;
mod stages;
