//! The words of schema diagnostics: what patterns mean, how values and types are named.

use jsonschema::JsonType;
use serde_json::Value;

use crate::suggest::closest;

/// What the workflow schema's patterns mean, for "is not ..." messages.
pub(crate) const PATTERN_HINTS: [(&str, &str); 11] = [
    (
        "^[a-z0-9][a-z0-9_-]{0,63}$",
        "a skill name (lower-case letters, digits, '_' or '-', at most 64 characters)",
    ),
    (
        "^[a-z][a-z0-9_-]*$",
        "a valid stage id (a lowercase letter, then lowercase letters, digits, '_' or '-')",
    ),
    (
        "^[A-Za-z_][A-Za-z0-9_]*$",
        "a valid environment variable name (a letter or '_', then letters, digits or '_')",
    ),
    (
        "^\\s*([0-9]+\\s*[A-Za-zµ]+\\s*)+$",
        "a duration (examples: 45m, 10s, 1h 30m, 500ms)",
    ),
    (
        "^\\s*[0-9]+\\s*(B|KiB|MiB|GiB|KB|MB|GB)?\\s*$",
        "a size (a number of bytes, or a number with B, KiB, MiB, GiB, KB, MB or GB, e.g. 64MiB)",
    ),
    (
        "^(builtin:.+|.+\\.wasm)$",
        "\"builtin:NAME\" or a path to a .wasm component",
    ),
    (
        "^(builtin:[a-z][a-z0-9_-]*|[a-z][a-z0-9_-]*|.+\\.wasm)$",
        "the name of a built-in task source (e.g. tasks-md) or a path to a .wasm component",
    ),
    (
        "^[0-9a-f]{64}$",
        "a sha256 digest (64 lowercase hex digits)",
    ),
    ("^[^/\\\\\\s]+$", "a bare program name (no path, no spaces)"),
    (
        "^[A-Za-z0-9.-]+(:[0-9]+)?$",
        "a host name (e.g. hooks.example.com, or host:port)",
    ),
    // Cache names: the stage id's rule, spelled apart so the message names what it is.
    (
        "^[a-z][-a-z0-9_]*$",
        "a valid cache name (a lowercase letter, then lowercase letters, digits, '_' or '-')",
    ),
];

pub(crate) fn unknown_field(name: &str, allowed: &[String]) -> String {
    if allowed.is_empty() {
        return format!("unknown field \"{name}\"");
    }
    let suggestion = closest(name, allowed.iter().map(String::as_str))
        .map(|near| format!("did you mean \"{near}\"? "))
        .unwrap_or_default();
    format!(
        "unknown field \"{name}\" ({suggestion}expected one of: {})",
        allowed.join(", ")
    )
}

pub(crate) fn type_name(kind: JsonType) -> &'static str {
    match kind {
        JsonType::Null => "null",
        JsonType::Boolean => "true or false",
        JsonType::Integer => "an integer",
        JsonType::Number => "a number",
        JsonType::String => "a string",
        JsonType::Array => "a list",
        JsonType::Object => "a mapping",
    }
}

/// A value as it appears in a message: short and typed.
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::Null => "an empty value (null)".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 60 => {
            let head: String = s.chars().take(57).collect();
            format!("the string \"{head}...\"")
        }
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

/// An enum choice as written in YAML (strings unquoted).
pub(crate) fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workflow_pattern_has_a_hint() {
        fn patterns(node: &Value, in_condition: bool, out: &mut Vec<String>) {
            match node {
                Value::Object(map) => {
                    for (key, child) in map {
                        if key == "pattern" && !in_condition {
                            out.push(child.as_str().unwrap().to_string());
                        }
                        patterns(child, in_condition || key == "if", out);
                    }
                }
                Value::Array(items) => items.iter().for_each(|i| patterns(i, in_condition, out)),
                _ => {}
            }
        }
        let schema: Value = serde_json::from_str(crate::schema_json()).unwrap();
        let mut found = Vec::new();
        patterns(&schema, false, &mut found);
        assert!(found.len() >= 8);
        for pattern in found {
            assert!(
                PATTERN_HINTS.iter().any(|(p, _)| *p == pattern),
                "no hint for {pattern}"
            );
        }
    }
}
