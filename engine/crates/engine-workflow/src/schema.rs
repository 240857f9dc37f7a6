//! The workflow JSON Schema: embedded, compiled once, and applied to a parsed document.

use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value;

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::schema_messages::{SchemaOwner, problems_for};

const WORKFLOW_SCHEMA: &str = include_str!("../schema/workflow.schema.json");

/// The workflow JSON Schema (draft 2020-12), as checked in at
/// `engine/crates/engine-workflow/schema/workflow.schema.json`. Editors use it through the
/// `# yaml-language-server: $schema=...` modeline; `engine schema` prints it.
pub fn schema_json() -> &'static str {
    WORKFLOW_SCHEMA
}

/// The parsed schema document and its compiled validator.
struct CompiledSchema {
    document: Value,
    validator: Validator,
}

/// The embedded schema is broken: a bug of the build, reported as a diagnostic.
#[derive(Debug, thiserror::Error)]
enum BrokenSchema {
    /// Not JSON.
    #[error("the embedded workflow schema is not JSON: {0}")]
    NotJson(serde_json::Error),
    /// JSON, but not a schema the validator compiles.
    #[error("the embedded workflow schema does not compile: {0}")]
    DoesNotCompile(Box<jsonschema::ValidationError<'static>>),
}

fn compiled() -> Result<&'static CompiledSchema, &'static BrokenSchema> {
    static COMPILED: OnceLock<Result<CompiledSchema, BrokenSchema>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let document: Value =
                serde_json::from_str(WORKFLOW_SCHEMA).map_err(BrokenSchema::NotJson)?;
            let validator = jsonschema::draft202012::options()
                .build(&document)
                .map_err(|e| BrokenSchema::DoesNotCompile(Box::new(e)))?;
            Ok(CompiledSchema {
                document,
                validator,
            })
        })
        .as_ref()
}

/// Every way `document` breaks the workflow schema.
pub(crate) fn check(document: &Value) -> Vec<Problem> {
    let schema = match compiled() {
        Ok(schema) => schema,
        Err(message) => {
            return vec![Problem::at(
                FieldPath::root(),
                format!("internal error: {message}"),
            )];
        }
    };
    schema
        .validator
        .iter_errors(document)
        .flat_map(|error| {
            problems_for(
                &error,
                &schema.document,
                document,
                &FieldPath::root(),
                SchemaOwner::Workflow,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_schema_compiles_and_is_described() {
        assert!(compiled().is_ok());
        let document: Value = serde_json::from_str(schema_json()).unwrap();
        assert_eq!(
            document["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert!(document["$id"].is_string());
        assert!(document["title"].is_string());
    }

    /// Editors show descriptions: every declared property must have one.
    #[test]
    fn every_property_has_a_description() {
        fn visit(node: &Value, at: &str, missing: &mut Vec<String>) {
            match node {
                Value::Object(map) => {
                    if let Some(Value::Object(properties)) = map.get("properties") {
                        for (name, property) in properties {
                            // `false` forbids a property (e.g. `needs` in a finally stage).
                            let described = *property == Value::Bool(false)
                                || property.get("description").is_some()
                                || property.get("$ref").is_some_and(|r| {
                                    r.as_str().is_some_and(|r| r.starts_with("#/$defs/"))
                                });
                            let in_condition = at.contains("/if") || at.contains("/then");
                            if !described && !in_condition {
                                missing.push(format!("{at}/properties/{name}"));
                            }
                        }
                    }
                    for (key, child) in map {
                        visit(child, &format!("{at}/{key}"), missing);
                    }
                }
                Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        visit(child, &format!("{at}/{i}"), missing);
                    }
                }
                _ => {}
            }
        }
        let document: Value = serde_json::from_str(schema_json()).unwrap();
        let mut missing = Vec::new();
        visit(&document, "", &mut missing);
        assert!(missing.is_empty(), "no description: {missing:?}");
        for (name, def) in document["$defs"].as_object().unwrap() {
            assert!(def.get("description").is_some(), "$defs/{name}");
        }
    }

    #[test]
    fn minimal_workflow_passes() {
        let doc = json!({"name": "x", "stages": {"a": {"uses": "builtin:gate"}}});
        assert_eq!(check(&doc), Vec::new());
    }

    #[test]
    fn strict_about_unknown_keys() {
        let doc = json!({"name": "x", "stages": {"a": {"uses": "builtin:gate", "neds": []}}});
        let problems = check(&doc);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("unknown field \"neds\""));
    }
}
