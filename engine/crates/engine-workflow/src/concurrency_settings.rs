//! The workflow's `concurrency:` section: how many runs of a group the engine process holding
//! the repository's state directory drives at once. Runs of every workflow naming the same
//! `group` share its `limit`; the group defaults to the workflow's `name`.
//!
//! ```yaml
//! concurrency:
//!   group: merges
//!   limit: 1
//! ```

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::wording::show;

/// The smallest `concurrency.limit`.
pub const MIN_CONCURRENCY_LIMIT: u32 = 1;

/// The largest `concurrency.limit`.
pub const MAX_CONCURRENCY_LIMIT: u32 = 256;

/// The longest `concurrency.group`, in characters.
pub const MAX_CONCURRENCY_GROUP_CHARS: usize = 100;

/// What `concurrency:` says, the group resolved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Concurrency {
    /// The group whose runs share the limit: `concurrency.group` with surrounding whitespace
    /// removed (non-empty, at most [`MAX_CONCURRENCY_GROUP_CHARS`] characters, no control
    /// characters), or the workflow's `name` when the section gives none.
    pub group: String,
    /// At most this many runs of the group are driven at once
    /// ([`MIN_CONCURRENCY_LIMIT`]..=[`MAX_CONCURRENCY_LIMIT`]).
    pub limit: u32,
}

/// Reads `concurrency:`; `None` when the section is absent or broken. Value problems go to
/// `problems` (types, the limit's range and unknown keys are also the schema's, whose message
/// wins for the same field).
pub(crate) fn read_concurrency(
    root: &Map<String, Value>,
    problems: &mut Vec<Problem>,
) -> Option<Concurrency> {
    let section = root.get("concurrency")?.as_object()?;
    let path = FieldPath::keys(&["concurrency"]);
    let group = match section.get("group") {
        None => root.get("name").and_then(Value::as_str).map(str::to_string),
        Some(value) => {
            let text = value.as_str()?;
            match check_group(text) {
                Ok(group) => Some(group.to_string()),
                Err(message) => {
                    problems.push(Problem::at(path.key("group"), message));
                    None
                }
            }
        }
    };
    let limit = match section.get("limit") {
        None => {
            problems.push(Problem::at(
                path.clone(),
                "missing required field \"limit\": how many runs of the group may go on at once \
                 (e.g. `limit: 1`)",
            ));
            None
        }
        Some(value) => match read_limit(value) {
            Ok(limit) => Some(limit),
            Err(message) => {
                problems.push(Problem::at(path.key("limit"), message));
                None
            }
        },
    };
    Some(Concurrency {
        group: group?,
        limit: limit?,
    })
}

/// The group as it is used: `text` trimmed, when it is a usable group name.
fn check_group(text: &str) -> Result<&str, String> {
    let group = text.trim();
    if group.is_empty() {
        return Err(
            "must not be empty: name the group whose runs share the limit (e.g. `merges`), or \
             leave `group` out to use the workflow's name"
                .to_string(),
        );
    }
    if group.chars().count() > MAX_CONCURRENCY_GROUP_CHARS {
        return Err(format!(
            "must be at most {MAX_CONCURRENCY_GROUP_CHARS} characters long"
        ));
    }
    if let Some(c) = group.chars().find(|c| c.is_control()) {
        return Err(format!(
            "must not contain control characters (found {})",
            c.escape_unicode()
        ));
    }
    Ok(group)
}

