//! Why `engine plugin pin` could not bring the pins up to date (nothing was written then).

use std::path::PathBuf;

use engine_workflow::Diagnostics;

use super::PinTarget;

/// Why the pins could not be brought up to date. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// The workflow file cannot be read.
    #[error("{file}: {message}")]
    Read {
        /// The workflow file.
        file: String,
        /// Why.
        message: String,
    },
    /// The workflow has problems besides its pins (each names `file:line:col` and the field).
    #[error("{0}")]
    Invalid(Diagnostics),
    /// No stage has this id.
    #[error("{file}: no stage {stage:?}{}", known_text(known))]
    UnknownStage {
        /// The workflow file.
        file: String,
        /// The id asked for.
        stage: String,
        /// The ids of its stages.
        known: Vec<String>,
    },
    /// The workflow has no `tasks:` source that is a file.
    #[error("{file}: no `tasks:` source that is a .wasm file (nothing to pin)")]
    NoTaskSource {
        /// The workflow file.
        file: String,
    },
    /// The stage asked for runs a built-in: it has no pin.
    #[error(
        "{file}:{line}: {field}: {target} uses {uses}, a built-in: only a .wasm file has a \
         sha256 pin"
    )]
    Builtin {
        /// The workflow file.
        file: String,
        /// The line of its `uses:`.
        line: usize,
        /// `stages.<id>.uses`.
        field: String,
        /// The stage.
        target: PinTarget,
        /// What it uses.
        uses: String,
    },
    /// A plugin file cannot be read.
    #[error("{file}:{line}: {field}: cannot read the plugin {}: {source}", plugin.display())]
    PluginFile {
        /// The workflow file.
        file: String,
        /// The line of the `uses:`.
        line: usize,
        /// `stages.<id>.uses` or `tasks.source`.
        field: String,
        /// The plugin file.
        plugin: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A pin (or `uses:`) is written in a form that is not rewritten in place.
    #[error("{file}:{line}: {field}: {why}")]
    Unsupported {
        /// The workflow file.
        file: String,
        /// The line.
        line: usize,
        /// The field.
        field: String,
        /// What is in the way, and what to do.
        why: String,
    },
    /// The rewritten text did not read back with the new pins.
    #[error(
        "{file}: the rewritten workflow does not read back with the new pins ({why}); nothing \
         was written: update the pins by hand"
    )]
    Verify {
        /// The workflow file.
        file: String,
        /// What differed.
        why: String,
    },
    /// The file could not be replaced.
    #[error("{file}: cannot write it: {source}")]
    Write {
        /// The workflow file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn known_text(known: &[String]) -> String {
    if known.is_empty() {
        " (it has none)".to_string()
    } else {
        let hint = |id: &String| format!(" (its stages: {id})");
        hint(&known.join(", "))
    }
}

impl From<PinError> for crate::EngineError {
    fn from(e: PinError) -> Self {
        match e {
            PinError::Invalid(diagnostics) => crate::EngineError::InvalidWorkflow(diagnostics),
            PinError::Write { .. } => crate::EngineError::Internal(e.to_string()),
            other => crate::EngineError::Usage(other.to_string()),
        }
    }
}
