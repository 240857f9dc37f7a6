//! engine-agent's integration tests, one test binary with a module per suite: the stream
//! parsers on recorded and real transcripts (`real_*`), the fuzzed parsers, spend, and the
//! supervisor against real `sh` processes. `cargo test -p engine-agent --test all supervise::`
//! runs one module.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

mod common;
mod jsonl_dialect;
// The input mutator shared by every fuzz test of the repository, as a file.
#[path = "../../../../../tests/fuzz/mutate.rs"]
mod mutate;

mod fuzz_parsers;
mod misconfigured;
mod parsers;
mod real_aider;
mod real_claude;
mod real_codex;
mod real_gemini;
mod real_opencode;
mod spend;
mod supervise;
