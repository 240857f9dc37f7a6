//! Reading YAML text into a JSON value (what the schema and the plugins see), rejecting what JSON
//! cannot represent: non-string keys, tags, non-finite numbers.

use serde_json::{Map, Number, Value as Json};
use serde_yaml::Value as Yaml;

use crate::diagnostic::{Anchor, Problem};
use crate::field_path::FieldPath;
use crate::spans::duplicate_key_position;

/// A YAML document read as JSON.
#[derive(Debug, Clone)]
pub(crate) struct ParsedYaml {
    /// The document as JSON.
    pub(crate) json: Json,
    /// The keys of the top-level `stages` mapping in file order (JSON objects are sorted).
    pub(crate) stage_order: Vec<String>,
    /// The keys of the top-level `finally` mapping in file order.
    pub(crate) finally_order: Vec<String>,
}

/// Parses `source`; every problem found when it is not representable as JSON.
pub(crate) fn parse(source: &str) -> Result<ParsedYaml, Vec<Problem>> {
    let yaml: Yaml = serde_yaml::from_str(source).map_err(|e| vec![syntax_problem(source, &e)])?;
    let mut problems = Vec::new();
    let json = to_json(&yaml, &FieldPath::root(), &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ParsedYaml {
        json,
        stage_order: key_order(&yaml, "stages"),
        finally_order: key_order(&yaml, "finally"),
    })
}

/// The string keys of the top-level mapping `name`, in file order.
fn key_order(yaml: &Yaml, name: &str) -> Vec<String> {
    match yaml.get(name) {
        Some(Yaml::Mapping(entries)) => entries
            .keys()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn syntax_problem(source: &str, error: &serde_yaml::Error) -> Problem {
    let text = error.to_string();
    let mut position = error
        .location()
        .map(|l| (l.line().max(1), l.column().max(1)))
        .unwrap_or((1, 1));
    let message = if text.contains("duplicate entry") {
        if let Some(exact) = duplicate_key_position(source) {
            position = exact;
        }
        strip_marks(&text)
    } else {
        format!("invalid YAML: {}", strip_marks(&text))
    };
    Problem {
        field: FieldPath::root(),
        anchor: Anchor::Position {
            line: position.0,
            col: position.1,
        },
        message,
    }
}

/// Removes the " at line L column C" / " at position P" parts: the diagnostic has the position.
fn strip_marks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(" at ") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 4..];
        match skip_mark(after) {
            Some(remaining) => rest = remaining,
            None => {
                out.push_str(" at ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn skip_mark(text: &str) -> Option<&str> {
    fn number(text: &str) -> Option<&str> {
        let end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        (end > 0).then(|| &text[end..])
    }
    if let Some(rest) = text.strip_prefix("line ") {
        number(number(rest)?.strip_prefix(" column ")?)
    } else {
        number(text.strip_prefix("position ")?)
    }
}

fn to_json(yaml: &Yaml, path: &FieldPath, problems: &mut Vec<Problem>) -> Json {
    match yaml {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Number(n) => number_to_json(n, path, problems),
        Yaml::Sequence(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &path.index(i), problems))
                .collect(),
        ),
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                match key {
                    Yaml::String(key) => {
                        let converted = to_json(value, &path.key(key), problems);
                        object.insert(key.clone(), converted);
                    }
                    other => problems.push(non_string_key(other, path)),
                }
            }
            Json::Object(object)
        }
        Yaml::Tagged(tagged) => {
            let message = if path.to_string().ends_with(".if") {
                // `if: !run.stalled` reads as a tag: the condition must be quoted.
                "YAML reads a value starting with '!' as a tag: quote the condition \
                 (if: \"!...\")"
                    .to_string()
            } else {
                format!("YAML tags are not supported (found {})", tagged.tag)
            };
            problems.push(Problem::at(path.clone(), message));
            Json::Null
        }
    }
}

fn number_to_json(n: &serde_yaml::Number, path: &FieldPath, problems: &mut Vec<Problem>) -> Json {
    if let Some(u) = n.as_u64() {
        Json::Number(u.into())
    } else if let Some(i) = n.as_i64() {
        Json::Number(i.into())
    } else if let Some(f) = n.as_f64().and_then(Number::from_f64) {
        Json::Number(f)
    } else {
        problems.push(Problem::at(
            path.clone(),
            format!("{n} is not a finite number; quote it if you meant a string"),
        ));
        Json::Null
    }
}

fn non_string_key(key: &Yaml, parent: &FieldPath) -> Problem {
    let (shown, key_path) = match key {
        Yaml::Null => ("null".to_string(), parent.clone()),
        Yaml::Bool(b) => (b.to_string(), parent.key(&b.to_string())),
        Yaml::Number(n) => (n.to_string(), parent.key(&n.to_string())),
        Yaml::Sequence(_) | Yaml::Mapping(_) | Yaml::Tagged(_) => {
            ("a collection".to_string(), parent.clone())
        }
        Yaml::String(s) => (s.clone(), parent.key(s)),
    };
    Problem::at_key(
        parent.clone(),
        key_path,
        format!("mapping keys must be strings, found {shown}; quote the key if it is a name"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(source: &str) -> Vec<(Anchor, String)> {
        match parse(source) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .into_iter()
                .map(|p| (p.anchor, p.message))
                .collect(),
        }
    }

    #[test]
    fn converts_and_keeps_stage_order() {
        let parsed =
            parse("name: x\nstages:\n  zeta: {a: 1.5}\n  alpha: {b: [true, null]}\n").unwrap();
        assert_eq!(parsed.stage_order, vec!["zeta", "alpha"]);
        assert_eq!(
            parsed.json,
            serde_json::json!({"name": "x", "stages": {"zeta": {"a": 1.5}, "alpha": {"b": [true, null]}}})
        );
    }

    #[test]
    fn syntax_error_has_position_without_repeating_it() {
        let found = messages("a: [1,\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Anchor::Position { line: 2, col: 1 });
        assert!(found[0].1.starts_with("invalid YAML: "), "{}", found[0].1);
        assert!(!found[0].1.contains("line 2"), "{}", found[0].1);
    }

    #[test]
    fn duplicate_key_points_at_the_second_key() {
        let found = messages("name: a\nstages:\n  x: {}\n  x: {}\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Anchor::Position { line: 4, col: 3 });
        assert!(
            found[0].1.contains("duplicate entry with key \"x\""),
            "{}",
            found[0].1
        );
    }

    #[test]
    fn rejects_non_string_keys_tags_and_nan() {
        let found = messages("1: a\nb: !foo 3\nc: .nan\n");
        let texts: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(found.len(), 3, "{texts:?}");
        assert!(texts[0].contains("mapping keys must be strings, found 1"));
        assert!(texts[1].contains("YAML tags are not supported"));
        assert!(texts[2].contains("not a finite number"));
        assert_eq!(found[0].0, Anchor::Key(FieldPath::root().key("1")));
    }

    #[test]
    fn an_unquoted_negated_condition_gets_a_hint() {
        let found = messages("stages:\n  a:\n    if: !run.stalled\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0]
                .1
                .starts_with("YAML reads a value starting with '!' as a tag: quote"),
            "{found:?}"
        );
    }

    #[test]
    fn strip_marks_keeps_other_text() {
        assert_eq!(
            strip_marks("bad thing at line 2 column 1, while parsing at position 7"),
            "bad thing, while parsing"
        );
        assert_eq!(strip_marks("look at me"), "look at me");
    }
}
