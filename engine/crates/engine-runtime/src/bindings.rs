//! Host bindings generated from `wit/stage.wit` (world `stage`) by wasmtime's `bindgen!`, and
//! the conversions between their records and the engine's own types, kept here in one place.
//!
//! A record the engine uses as it is (`run-git`) is the generated type
//! ([`crate::RunGit`]); the engine's types that add rules or serialization
//! ([`engine_core::Permissions`], [`engine_core::Task`]) convert with the `From` impls below.
#![allow(missing_docs, unused_variables)]

wasmtime::component::bindgen!({
    path: "../../../wit",
    world: "stage",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [PartialEq],
    with: {
        "engine:stage/agent.session": crate::agent::SessionSlot,
    },
});

use engine::stage::types as wit;

impl From<wit::WorkspaceAccess> for engine_core::WorkspaceAccess {
    fn from(access: wit::WorkspaceAccess) -> Self {
        match access {
            wit::WorkspaceAccess::None => engine_core::WorkspaceAccess::None,
            wit::WorkspaceAccess::Read => engine_core::WorkspaceAccess::Read,
            wit::WorkspaceAccess::Write => engine_core::WorkspaceAccess::Write,
        }
    }
}

impl From<wit::Permissions> for engine_core::Permissions {
    fn from(p: wit::Permissions) -> Self {
        engine_core::Permissions {
            workspace: p.workspace.into(),
            exec: p.exec,
            agent: p.agent,
            net: p.net,
        }
    }
}

impl From<wit::Delivery> for engine_core::Delivery {
    fn from(delivery: wit::Delivery) -> Self {
        match delivery {
            wit::Delivery::AtLeastOnce => engine_core::Delivery::AtLeastOnce,
            wit::Delivery::AtMostOnce => engine_core::Delivery::AtMostOnce,
        }
    }
}

/// The task as stages see it: the same four fields.
impl From<&engine_core::Task> for wit::Task {
    fn from(task: &engine_core::Task) -> Self {
        wit::Task {
            id: task.id.clone(),
            title: task.title.clone(),
            body: task.body.clone(),
            labels: task.labels.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_convert_field_by_field() {
        let permissions = engine_core::Permissions::from(wit::Permissions {
            workspace: wit::WorkspaceAccess::Read,
            exec: vec!["git".into()],
            agent: true,
            net: vec!["example.com".into()],
        });
        assert_eq!(
            permissions,
            engine_core::Permissions {
                workspace: engine_core::WorkspaceAccess::Read,
                exec: vec!["git".into()],
                agent: true,
                net: vec!["example.com".into()],
            }
        );
        for (raw, host) in [
            (
                wit::WorkspaceAccess::None,
                engine_core::WorkspaceAccess::None,
            ),
            (
                wit::WorkspaceAccess::Write,
                engine_core::WorkspaceAccess::Write,
            ),
        ] {
            assert_eq!(engine_core::WorkspaceAccess::from(raw), host);
        }
        assert_eq!(
            engine_core::Delivery::from(wit::Delivery::AtMostOnce),
            engine_core::Delivery::AtMostOnce
        );
        let task = engine_core::Task {
            id: "T-1".into(),
            title: "t".into(),
            body: "b".into(),
            labels: vec!["l".into()],
        };
        assert_eq!(
            wit::Task::from(&task),
            wit::Task {
                id: "T-1".into(),
                title: "t".into(),
                body: "b".into(),
                labels: vec!["l".into()],
            }
        );
    }
}
