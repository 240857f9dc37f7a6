//! `engine plugin check` and `engine plugin describe`: what a file is and whether this engine can
//! load it, in plain words.
//!
//! [`check`] reads the file (or a built-in, `builtin:NAME`), says what it is
//! ([`engine_runtime::inspect`]: not WebAssembly, a core module, a WASI program, a stage, a task
//! source...) and which `engine:stage` version it was built against, then loads it as a
//! workflow would — compiled, pre-instantiated against this engine's host, `describe()` called
//! — so "ok" means a workflow can use it. [`render`] turns the [`Report`] into the commands'
//! text and JSON. [`progress`] is the compile feedback every command that loads plugins shows.

pub mod progress;
pub mod render;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use engine_runtime::inspect::{self, FileKind, Role};
use engine_runtime::{Descriptor, Host, RuntimeError, SourceDescriptor};
use sha2::{Digest, Sha256};

use super::build::Kind;

/// Why a plugin could not even be looked at.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `builtin:NAME` names no built-in plugin.
    #[error("unknown built-in plugin `builtin:{name}` (known: {})", engine_runtime::builtin_names().join(", "))]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
    },
}

/// A plugin named on the command line: its label for messages and its bytes.
#[derive(Debug, Clone)]
pub struct PluginFile {
    /// The path as given, or `builtin:NAME`.
    pub label: String,
    /// The component's bytes.
    pub bytes: Cow<'static, [u8]>,
}

impl PluginFile {
    /// Reads `arg`: `builtin:NAME` from the engine's embedded plugins, else a file.
    pub fn read(arg: &Path) -> Result<PluginFile, CheckError> {
        let label = arg.display().to_string();
        if let Some(name) = label.strip_prefix("builtin:") {
            let bytes =
                engine_runtime::builtin(name).ok_or_else(|| CheckError::UnknownBuiltin {
                    name: name.to_string(),
                })?;
            return Ok(PluginFile {
                label,
                bytes: Cow::Borrowed(bytes),
            });
        }
        let bytes = std::fs::read(arg).map_err(|source| CheckError::Read {
            path: arg.to_path_buf(),
            source,
        })?;
        Ok(PluginFile {
            label,
            bytes: Cow::Owned(bytes),
        })
    }
}

/// What `describe()` said.
#[derive(Debug, Clone)]
pub enum Described {
    /// A stage's descriptor.
    Stage(Descriptor),
    /// A task source's descriptor.
    Source(SourceDescriptor),
}

/// What [`check`] found.
#[derive(Debug)]
pub struct Report {
    /// The plugin's label (its path as given, or `builtin:NAME`).
    pub label: String,
    /// sha256 of its bytes, lowercase hex: the pin a workflow writes.
    pub sha256: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// What the file is.
    pub kind: FileKind,
    /// The `engine:stage` version it was built against, when it names one.
    pub wit_version: Option<String>,
    /// The role it was loaded in.
    pub role: Role,
    /// Its descriptor, or why it cannot be used in `role` by this engine (in plain words,
    /// naming the file).
    pub outcome: Result<Described, RuntimeError>,
}

impl Report {
    /// Whether the file is a compatible plugin of its role that describes itself.
    pub fn ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

/// The role a file is checked in: `wanted` when given, else what the file looks like (a task
/// source when it exports a source's functions, a stage otherwise).
pub fn role_for(kind: &FileKind, wanted: Option<Kind>) -> Role {
    match (wanted, kind) {
        (Some(Kind::Source), _) | (None, FileKind::Source) => Role::Source,
        (Some(Kind::Stage) | None, _) => Role::Stage,
    }
}

/// Loads `file` on `host` as a stage or task source (`wanted`, else what it looks like) and
/// calls its `describe()`: everything a workflow does with a plugin before a run starts.
pub async fn check(host: &Host, file: &PluginFile, wanted: Option<Kind>) -> Report {
    let inspection = inspect::inspect(&file.bytes);
    let role = role_for(&inspection.kind, wanted);
    let outcome = match role {
        Role::Stage => match host.load(&file.bytes, &file.label) {
            Ok(stage) => host.describe(&stage).await.map(Described::Stage),
            Err(e) => Err(e),
        },
        Role::Source => match host.load_source_bytes(&file.bytes, &file.label) {
            Ok(source) => host.describe_source(&source).await.map(Described::Source),
            Err(e) => Err(e),
        },
    };
    Report {
        label: file.label.clone(),
        sha256: hex::encode(Sha256::digest(&file.bytes)),
        size_bytes: u64::try_from(file.bytes.len()).unwrap_or(u64::MAX),
        wit_version: inspection.wit_version().map(|v| v.to_string()),
        kind: inspection.kind,
        role,
        outcome,
    }
}

/// The host the plugin commands load components on: the engine's compiled-component cache
/// ([`crate::project::component_cache_dir`]), with compile progress on stderr
/// ([`progress::with_compile_progress`]).
pub fn host() -> Result<Host, RuntimeError> {
    Ok(progress::with_compile_progress(Host::new(
        engine_runtime::HostOptions {
            cache_dir: crate::project::component_cache_dir(),
        },
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_is_the_one_asked_for_else_what_the_file_looks_like() {
        assert_eq!(role_for(&FileKind::Source, None), Role::Source);
        assert_eq!(role_for(&FileKind::Stage, None), Role::Stage);
        assert_eq!(role_for(&FileKind::CoreModule, None), Role::Stage);
        assert_eq!(role_for(&FileKind::Source, Some(Kind::Stage)), Role::Stage);
        assert_eq!(role_for(&FileKind::Stage, Some(Kind::Source)), Role::Source);
    }

    #[test]
    fn builtins_are_read_from_the_binary_and_files_from_disk() {
        let gate = PluginFile::read(Path::new("builtin:gate")).unwrap();
        assert_eq!(gate.label, "builtin:gate");
        assert_eq!(&*gate.bytes, engine_runtime::builtin("gate").unwrap());
        let err = PluginFile::read(Path::new("builtin:nope")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown built-in plugin `builtin:nope` (known: ")
        );
        let err = PluginFile::read(Path::new("/surely/not/here.wasm")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read /surely/not/here.wasm: "),
            "{err}"
        );
    }
}
