//! Guest SDK for engine **task sources**: where the tasks a workflow works through come from
//! (a `tasks.md`, a tracker).
//!
//! A source is a WebAssembly component built for `wasm32-wasip2` against the WIT world
//! `engine:stage/source` (`wit/source.wit`). With this SDK it is one trait impl plus one macro:
//!
//! ```ignore
//! use engine_source_sdk::{Source, SourceDescriptor, SourceError, TaskList};
//!
//! struct Inline;
//!
//! impl Source for Inline {
//!     type Config = serde_json::Value;
//!     fn describe() -> SourceDescriptor {
//!         SourceDescriptor::new("inline", env!("CARGO_PKG_VERSION"), "Tasks written in the config")
//!     }
//!     fn list(config: Self::Config) -> Result<TaskList, SourceError> {
//!         Ok(TaskList::default())
//!     }
//! }
//!
//! engine_source_sdk::export_source!(Inline);
//! ```
//!
//! `list` (the WIT `list-tasks`) runs with the repository mounted read-only at `/workspace`;
//! `claim` and `update` run with the access the workflow grants (`tasks.permissions`). A
//! source logs with [`log`] and runs granted programs (`bd`, `gh`) with [`exec`], exactly like
//! a stage.
//!
//! The records ([`Task`], [`TaskList`], [`SourceError`]...) are the types `wit-bindgen`
//! generates from `wit/source.wit` ([`bindings`]), re-exported with small extensions: a
//! descriptor builder, constructors, `Display` of locations and diagnostics, and
//! [`SourceError::text`] (wit-bindgen's `Display` of an error is its `Debug` form).
#![warn(missing_docs)]

extern crate self as engine_source_sdk;

mod adapter;
pub mod bindings;
mod types;

pub use bindings::engine::stage::source_types::{
    ChecklistItem, Diagnostic, Location, SourceDescriptor, SourceError, Task, TaskList, TaskStatus,
};
pub use engine_stage_sdk::{Permissions, WORKSPACE, WorkspaceAccess, exec, log};

/// A task source. Implement it and export it with [`export_source!`].
pub trait Source {
    /// The source's config. The host hands it over as JSON (the workflow's `tasks:` mapping
    /// without `source`, `sha256` and `permissions`); a config that does not deserialize fails
    /// the call with [`SourceError::InvalidConfig`] and serde's message.
    type Config: serde::de::DeserializeOwned;

    /// Who the source is and what it needs. Must be cheap and must not call host imports.
    fn describe() -> SourceDescriptor;

    /// Every task, in the source's order. Runs with the workspace read-only.
    fn list(config: Self::Config) -> Result<TaskList, SourceError>;

    /// Takes a task before a run works on it; claiming it again as the same `claimant` must
    /// succeed. Returns the task as it is now. The default refuses (a read-only source).
    fn claim(config: Self::Config, id: &str, claimant: &str) -> Result<Task, SourceError> {
        let _ = (config, claimant);
        Err(SourceError::Unsupported(format!(
            "this task source cannot claim {id}: it is read-only"
        )))
    }

    /// Sets a task's status (with an optional note for sources that keep one); setting the
    /// status it already has must succeed without changing anything. Returns the task as it is
    /// now. The default refuses (a read-only source).
    fn update(
        config: Self::Config,
        id: &str,
        status: TaskStatus,
        note: Option<&str>,
    ) -> Result<Task, SourceError> {
        let _ = (config, status, note);
        Err(SourceError::Unsupported(format!(
            "this task source cannot update {id}: it is read-only"
        )))
    }

    /// Ticks (`done`) or unticks item `index` (1-based) of task `id`'s checklist; setting the
    /// state an item already has must succeed without changing anything. Returns the task as
    /// it is now. Only called on components that export `check-item` (world
    /// `engine:stage/source-checklist`, see `wit/source.wit`); [`export_source!`] exports the
    /// `source` world, which has no `check-item`. The default refuses.
    fn check_item(
        config: Self::Config,
        id: &str,
        index: u32,
        done: bool,
    ) -> Result<Task, SourceError> {
        let _ = (config, index, done);
        Err(SourceError::Unsupported(format!(
            "this task source cannot tick checklist items of {id}"
        )))
    }
}

/// Exports a type implementing [`Source`] as the component's `describe`, `list-tasks`, `claim`
/// and `update` (world `engine:stage/source`).
///
/// Use it once per crate, at the top level: `engine_source_sdk::export_source!(MySource);`.
#[macro_export]
macro_rules! export_source {
    ($source:ty) => {
        const _: () = {
            struct __EngineSourceExport;

            impl $crate::bindings::Guest for __EngineSourceExport {
                fn describe() -> $crate::bindings::SourceDescriptor {
                    $crate::__private::describe::<$source>()
                }

                fn list_tasks(
                    config: ::std::string::String,
                ) -> ::core::result::Result<$crate::bindings::TaskList, $crate::bindings::SourceError>
                {
                    $crate::__private::list::<$source>(&config)
                }

                fn claim(
                    config: ::std::string::String,
                    id: ::std::string::String,
                    claimant: ::std::string::String,
                ) -> ::core::result::Result<$crate::bindings::Task, $crate::bindings::SourceError>
                {
                    $crate::__private::claim::<$source>(&config, &id, &claimant)
                }

                fn update(
                    config: ::std::string::String,
                    id: ::std::string::String,
                    status: $crate::bindings::TaskStatus,
                    note: ::core::option::Option<::std::string::String>,
                ) -> ::core::result::Result<$crate::bindings::Task, $crate::bindings::SourceError>
                {
                    $crate::__private::update::<$source>(&config, &id, status, note.as_deref())
                }
            }

            $crate::bindings::export!(__EngineSourceExport with_types_in $crate::bindings);
        };
    };
}

#[doc(hidden)]
pub mod __private {
    pub use crate::adapter::{check_item, claim, describe, list, update};
    pub use engine_stage_sdk;
    pub use wit_bindgen;
}
