//! The strict JSON Schema of the review stage's `with:` config (returned by `describe`).

use serde_json::{Value, json};

use crate::config::{
    DEFAULT_BACKEND, DEFAULT_MAX_DIFF_BYTES, DEFAULT_MAX_TURNS, DEFAULT_MODEL, DEFAULT_PERSONAS,
    MAX_DIFF_BYTES_CAP,
};
use crate::personas::BUILT_IN;

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
const NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$";

fn non_empty(description: &str) -> Value {
    json!({ "description": description, "type": "string", "minLength": 1 })
}

/// JSON Schema of the config: unknown keys are errors at every level.
pub fn schema() -> Value {
    let built_in: Vec<&str> = BUILT_IN.iter().map(|(name, _)| *name).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "builtin:review",
        "description": "Reviewer personas read the run's change (its diff against the base commit) in parallel read-only agent sessions; the change passes when enough of them approve.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "personas": {
                "description": "The reviewers: built-in names, or mappings {name, prompt | prompt_file, backend, model}.",
                "type": "array",
                "minItems": 1,
                "default": DEFAULT_PERSONAS,
                "items": {
                    "oneOf": [
                        {
                            "description": "A built-in persona.",
                            "enum": built_in
                        },
                        {
                            "description": "A custom persona, or a built-in one with its own backend or model.",
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["name"],
                            "properties": {
                                "name": {
                                    "description": "The persona's name (a built-in name without prompt keeps the built-in prompt).",
                                    "type": "string",
                                    "pattern": NAME_PATTERN
                                },
                                "prompt": non_empty("What this persona looks for."),
                                "prompt_file": non_empty("A file in the repository holding the prompt, relative to its root."),
                                "backend": non_empty("This persona's agent backend."),
                                "model": non_empty("This persona's model id or tier (genius, smart, primitive).")
                            },
                            "not": { "required": ["prompt", "prompt_file"] },
                            "if": { "properties": { "name": { "not": { "enum": built_in } } } },
                            "then": {
                                "description": "A custom persona (not a built-in name) needs prompt or prompt_file.",
                                "anyOf": [{ "required": ["prompt"] }, { "required": ["prompt_file"] }]
                            }
                        }
                    ]
                }
            },
            "require": {
                "description": "How many personas must approve: all, majority (more than half) or any (one).",
                "enum": ["all", "majority", "any"],
                "default": "all"
            },
            "block_on": {
                "description": "Severities that make a request for changes block; a request_changes verdict whose findings have none of them counts as an approval. Default: every request_changes blocks.",
                "type": "array",
                "minItems": 1,
                "uniqueItems": true,
                "items": { "enum": SEVERITIES }
            },
            "backend": {
                "description": "Agent backend of personas that set none.",
                "type": "string",
                "minLength": 1,
                "default": DEFAULT_BACKEND
            },
            "model": {
                "description": "Model id or tier of personas that set none.",
                "type": "string",
                "minLength": 1,
                "default": DEFAULT_MODEL
            },
            "max_turns": {
                "description": "Turn limit of each persona's session.",
                "type": "integer",
                "minimum": 1,
                "default": DEFAULT_MAX_TURNS
            },
            "budget_usd": {
                "description": "Spending cap of each persona's session in USD.",
                "type": "number",
                "exclusiveMinimum": 0
            },
            "max_parallel": {
                "description": "How many personas review at the same time (default: all).",
                "type": "integer",
                "minimum": 1
            },
            "max_diff_bytes": {
                "description": "The diff shown to a persona is cut beyond this many bytes (with a note listing what is not shown).",
                "type": "integer",
                "minimum": 1000,
                "maximum": MAX_DIFF_BYTES_CAP,
                "default": DEFAULT_MAX_DIFF_BYTES
            },
            "on_empty_diff": {
                "description": "When the run's branch has no changes: fail (fatal, so on_failure can send the run back) or approve.",
                "enum": ["fail", "approve"],
                "default": "fail"
            },
            "instructions": {
                "description": "Extra text added to every persona's prompt.",
                "type": "string"
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReviewConfig;

    /// Every key the config struct accepts is in the schema and vice versa.
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
                "backend",
                "block_on",
                "budget_usd",
                "instructions",
                "max_diff_bytes",
                "max_parallel",
                "max_turns",
                "model",
                "on_empty_diff",
                "personas",
                "require"
            ]
        );
        let full = json!({
            "personas": ["quality", {"name": "perf", "prompt": "p", "backend": "codex", "model": "genius"}],
            "require": "majority",
            "block_on": ["critical", "high"],
            "backend": "claude",
            "model": "smart",
            "max_turns": 5,
            "budget_usd": 0.5,
            "max_parallel": 2,
            "max_diff_bytes": 5000,
            "on_empty_diff": "approve",
            "instructions": "x"
        });
        let config: ReviewConfig = serde_json::from_value(full).unwrap();
        config.validate().unwrap();
        let persona_keys: Vec<&str> =
            s["properties"]["personas"]["items"]["oneOf"][1]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
        let mut persona_keys = persona_keys;
        persona_keys.sort_unstable();
        assert_eq!(
            persona_keys,
            ["backend", "model", "name", "prompt", "prompt_file"]
        );
    }

    #[test]
    fn schema_is_strict_and_names_the_built_ins() {
        let s = schema();
        assert_eq!(s["additionalProperties"], false);
        let items = &s["properties"]["personas"]["items"]["oneOf"];
        assert_eq!(items[1]["additionalProperties"], false);
        assert_eq!(
            items[0]["enum"],
            json!(["quality", "security", "tests", "simplicity", "docs"])
        );
    }
}
