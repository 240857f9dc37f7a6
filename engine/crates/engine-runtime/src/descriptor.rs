//! What a component says about itself in `describe`, checked and converted from the WIT
//! records: [`Descriptor`] for a stage, [`crate::SourceDescriptor`] for a task source. Both go
//! through [`checked_config_schema`], the one check of what they share.

use engine_core::{Delivery, Permissions};

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

/// Why a `describe` answer was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DescriptorError {
    /// The config schema does not parse.
    #[error("config-schema is not JSON: {0}")]
    SchemaNotJson(#[source] serde_json::Error),
    /// The config schema is JSON but neither an object nor a boolean.
    #[error("config-schema must be a JSON object (or a boolean schema)")]
    SchemaNotASchema,
    /// The name is empty or blank.
    #[error("name is empty")]
    EmptyName,
}

/// The check every `describe` answer gets, a stage's `descriptor` or a task source's
/// `source-descriptor`: the config schema must be JSON (an object or a boolean schema; empty
/// means `{}`) and the name must not be empty. Returns the parsed schema. (Their permissions
/// convert with `From`, in [`crate::bindings`].)
pub(crate) fn checked_config_schema(
    name: &str,
    config_schema: &str,
) -> Result<serde_json::Value, DescriptorError> {
    let schema_text = config_schema.trim();
    let schema = if schema_text.is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str::<serde_json::Value>(schema_text)
            .map_err(DescriptorError::SchemaNotJson)?
    };
    if !schema.is_object() && !schema.is_boolean() {
        return Err(DescriptorError::SchemaNotASchema);
    }
    if name.trim().is_empty() {
        return Err(DescriptorError::EmptyName);
    }
    Ok(schema)
}

impl Descriptor {
    /// Checks the stage's answer ([`checked_config_schema`]) and converts it.
    pub(crate) fn from_wit(raw: wit::Descriptor) -> Result<Self, DescriptorError> {
        Ok(Descriptor {
            config_schema: checked_config_schema(&raw.name, &raw.config_schema)?,
            name: raw.name,
            version: raw.version,
            summary: raw.summary,
            permissions: raw.permissions.into(),
            delivery: raw.delivery.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::WorkspaceAccess;

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
        let d = Descriptor::from_wit(raw(r#"{"type":"object"}"#, "x")).unwrap();
        assert_eq!(d.config_schema, serde_json::json!({"type": "object"}));
        assert_eq!(d.permissions.workspace, WorkspaceAccess::Write);
        assert_eq!(d.permissions.exec, vec!["git".to_string()]);
        assert!(d.permissions.agent);
        assert_eq!(d.delivery, Delivery::AtMostOnce);
        assert_eq!(
            Descriptor::from_wit(raw("", "x")).unwrap().config_schema,
            serde_json::json!({})
        );
        assert!(Descriptor::from_wit(raw("true", "x")).is_ok());
        let refused = |schema: &str, name: &str| {
            Descriptor::from_wit(raw(schema, name))
                .unwrap_err()
                .to_string()
        };
        assert!(refused("{", "x").starts_with("config-schema is not JSON: "));
        assert_eq!(
            refused("[1]", "x"),
            "config-schema must be a JSON object (or a boolean schema)"
        );
        assert_eq!(refused("{}", " "), "name is empty");
    }
}
