//! What a stage says about itself in `describe`, converted from the WIT record.

use engine_core::{Delivery, Permissions, WorkspaceAccess};

use crate::bindings::engine::stage::types as wit;

/// What a stage says about itself in `describe`.
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    /// Short name, e.g. `gate`.
    pub name: String,
    /// The stage's own version.
    pub version: String,
    /// One line saying what it does.
    pub summary: String,
    /// JSON Schema of its `with:` config.
    pub config_schema: serde_json::Value,
    /// The permissions it needs.
    pub permissions: Permissions,
    /// The delivery it needs.
    pub delivery: Delivery,
}

/// Checks and converts the WIT descriptor: the config schema must be JSON (an object or a
/// boolean schema; empty means `{}`) and the name must not be empty.
pub(crate) fn descriptor_from_wit(raw: wit::Descriptor) -> Result<Descriptor, String> {
    let schema_text = raw.config_schema.trim();
    let config_schema = if schema_text.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str::<serde_json::Value>(schema_text)
            .map_err(|e| format!("config-schema is not JSON: {e}"))?
    };
    if !config_schema.is_object() && !config_schema.is_boolean() {
        return Err("config-schema must be a JSON object (or a boolean schema)".to_string());
    }
    if raw.name.trim().is_empty() {
        return Err("name is empty".to_string());
    }
    Ok(Descriptor {
        name: raw.name,
        version: raw.version,
        summary: raw.summary,
        config_schema,
        permissions: Permissions {
            workspace: match raw.permissions.workspace {
                wit::WorkspaceAccess::None => WorkspaceAccess::None,
                wit::WorkspaceAccess::Read => WorkspaceAccess::Read,
                wit::WorkspaceAccess::Write => WorkspaceAccess::Write,
            },
            exec: raw.permissions.exec,
            agent: raw.permissions.agent,
            net: raw.permissions.net,
        },
        delivery: match raw.delivery {
            wit::Delivery::AtLeastOnce => Delivery::AtLeastOnce,
            wit::Delivery::AtMostOnce => Delivery::AtMostOnce,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(schema: &str, name: &str) -> wit::Descriptor {
        wit::Descriptor {
            name: name.into(),
            version: "1.0.0".into(),
            summary: "s".into(),
            config_schema: schema.into(),
            permissions: wit::Permissions {
                workspace: wit::WorkspaceAccess::Write,
                exec: vec!["git".into()],
                agent: true,
                net: vec![],
            },
            delivery: wit::Delivery::AtMostOnce,
        }
    }

    #[test]
    fn descriptors_are_converted_and_checked() {
        let d = descriptor_from_wit(raw(r#"{"type":"object"}"#, "x")).unwrap();
        assert_eq!(d.config_schema, serde_json::json!({"type": "object"}));
        assert_eq!(d.permissions.workspace, WorkspaceAccess::Write);
        assert_eq!(d.permissions.exec, vec!["git".to_string()]);
        assert!(d.permissions.agent);
        assert_eq!(d.delivery, Delivery::AtMostOnce);
        assert_eq!(
            descriptor_from_wit(raw("", "x")).unwrap().config_schema,
            serde_json::json!({})
        );
        assert!(descriptor_from_wit(raw("{", "x")).is_err());
        assert!(descriptor_from_wit(raw("[1]", "x")).is_err());
        assert!(descriptor_from_wit(raw("{}", " ")).is_err());
    }
}
