//! The JSON Schema of the stage's `with:` (strict: unknown keys are errors at every level),
//! with the built-in defaults shown as `default`.

use serde_json::{Value, json};

use crate::config::{AgentSettings, FileRules, MAX_AGENT_TURNS, SizeRules, VagueRules};
use crate::defaults;

/// JSON Schema of the config.
pub fn schema() -> Value {
    let size = SizeRules::default();
    let files = FileRules::default();
    let vague = VagueRules::default();
    let agent = AgentSettings::default();
    let labels: serde_json::Map<String, Value> = defaults::default_labels()
        .into_iter()
        .map(|(label, tier)| (label, json!(tier.as_str())))
        .collect();
    let count = json!({ "type": "integer", "minimum": 0 });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "builtin:triage",
        "description": "Picks the model tier of the run (genius, smart, primitive) and stops tasks that are already done or too vague (the run ends \"needs attention\").",
        "type": "object",
        "additionalProperties": false,
        "$defs": {
            "tier": { "enum": ["genius", "smart", "primitive"] },
            "words": { "type": "array", "items": { "type": "string", "minLength": 1 } }
        },
        "properties": {
            "mode": {
                "description": "rules: labels, size, keywords and file hints (no agent, no cost). agent: a read-only agent session returns a JSON verdict (needs permissions.agent).",
                "enum": ["rules", "agent"],
                "default": "rules"
            },
            "default_tier": {
                "description": "The tier when no rule votes (rules mode).",
                "$ref": "#/$defs/tier",
                "default": "smart"
            },
            "force_tier": {
                "description": "Use this tier whatever the rules or the agent say; an empty string means not set. A run resumed after a stall still gets genius.",
                "anyOf": [{ "$ref": "#/$defs/tier" }, { "const": "" }]
            },
            "labels": {
                "description": "Task label -> tier (case-insensitive); the highest matching label decides, before size, keywords and files. Replaces the built-in map.",
                "type": "object",
                "additionalProperties": { "$ref": "#/$defs/tier" },
                "default": labels
            },
            "skip_labels": {
                "description": "Labels meaning \"do not run\": the run ends needing attention. Replaces the built-in list.",
                "$ref": "#/$defs/words",
                "default": defaults::default_skip_labels()
            },
            "size": {
                "description": "A text of at least large_chars characters or large_lines lines votes genius; one of at most small_chars characters and small_lines lines votes primitive.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "small_chars": count.clone(),
                    "small_lines": count.clone(),
                    "large_chars": { "type": "integer", "minimum": 1 },
                    "large_lines": { "type": "integer", "minimum": 1 }
                },
                "default": {
                    "small_chars": size.small_chars, "small_lines": size.small_lines,
                    "large_chars": size.large_chars, "large_lines": size.large_lines
                }
            },
            "keywords": {
                "description": "Words or phrases per tier, matched as whole words in the title and body (case-insensitive, with -s/-ed/-ing forms). A tier given replaces its built-in list.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "genius": { "$ref": "#/$defs/words", "default": defaults::default_genius_keywords() },
                    "smart": { "$ref": "#/$defs/words", "default": defaults::default_smart_keywords() },
                    "primitive": { "$ref": "#/$defs/words", "default": defaults::default_primitive_keywords() }
                }
            },
            "files": {
                "description": "How many of the files the task names must exist in the worktree to vote smart or genius (needs permissions.workspace: read; skipped otherwise).",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "smart": { "type": "integer", "minimum": 1 },
                    "genius": { "type": "integer", "minimum": 1 }
                },
                "default": { "smart": files.smart, "genius": files.genius }
            },
            "vague": {
                "description": "A task is too vague (the run ends needing attention) when its text is empty, or shorter than max_chars while naming no file and using none of the verbs.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "enabled": { "type": "boolean", "default": vague.enabled },
                    "max_chars": { "type": "integer", "minimum": 0, "default": vague.max_chars },
                    "verbs": { "$ref": "#/$defs/words", "default": vague.verbs }
                }
            },
            "agent": {
                "description": "The read-only session of mode agent.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "backend": { "type": "string", "minLength": 1, "default": agent.backend },
                    "model": {
                        "description": "A model id or a tier name the workflow's models: maps.",
                        "type": "string", "minLength": 1, "default": agent.model
                    },
                    "max_turns": {
                        "type": "integer", "minimum": 1, "maximum": MAX_AGENT_TURNS,
                        "default": agent.max_turns
                    },
                    "budget_usd": { "type": "number", "exclusiveMinimum": 0 },
                    "instructions": {
                        "description": "Extra instructions added to the prompt (your project's own criteria).",
                        "type": "string"
                    }
                }
            }
        }
    })
}
