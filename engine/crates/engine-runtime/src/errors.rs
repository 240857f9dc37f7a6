//! Errors of loading and describing stages. Failures of an attempt are not errors: they are
//! [`engine_core::Failure`] values (see [`crate::AttemptResult`]).

use std::path::PathBuf;

/// Why the host could not set up, load or describe a stage.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The wasmtime engine or linker could not be set up.
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
    /// The compiled-component cache directory cannot be created.
    #[error("cannot use the component cache directory {path}: {source}")]
    CacheDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `builtin:NAME` names no built-in stage.
    #[error("unknown built-in stage `builtin:{name}` (known: {})", known.join(", "))]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
        /// The built-in stages this engine ships.
        known: Vec<String>,
    },
    /// A plugin file cannot be read.
    #[error("cannot read {path}: {source}")]
    ReadPlugin {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A plugin's content does not match the sha256 the workflow pins; it is not loaded.
    #[error(
        "plugin {path} does not match its sha256 pin (expected {expected}, found {actual}); \
         refusing to load it: if the change is intended, update the pin"
    )]
    Sha256Mismatch {
        /// The pin from the workflow.
        expected: String,
        /// The sha256 of the file on disk.
        actual: String,
        /// The file.
        path: PathBuf,
    },
    /// The bytes are not a WebAssembly component: not WebAssembly at all (the message says what
    /// the file looks like), a core module, a damaged file, or one wasmtime cannot compile.
    #[error("`{label}` {message}")]
    Compile {
        /// The plugin's label (`builtin:gate` or its path).
        label: String,
        /// What is wrong, in plain words, as the rest of a sentence about the plugin: `is a
        /// core WebAssembly module, not a component: ...`; wasmtime's explanation only when
        /// nothing plainer can be said.
        message: String,
    },
    /// The component does not fit the `engine:stage` stage world this host provides: another
    /// kind of component (a task source, a WASI program), built against another version of
    /// `engine:stage`, importing interfaces the host does not provide, or with mistyped
    /// exports.
    #[error("`{label}` {message}")]
    Incompatible {
        /// The plugin's label.
        label: String,
        /// What is wrong, in plain words, as the rest of a sentence about the plugin (`is a
        /// task source ..., not a stage: ...`, `is a stage built against engine:stage@0.2.0;
        /// this engine provides ...`).
        message: String,
    },
    /// The component is not a task source this host can run (world `engine:stage/source`):
    /// another kind of component, another `engine:stage` version, unknown imports, or
    /// mistyped exports.
    #[error("`{label}` {message}")]
    IncompatibleSource {
        /// The plugin's label.
        label: String,
        /// What is wrong, in plain words, as the rest of a sentence about the plugin.
        message: String,
    },
    /// `describe` trapped, timed out or could not be called.
    #[error("`describe` of `{label}` failed: {message}")]
    Describe {
        /// The plugin's label.
        label: String,
        /// What went wrong.
        message: String,
    },
    /// `describe` returned something unusable (e.g. a config schema that is not JSON).
    #[error("`{label}` returned an invalid descriptor: {message}")]
    BadDescriptor {
        /// The plugin's label.
        label: String,
        /// What is wrong with it.
        message: String,
    },
}

impl RuntimeError {
    /// The error of a component that cannot be loaded as `role`: [`RuntimeError::Incompatible`]
    /// for a stage, [`RuntimeError::IncompatibleSource`] for a task source.
    pub(crate) fn incompatible(
        role: crate::inspect::Role,
        label: &str,
        message: String,
    ) -> RuntimeError {
        let label = label.to_string();
        match role {
            crate::inspect::Role::Stage => RuntimeError::Incompatible { label, message },
            crate::inspect::Role::Source => RuntimeError::IncompatibleSource { label, message },
        }
    }
}
