//! Turning `jsonschema` validation errors into [`Problem`]s with messages a person can act on.
//! Used for the workflow schema and for plugins' config schemas (errors inside `with:`).

use std::fmt::Write as _;

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::suggest::closest;
use crate::wording::{PATTERN_HINTS, plain, show, type_name, unknown_field};

/// Whose schema produced an error: the workflow schema gets tailored hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemaOwner {
    /// The engine's workflow schema.
    Workflow,
    /// A plugin's config schema (applied to a stage's `with:`).
    Plugin,
}

/// The problems one validation error stands for. `instance` is the validated document and
/// `base` its path in the workflow (root for the workflow itself, `stages.X.with` for a config).
pub(crate) fn problems_for(
    error: &ValidationError<'_>,
    schema: &Value,
    instance: &Value,
    base: &FieldPath,
    owner: SchemaOwner,
) -> Vec<Problem> {
    let path = base.join(&FieldPath::from_pointer(
        error.instance_path().as_str(),
        instance,
    ));
    let value = error.instance().as_ref();
    let context = Context {
        schema,
        schema_path: error.schema_path().as_str(),
        owner,
    };
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let allowed = context.allowed_properties();
            unexpected
                .iter()
                .map(|name| {
                    Problem::at_key(path.clone(), path.key(name), unknown_field(name, &allowed))
                })
                .collect()
        }
        ValidationErrorKind::PropertyNames { error: inner } => {
            let name = inner.instance().as_str().unwrap_or_default().to_string();
            let inner_context = Context {
                schema_path: inner.schema_path().as_str(),
                ..context
            };
            let message = match inner.kind() {
                ValidationErrorKind::Pattern { pattern } => {
                    inner_context.not_matching(&name, pattern)
                }
                other => format!(
                    "key \"{name}\": {}",
                    inner_context.describe(other, inner.instance().as_ref(), &path)
                ),
            };
            vec![Problem::at_key(path.clone(), path.key(&name), message)]
        }
        ValidationErrorKind::UniqueItems => {
            let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
            let repeated = (1..items.len()).find(|&j| items[..j].contains(&items[j]));
            match repeated {
                Some(j) => vec![Problem::at(
                    path.index(j),
                    format!("{} is listed more than once", show(&items[j])),
                )],
                None => vec![Problem::at(path, "has duplicate entries")],
            }
        }
        ValidationErrorKind::FalseSchema
            if owner == SchemaOwner::Workflow && path.last_key() == Some("sha256") =>
        {
            vec![Problem::at(
                path,
                "sha256 is only for .wasm path plugins; remove it (builtin stages ship inside engine)",
            )]
        }
        ValidationErrorKind::FalseSchema
            if owner == SchemaOwner::Workflow && is_finally_field(&path) =>
        {
            let message = if path.last_key() == Some("needs") {
                "a finally stage has no needs: it runs once the run has ended, after every stage"
            } else {
                "a finally stage has no on_failure: its failure is recorded but never changes \
                 the run's outcome"
            };
            vec![Problem::at(path, message)]
        }
        kind => {
            let message = context.describe(kind, value, &path);
            vec![Problem::at(path, message)]
        }
    }
}

/// Whether `path` is `finally.<id>.needs` or `finally.<id>.on_failure`.
fn is_finally_field(path: &FieldPath) -> bool {
    path.first_key() == Some("finally") && matches!(path.last_key(), Some("needs" | "on_failure"))
}

/// Where in which schema an error was raised.
#[derive(Clone, Copy)]
struct Context<'a> {
    schema: &'a Value,
    schema_path: &'a str,
    owner: SchemaOwner,
}

