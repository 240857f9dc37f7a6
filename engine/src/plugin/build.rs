//! `engine plugin build`: builds a plugin project (a directory with a `plugin.toml`) into a
//! WebAssembly component with the language's pinned toolchain, then prints its sha256 pin.
//!
//! Each language's recipe is a child module ([`rust`], [`python`], [`js`]) with one entry
//! point, `build(&Recipe) -> Result<(), BuildError>`.

mod js;
mod python;
mod rust;

use std::path::{Path, PathBuf};

/// What a plugin is built as: the WIT world it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// World `engine:stage/stage`.
    Stage,
    /// World `engine:stage/source`.
    Source,
}

impl Kind {
    /// The WIT world's name (`stage` or `source`).
    pub fn world(self) -> &'static str {
        match self {
            Kind::Stage => "stage",
            Kind::Source => "source",
        }
    }
}

/// Everything a language recipe needs to build one project.
#[derive(Debug)]
pub struct Recipe<'a> {
    /// The project directory (holds `plugin.toml`).
    pub project: &'a Path,
    /// The plugin's name from `plugin.toml` (kebab-case, e.g. `changelog-check`).
    pub name: &'a str,
    /// Stage or task source.
    pub kind: Kind,
    /// The project's `.engine/` directory, refreshed by the engine before each build: `wit/`
    /// (this engine's WIT files) and `sdk/<lang>/` (this engine's SDK for the language).
    pub engine_dir: &'a Path,
    /// Where the component must be written (`<project>/dist/<name>.wasm`).
    pub output: &'a Path,
    /// Root directory of the pinned toolchains (`ENGINE_TOOLS_DIR`, default
    /// `~/.cache/engine/tools`); each recipe installs its tools under it on first use.
    pub tools_dir: &'a Path,
}

/// Why a plugin project could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A pinned tool could not be installed.
    #[error("cannot install {tool}: {message}")]
    ToolInstall {
        /// The tool and its version, e.g. `componentize-py 0.25.1`.
        tool: String,
        /// What went wrong (the installer's last output lines).
        message: String,
    },
    /// A build tool ran and failed.
    #[error("{tool} failed ({status}):\n{output}")]
    ToolFailed {
        /// The tool, e.g. `componentize-py`.
        tool: String,
        /// Its exit status in words.
        status: String,
        /// The last lines of its output.
        output: String,
    },
    /// The project is not buildable as it stands (missing entry point, bad manifest...).
    #[error("{0}")]
    Project(String),
}
