//! What a file is, said in plain words: not WebAssembly at all (and what it looks like), a core
//! module, a WASI program, a stage, a task source or some other component, and which version of
//! `engine:stage` it was built against.
//!
//! [`inspect`] reads only the component's outer import and export names (with `wasmparser`; no
//! compiling), so it is cheap even for a 40 MB Python component. [`Inspection::refusal`] says,
//! before anything is compiled, why a file cannot load in a role (a stage or a task source);
//! what only the host's linker knows (an import it does not provide, a type that differs) is
//! worked out by [`crate::Host`] with [`unprovided_imports`] when pre-instantiation fails.

mod diagnose;
mod names;
mod probe;
mod sniff;

pub use diagnose::host_provides;
pub use names::{HOST_WIT_VERSION, WitVersion};
pub(crate) use probe::unprovided_imports;
pub use sniff::NotWasm;

use wasmparser::{ComponentExternalKind, ComponentTypeRef, Encoding, Parser, Payload, TypeBounds};

/// What a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// Not WebAssembly at all.
    NotWasm(NotWasm),
    /// A WebAssembly component whose contents cannot be read (truncated or corrupt).
    Damaged {
        /// The parser's explanation, with the byte offset.
        reason: String,
    },
    /// A core WebAssembly module, not a component.
    CoreModule,
    /// A WASI program: a component exporting `wasi:cli/run`.
    Command,
    /// A WASI HTTP handler: a component exporting `wasi:http/incoming-handler`.
    HttpHandler,
    /// A stage: a component exporting `describe` and `run`.
    Stage,
    /// A task source: a component exporting `describe`, `list-tasks`, `claim` and `update`.
    Source,
    /// A component that is neither of the above.
    OtherComponent,
}

impl FileKind {
    /// A stable short name for JSON output: `stage`, `source`, `command`, `http-handler`,
    /// `component`, `core-module`, `damaged` or `not-wasm`.
    pub fn code(&self) -> &'static str {
        match self {
            FileKind::NotWasm(_) => "not-wasm",
            FileKind::Damaged { .. } => "damaged",
            FileKind::CoreModule => "core-module",
            FileKind::Command => "command",
            FileKind::HttpHandler => "http-handler",
            FileKind::Stage => "stage",
            FileKind::Source => "source",
            FileKind::OtherComponent => "component",
        }
    }

    /// What it is, for a sentence: `a stage`, `a task source`, `a WASI program (command)`...
    pub fn phrase(&self) -> &'static str {
        match self {
            FileKind::NotWasm(_) => "not WebAssembly",
            FileKind::Damaged { .. } => "a damaged WebAssembly component",
            FileKind::CoreModule => "a core WebAssembly module",
            FileKind::Command => "a WASI program (command)",
            FileKind::HttpHandler => "a WASI HTTP handler",
            FileKind::Stage => "a stage",
            FileKind::Source => "a task source",
            FileKind::OtherComponent => {
                "a WebAssembly component that is neither a stage nor a task source"
            }
        }
    }
}

/// The role a component is loaded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A pipeline stage (world `engine:stage/stage`, a workflow stage's `uses:`).
    Stage,
    /// A task source (world `engine:stage/source`, a workflow's `tasks: source:`).
    Source,
}

impl Role {
    /// `stage` or `task source`.
    pub fn noun(self) -> &'static str {
        match self {
            Role::Stage => "stage",
            Role::Source => "task source",
        }
    }
}

/// One import of a component (its outer level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The import's name (`engine:stage/log@0.1.0`, `wasi:io/streams@0.2.6`, `descriptor`).
    pub name: String,
    /// What is imported.
    pub kind: ImportKind,
}

/// What an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// An instance: an interface, which the host provides or not.
    Instance,
    /// A type equal to another of the component's own (`use types.{descriptor}` in a world
    /// imports `descriptor` this way): it needs nothing from the host.
    Type,
    /// Anything else (a bare function, a fresh resource, a module...): this host, which
    /// provides interfaces only, never provides one.
    Other,
}

/// Why a file cannot be loaded in a role, found without compiling it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The file is not a component wasmtime could compile at all (rather than a component
    /// of the wrong kind or version).
    pub not_a_component: bool,
    /// What is wrong, as the rest of a sentence that starts with the file's name: `is a core
    /// WebAssembly module, not a component: ...`.
    pub message: String,
}

