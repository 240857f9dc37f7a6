//! Coding-agent CLIs (Claude Code, Codex, Gemini CLI, opencode, aider, cursor-agent, custom) as
//! the host runs them: each backend builds the CLI's argv and parses its output stream into
//! [`AgentEvent`]s; the supervisor runs the process under hard limits no stage can switch off.

#![warn(missing_docs)]

pub mod backend;
pub mod backends;
pub mod event;
pub mod prices;
pub mod request;
pub mod summary;
pub mod supervise;

pub use backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
pub use backends::{BUILTIN_BACKENDS, CustomBackendConfig, backend};
pub use event::{AgentEvent, Usage};
pub use prices::{PriceTable, Prices, Pricing};
pub use request::{PermissionMode, SessionRequest};
pub use summary::{Outcome, Summary};
pub use supervise::{Limits, Session, SessionSpec, SuperviseError};
