//! engine: runs agentic-coding pipelines declared in a workflow YAML as durable state machines
//! whose stages are sandboxed WebAssembly components.
//!
//! This crate is the host: it wires the pure core ([`engine_core`]), workflow loading
//! ([`engine_workflow`]), the wasmtime runtime ([`engine_runtime`]), durable storage
//! ([`engine_store`]) and git ([`engine_git`]) into a driver, and exposes the CLI commands. The
//! `engine` binary only calls [`cli::main_from_env`], which parses the arguments.

#![warn(missing_docs)]

pub mod agents;
pub mod board;
// Issue 18 item 9: `engine bug-report`.
pub mod bug_report;
pub mod cli;
pub mod confine;
pub mod control;
pub mod driver;
pub mod error;
pub mod exit;
pub mod history;
pub mod hook_receiver;
pub mod init;
pub mod logs;
pub mod mcp;
pub mod metrics;
pub mod output;
pub mod plan;
pub mod plugin;
pub mod project;
pub mod queue;
pub mod report;
// Issue 18 item 7: answering pull-request review feedback (`engine reviews`).
pub mod reviews;
pub mod secrets;
pub mod serve;
// Issue 18 items 2 and 3: constitution and skills.
pub mod skills;
// Issue 18 item 4: traceability (`engine spec audit`, `engine spec report`).
pub mod spec;
pub mod summary;
pub mod tasks;
// Issue 12 (terminal escapes): the one helper that escapes untrusted text before it is printed.
pub mod terminal;
#[cfg(test)]
mod test_fixtures;
pub mod time;
pub mod traces;
pub mod validate;

pub use error::EngineError;
