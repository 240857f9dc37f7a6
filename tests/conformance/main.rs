//! The conformance suite: every agent backend against the real CLI it drives (the versions in
//! tests/conformance/versions.txt), talking to a mock model API on loopback inside a network
//! namespace with only loopback. See docs/agents.md#conformance.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

#[path = "../support/mod.rs"]
mod support;

mod aider;
mod checks;
mod claude;
mod codex;
mod gemini;
mod harness;
mod opencode;
mod turns;
