//! The `with:` config of the gate and its JSON Schema.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// `with: { commands: [...], stop_on_failure, timeout, output_tail_lines }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// The commands to run, in order.
    pub commands: Vec<CommandSpec>,
    /// Stop at the first failing command (default true).
    #[serde(default = "default_stop_on_failure")]
    pub stop_on_failure: bool,
    /// Time limit of each command, e.g. `5m` (default: the stage's remaining time).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Lines of output kept in a failure's detail (default 40).
    #[serde(default = "default_tail_lines")]
    pub output_tail_lines: usize,
}

fn default_stop_on_failure() -> bool {
    true
}

fn default_tail_lines() -> usize {
    40
}

/// One command: a string split as a shell splits words, or an argv list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CommandSpec {
    /// `"cargo test --all"`.
    Line(String),
    /// `["sh", "-c", "make check"]`.
    Argv(Vec<String>),
}

/// A command ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedCommand {
    /// How the command is shown in messages.
    pub display: String,
    /// Program and arguments.
    pub argv: Vec<String>,
}

impl GateConfig {
    /// Splits every command into argv; names the first command that cannot be split.
    pub fn prepare(&self) -> Result<Vec<PreparedCommand>, String> {
        if self.commands.is_empty() {
            return Err("`commands` is empty: list at least one command".to_string());
        }
        self.commands.iter().map(CommandSpec::prepare).collect()
    }

    /// The per-command timeout, parsed.
    pub fn timeout(&self) -> Result<Option<Duration>, String> {
        match &self.timeout {
            None => Ok(None),
            Some(text) => humantime::parse_duration(text).map(Some).map_err(|e| {
                format!("invalid `timeout` {text:?}: {e} (use e.g. \"90s\" or \"5m\")")
            }),
        }
    }
}

impl CommandSpec {
    fn prepare(&self) -> Result<PreparedCommand, String> {
        match self {
            CommandSpec::Line(line) => {
                let argv = shlex::split(line).ok_or_else(|| {
                    format!("command {line:?} cannot be split into words (unbalanced quotes?)")
                })?;
                if argv.is_empty() {
                    return Err(format!("command {line:?} is empty"));
                }
                Ok(PreparedCommand {
                    display: line.clone(),
                    argv,
                })
            }
            CommandSpec::Argv(argv) => {
                if argv.first().is_none_or(|p| p.is_empty()) {
                    return Err("an argv command needs a program as its first item".to_string());
                }
                let display = shlex::try_join(argv.iter().map(String::as_str))
                    .unwrap_or_else(|_| argv.join(" "));
                Ok(PreparedCommand {
                    display,
                    argv: argv.clone(),
                })
            }
        }
    }
}

/// JSON Schema of the config (strict: unknown keys are errors).
pub fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "builtin:gate",
        "description": "Runs check commands in the worktree; the stage fails when one fails.",
        "type": "object",
        "additionalProperties": false,
        "required": ["commands"],
        "properties": {
            "commands": {
                "description": "Commands to run in order: a string split like a shell splits words (no shell features), or an argv list.",
                "type": "array",
                "minItems": 1,
                "items": {
                    "oneOf": [
                        { "type": "string", "minLength": 1 },
                        {
                            "type": "array",
                            "minItems": 1,
                            "items": { "type": "string" },
                            "prefixItems": [{ "type": "string", "minLength": 1 }]
                        }
                    ]
                }
            },
            "stop_on_failure": {
                "description": "Stop at the first failing command.",
                "type": "boolean",
                "default": true
            },
            "timeout": {
                "description": "Time limit of each command, e.g. \"90s\", \"5m\".",
                "type": "string",
                "pattern": "^\\s*[0-9]+\\s*[a-zA-Z]+(\\s*[0-9]+\\s*[a-zA-Z]+)*\\s*$"
            },
            "output_tail_lines": {
                "description": "Lines of output kept in a failure's detail.",
                "type": "integer",
                "minimum": 0,
                "default": 40
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: Value) -> GateConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn strings_split_like_a_shell_and_argv_stays() {
        let c = config(
            json!({"commands": ["cargo test -- --nocapture 'a b'", ["sh", "-c", "exit 3"]]}),
        );
        let prepared = c.prepare().unwrap();
        assert_eq!(
            prepared[0].argv,
            ["cargo", "test", "--", "--nocapture", "a b"]
        );
        assert_eq!(prepared[0].display, "cargo test -- --nocapture 'a b'");
        assert_eq!(prepared[1].argv, ["sh", "-c", "exit 3"]);
        assert_eq!(prepared[1].display, "sh -c 'exit 3'");
        assert!(c.stop_on_failure);
        assert_eq!(c.output_tail_lines, 40);
    }

    #[test]
    fn unsplittable_string_names_the_command() {
        let c = config(json!({"commands": ["echo 'oops"]}));
        let err = c.prepare().unwrap_err();
        assert!(err.contains("echo 'oops"), "{err}");
    }

    #[test]
    fn empty_commands_are_rejected() {
        assert!(config(json!({"commands": []})).prepare().is_err());
        assert!(config(json!({"commands": ["  "]})).prepare().is_err());
        assert!(config(json!({"commands": [[]]})).prepare().is_err());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let r: Result<GateConfig, _> =
            serde_json::from_value(json!({"commands": ["x"], "comands": 1}));
        assert!(r.is_err());
    }

    #[test]
    fn timeout_parses_or_explains() {
        let c = config(json!({"commands": ["x"], "timeout": "5m"}));
        assert_eq!(c.timeout().unwrap(), Some(Duration::from_secs(300)));
        let c = config(json!({"commands": ["x"], "timeout": "soon"}));
        assert!(c.timeout().unwrap_err().contains("soon"));
    }
}
