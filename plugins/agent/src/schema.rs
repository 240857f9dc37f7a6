//! The strict JSON Schema of the agent stage's `with:` config (returned by `describe`).

use serde_json::{Value, json};

use crate::config::{DEFAULT_EXEMPT, MAX_ITERATIONS_CAP};

fn positive_count(description: &str, default: u32) -> Value {
    json!({ "description": description, "type": "integer", "minimum": 1, "default": default })
}

fn count_or_off(description: &str, default: u32) -> Value {
    json!({ "description": description, "type": "integer", "minimum": 0, "default": default })
}

fn strings(description: &str) -> Value {
    json!({ "description": description, "type": "array", "items": { "type": "string", "minLength": 1 } })
}

/// JSON Schema of the config: unknown keys are errors at every level.
pub fn schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "builtin:agent",
        "description": "Hands the task to a coding-agent CLI and brings back a finished change.",
        "type": "object",
        "additionalProperties": false,
        "required": ["backend"],
        "properties": {
            "backend": {
                "description": "Agent backend: claude, codex, gemini, opencode, aider, cursor, or a custom backend of the workflow.",
                "type": "string",
                "minLength": 1
            },
            "model": {
                "description": "Model id, or a tier name (genius, smart, primitive) mapped by the workflow's `models:`.",
                "type": "string",
                "minLength": 1
            },
            "prompt": {
                "description": "minijinja template of the prompt (variables: task, checklist, feedback, attempt, outputs, completion_instructions, run_id, stage_id). Default: a built-in template.",
                "type": "string",
                "minLength": 1
            },
            "system_prompt": {
                "description": "minijinja template of text appended to the agent's system prompt.",
                "type": "string"
            },
            "permission_mode": {
                "description": "How much the agent may do without asking.",
                "enum": ["bypass", "accept_edits", "plan", "default"],
                "default": "bypass"
            },
            "allowed_tools": strings("Tools the agent may use, in the CLI's syntax (e.g. \"Bash(cargo test *)\")."),
            "denied_tools": strings("Tools the agent may not use."),
            "max_turns": positive_count("Turn limit of each session.", 50),
            "completion": {
                "description": "How the agent signals that the task is done.",
                "enum": ["promise", "gate", "markers", "result_json", "none"],
                "default": "none"
            },
            "promise": {
                "description": "The text inside <promise>...</promise> (promise dialect).",
                "type": "string",
                "minLength": 1,
                "pattern": "^[^<>]+$",
                "default": "COMPLETE"
            },
            "continuation": {
                "description": "Circuit breaker of the continuation loop.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "max_iterations": {
                        "description": "Sessions per attempt, the first included.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_ITERATIONS_CAP,
                        "default": 10
                    },
                    "max_no_progress": positive_count("Consecutive sessions that changed no file.", 3),
                    "max_same_error": positive_count("Consecutive sessions ending in the same error.", 5)
                }
            },
            "stall": {
                "description": "Stall rules (0 turns a rule off).",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "max_failing_edits": count_or_off("Consecutive failing edit/write calls.", 3),
                    "max_same_command_failures": count_or_off("The same command failing with the same output.", 3),
                    "max_repeated_calls": count_or_off("The same call within `window` calls with no file changed.", 4),
                    "window": count_or_off("How many recent calls `max_repeated_calls` looks at.", 12),
                    "exempt": {
                        "description": "Command prefixes exempt from the stall rules (polling); replaces the default list.",
                        "type": "array",
                        "items": { "type": "string", "minLength": 1 },
                        "default": DEFAULT_EXEMPT
                    }
                }
            },
            "usage_limit": {
                "description": "Waiting for a usage limit to reset.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "max_wait": {
                        "description": "The longest wait for a reset, e.g. \"6h\".",
                        "type": "string",
                        "pattern": "^\\s*[0-9]+\\s*[a-zA-Z]+(\\s*[0-9]+\\s*[a-zA-Z]+)*\\s*$",
                        "default": "6h"
                    },
                    "slack": {
                        "description": "Added to a known reset time before retrying, e.g. \"1m\" (default; resets are announced to the minute).",
                        "type": "string",
                        "pattern": "^\\s*[0-9]+\\s*[a-zA-Z]+(\\s*[0-9]+\\s*[a-zA-Z]+)*\\s*$",
                        "default": "1m"
                    }
                }
            },
            "budget_usd": {
                "description": "This stage's spending cap in USD over all its sessions in one attempt.",
                "type": "number",
                "exclusiveMinimum": 0
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key the config struct accepts is in the schema and vice versa, so the schema
    /// cannot drift from what `run` accepts.
    #[test]
    fn schema_lists_exactly_the_config_keys() {
        let s = schema();
        let mut keys: Vec<&str> = s["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "allowed_tools",
                "backend",
                "budget_usd",
                "completion",
                "continuation",
                "denied_tools",
                "max_turns",
                "model",
                "permission_mode",
                "promise",
                "prompt",
                "stall",
                "system_prompt",
                "usage_limit"
            ]
        );
        // A config using every key deserializes (deny_unknown_fields would reject a stray one).
        let mut full = serde_json::Map::new();
        for key in keys {
            let value = match key {
                "backend" | "model" | "prompt" | "system_prompt" | "promise" => json!("x"),
                "permission_mode" => json!("plan"),
                "completion" => json!("gate"),
                "allowed_tools" | "denied_tools" => json!([]),
                "max_turns" => json!(3),
                "budget_usd" => json!(1.0),
                nested => {
                    let props = s["properties"][nested]["properties"].as_object().unwrap();
                    Value::Object(
                        props
                            .iter()
                            .map(|(k, v)| (k.clone(), v["default"].clone()))
                            .collect(),
                    )
                }
            };
            full.insert(key.to_string(), value);
        }
        let config: crate::config::AgentConfig =
            serde_json::from_value(Value::Object(full)).unwrap();
        config.validate().unwrap();
    }

    #[test]
    fn schema_is_strict_at_every_level() {
        let s = schema();
        assert_eq!(s["additionalProperties"], false);
        for nested in ["continuation", "stall", "usage_limit"] {
            assert_eq!(s["properties"][nested]["additionalProperties"], false);
        }
        assert_eq!(s["required"], json!(["backend"]));
    }
}
