//! `engine plugin build`: builds a plugin project (a directory with a `plugin.toml`) into a
//! WebAssembly component with the language's pinned toolchain, then prints its sha256 pin.
//!
//! [`build`] reads the project's `plugin.toml` ([`Manifest`]), brings its `.engine/` (WIT and
//! SDK) up to date, runs the language's recipe, and checks that the file written is a component
//! of the declared kind. Each language's recipe is a child module (`rust`, `python`, `js`) with
//! one entry point, `build(&Recipe) -> Result<(), BuildError>`. [`pins`] then updates the
//! workflows that use the component.

mod js;
mod manifest;
pub mod pins;
mod python;
mod rust;
mod verify;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub use manifest::{MANIFEST, Manifest};

use super::scaffold::{self, ScaffoldError};

/// What a plugin is built as: the WIT world it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
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

    /// The kind a manifest or an argument names (`stage`, `source`).
    pub fn from_name(name: &str) -> Option<Kind> {
        match name {
            "stage" => Some(Kind::Stage),
            "source" => Some(Kind::Source),
            _ => None,
        }
    }

    /// What it is called in messages: `stage` or `task source`.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Stage => "stage",
            Kind::Source => "task source",
        }
    }
}

/// The language a plugin project is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A cdylib crate built with cargo for `wasm32-wasip2`.
    Rust,
    /// `app.py`, built with componentize-py.
    Python,
    /// `app.js`, built with componentize-js (jco).
    Js,
}

impl Lang {
    /// Its name in `plugin.toml` and in paths (`rust`, `python`, `js`).
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }

    /// The language a manifest or an argument names.
    pub fn from_name(name: &str) -> Option<Lang> {
        match name {
            "rust" => Some(Lang::Rust),
            "python" => Some(Lang::Python),
            "js" => Some(Lang::Js),
            _ => None,
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

impl BuildError {
    /// Whether the failure is the project's (a bad manifest, a component of the wrong kind:
    /// exit 2) rather than a tool's or the machine's (exit 1).
    pub fn is_project_error(&self) -> bool {
        matches!(self, BuildError::Project(_))
    }
}

impl From<ScaffoldError> for BuildError {
    fn from(e: ScaffoldError) -> Self {
        match e {
            ScaffoldError::Io { path, source } => BuildError::Io { path, source },
            other => BuildError::Project(other.to_string()),
        }
    }
}

/// A component that was built.
#[derive(Debug, Clone)]
pub struct Built {
    /// What `plugin.toml` says.
    pub manifest: Manifest,
    /// The component (`<project>/dist/<name>.wasm`).
    pub output: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its sha256, lowercase hex: the pin.
    pub sha256: String,
    /// How long the build took (the recipe and the check of its result).
    pub elapsed: Duration,
}

impl Built {
    /// `built dist/x.wasm (N KiB) in X.Y s`, the path relative to `project` when it is below it.
    pub fn summary(&self, project: &Path) -> String {
        let shown = self.output.strip_prefix(project).unwrap_or(&self.output);
        format!(
            "built {} ({} KiB) in {:.1} s",
            shown.display(),
            self.bytes.div_ceil(1024),
            self.elapsed.as_secs_f64()
        )
    }
}

/// Builds the project in `project`: reads its `plugin.toml`, refreshes its `.engine/`, runs the
/// language's recipe (which prints its progress), then loads the component with the engine's
/// runtime to check that it is a component of the declared kind.
pub async fn build(project: &Path) -> Result<Built, BuildError> {
    let manifest = Manifest::read(project).map_err(BuildError::Project)?;
    let engine_dir = scaffold::refresh_engine_dir(project, manifest.lang)?;
    let tools_dir = super::toolchain::tools_dir()?;
    let dist = project.join("dist");
    std::fs::create_dir_all(&dist).map_err(|source| BuildError::Io {
        path: dist.clone(),
        source,
    })?;
    let output = dist.join(format!("{}.wasm", manifest.name));
    // A component left by an earlier build must not pass for this one's.
    match std::fs::remove_file(&output) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(BuildError::Io {
                path: output,
                source: e,
            });
        }
        _ => {}
    }
    let recipe = Recipe {
        project,
        name: &manifest.name,
        kind: manifest.kind,
        engine_dir: &engine_dir,
        output: &output,
        tools_dir: &tools_dir,
    };
    let started = Instant::now();
    match manifest.lang {
        Lang::Rust => rust::build(&recipe)?,
        Lang::Python => python::build(&recipe)?,
        Lang::Js => js::build(&recipe)?,
    }
    let bytes = std::fs::read(&output).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            BuildError::ToolFailed {
                tool: format!("the {} build", manifest.lang.name()),
                status: "finished".into(),
                output: format!("it wrote no {}", output.display()),
            }
        } else {
            BuildError::Io {
                path: output.clone(),
                source,
            }
        }
    })?;
    let relative = format!("dist/{}.wasm", manifest.name);
    verify::is_component_of_kind(project, &relative, &bytes, manifest.kind).await?;
    let elapsed = started.elapsed();
    Ok(Built {
        sha256: hex::encode(Sha256::digest(&bytes)),
        bytes: bytes.len() as u64,
        output,
        manifest,
        elapsed,
    })
}
