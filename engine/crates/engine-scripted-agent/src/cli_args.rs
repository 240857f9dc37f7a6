//! The impersonated CLI's command line: parsed like the real CLI parses it (value-taking,
//! optional-value and variadic flags), recorded, never rejected for an unknown flag.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::args::Dialect;

/// How a flag takes values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No value.
    Switch,
    /// Exactly one value (the next argument, or `--flag=value`).
    Single,
    /// One value, may repeat: values accumulate.
    Repeated,
    /// An optional value: the next argument unless it starts with `-`.
    Optional,
    /// Every following argument up to the next one starting with `-` (commander's `<v...>`).
    Variadic,
}

/// (names, kind); the first name is the canonical key in [`ParsedArgs::flags`].
type Spec = (&'static [&'static str], Kind);

const CLAUDE_FLAGS: &[Spec] = &[
    (&["--print", "-p"], Kind::Switch),
    (&["--verbose"], Kind::Switch),
    (&["--dangerously-skip-permissions"], Kind::Switch),
    (&["--continue", "-c"], Kind::Switch),
    (&["--strict-mcp-config"], Kind::Switch),
    (&["--include-partial-messages"], Kind::Switch),
    (&["--fork-session"], Kind::Switch),
    (&["--output-format"], Kind::Single),
    (&["--input-format"], Kind::Single),
    (&["--model"], Kind::Single),
    (&["--fallback-model"], Kind::Single),
    (&["--max-turns"], Kind::Single),
    (&["--max-budget-usd"], Kind::Single),
    (&["--permission-mode"], Kind::Single),
    (&["--append-system-prompt"], Kind::Single),
    (&["--system-prompt"], Kind::Single),
    (&["--settings"], Kind::Single),
    (&["--session-id"], Kind::Single),
    (&["--json-schema"], Kind::Single),
    (&["--agents"], Kind::Single),
    (&["--setting-sources"], Kind::Single),
    (&["--permission-prompt-tool"], Kind::Single),
    (&["--resume", "-r"], Kind::Optional),
    (&["--debug", "-d"], Kind::Optional),
    (&["--allowedTools", "--allowed-tools"], Kind::Variadic),
    (&["--disallowedTools", "--disallowed-tools"], Kind::Variadic),
    (&["--tools"], Kind::Variadic),
    (&["--add-dir"], Kind::Variadic),
    (&["--mcp-config"], Kind::Variadic),
    (&["--betas"], Kind::Variadic),
    (&["--plugin-dir"], Kind::Variadic),
];

const CODEX_FLAGS: &[Spec] = &[
    (&["--json", "--experimental-json"], Kind::Switch),
    (&["--skip-git-repo-check"], Kind::Switch),
    (&["--full-auto"], Kind::Switch),
    (
        &["--dangerously-bypass-approvals-and-sandbox", "--yolo"],
        Kind::Switch,
    ),
    (&["--oss"], Kind::Switch),
    (&["--last"], Kind::Switch),
    (&["--model", "-m"], Kind::Single),
    (&["--sandbox", "-s"], Kind::Single),
    (&["--cd", "-C"], Kind::Single),
    (&["--profile", "-p"], Kind::Single),
    (&["--color"], Kind::Single),
    (&["--output-last-message", "-o"], Kind::Single),
    (&["--output-schema"], Kind::Single),
    (&["--local-provider"], Kind::Single),
    (&["--config", "-c"], Kind::Repeated),
    (&["--image", "-i"], Kind::Repeated),
    (&["--add-dir"], Kind::Repeated),
    (&["--enable"], Kind::Repeated),
    (&["--disable"], Kind::Repeated),
];

/// A CLI command line, parsed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedArgs {
    /// Known flags by canonical name: `true` for switches, a string for single values (the
    /// last one wins), an array for repeated and variadic flags, null for an optional value
    /// that was absent.
    pub flags: BTreeMap<String, Value>,
    /// Arguments that are not flags or flag values, in order.
    pub positionals: Vec<String>,
    /// Unknown flags as given (treated as switches: they never take the next argument).
    pub unknown: Vec<String>,
}

