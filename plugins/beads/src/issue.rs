//! Beads issues as `bd ... --json` prints them and as `.beads/issues.jsonl` stores them.
//!
//! Reading is lenient: every field but `id` may be missing or `null` (bd leaves empty fields
//! out), unknown fields are ignored, and a dependency may be a record of the export
//! (`{issue_id, depends_on_id, type}`) or an issue of `bd show` (`{id, ..., dependency_type}`).
//! `bd` output may be wrapped in the envelope `BD_JSON_ENVELOPE=1` asks for
//! (`{"schema_version": 1, "data": ...}`); both shapes are accepted.

use engine_source_sdk::{Diagnostic, Location, SourceError};
use serde::Deserialize;
use serde_json::Value;

/// One Beads issue.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Issue {
    /// `bd-a1b2`, children `bd-a1b2.1`.
    pub id: String,
    /// One-line title.
    #[serde(default)]
    pub title: Option<String>,
    /// Markdown description.
    #[serde(default)]
    pub description: Option<String>,
    /// Design notes.
    #[serde(default)]
    pub design: Option<String>,
    /// Acceptance criteria.
    #[serde(default)]
    pub acceptance_criteria: Option<String>,
    /// Free-form notes.
    #[serde(default)]
    pub notes: Option<String>,
    /// `open`, `in_progress`, `blocked`, `deferred`, `closed`, `tombstone`, or a custom one.
    #[serde(default)]
    pub status: Option<String>,
    /// 0 (highest) to 4.
    #[serde(default)]
    pub priority: Option<i64>,
    /// `bug`, `feature`, `task`, `epic`, `chore`...
    #[serde(default)]
    pub issue_type: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Who holds it.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Why it was closed.
    #[serde(default)]
    pub close_reason: Option<String>,
    /// Not ready before this time (RFC 3339).
    #[serde(default)]
    pub defer_until: Option<String>,
    /// A reference in another tracker (`gh-12`).
    #[serde(default)]
    pub external_ref: Option<String>,
    /// Estimate in minutes.
    #[serde(default)]
    pub estimated_minutes: Option<i64>,
    /// The parent's id, where bd reports it as a field.
    #[serde(default)]
    pub parent: Option<String>,
    /// What it depends on; `None` when bd did not say.
    #[serde(default)]
    pub dependencies: Option<Vec<Dependency>>,
    /// How many issues it depends on (`bd list --json`).
    #[serde(default)]
    pub dependency_count: Option<i64>,
}

/// One dependency of an issue.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Dependency {
    /// The issue that depends (export records).
    #[serde(default)]
    pub issue_id: Option<String>,
    /// The issue depended on (export records).
    #[serde(default)]
    pub depends_on_id: Option<String>,
    /// The issue depended on (`bd show`, which embeds the issue).
    #[serde(default)]
    pub id: Option<String>,
    /// The type (export records): `blocks`, `parent-child`, `related`...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The type (`bd show`).
    #[serde(default)]
    pub dependency_type: Option<String>,
    /// JSON metadata (a string holding JSON, or an object): the gate of `waits-for`.
    #[serde(default)]
    pub metadata: Option<Value>,
}

impl Dependency {
    /// The id depended on.
    pub fn target(&self) -> Option<&str> {
        self.depends_on_id
            .as_deref()
            .or(self.id.as_deref())
            .filter(|t| !t.is_empty())
    }

    /// The dependency type; `blocks` when bd does not say (its default).
    pub fn kind(&self) -> &str {
        self.kind
            .as_deref()
            .or(self.dependency_type.as_deref())
            .filter(|k| !k.is_empty())
            .unwrap_or("blocks")
    }

    /// Whether a `waits-for` gate opens at the first finished child (`any-children`) rather
    /// than the last (`all-children`, the default).
    pub fn any_children(&self) -> bool {
        let meta = match &self.metadata {
            Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
            Some(other) => Some(other.clone()),
            None => None,
        };
        meta.as_ref()
            .and_then(|m| m.get("gate"))
            .and_then(Value::as_str)
            .is_some_and(|g| g == "any-children")
    }
}

