//! What keeps secrets out of a bug report: every text that enters the archive goes through a
//! [`Scrubber`], which replaces known secret values (the variables the workflow names as
//! secrets, and variables of the environment whose names say they hold one), tokens by their
//! shape (GitHub, `sk-` API keys, Slack, AWS key ids, `Bearer`, `Authorization:` headers,
//! private keys, passwords in URLs) and the values of keys named like a secret (`token`,
//! `secret`, `password`, `api_key`...) in YAML, JSON and `KEY=value` text. It counts what it
//! replaced, by kind, for the report's manifest; it never keeps a replaced value.

use std::collections::BTreeMap;

use regex::{Captures, Regex};
use serde_json::Value;

use crate::secrets::REDACTED;

/// Words that make a variable or key name a secret's.
const SECRET_WORDS: &str =
    r"token|secret|passw(?:or)?d|passphrase|api[_-]?key|apikey|private[_-]?key|credential";

/// Environment variables whose values are redacted when their name holds one of these words,
/// even if no workflow names them (upper-cased comparison).
const SECRET_VARIABLE_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "API_KEY",
    "APIKEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
];

/// Variables whose values are never treated as secrets even though their name matches
/// (they hold paths or switches, and replacing them would only garble the report).
const NOT_SECRET_VARIABLES: &[&str] = &["SSH_AUTH_SOCK", "XAUTHORITY"];

/// The shortest value of a variable guessed by name that is redacted (shorter ones are
/// switches like `1`, and replacing them would garble everything).
const MIN_GUESSED_VALUE: usize = 8;

/// A token shape: what it matches, how it is replaced, its name in the manifest.
struct Shape {
    regex: Regex,
    /// Replacement; `$1` keeps a leading part (a header name, a URL scheme).
    replacement: &'static str,
    label: &'static str,
}

/// Replaces secrets in text and JSON, counting what it replaced.
pub struct Scrubber {
    /// (where from, value), longest value first.
    values: Vec<(String, String)>,
    shapes: Vec<Shape>,
    key_value: Regex,
    secret_key: Regex,
    counts: BTreeMap<String, usize>,
}

impl Scrubber {
    /// A scrubber for these secret values (where from, value); empty values are ignored.
    pub fn new(values: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut values: Vec<(String, String)> =
            values.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        values.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.cmp(b)));
        values.dedup_by(|a, b| a.1 == b.1);
        let shape = |pattern: &str, replacement, label| Shape {
            regex: compiled(pattern),
            replacement,
            label,
        };
        let shapes = vec![
            shape(
                r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
                REDACTED,
                "private keys",
            ),
            shape(
                r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^\s/@:]+:[^\s/@]+@",
                "${1}[redacted]@",
                "passwords in URLs",
            ),
            shape(
                r#"(?i)\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^\r\n"']+"#,
                "${1}[redacted]",
                "Authorization headers",
            ),
            shape(
                r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}",
                "${1}[redacted]",
                "Bearer tokens",
            ),
            shape(
                r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",
                REDACTED,
                "GitHub tokens",
            ),
            shape(r"\bsk-[A-Za-z0-9_-]{16,}", REDACTED, "sk- API keys"),
            shape(r"\bxox[abposr]-[A-Za-z0-9-]{10,}", REDACTED, "Slack tokens"),
            shape(
                r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
                REDACTED,
                "AWS access key ids",
            ),
        ];
        let key_value = compiled(&format!(
            r##"(?im)((?:^|[^A-Za-z0-9_])["']?[A-Za-z0-9_.-]*(?:{SECRET_WORDS})[A-Za-z0-9_.-]*["']?\s*[:=]\s*)("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;}}\]\[{{'"#][^\s,;}}\]#]*)"##
        ));
        let secret_key = compiled(&format!(r"(?i)(?:{SECRET_WORDS})"));
        Scrubber {
            values,
            shapes,
            key_value,
            secret_key,
            counts: BTreeMap::new(),
        }
    }

    /// `text` with every secret replaced by `[redacted]` (a header name or URL scheme before
    /// it is kept).
    pub fn text(&mut self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, value) in &self.values {
            let found = out.matches(value.as_str()).count();
            if found > 0 {
                out = out.replace(value.as_str(), REDACTED);
                *self
                    .counts
                    .entry(format!("the value of {name}"))
                    .or_default() += found;
            }
        }
        for shape in &self.shapes {
            let found = shape.regex.find_iter(&out).count();
            if found > 0 {
                out = shape
                    .regex
                    .replace_all(&out, shape.replacement)
                    .into_owned();
                *self.counts.entry(shape.label.to_string()).or_default() += found;
            }
        }
        let mut found = 0;
        let replaced = self
            .key_value
            .replace_all(&out, |caps: &Captures<'_>| {
                let (key, value) = (&caps[1], &caps[2]);
                if keeps(value) {
                    return format!("{key}{value}");
                }
                found += 1;
                let quote = &value[..usize::from(value.starts_with(['"', '\'']))];
                format!("{key}{quote}{REDACTED}{quote}")
            })
            .into_owned();
        if found > 0 {
            *self
                .counts
                .entry("values of keys named like a secret".into())
                .or_default() += found;
        }
        replaced
    }

    /// Redacts a JSON value: a string under a key named like a secret whole, every other
    /// string and key through [`Scrubber::text`].
    pub fn json(&mut self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut v) in entries {
                    let whole =
                        self.secret_key.is_match(&key) && v.as_str().is_some_and(|s| !keeps(s));
                    if whole {
                        v = Value::String(REDACTED.into());
                        *self
                            .counts
                            .entry("values of keys named like a secret".into())
                            .or_default() += 1;
                    } else {
                        self.json(&mut v);
                    }
                    map.insert(self.text(&key), v);
                }
            }
            _ => {}
        }
    }

    /// What was replaced so far: (kind, how many times), kinds sorted.
    pub fn counts(&self) -> &BTreeMap<String, usize> {
        &self.counts
    }

    /// What the known secret values are (`$VARIABLE`, `workflow key K`), not the values.
    pub fn variables(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.values.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names
    }
}

