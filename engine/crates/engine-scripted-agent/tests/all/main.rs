//! engine-scripted-agent's integration tests, one test binary: the real `scripted-agent`
//! binary run on temporary directories, a module per concern.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

mod common;

mod claude_stream;
mod codex_stream;
mod invocations;
mod misbehaviour;