impl Issue {
    /// The status as bd writes it (`open` when missing).
    pub fn raw_status(&self) -> &str {
        self.status
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("open")
    }
}

/// An issue and where it was read (a line of the export; nothing for `bd` output).
#[derive(Debug, Clone)]
pub struct Located {
    /// The issue.
    pub issue: Issue,
    /// Where it is written.
    pub location: Option<Location>,
}

/// The payload of `bd` JSON output: the `data` of an envelope, or the document itself. An
/// error envelope becomes the error's message.
pub fn unwrap_envelope(stdout: &str, what: &str) -> Result<Value, SourceError> {
    let value = parse_json(stdout).map_err(|e| {
        SourceError::Failed(format!(
            "`{what}` did not print JSON ({e}); its output starts with {:?}",
            stdout.chars().take(80).collect::<String>()
        ))
    })?;
    if let Some(message) = error_of(&value) {
        return Err(SourceError::Failed(format!("`{what}` failed: {message}")));
    }
    match value {
        Value::Object(mut map)
            if map.contains_key("schema_version") || map.contains_key("data") =>
        {
            Ok(map.remove("data").unwrap_or(Value::Null))
        }
        other => Ok(other),
    }
}

/// The message of an error envelope (`{"schema_version": 1, "error": {"message": ...}}`).
pub fn envelope_error(stdout: &str) -> Option<String> {
    error_of(&parse_json(stdout).ok()?)
}

fn error_of(value: &Value) -> Option<String> {
    let map = value.as_object()?;
    if !map.contains_key("schema_version") && !map.contains_key("data") {
        return None;
    }
    let error = map.get("error").filter(|e| !e.is_null())?;
    Some(
        error
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| error.to_string(), str::to_string),
    )
}

/// JSON from stdout; notices a `bd` version printed before the document are skipped.
fn parse_json(stdout: &str) -> Result<Value, serde_json::Error> {
    let text = stdout.trim();
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(first) => {
            let start = text
                .match_indices('\n')
                .map(|(i, _)| i + 1)
                .find(|&i| text[i..].starts_with(['[', '{']));
            match start {
                Some(i) => serde_json::from_str(&text[i..]).map_err(|_| first),
                None => Err(first),
            }
        }
    }
}

/// Issues from a payload: an array of issues, one issue, or `null` (none).
pub fn issues_from(value: Value, what: &str) -> Result<Vec<Issue>, SourceError> {
    let items = match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items,
        Value::Object(map) => match map.get("issues") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![Value::Object(map)],
        },
        other => {
            return Err(SourceError::Failed(format!(
                "`{what}` printed {other}, not a list of issues"
            )));
        }
    };
    items
        .into_iter()
        .map(|item| {
            serde_json::from_value::<Issue>(item).map_err(|e| {
                SourceError::Failed(format!("`{what}` printed an issue engine cannot read: {e}"))
            })
        })
        .collect()
}

/// What an export (`.beads/issues.jsonl`) holds.
#[derive(Debug, Clone, Default)]
pub struct Export {
    /// Issues in file order, without deleted ones.
    pub issues: Vec<Located>,
    /// Ids of deleted issues (`tombstone`).
    pub deleted: Vec<String>,
}

