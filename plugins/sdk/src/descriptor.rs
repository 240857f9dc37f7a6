//! What `describe` returns: who the stage is and what it needs.

/// How a stage may use the run's worktree, mounted at `/workspace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum WorkspaceAccess {
    /// Not mounted.
    #[default]
    None,
    /// Mounted read-only.
    Read,
    /// Mounted read-write.
    Write,
}

/// What a stage needs from the host. The workflow must grant at least this.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions {
    /// Access to the worktree.
    pub workspace: WorkspaceAccess,
    /// Programs the stage runs through [`crate::exec`] (bare names such as `cargo`).
    pub exec: Vec<String>,
    /// Whether the stage starts agent sessions.
    pub agent: bool,
    /// Hosts the stage sends HTTP requests to.
    pub net: Vec<String>,
}

/// How often the stage's effects may happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// The stage may run again after a crash; it uses the idempotency keys to act once.
    #[default]
    AtLeastOnce,
    /// After a crash the next attempt has `interrupted` set and must reconcile first.
    AtMostOnce,
}

/// Who the stage is and what it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    /// Short name, e.g. `gate`.
    pub name: String,
    /// The stage's own version (semver).
    pub version: String,
    /// One line saying what the stage does.
    pub summary: String,
    /// JSON Schema of the `with:` config; `{}` accepts anything.
    pub config_schema: serde_json::Value,
    /// The permissions the stage needs.
    pub permissions: Permissions,
    /// The delivery the stage needs.
    pub delivery: Delivery,
}

impl Descriptor {
    /// A descriptor that accepts any config, needs no permissions and is at-least-once.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        Descriptor {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            config_schema: serde_json::json!({}),
            permissions: Permissions::default(),
            delivery: Delivery::default(),
        }
    }

    /// Sets the JSON Schema of the config.
    pub fn config_schema(mut self, schema: serde_json::Value) -> Self {
        self.config_schema = schema;
        self
    }

    /// Sets the permissions the stage needs.
    pub fn permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = permissions;
        self
    }

    /// Sets the delivery the stage needs.
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }
}
