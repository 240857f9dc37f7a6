//! Why `engine plugin run` could not run a component (a stage's failure is not an error: it
//! is the outcome), and the exit code each reason gives.

use std::path::PathBuf;

use engine_runtime::RuntimeError;

use crate::EngineError;

/// Why `engine plugin run` could not run the component.
#[derive(Debug, thiserror::Error)]
pub enum LocalRunError {
    /// The workspace is missing or not a directory.
    #[error("--workspace {}: {why}", path.display())]
    Workspace {
        /// The directory as given.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The component file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadComponent {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The component cannot be loaded or described (not wasm, incompatible, unknown builtin).
    #[error("{0}")]
    Load(RuntimeError),
    /// The stage asks for agent sessions.
    #[error(
        "{label} asks for agent sessions (permissions.agent), which engine plugin run cannot \
         start: sessions need a workflow's agents settings and budgets; run the stage in a \
         workflow (`engine run`)"
    )]
    Agent {
        /// The component.
        label: String,
    },
    /// The config (or a grant) does not fit the component.
    #[error("{} does not accept this run:\n{}", label, problems.join("\n"))]
    Config {
        /// The component.
        label: String,
        /// One line per problem, `field: message`.
        problems: Vec<String>,
    },
    /// An argument is unusable (stage id, output, task, base).
    #[error("{0}")]
    Argument(String),
    /// The stage starts programs and this machine cannot confine them.
    #[error(transparent)]
    Confine(#[from] engine_confine::ConfineError),
    /// The WebAssembly host could not be set up (its engine, its cache directory).
    #[error("{0}")]
    Host(RuntimeError),
}

impl From<LocalRunError> for EngineError {
    fn from(e: LocalRunError) -> Self {
        match e {
            LocalRunError::Confine(e) => EngineError::Unconfined(e),
            LocalRunError::Host(e) => EngineError::Runtime(e),
            other => EngineError::Usage(other.to_string()),
        }
    }
}
