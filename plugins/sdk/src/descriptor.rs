//! What `describe` returns: the WIT `descriptor` record and its parts, with defaults and a
//! builder.

use crate::{Delivery, Descriptor, Permissions, WorkspaceAccess};

/// Not mounted.
impl Default for WorkspaceAccess {
    fn default() -> Self {
        WorkspaceAccess::None
    }
}

/// At-least-once: the stage may run again after a crash and uses the idempotency keys.
impl Default for Delivery {
    fn default() -> Self {
        Delivery::AtLeastOnce
    }
}

/// Nothing: no workspace, no programs, no agent, no hosts.
impl Default for Permissions {
    fn default() -> Self {
        Permissions {
            workspace: WorkspaceAccess::default(),
            exec: Vec::new(),
            agent: false,
            net: Vec::new(),
        }
    }
}

impl Descriptor {
    /// A descriptor that accepts any config (`{}`), needs no permissions and is at-least-once.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        Descriptor {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            config_schema: "{}".to_string(),
            permissions: Permissions::default(),
            delivery: Delivery::default(),
        }
    }

    /// Sets the JSON Schema of the `with:` config.
    #[must_use]
    pub fn config_schema(mut self, schema: &serde_json::Value) -> Self {
        self.config_schema = schema.to_string();
        self
    }

    /// Sets the permissions the stage needs.
    #[must_use]
    pub fn permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = permissions;
        self
    }

    /// Sets the delivery the stage needs.
    #[must_use]
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// The JSON Schema of the config, parsed (`null` when the text is not JSON).
    pub fn config_schema_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.config_schema).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_fills_the_wit_record() {
        let d = Descriptor::new("gate", "1.0.0", "Runs checks")
            .config_schema(&serde_json::json!({"type": "object"}))
            .permissions(Permissions {
                workspace: WorkspaceAccess::Read,
                ..Permissions::default()
            })
            .delivery(Delivery::AtMostOnce);
        assert_eq!(d.config_schema, r#"{"type":"object"}"#);
        assert_eq!(d.config_schema_json()["type"], "object");
        assert_eq!(d.permissions.workspace, WorkspaceAccess::Read);
        assert_eq!(d.delivery, Delivery::AtMostOnce);
        let plain = Descriptor::new("x", "0.1.0", "s");
        assert_eq!(plain.config_schema, "{}");
        assert_eq!(plain.permissions, Permissions::default());
        assert_eq!(plain.delivery, Delivery::AtLeastOnce);
    }
}
