//! The `with:` config of the gate and its JSON Schema.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::parsers::{Parser, ParserChoice};

/// `with: { commands: [...], stop_on_failure, timeout, output_tail_lines, baseline }`.
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
    /// Run a failing command again on the run's base commit; one that fails there too does
    /// not block (default false).
    #[serde(default)]
    pub baseline: bool,
}

fn default_stop_on_failure() -> bool {
    true
}

fn default_tail_lines() -> usize {
    40
}

/// One command: a string split as a shell splits words, an argv list, or a mapping with
/// per-command settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CommandSpec {
    /// `"cargo test --all"`.
    Line(String),
    /// `["sh", "-c", "make check"]`.
    Argv(Vec<String>),
    /// `{ run: "cargo test", timeout: "10m", name: "tests", parser: "cargo" }`.
    Detailed(DetailedCommand),
}

/// A command with its own settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailedCommand {
    /// The command: a string or an argv list.
    pub run: RunSpec,
    /// Time limit of this command (overrides the stage-wide `timeout`).
    #[serde(default)]
    pub timeout: Option<String>,
    /// A short name shown in messages and outputs.
    #[serde(default)]
    pub name: Option<String>,
    /// Output parser; detected from the program when absent.
    #[serde(default)]
    pub parser: Option<ParserChoice>,
}

/// The `run:` of a detailed command.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RunSpec {
    /// A string split like a shell splits words.
    Line(String),
    /// An argv list.
    Argv(Vec<String>),
}

/// A command ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedCommand {
    /// How the command is shown in messages.
    pub display: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Its `name:`, if any.
    pub name: Option<String>,
    /// Its time limit (its own, else the stage-wide one).
    pub timeout: Option<Duration>,
    /// The time limit as written, for messages.
    pub timeout_text: Option<String>,
    /// The parser of its output.
    pub parser: Option<Parser>,
}

impl GateConfig {
    /// Splits every command into argv; names the first command that cannot be split.
    pub fn prepare(&self) -> Result<Vec<PreparedCommand>, String> {
        if self.commands.is_empty() {
            return Err(
                "`commands` is empty and no skill gate applies to this task: list at least one \
                 command, or select a skill with gates (docs/skills.md)"
                    .to_string(),
            );
        }
        let stage_timeout = parse_timeout(self.timeout.as_deref())?;
        self.commands
            .iter()
            .map(|spec| {
                let (run, detail) = match spec {
                    CommandSpec::Line(line) => (RunSpec::Line(line.clone()), None),
                    CommandSpec::Argv(argv) => (RunSpec::Argv(argv.clone()), None),
                    CommandSpec::Detailed(d) => (d.run.clone(), Some(d)),
                };
                let mut prepared = run.prepare()?;
                prepared.timeout = stage_timeout;
                prepared.timeout_text.clone_from(&self.timeout);
                if let Some(d) = detail {
                    if let Some(own) = parse_timeout(d.timeout.as_deref())? {
                        prepared.timeout = Some(own);
                        prepared.timeout_text.clone_from(&d.timeout);
                    }
                    prepared.name = d.name.clone().filter(|n| !n.trim().is_empty());
                    if let Some(choice) = d.parser {
                        prepared.parser = choice.parser();
                    }
                }
                Ok(prepared)
            })
            .collect()
    }

    /// The stage-wide timeout, parsed.
    pub fn timeout(&self) -> Result<Option<Duration>, String> {
        parse_timeout(self.timeout.as_deref())
    }
}

fn parse_timeout(text: Option<&str>) -> Result<Option<Duration>, String> {
    match text {
        None => Ok(None),
        Some(text) => humantime::parse_duration(text)
            .map(Some)
            .map_err(|e| format!("invalid `timeout` {text:?}: {e} (use e.g. \"90s\" or \"5m\")")),
    }
}

impl RunSpec {
    fn prepare(&self) -> Result<PreparedCommand, String> {
        let (display, argv) = match self {
            RunSpec::Line(line) => {
                let argv = shlex::split(line).ok_or_else(|| {
                    format!("command {line:?} cannot be split into words (unbalanced quotes?)")
                })?;
                if argv.is_empty() {
                    return Err(format!("command {line:?} is empty"));
                }
                (line.clone(), argv)
            }
            RunSpec::Argv(argv) => {
                if argv.first().is_none_or(String::is_empty) {
                    return Err("an argv command needs a program as its first item".to_string());
                }
                let display = shlex::try_join(argv.iter().map(String::as_str))
                    .unwrap_or_else(|_| argv.join(" "));
                (display, argv.clone())
            }
        };
        let parser = Parser::detect(&argv);
        Ok(PreparedCommand {
            display,
            argv,
            name: None,
            timeout: None,
            timeout_text: None,
            parser,
        })
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
        "$defs": {
            "argv": {
                "type": "array",
                "minItems": 1,
                "items": { "type": "string" },
                "prefixItems": [{ "type": "string", "minLength": 1 }]
            },
            "duration": {
                "type": "string",
                "pattern": "^\\s*[0-9]+\\s*[a-zA-Z]+(\\s*[0-9]+\\s*[a-zA-Z]+)*\\s*$"
            }
        },
        "properties": {
            "commands": {
                "description": "Commands to run in order: a string split like a shell splits words (no shell features), or an argv list. May be empty when the task's skill gives gates (they run after these).",
                "type": "array",
                "items": {
                    "oneOf": [
                        { "type": "string", "minLength": 1 },
                        { "$ref": "#/$defs/argv" },
                        {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["run"],
                            "properties": {
                                "run": {
                                    "oneOf": [
                                        { "type": "string", "minLength": 1 },
                                        { "$ref": "#/$defs/argv" }
                                    ]
                                },
                                "timeout": { "$ref": "#/$defs/duration" },
                                "name": { "type": "string" },
                                "parser": { "enum": ["cargo", "pytest", "go", "jest", "none"] }
                            }
                        }
                    ]
                }
            },
            "baseline": {
                "description": "Run a failing command again on the run's base commit (needs `git` under permissions.exec); a command that fails there too does not block.",
                "type": "boolean",
                "default": false
            },
            "stop_on_failure": {
                "description": "Stop at the first failing command.",
                "type": "boolean",
                "default": true
            },
            "timeout": {
                "description": "Time limit of each command, e.g. \"90s\", \"5m\".",
                "$ref": "#/$defs/duration"
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
