//! The vocabulary of agent sessions, shared by the supervisor (`engine-agent`, which runs the
//! CLIs) and the wasm host (`engine-runtime`, which bridges stages to sessions): what a stage
//! asks for ([`SessionRequest`]), the normalized [`AgentEvent`]s every backend's parser
//! produces, their [`Usage`] counters, and how a session ended ([`Summary`], [`Outcome`]).
//!
//! Types only (no processes, no parsing), so depending on them does not pull in the supervisor.

#![warn(missing_docs)]

pub mod event;
pub mod request;
pub mod summary;

pub use event::{AgentEvent, Usage};
pub use request::{PermissionMode, SessionRequest};
pub use summary::{Outcome, Summary};
