//! The check after a build: the file the recipe wrote is loaded by the engine's own runtime, as
//! a workflow would load it, and its `describe()` is called, so a project that builds something
//! the engine cannot run (the wrong world, a core module) fails at build time, not at the first
//! run. The compiled component lands in the engine's component cache, so the first run after a
//! build does not compile it again; a compile longer than a second says so on stderr (the
//! engine's host does that for every command).

use std::path::Path;

use engine_core::PluginRef;
use sha2::{Digest, Sha256};

use super::{BuildError, Kind};

/// Loads `bytes` (the content of `project/relative`) as a component of `kind` and calls its
/// `describe()`.
pub(super) async fn is_component_of_kind(
    project: &Path,
    relative: &str,
    bytes: &[u8],
    kind: Kind,
) -> Result<(), BuildError> {
    let host = crate::project::host().map_err(|e| BuildError::ToolFailed {
        tool: "the engine's wasm runtime".into(),
        status: "could not start".into(),
        output: e.to_string(),
    })?;
    let not_usable = |e: engine_runtime::RuntimeError| {
        BuildError::Project(format!(
            "{relative} was built but is not a {} this engine can run: {e}",
            kind.noun()
        ))
    };
    match kind {
        Kind::Stage => {
            let stage = host.load(bytes, relative).map_err(not_usable)?;
            host.describe(&stage).await.map_err(not_usable)?;
        }
        Kind::Source => {
            let plugin = PluginRef::Path {
                path: relative.to_string(),
                sha256: hex::encode(Sha256::digest(bytes)),
            };
            let source = host.load_source(&plugin, project).map_err(not_usable)?;
            host.describe_source(&source).await.map_err(not_usable)?;
        }
    }
    Ok(())
}
