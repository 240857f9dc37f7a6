//! The workflow's `tasks:` section: which task source to use, what it is granted, and its
//! config (every other key), checked against the source's own config schema once the host has
//! loaded it ([`LoadedWorkflow::check_task_source`]).

use engine_core::{Permissions, PluginRef, WorkspaceAccess};
use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Diagnostics, Problem};
use crate::field_path::FieldPath;
use crate::loaded::LoadedWorkflow;
use crate::plugins::PluginInfo;
use crate::schema_messages::{SchemaOwner, problems_for};

/// Keys of `tasks:` the engine reads itself; everything else is the source's config.
pub const TASKS_ENGINE_KEYS: [&str; 3] = ["source", "sha256", "permissions"];

/// The workflow's `tasks:` section, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSourceSpec {
    /// The source component: `tasks-md` and `builtin:tasks-md` are built-ins, a `.wasm` path
    /// is a pinned file.
    pub source: PluginRef,
    /// What the workflow grants it; the workspace (the repository) defaults to `read`.
    pub permissions: Permissions,
    /// Its config: the `tasks:` mapping without [`TASKS_ENGINE_KEYS`].
    pub config: Value,
}

impl TaskSourceSpec {
    /// A built-in source with a config and the default grant (read the repository).
    pub fn builtin(name: &str, config: Value) -> Self {
        TaskSourceSpec {
            source: PluginRef::Builtin {
                name: name.to_string(),
            },
            permissions: Permissions {
                workspace: WorkspaceAccess::Read,
                ..Permissions::default()
            },
            config,
        }
    }

    /// Whether the source may write task statuses back (`permissions.workspace: write`).
    pub fn writes_back(&self) -> bool {
        self.permissions.workspace == WorkspaceAccess::Write
    }
}

/// Reads `tasks:` from the document's root; shapes the schema rejects are skipped here.
pub(crate) fn read_tasks(root: &Map<String, Value>) -> Option<TaskSourceSpec> {
    let section = root.get("tasks")?.as_object()?;
    let name = section.get("source")?.as_str()?;
    #[expect(
        clippy::case_sensitive_file_extension_comparisons,
        reason = "mirrors the schema's case-sensitive `.+\\.wasm$` pattern for `source`, which \
                  already accepted this name; `Path::extension` would disagree on `dir/.wasm`"
    )]
    let source = if name.ends_with(".wasm") {
        PluginRef::Path {
            path: name.to_string(),
            sha256: section
                .get("sha256")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }
    } else {
        PluginRef::Builtin {
            name: name.strip_prefix("builtin:").unwrap_or(name).to_string(),
        }
    };
    let grant = section.get("permissions");
    let field = |name: &str| grant.and_then(|g| g.get(name));
    let strings = |name: &str| -> Vec<String> {
        field(name)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| Some(i.as_str()?.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let permissions = Permissions {
        workspace: match field("workspace").and_then(Value::as_str) {
            Some("none") => WorkspaceAccess::None,
            Some("write") => WorkspaceAccess::Write,
            _ => WorkspaceAccess::Read,
        },
        exec: strings("exec"),
        agent: false,
        net: strings("net"),
    };
    let config: Map<String, Value> = section
        .iter()
        .filter(|(key, _)| !TASKS_ENGINE_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Some(TaskSourceSpec {
        source,
        permissions,
        config: Value::Object(config),
    })
}

impl LoadedWorkflow {
    /// Checks `tasks:` against its source: `info` is what the host learnt from the source's
    /// `describe()`, or why it could not load it (shown in the diagnostic). Reports a config that breaks the source's
    /// schema and programs or hosts the source needs but is not granted. A source that asks
    /// for `workspace: write` while the workflow grants `read` is fine: it lists tasks but
    /// never writes them back ([`TaskSourceSpec::writes_back`]). Empty without `tasks:`.
    pub fn check_task_source(
        &self,
        info: Result<PluginInfo, impl std::fmt::Display>,
    ) -> Vec<Diagnostic> {
        let Some(spec) = &self.tasks else {
            return Vec::new();
        };
        let section = FieldPath::keys(&["tasks"]);
        let mut problems = Vec::new();
        match info {
            Err(why) => problems.push(Problem::at(
                section.key("source"),
                format!("cannot load task source \"{}\": {why}", spec.source),
            )),
            Ok(plugin) => match jsonschema::validator_for(&plugin.config_schema) {
                Err(e) => problems.push(Problem::at(
                    section.key("source"),
                    format!(
                        "task source \"{}\" declares an invalid config schema: {e}",
                        spec.source
                    ),
                )),
                Ok(validator) => {
                    for error in validator.iter_errors(&spec.config) {
                        problems.extend(problems_for(
                            &error,
                            &plugin.config_schema,
                            &spec.config,
                            &section,
                            SchemaOwner::Plugin,
                        ));
                    }
                    let asked = Permissions {
                        workspace: WorkspaceAccess::None,
                        ..plugin.permissions
                    };
                    let missing = spec.permissions.shortfall(&asked);
                    if !missing.is_empty() {
                        problems.push(Problem::at(
                            section.clone(),
                            format!(
                                "task source \"{}\" needs {}, which the workflow does not grant; \
                                 add it under tasks.permissions",
                                spec.source,
                                missing.join(", ")
                            ),
                        ));
                    }
                }
            },
        }
        let located = problems
            .iter()
            .map(|p| p.locate(&self.file, &self.spans))
            .collect();
        Diagnostics::sorted(located).0
    }
}