impl Context<'_> {
    /// The schema node holding the keyword that failed.
    fn keyword_parent(&self) -> Option<&Value> {
        let parent = self.schema_path.rsplit_once('/').map_or("", |(p, _)| p);
        self.schema.pointer(parent)
    }

    fn allowed_properties(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .keyword_parent()
            .and_then(|node| node.get("properties"))
            .and_then(Value::as_object)
            .map(|properties| properties.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    fn not_matching(&self, text: &str, pattern: &str) -> String {
        let hint = match self.owner {
            SchemaOwner::Workflow => PATTERN_HINTS
                .iter()
                .find(|(known, _)| *known == pattern)
                .map(|(_, hint)| *hint),
            SchemaOwner::Plugin => None,
        };
        match hint {
            Some(hint) => format!("\"{text}\" is not {hint}"),
            None => format!("\"{text}\" does not match the pattern {pattern}"),
        }
    }

    /// A short hint from a `$defs` entry of the workflow schema that has a pattern.
    fn definition_hint(&self) -> Option<String> {
        if self.owner != SchemaOwner::Workflow || !self.schema_path.starts_with("/$defs/") {
            return None;
        }
        let node = self.keyword_parent()?;
        node.get("pattern")?;
        let description = node.get("description")?.as_str()?;
        let mut hint = description.trim_end_matches('.').to_string();
        if let Some(first) = hint.get(..1) {
            hint.replace_range(..1, &first.to_lowercase());
        }
        Some(hint)
    }

    fn describe(&self, kind: &ValidationErrorKind, value: &Value, path: &FieldPath) -> String {
        match kind {
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(one) => type_name(*one).to_string(),
                    TypeKind::Multiple(set) => {
                        let names: Vec<&str> = set.iter().map(type_name).collect();
                        names.join(" or ")
                    }
                };
                let mut message = format!("expected {expected}, got {}", show(value));
                if let Some(hint) = self.definition_hint() {
                    let _ = write!(message, " ({hint})");
                }
                message
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                if self.owner == SchemaOwner::Workflow && name == "sha256" {
                    "missing required field \"sha256\": a .wasm plugin must be pinned by the \
                     sha256 of its file (64 lowercase hex digits, e.g. from `sha256sum`)"
                        .to_string()
                } else {
                    format!("missing required field \"{name}\"")
                }
            }
            ValidationErrorKind::Enum { options } => {
                let choices: Vec<String> = options
                    .as_array()
                    .map(|all| all.iter().map(plain).collect())
                    .unwrap_or_default();
                let mut message = format!(
                    "must be one of: {} (got {}",
                    choices.join(", "),
                    show(value)
                );
                if let Some(text) = value.as_str()
                    && let Some(near) = closest(text, choices.iter().map(String::as_str))
                {
                    let _ = write!(message, "; did you mean \"{near}\"?");
                }
                message.push(')');
                message
            }
            ValidationErrorKind::Constant { expected_value } => {
                format!("must be {}", show(expected_value))
            }
            ValidationErrorKind::Pattern { pattern } => {
                let text = value.as_str().unwrap_or_default();
                let mut message = self.not_matching(text, pattern);
                let is_uses =
                    self.owner == SchemaOwner::Workflow && path.last_key() == Some("uses");
                if is_uses && crate::resolve::is_identifier(text) {
                    let _ = write!(message, " (did you mean \"builtin:{text}\"?)");
                }
                message
            }
            ValidationErrorKind::Minimum { limit } => {
                format!("must be at least {limit} (got {})", show(value))
            }
            ValidationErrorKind::Maximum { limit } => {
                format!("must be at most {limit} (got {})", show(value))
            }
            ValidationErrorKind::ExclusiveMinimum { limit } => {
                format!("must be greater than {limit} (got {})", show(value))
            }
            ValidationErrorKind::ExclusiveMaximum { limit } => {
                format!("must be less than {limit} (got {})", show(value))
            }
            ValidationErrorKind::MinLength { limit: 1 } => "must not be empty".to_string(),
            ValidationErrorKind::MinLength { limit } => {
                format!("must be at least {limit} characters long")
            }
            ValidationErrorKind::MaxLength { limit } => {
                format!("must be at most {limit} characters long")
            }
            ValidationErrorKind::MinProperties { .. }
                if self.owner == SchemaOwner::Workflow && path.to_string() == "stages" =>
            {
                "at least one stage is required".to_string()
            }
            ValidationErrorKind::MinItems { limit: 1 }
            | ValidationErrorKind::MinProperties { limit: 1 } => "must not be empty".to_string(),
            ValidationErrorKind::MinItems { limit }
            | ValidationErrorKind::MinProperties { limit } => {
                format!("must have at least {limit} entries")
            }
            ValidationErrorKind::MaxItems { limit }
            | ValidationErrorKind::MaxProperties { limit } => {
                format!("must have at most {limit} entries")
            }
            ValidationErrorKind::FalseSchema => "this field is not allowed here".to_string(),
            ValidationErrorKind::Format { format } => {
                format!("{} is not a valid {format}", show(value))
            }
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => {
                let branches: Vec<String> = context
                    .iter()
                    .filter_map(|branch| branch.first())
                    .map(|e| {
                        let nested = Context {
                            schema_path: e.schema_path().as_str(),
                            ..*self
                        };
                        nested.describe(e.kind(), e.instance().as_ref(), path)
                    })
                    .collect();
                if branches.is_empty() {
                    "does not match any of the allowed forms".to_string()
                } else {
                    format!(
                        "does not match any of the allowed forms: {}",
                        branches.join("; or ")
                    )
                }
            }
            ValidationErrorKind::OneOfMultipleValid { .. } => {
                "matches more than one of the allowed forms (it must match exactly one)".to_string()
            }
            ValidationErrorKind::Not { .. } => {
                "is not allowed here (it matches a forbidden form)".to_string()
            }
            other => format!(
                "does not satisfy the schema keyword \"{}\"",
                other.keyword()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(schema: &Value, instance: &Value) -> Vec<(String, String)> {
        let validator = jsonschema::validator_for(schema).unwrap();
        validator
            .iter_errors(instance)
            .flat_map(|e| {
                problems_for(
                    &e,
                    schema,
                    instance,
                    &FieldPath::keys(&["with"]),
                    SchemaOwner::Plugin,
                )
            })
            .map(|p| (p.field.to_string(), p.message))
            .collect()
    }

    #[test]
    fn unknown_field_lists_choices_and_suggests() {
        let schema = json!({"type": "object", "additionalProperties": false,
            "properties": {"commands": {}, "cwd": {}}});
        assert_eq!(
            messages(&schema, &json!({"comands": 1})),
            vec![("with".to_string(), "unknown field \"comands\" (did you mean \"commands\"? expected one of: commands, cwd)".to_string())]
        );
    }

    #[test]
    fn type_enum_and_range_messages() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "string"}, "b": {"enum": ["read", "write"]},
            "c": {"type": "integer", "minimum": 1}, "d": {"type": "array", "items": {"type": "string"}}}});
        let found = messages(
            &schema,
            &json!({"a": 3, "b": "wirte", "c": 0, "d": ["x", 2]}),
        );
        assert_eq!(
            found,
            vec![
                ("with.a".to_string(), "expected a string, got the number 3".to_string()),
                ("with.b".to_string(), "must be one of: read, write (got the string \"wirte\"; did you mean \"write\"?)".to_string()),
                ("with.c".to_string(), "must be at least 1 (got the number 0)".to_string()),
                ("with.d[1]".to_string(), "expected a string, got the number 2".to_string()),
            ]
        );
    }

    #[test]
    fn duplicates_point_at_the_repeat() {
        let schema = json!({"type": "array", "uniqueItems": true});
        assert_eq!(
            messages(&schema, &json!(["a", "b", "a"])),
            vec![(
                "with[2]".to_string(),
                "the string \"a\" is listed more than once".to_string()
            )]
        );
    }

    #[test]
    fn any_of_lists_branches() {
        let schema = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
        let found = messages(&schema, &json!(true));
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .1
                .contains("expected a string, got true; or expected an integer"),
            "{found:?}"
        );
    }
}
