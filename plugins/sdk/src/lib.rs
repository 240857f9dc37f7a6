//! Guest SDK for engine stages.
//!
//! A stage is a WebAssembly component built for `wasm32-wasip2` against the WIT world
//! `engine:stage/stage`. With this SDK it is one trait impl plus one macro:
//!
//! ```ignore
//! use engine_stage_sdk::{Context, Descriptor, Stage, StageError, Success};
//!
//! struct Hello;
//!
//! #[derive(serde::Deserialize)]
//! struct Config { greeting: String }
//!
//! impl Stage for Hello {
//!     type Config = Config;
//!     fn describe() -> Descriptor {
//!         Descriptor::new("hello", env!("CARGO_PKG_VERSION"), "Says hello")
//!     }
//!     fn run(ctx: Context<Config>) -> Result<Success, StageError> {
//!         engine_stage_sdk::log::info(&ctx.config.greeting);
//!         Ok(Success::new("said hello").output("greeting", ctx.config.greeting.clone()))
//!     }
//! }
//!
//! engine_stage_sdk::export_stage!(Hello);
//! ```
//!
//! The crate is a `cdylib`; `cargo build --release --target wasm32-wasip2` gives the component.
//!
//! The records a stage exchanges with the host ([`Task`], [`Descriptor`], [`Permissions`],
//! [`exec::Output`], [`agent::Summary`]...) are the types `wit-bindgen` generates from
//! `wit/stage.wit` ([`bindings`]), re-exported with small extensions (builders, defaults, JSON
//! accessors, names in words). Three types are the SDK's own because they hold parsed JSON:
//! [`Context`] (the config deserialized, earlier outputs parsed), and the builders [`Success`]
//! and [`StageError`], which become the WIT records when the attempt returns.
#![warn(missing_docs)]

extern crate self as engine_stage_sdk;

mod adapter;
pub mod agent;
pub mod bindings;
mod context;
mod descriptor;
pub mod exec;
#[cfg(feature = "http")]
pub mod http;
pub mod log;
mod outcome;

pub use bindings::engine::stage::types::{
    Delivery, Descriptor, Failure, Feedback, IdempotencyKeys, Permissions, RunGit, Task,
    WorkspaceAccess,
};
pub use context::{Context, config_from_json};
pub use outcome::{StageError, Success};

/// Where the run's worktree is mounted inside the sandbox.
pub const WORKSPACE: &str = "/workspace";

/// One pipeline stage. Implement it and export it with [`export_stage!`].
pub trait Stage {
    /// The stage's `with:` config. The host hands it over as JSON; a config that does not
    /// deserialize fails the attempt (fatally) with serde's message. An absent `with:` is
    /// deserialized from `{}` when it cannot be deserialized from `null`.
    type Config: serde::de::DeserializeOwned;

    /// Who the stage is and what it needs. Must be cheap and must not call host imports.
    fn describe() -> Descriptor;

    /// Runs one attempt.
    fn run(ctx: Context<Self::Config>) -> Result<Success, StageError>;
}

/// Reports progress, shown to the user while the stage runs. `fraction` is `0.0..=1.0` when
/// known: pass a number or `None`.
pub fn progress(message: &str, fraction: impl Into<Option<f32>>) {
    bindings::engine::stage::log::progress(message, fraction.into());
}

/// Exports a type implementing [`Stage`] as the component's `describe` and `run`.
///
/// Use it once per crate, at the top level: `engine_stage_sdk::export_stage!(MyStage);`.
#[macro_export]
macro_rules! export_stage {
    ($stage:ty) => {
        const _: () = {
            struct __EngineStageExport;

            impl $crate::bindings::Guest for __EngineStageExport {
                fn describe() -> $crate::bindings::Descriptor {
                    $crate::__private::describe::<$stage>()
                }

                fn run(
                    context: $crate::bindings::Context,
                ) -> ::core::result::Result<$crate::bindings::Success, $crate::bindings::StageError>
                {
                    $crate::__private::run::<$stage>(context)
                }
            }

    $crate::bindings::export!(__EngineStageExport with_types_in $crate::bindings);
        };
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::adapter::{describe, run};
    pub use wit_bindgen;
}
