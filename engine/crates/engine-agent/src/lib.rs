//! Coding-agent CLIs (Claude Code, Codex, Gemini CLI, opencode, aider, cursor-agent, custom) as
//! the host runs them: each backend builds the CLI's argv and parses its output stream into
//! [`AgentEvent`]s; the supervisor runs the process under hard limits no stage can switch off.

#![warn(missing_docs)]

pub mod backend;
pub mod backends;
pub mod prices;
pub mod supervise;

// The session vocabulary lives in `engine-agent-types` (so the wasm host can use it without
// the supervisor); re-exported here under its old paths.
pub use engine_agent_types::{event, request, summary};

pub use backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
pub use backends::{BUILTIN_BACKENDS, CustomBackendConfig, backend};
pub use engine_agent_types::{AgentEvent, Outcome, PermissionMode, SessionRequest, Summary, Usage};
pub use prices::{PriceTable, Prices, Pricing};
pub use supervise::{Limits, Session, SessionSpec, SuperviseError};