/// What [`inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// What the file is.
    pub kind: FileKind,
    /// The component's imports (empty unless it is a component).
    pub imports: Vec<Import>,
    /// The names of the component's exports (empty unless it is a component).
    pub exports: Vec<String>,
}

/// Exports of a stage (world `engine:stage/stage`).
const STAGE_EXPORTS: [&str; 2] = ["describe", "run"];

/// Exports of a task source (world `engine:stage/source`).
const SOURCE_EXPORTS: [&str; 4] = ["describe", "list-tasks", "claim", "update"];

/// Reads what `bytes` are: the header, and for a component its outer imports and exports.
pub fn inspect(bytes: &[u8]) -> Inspection {
    let not_component = |kind| Inspection {
        kind,
        imports: Vec::new(),
        exports: Vec::new(),
    };
    match sniff::header(bytes) {
        sniff::Header::NotWasm(what) => return not_component(FileKind::NotWasm(what)),
        sniff::Header::Module => return not_component(FileKind::CoreModule),
        sniff::Header::Component => {}
    }
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = match payload {
            Ok(payload) => payload,
            Err(e) => {
                return not_component(FileKind::Damaged {
                    reason: format!("{} (at byte {})", e.message(), e.offset()),
                });
            }
        };
        match payload {
            Payload::Version { encoding, .. } => {
                depth += 1;
                if depth == 1 && encoding == Encoding::Module {
                    return not_component(FileKind::CoreModule);
                }
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    match import {
                        Ok(import) => imports.push(Import {
                            name: import.name.name.to_string(),
                            kind: match import.ty {
                                ComponentTypeRef::Instance(_) => ImportKind::Instance,
                                ComponentTypeRef::Type(TypeBounds::Eq(_)) => ImportKind::Type,
                                _ => ImportKind::Other,
                            },
                        }),
                        Err(e) => return damaged(&e),
                    }
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    match export {
                        // Exported types (`export type ...`) are not part of what makes a
                        // world: only functions and instances are.
                        Ok(export) if export.kind != ComponentExternalKind::Type => {
                            exports.push(export.name.name.to_string());
                        }
                        Ok(_) => {}
                        Err(e) => return damaged(&e),
                    }
                }
            }
            _ => {}
        }
    }
    let kind = kind_of(&exports);
    Inspection {
        kind,
        imports,
        exports,
    }
}

fn damaged(e: &wasmparser::BinaryReaderError) -> Inspection {
    Inspection {
        kind: FileKind::Damaged {
            reason: format!("{} (at byte {})", e.message(), e.offset()),
        },
        imports: Vec::new(),
        exports: Vec::new(),
    }
}

/// A component's kind from its export names.
fn kind_of(exports: &[String]) -> FileKind {
    let exports_all = |names: &[&str]| names.iter().all(|n| exports.iter().any(|e| e == n));
    let exports_interface =
        |interface: &str| exports.iter().any(|e| names::unversioned(e) == interface);
    if exports_all(&SOURCE_EXPORTS) {
        FileKind::Source
    } else if exports_all(&STAGE_EXPORTS) {
        FileKind::Stage
    } else if exports_interface("wasi:cli/run") {
        FileKind::Command
    } else if exports_interface("wasi:http/incoming-handler") {
        FileKind::HttpHandler
    } else {
        FileKind::OtherComponent
    }
}

impl Inspection {
    /// The versions of `engine:stage` the component imports from (`0.1.0`), sorted and without
    /// duplicates; empty when it imports nothing from `engine:stage` (or is no component).
    pub fn wit_versions(&self) -> Vec<WitVersion> {
        let mut versions: Vec<WitVersion> = self
            .imports
            .iter()
            .filter_map(|import| names::engine_stage_version(&import.name))
            .collect();
        versions.sort();
        versions.dedup();
        versions
    }