/// A whole number in range; the message otherwise.
fn read_limit(value: &Value) -> Result<u32, String> {
    let range = || {
        format!(
            "must be a whole number from {MIN_CONCURRENCY_LIMIT} to {MAX_CONCURRENCY_LIMIT} \
             (got {})",
            show(value)
        )
    };
    // `2.0` is an integer to JSON Schema: a float is read through its shortest text ("2").
    let number = match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64()?.to_string().parse().ok())
            .ok_or_else(range)?,
        _ => return Err(range()),
    };
    u32::try_from(number)
        .ok()
        .filter(|n| (MIN_CONCURRENCY_LIMIT..=MAX_CONCURRENCY_LIMIT).contains(n))
        .ok_or_else(range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const STAGES: &str = "stages:\n  only:\n    uses: builtin:gate\n";

    fn load(section: &str) -> Result<Option<Concurrency>, String> {
        let source = format!("name: nightly\n{section}{STAGES}");
        crate::load_str("wf.yaml", Path::new("."), &source)
            .map(|loaded| loaded.concurrency)
            .map_err(|diagnostics| diagnostics.to_string())
    }

    #[test]
    fn absent_section_is_none() {
        assert_eq!(load(""), Ok(None));
    }

    #[test]
    fn group_defaults_to_the_workflow_name() {
        assert_eq!(
            load("concurrency:\n  limit: 2\n"),
            Ok(Some(Concurrency {
                group: "nightly".into(),
                limit: 2
            }))
        );
        assert_eq!(
            load("concurrency:\n  group: \" merges \"\n  limit: 256\n"),
            Ok(Some(Concurrency {
                group: "merges".into(),
                limit: 256
            }))
        );
        assert_eq!(
            load("concurrency: {group: merges, limit: 1.0}\n"),
            Ok(Some(Concurrency {
                group: "merges".into(),
                limit: 1
            }))
        );
    }

    #[test]
    fn bad_limits_are_located() {
        for (value, expected) in [
            (
                "0",
                "wf.yaml:3:10: concurrency.limit: must be at least 1 (got the number 0)",
            ),
            (
                "257",
                "wf.yaml:3:10: concurrency.limit: must be at most 256 (got the number 257)",
            ),
            (
                "two",
                "wf.yaml:3:10: concurrency.limit: expected an integer, got the string \"two\"",
            ),
            (
                "1.5",
                "wf.yaml:3:10: concurrency.limit: expected an integer, got the number 1.5",
            ),
        ] {
            let section = format!("concurrency:\n  limit: {value}\n");
            assert_eq!(load(&section), Err(expected.to_string()), "{value}");
        }
    }

    #[test]
    fn bad_groups_are_located() {
        for (value, expected) in [
            ("\"\"", "must not be empty"),
            ("\"  \"", "must not be empty: name the group"),
            (
                "\"a\\tb\"",
                "must not contain control characters (found \\u{9})",
            ),
            (
                "\"a\\u0007\"",
                "must not contain control characters (found \\u{7})",
            ),
        ] {
            let section = format!("concurrency:\n  group: {value}\n  limit: 1\n");
            let text = load(&section).unwrap_err();
            let head = "wf.yaml:3:10: concurrency.group: ";
            assert!(
                text.starts_with(head) && text.contains(expected),
                "{value}: {text}"
            );
        }
        let long = format!("concurrency:\n  group: {}\n  limit: 1\n", "g".repeat(101));
        assert_eq!(
            load(&long),
            Err("wf.yaml:3:10: concurrency.group: must be at most 100 characters long".into())
        );
        let exactly = format!("concurrency:\n  group: {}\n  limit: 1\n", "g".repeat(100));
        assert!(load(&exactly).is_ok());
    }

    #[test]
    fn unknown_keys_and_a_missing_limit_are_rejected() {
        let text = load("concurrency: {limt: 2}\n").unwrap_err();
        assert!(
            text.contains(
                "wf.yaml:2:15: concurrency: unknown field \"limt\" (did you mean \"limit\"? \
                 expected one of: group, limit)"
            ),
            "{text}"
        );
        assert!(
            text.contains("concurrency: missing required field \"limit\""),
            "{text}"
        );
        let text = load("concurrency: 3\n").unwrap_err();
        assert_eq!(
            text,
            "wf.yaml:2:14: concurrency: expected a mapping, got the number 3"
        );
    }

    #[test]
    fn the_reader_checks_values_without_the_schema() {
        let mut problems = Vec::new();
        let root = serde_json::json!({"name": "n", "concurrency": {"limit": 300}});
        assert_eq!(
            read_concurrency(root.as_object().unwrap(), &mut problems),
            None
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field.to_string(), "concurrency.limit");
        let root = serde_json::json!({"name": "n", "concurrency": {"group": "x"}});
        problems.clear();
        assert_eq!(
            read_concurrency(root.as_object().unwrap(), &mut problems),
            None
        );
        assert!(
            problems[0]
                .message
                .starts_with("missing required field \"limit\"")
        );
    }
}
