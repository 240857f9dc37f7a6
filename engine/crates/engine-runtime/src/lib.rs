//! The wasmtime host of engine.
//!
//! A [`Host`] owns one wasmtime engine and one linker per process. It loads stage components
//! (built-ins embedded in the binary, or files pinned by sha256), caches their compiled form on
//! disk, pre-instantiates them so an incompatible plugin fails at load time, and runs each
//! attempt in a fresh sandbox: a new store with an epoch deadline and a memory limit, an empty
//! environment, no sockets, and only the run's worktree mounted at `/workspace` with the access
//! the workflow grants. Stages reach the host through the `log`, `exec` and `agent` imports of the WIT
//! world `engine:stage/stage` (`wit/stage.wit`), and may send HTTP requests through `wasi:http`
//! to the hosts their `permissions.net` lists (everything else is denied).
//!
//! Task sources (world `engine:stage/source`, `wit/source.wit`) run in the same sandbox:
//! [`Host::load_source`], then [`Host::list_tasks`], [`Host::claim_task`] and
//! [`Host::update_task`] with the repository mounted at `/workspace`.
//!
//! A file that cannot load is refused in plain words ([`inspect`]): not WebAssembly (and what it
//! looks like), a core module, a WASI program, a task source used as a stage (or the reverse),
//! a component built against another `engine:stage` version, or one importing interfaces this
//! host does not provide.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use engine_runtime::{Host, HostOptions};
//! let host = Host::new(HostOptions { cache_dir: ".engine/cache".into() })?;
//! let gate = host.load(engine_runtime::builtin("gate").unwrap(), "builtin:gate")?;
//! let descriptor = host.describe(&gate).await?;
//! println!("{} {}", descriptor.name, descriptor.version);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod agent;
mod attempt;
pub mod bindings;
mod builtins;
mod cache;
mod cache_sweep;
mod descriptor;
mod errors;
mod exec;
mod failure;
mod host;
mod imports;
pub mod inspect;
mod net;
mod pipe;
mod process;
mod sandbox;
mod source;
pub mod source_bindings;
mod source_convert;

pub use agent::{AgentLauncher, AgentSession, AgentStartError, BoxFuture};
pub use attempt::{
    AttemptContext, AttemptObserver, AttemptRequest, AttemptResult, AttemptSuccess, LogLevel,
    NullObserver, RunGit,
};
pub use builtins::{builtin, builtin_names};
pub use cache::{CacheStats, CompileEvent, CompileObserver};
pub use descriptor::Descriptor;
pub use errors::RuntimeError;
pub use host::{Host, HostOptions, LoadedStage};
pub use source::{DEFAULT_SOURCE_MEMORY_LIMIT, DEFAULT_SOURCE_TIMEOUT, LoadedSource, SourceCall};
pub use source_convert::SourceDescriptor;
