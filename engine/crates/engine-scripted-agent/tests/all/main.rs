//! engine-scripted-agent's integration tests, one test binary: the real `scripted-agent`
//! binary run on temporary directories, a module per concern.

mod common;

mod claude_stream;
mod codex_stream;
mod invocations;
mod misbehaviour;