    /// The one version of `engine:stage` the component was built against, when it names
    /// exactly one (the usual case).
    pub fn wit_version(&self) -> Option<WitVersion> {
        let versions = self.wit_versions();
        match versions.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    /// Why the file cannot be loaded as `role`, when that is clear without compiling it: not
    /// WebAssembly, damaged, a core module, a WASI program, the other kind of plugin, or built
    /// against an `engine:stage` version this host does not provide. `None`: it may load (the
    /// host still pre-instantiates it to be sure).
    pub fn refusal(&self, role: Role) -> Option<Refusal> {
        let refuse = |not_a_component: bool, message: String| {
            Some(Refusal {
                not_a_component,
                message,
            })
        };
        match (&self.kind, role) {
            (FileKind::NotWasm(what), _) => {
                return refuse(true, format!("is not a WebAssembly file: it is {what}"));
            }
            (FileKind::Damaged { reason }, _) => {
                return refuse(
                    true,
                    format!(
                        "starts like a WebAssembly component but cannot be read: {reason}; the \
                         file is truncated or corrupt: build or copy it again"
                    ),
                );
            }
            (FileKind::CoreModule, _) => {
                return refuse(
                    true,
                    "is a core WebAssembly module, not a component: build it as a component, \
                     e.g. with cargo --target wasm32-wasip2 / componentize-py / jco \
                     componentize (`engine plugin build` does this)"
                        .to_string(),
                );
            }
            (FileKind::Command, _) => {
                return refuse(
                    false,
                    format!(
                        "is a WASI program (command: it exports wasi:cli/run), not an engine \
                         plugin: {}",
                        role_hint(role)
                    ),
                );
            }
            (FileKind::HttpHandler, _) => {
                return refuse(
                    false,
                    format!(
                        "is a WASI HTTP handler (it exports wasi:http/incoming-handler), not an \
                         engine plugin: {}",
                        role_hint(role)
                    ),
                );
            }
            (FileKind::Source, Role::Stage) => {
                return refuse(
                    false,
                    "is a task source (it exports describe, list-tasks, claim and update), not \
                     a stage: name it in the workflow's `tasks: source:`, not in a stage's \
                     `uses:`"
                        .to_string(),
                );
            }
            (FileKind::Stage, Role::Source) => {
                return refuse(
                    false,
                    "is a stage (it exports describe and run), not a task source: name it in a \
                     stage's `uses:`, not in the workflow's `tasks: source:`"
                        .to_string(),
                );
            }
            (FileKind::OtherComponent, _) => {
                return refuse(
                    false,
                    format!(
                        "is a WebAssembly component but not a {}: {}; {}",
                        role.noun(),
                        role_hint(role),
                        self.exports_phrase()
                    ),
                );
            }
            _ => {}
        }
        if let Some(message) = self.version_refusal() {
            return refuse(false, message);
        }
        None
    }

    /// `is a stage built against engine:stage@0.2.0; this engine provides ...` when the
    /// component imports from an `engine:stage` this host does not provide.
    fn version_refusal(&self) -> Option<String> {
        let host = WitVersion::host();
        let versions = self.wit_versions();
        let foreign = versions.iter().find(|v| !v.loads_on(&host))?;
        let remedy = if foreign.is_newer_than(&host) {
            format!(
                "rebuild it against {} (`engine plugin new` and `engine plugin build` use this \
                 engine's WIT and SDK), or upgrade engine to one that provides \
                 engine:stage@{}",
                host.track(),
                foreign.track()
            )
        } else {
            format!(
                "rebuild it against {} (`engine plugin new` and `engine plugin build` use this \
                 engine's WIT and SDK)",
                host.track()
            )
        };
        Some(format!(
            "is {} built against {}; this engine provides engine:stage@{host}: {remedy}",
            self.kind.phrase(),
            foreign.package()
        ))
    }

    /// For a component of no known kind: what it exports, against what `role` needs.
    pub fn exports_phrase(&self) -> String {
        if self.exports.is_empty() {
            "it exports nothing".to_string()
        } else {
            format!(
                "it exports {}",
                self.exports
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

/// What a plugin of `role` exports, for messages.
pub fn role_hint(role: Role) -> String {
    match role {
        Role::Stage => format!(
            "a stage exports `describe` and `run` (world engine:stage/stage@{HOST_WIT_VERSION}); \
             start from `engine plugin new NAME --lang rust|python|js`"
        ),
        Role::Source => format!(
            "a task source exports `describe`, `list-tasks`, `claim` and `update` (world \
             engine:stage/source@{HOST_WIT_VERSION}); start from `engine plugin new NAME --kind \
             source`"
        ),
    }
}

#[cfg(test)]
mod tests;