/// The secrets of this environment (`vars`): the variables `named` (the workflow's secrets),
/// whatever their value, and every variable whose name says it holds a secret
/// (`GITHUB_TOKEN`, `OPENAI_API_KEY`...) with a value of at least 8 characters.
pub fn environment_secrets<'a>(
    named: impl IntoIterator<Item = &'a str>,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    let named: Vec<&str> = named.into_iter().collect();
    vars.into_iter()
        .filter(|(name, value)| {
            if named.contains(&name.as_str()) {
                return true;
            }
            let upper = name.to_ascii_uppercase();
            value.len() >= MIN_GUESSED_VALUE
                && !NOT_SECRET_VARIABLES.contains(&upper.as_str())
                && SECRET_VARIABLE_WORDS.iter().any(|w| upper.contains(w))
        })
        .map(|(name, value)| (format!("${name}"), value))
        .collect()
}

/// The string values of a document (a workflow) under keys named like a secret
/// (`env: { SERVICE_PASSWORD: ... }`, `with: { api_key: ... }`), as (key, value), so they are
/// redacted wherever they appear (a program may print one). Templates and short values are
/// left out.
pub fn document_secrets(document: &Value) -> Vec<(String, String)> {
    let key = compiled(&format!(r"(?i)(?:{SECRET_WORDS})"));
    let mut found = Vec::new();
    let mut stack = vec![document];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match v.as_str() {
                        Some(s) if key.is_match(k) && s.len() >= 4 && !keeps(s) => {
                            found.push((format!("workflow key {k}"), s.to_string()));
                        }
                        _ => stack.push(v),
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

/// Whether the value of a key named like a secret is kept: empty, a number, a boolean, null,
/// already redacted, or a template/reference to a secret rather than a secret
/// (`{{ secrets.X }}`, `${X}`).
fn keeps(value: &str) -> bool {
    let bare = value.trim_matches(['"', '\'']).trim();
    bare.is_empty()
        || bare.parse::<f64>().is_ok()
        || matches!(bare, "true" | "false" | "null" | "~" | REDACTED)
        || bare.starts_with("{{")
        || (bare.starts_with("${") && bare.ends_with('}'))
}

/// A pattern of this file (written here, so it compiles; a test compiles every one).
fn compiled(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("pattern {pattern:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(text: &str) -> String {
        Scrubber::new([("MY_SECRET".to_string(), "hunter2-value".to_string())]).text(text)
    }

    #[test]
    fn known_values_and_token_shapes_are_replaced() {
        let cases = [
            ("pw hunter2-value!", "pw [redacted]!"),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789 x", "[redacted] x"),
            ("github_pat_11ABCDEFG0123456789_abcdefXYZ", "[redacted]"),
            (
                "key sk-ant-api03-abcdefghijklmnop done",
                "key [redacted] done",
            ),
            ("xoxb-1234567890-abcdefghij", "[redacted]"),
            ("id AKIAIOSFODNN7EXAMPLE.", "id [redacted]."),
            (
                "curl -H 'Bearer abcdefgh12345'",
                "curl -H 'Bearer [redacted]'",
            ),
            (
                "Authorization: token deadbeef\nnext",
                "Authorization: [redacted]\nnext",
            ),
            (
                "git clone https://bob:pa55w0rd@example.com/r.git",
                "git clone https://[redacted]@example.com/r.git",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
                "[redacted]",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(scrub(input), expected, "{input}");
        }
    }

    #[test]
    fn values_of_keys_named_like_secrets_are_replaced_but_not_numbers_or_names() {
        let cases = [
            ("api_key: abc123xyz", "api_key: [redacted]"),
            ("  password: \"p w\"", "  password: \"[redacted]\""),
            ("export GH_TOKEN=abcdef", "export GH_TOKEN=[redacted]"),
            (
                r#"{"client_secret":"zzz","n":1}"#,
                r#"{"client_secret":"[redacted]","n":1}"#,
            ),
            ("max_tokens: 100", "max_tokens: 100"),
            ("secrets: [GH_TOKEN]", "secrets: [GH_TOKEN]"),
            (
                "token: {{ secrets.GH_TOKEN }}",
                "token: {{ secrets.GH_TOKEN }}",
            ),
            ("the token is fine", "the token is fine"),
        ];
        for (input, expected) in cases {
            assert_eq!(scrub(input), expected, "{input}");
        }
    }

    #[test]
    fn json_keys_named_like_secrets_lose_their_string_values_and_counts_add_up() {
        let mut s = Scrubber::new([("X".to_string(), "hunter2-value".to_string())]);
        let mut v = serde_json::json!({
            "api_key": "plain words",
            "input_tokens": 12,
            "task": {"title": "fix hunter2-value", "body": "Bearer abcdefgh12345"},
        });
        s.json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "api_key": "[redacted]",
                "input_tokens": 12,
                "task": {"title": "fix [redacted]", "body": "Bearer [redacted]"},
            })
        );
        assert_eq!(s.counts().get("the value of X"), Some(&1));
        assert_eq!(s.counts().get("Bearer tokens"), Some(&1));
        assert_eq!(
            s.counts().get("values of keys named like a secret"),
            Some(&1)
        );
    }

    #[test]
    fn the_environment_gives_named_and_secret_looking_variables() {
        let vars = [
            ("PLAIN".to_string(), "visible-value".to_string()),
            ("NAMED".to_string(), "abc".to_string()),
            ("OPENAI_API_KEY".to_string(), "long-enough-key".to_string()),
            ("GH_TOKEN".to_string(), "short".to_string()),
            (
                "SSH_AUTH_SOCK".to_string(),
                "/tmp/ssh-agent.sock".to_string(),
            ),
        ];
        let s = Scrubber::new(environment_secrets(["NAMED"], vars));
        assert_eq!(s.variables(), ["$NAMED", "$OPENAI_API_KEY"]);
    }

    #[test]
    fn values_under_secret_keys_of_a_document_are_secrets() {
        let doc = serde_json::json!({
            "env": {"SERVICE_PASSWORD": "pw-in-the-workflow", "PLAIN": "visible"},
            "stages": {"a": {"with": {"api_key": "{{ secrets.K }}", "token": "abc"}}},
            "list": [{"client_secret": "in-a-list"}],
        });
        let mut found = document_secrets(&doc);
        found.sort();
        assert_eq!(
            found,
            [
                (
                    "workflow key SERVICE_PASSWORD".to_string(),
                    "pw-in-the-workflow".to_string()
                ),
                (
                    "workflow key client_secret".to_string(),
                    "in-a-list".to_string()
                ),
            ]
        );
    }
}