/// Reads an export: one JSON object per line; blank lines, `"_type"` other than `issue`
/// (`memory`) and deleted issues (`tombstone`) are skipped. Every line that is not an issue is
/// reported, with its line number, and nothing is listed.
pub fn parse_export(text: &str, file: &str) -> Result<Export, SourceError> {
    let mut export = Export::default();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            continue;
        }
        let at = Location::line(file, u32::try_from(index + 1).unwrap_or(u32::MAX));
        let value: Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(e) => {
                errors.push(Diagnostic::at(at, format!("not a JSON object: {e}")));
                continue;
            }
        };
        match value.get("_type").and_then(Value::as_str) {
            None | Some("issue") => {}
            Some(_) => continue,
        }
        match serde_json::from_value::<Issue>(value) {
            Ok(issue) if issue.id.trim().is_empty() => {
                errors.push(Diagnostic::at(at, "an issue without an id"));
            }
            Ok(issue) if issue.raw_status() == "tombstone" => export.deleted.push(issue.id),
            Ok(issue) => export.issues.push(Located {
                issue,
                location: Some(at),
            }),
            Err(e) => errors.push(Diagnostic::at(at, format!("not a Beads issue: {e}"))),
        }
    }
    if errors.is_empty() {
        Ok(export)
    } else {
        Err(SourceError::Malformed(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_and_bare_documents_give_the_same_issues() {
        let bare = r#"[{"id":"bd-1","title":"A","status":"open","priority":1}]"#;
        let wrapped = format!(r#"{{"schema_version":1,"data":{bare}}}"#);
        for text in [
            bare.to_string(),
            wrapped,
            format!("notice: upgrade bd\n{bare}"),
        ] {
            let issues = issues_from(unwrap_envelope(&text, "bd list").unwrap(), "x").unwrap();
            assert_eq!(issues.len(), 1, "{text}");
            assert_eq!(issues[0].id, "bd-1");
            assert_eq!(issues[0].priority, Some(1));
        }
        let one = issues_from(
            unwrap_envelope(r#"{"id":"bd-2","labels":null}"#, "bd show").unwrap(),
            "x",
        )
        .unwrap();
        assert_eq!(one[0].id, "bd-2");
        assert_eq!(one[0].raw_status(), "open");
        assert!(issues_from(Value::Null, "x").unwrap().is_empty());
    }

    #[test]
    fn error_envelopes_and_garbage_are_errors() {
        let err = unwrap_envelope(
            r#"{"schema_version":1,"error":{"message":"no issue bd-9"}}"#,
            "bd show bd-9",
        )
        .unwrap_err();
        assert_eq!(
            err,
            SourceError::Failed("`bd show bd-9` failed: no issue bd-9".into())
        );
        assert!(matches!(
            unwrap_envelope("Error: database locked", "bd list"),
            Err(SourceError::Failed(m)) if m.contains("did not print JSON")
        ));
        assert!(issues_from(serde_json::json!(3), "bd list").is_err());
    }

    #[test]
    fn dependencies_in_both_shapes() {
        let record: Dependency = serde_json::from_str(
            r#"{"issue_id":"a","depends_on_id":"b","type":"waits-for","metadata":"{\"gate\":\"any-children\"}"}"#,
        )
        .unwrap();
        assert_eq!(
            (record.target(), record.kind(), record.any_children()),
            (Some("b"), "waits-for", true)
        );
        let shown: Dependency =
            serde_json::from_str(r#"{"id":"c","title":"C","dependency_type":"parent-child"}"#)
                .unwrap();
        assert_eq!((shown.target(), shown.kind()), (Some("c"), "parent-child"));
        let bare: Dependency = serde_json::from_str(r#"{"depends_on_id":"d"}"#).unwrap();
        assert_eq!((bare.kind(), bare.any_children()), ("blocks", false));
    }

    #[test]
    fn exports_skip_memories_and_tombstones_and_report_bad_lines() {
        let text = "{\"id\":\"bd-1\",\"title\":\"A\"}\n\n{\"_type\":\"memory\",\"key\":\"k\"}\n\
                    {\"id\":\"bd-2\",\"status\":\"tombstone\"}\r\n{\"_type\":\"issue\",\"id\":\"bd-3\"}\n";
        let export = parse_export(text, ".beads/issues.jsonl").unwrap();
        let ids: Vec<&str> = export.issues.iter().map(|i| i.issue.id.as_str()).collect();
        assert_eq!(ids, ["bd-1", "bd-3"]);
        assert_eq!(export.deleted, ["bd-2"]);
        assert_eq!(
            export.issues[1].location,
            Some(Location::line(".beads/issues.jsonl", 5))
        );

        let err = parse_export("{\"id\":\"a\"}\nnot json\n{\"title\":\"x\"}\n", "e.jsonl");
        match err {
            Err(SourceError::Malformed(d)) => {
                let lines: Vec<Option<u32>> = d
                    .iter()
                    .map(|d| d.location.as_ref().and_then(|l| l.line))
                    .collect();
                assert_eq!(lines, [Some(2), Some(3)], "{d:?}");
            }
            other => panic!("{other:?}"),
        }
    }
}
