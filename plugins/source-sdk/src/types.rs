//! Extensions of the generated `source-types` records: a descriptor builder, status names,
//! constructors and messages for people.

use serde::{Serialize, Serializer};

use engine_stage_sdk::Permissions;

use crate::{Diagnostic, Location, SourceDescriptor, SourceError, TaskList, TaskStatus};

impl SourceDescriptor {
    /// A descriptor that accepts any config (`{}`) and needs no permissions.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        SourceDescriptor {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            config_schema: "{}".to_string(),
            permissions: Permissions::default(),
        }
    }

    /// Sets the JSON Schema of the config (the workflow's `tasks:` mapping without `source`,
    /// `sha256` and `permissions`).
    #[must_use]
    pub fn config_schema(mut self, schema: &serde_json::Value) -> Self {
        self.config_schema = schema.to_string();
        self
    }

    /// Sets the permissions the source needs.
    #[must_use]
    pub fn permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = permissions;
        self
    }

    /// The JSON Schema of the config, parsed (`null` when the text is not JSON).
    pub fn config_schema_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.config_schema).unwrap_or(serde_json::Value::Null)
    }
}

impl TaskStatus {
    /// `todo`, `in_progress`, `done` or `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
            TaskStatus::Blocked => "blocked",
        }
    }
}

/// As its snake-case name ([`TaskStatus::as_str`]).
impl Serialize for TaskStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Location {
    /// A line of a file.
    pub fn line(file: impl Into<String>, line: u32) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
        }
    }
}

/// `file:line`, or the file alone.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

impl Diagnostic {
    /// A problem at a place.
    pub fn at(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            location: Some(location),
            message: message.into(),
        }
    }
}

/// `location: message`, or the message alone.
impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// No tasks, no warnings.
impl Default for TaskList {
    fn default() -> Self {
        TaskList {
            tasks: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl SourceError {
    /// The error for people: the message, or every diagnostic on a line of its own
    /// (wit-bindgen's `Display` is the `Debug` form).
    pub fn text(&self) -> String {
        match self {
            SourceError::Malformed(diagnostics) => {
                let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
                lines.join("\n")
            }
            SourceError::InvalidConfig(m)
            | SourceError::NotFound(m)
            | SourceError::Conflict(m)
            | SourceError::Unsupported(m)
            | SourceError::Unavailable(m)
            | SourceError::Failed(m) => m.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_serialize_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&TaskStatus::InProgress).unwrap(),
            r#""in_progress""#
        );
        assert_eq!(TaskStatus::Blocked.as_str(), "blocked");
    }

    #[test]
    fn locations_diagnostics_and_errors_read_like_compiler_messages() {
        let at = Location::line("spec/tasks.md", 12);
        assert_eq!(at.to_string(), "spec/tasks.md:12");
        let d = Diagnostic::at(at, "duplicate id");
        assert_eq!(d.to_string(), "spec/tasks.md:12: duplicate id");
        let e = SourceError::Malformed(vec![
            d,
            Diagnostic {
                location: None,
                message: "x".into(),
            },
        ]);
        assert_eq!(e.text(), "spec/tasks.md:12: duplicate id\nx");
        assert_eq!(SourceError::Conflict("taken".into()).text(), "taken");
    }

    #[test]
    fn the_descriptor_builder_fills_the_wit_record() {
        let d = SourceDescriptor::new("tasks-md", "1.0.0", "tasks.md files")
            .config_schema(&serde_json::json!({"type": "object"}));
        assert_eq!(d.config_schema_json()["type"], "object");
        assert_eq!(d.permissions, Permissions::default());
        assert_eq!(TaskList::default().tasks.len(), 0);
    }
}