impl ParsedArgs {
    /// Parses `args` with the flag table of `dialect`.
    pub fn parse(dialect: Dialect, args: &[String]) -> ParsedArgs {
        let table = match dialect {
            Dialect::Claude => CLAUDE_FLAGS,
            Dialect::Codex => CODEX_FLAGS,
        };
        let mut parsed = ParsedArgs::default();
        let mut index = 0;
        while let Some(arg) = args.get(index) {
            index += 1;
            if arg == "--" {
                parsed
                    .positionals
                    .extend(args.get(index..).unwrap_or_default().iter().cloned());
                break;
            }
            if arg.len() < 2 || !arg.starts_with('-') {
                parsed.positionals.push(arg.clone());
                continue;
            }
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
                _ => (arg.as_str(), None),
            };
            let Some((names, kind)) = table.iter().find(|(names, _)| names.contains(&name)) else {
                parsed.unknown.push(arg.clone());
                continue;
            };
            let key = names.first().copied().unwrap_or(name).to_string();
            let next_is_value =
                |index: usize| args.get(index).is_some_and(|next| !next.starts_with('-'));
            match kind {
                Kind::Switch => {
                    parsed
                        .flags
                        .insert(key, inline.map_or(Value::Bool(true), Value::String));
                }
                Kind::Single => {
                    let value = inline.or_else(|| {
                        let value = args.get(index).cloned();
                        index += 1;
                        value
                    });
                    parsed
                        .flags
                        .insert(key, value.map_or(Value::Null, Value::String));
                }
                Kind::Optional => {
                    let value = match inline {
                        Some(value) => Some(value),
                        None if next_is_value(index) => {
                            index += 1;
                            args.get(index - 1).cloned()
                        }
                        None => None,
                    };
                    parsed
                        .flags
                        .insert(key, value.map_or(Value::Null, Value::String));
                }
                Kind::Repeated | Kind::Variadic => {
                    let mut values = Vec::new();
                    if let Some(value) = inline {
                        values.push(value);
                    } else if *kind == Kind::Repeated {
                        values.extend(args.get(index).cloned());
                        index += 1;
                    }
                    if *kind == Kind::Variadic {
                        while next_is_value(index) {
                            values.extend(args.get(index).cloned());
                            index += 1;
                        }
                    }
                    let entry = parsed
                        .flags
                        .entry(key)
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let Value::Array(existing) = entry {
                        existing.extend(values.into_iter().map(Value::String));
                    }
                }
            }
        }
        parsed
    }

    /// A flag's value as text (single or optional flags).
    pub fn text(&self, key: &str) -> Option<&str> {
        self.flags.get(key).and_then(Value::as_str)
    }

    /// Whether a flag was given at all.
    pub fn has(&self, key: &str) -> bool {
        self.flags.contains_key(key)
    }

    /// A repeated or variadic flag's values.
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.flags.get(key) {
            Some(Value::Array(values)) => values
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(dialect: Dialect, args: &[&str]) -> ParsedArgs {
        let args: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
        ParsedArgs::parse(dialect, &args)
    }

    #[test]
    fn switches_values_optional_values_and_variadics() {
        let parsed = parse(
            Dialect::Claude,
            &[
                "-p",
                "--model",
                "m",
                "--resume",
                "--verbose",
                "--add-dir",
                "a",
                "b",
                "--add-dir=c",
                "--x",
                "pos",
            ],
        );
        assert_eq!(parsed.flags["--print"], Value::Bool(true));
        assert_eq!(parsed.text("--model"), Some("m"));
        assert_eq!(parsed.flags["--resume"], Value::Null);
        assert!(parsed.has("--verbose"));
        assert_eq!(parsed.list("--add-dir"), vec!["a", "b", "c"]);
        assert_eq!(parsed.unknown, vec!["--x"]);
        assert_eq!(parsed.positionals, vec!["pos"]);
        let dangling = parse(Dialect::Codex, &["exec", "-m"]);
        assert_eq!(dangling.flags["--model"], Value::Null);
        assert_eq!(dangling.positionals, vec!["exec"]);
    }
}
