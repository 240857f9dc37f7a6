//! The conformance suite: every agent backend against the real CLI it drives (the versions in
//! tests/conformance/versions.txt), talking to a mock model API on loopback inside a network
//! namespace with only loopback. See docs/agents.md#conformance.

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
