//! A task source run locally: its `list-tasks` with the workspace as the repository, its
//! config checked against its schema first.

use std::path::Path;
use std::sync::Arc;

use engine_core::{Permissions, PluginRef, WorkspaceAccess};
use engine_runtime::{Host, LoadedSource};

use super::{ComponentInfo, LocalRun, LocalRunError, SourceRun, config_check};
use crate::EngineError;
use crate::tasks::PreparedSource;

/// Lists a task source's tasks, the workspace as the repository.
pub(super) async fn list(
    host: &Host,
    source: LoadedSource,
    plugin: PluginRef,
    request: &LocalRun,
    workspace: &Path,
) -> Result<SourceRun, LocalRunError> {
    let descriptor = host
        .describe_source(&source)
        .await
        .map_err(LocalRunError::Load)?;
    let component = ComponentInfo::new(
        source.label(),
        source.sha256(),
        [&descriptor.name, &descriptor.version, &descriptor.summary],
        &descriptor.permissions,
    );
    let permissions = Permissions {
        // `list-tasks` never gets more than read access.
        workspace: WorkspaceAccess::Read,
        ..super::grants(&descriptor.permissions, request)
    };
    let problems = config_check::check_source(
        &plugin,
        &request.config,
        &permissions,
        &engine_workflow::PluginInfo {
            config_schema: descriptor.config_schema.clone(),
            permissions: descriptor.permissions.clone(),
        },
    );
    if !problems.is_empty() {
        return Err(LocalRunError::Config {
            label: component.label,
            problems,
        });
    }
    let prepared = PreparedSource {
        spec: engine_workflow::TaskSourceSpec {
            source: plugin,
            permissions,
            config: request.config.clone(),
        },
        source: Arc::new(source),
        descriptor,
    };
    let listing = match crate::tasks::list(host, &prepared, workspace).await {
        Ok(listing) => Ok(listing),
        Err(EngineError::Usage(message)) => return Err(LocalRunError::Argument(message)),
        Err(e) => Err(e.to_string()),
    };
    Ok(SourceRun {
        component,
        config: request.config.clone(),
        listing,
    })
}
