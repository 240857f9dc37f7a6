//! A tiny JSONL dialect for driving the supervisor from `sh` scripts, and its parser.
//!
//! One object per line, field `k`:
//! `session{id, model?}`, `text{text}`, `tool{id, name}`, `done{id, ok?}`,
//! `usage{in?, out?, cost?}`, `rate{resets?, msg?}`, `auth{msg?}`, `quota{msg?}`,
//! `overflow{msg?}`, `later{in?, out?}` (usage the parser only reports from `finish`, like
//! Codex's rollout file), `result{error?, subtype?, text?, turns?, in?, out?, cost?, session?}` (the
//! result carries usage when it has `in`, `out` or `cost`). Anything else is `Unknown`.

use engine_agent::{AgentEvent, StreamParser, Usage};
use serde_json::Value;

/// Parser for the test dialect.
#[derive(Debug, Default)]
pub struct JsonlParser {
    /// Usage announced by `later` lines, reported by `finish`.
    later: Option<Usage>,
}

impl JsonlParser {
    /// A boxed parser for [`engine_agent::Session::start`].
    pub fn boxed() -> Box<dyn StreamParser> {
        Box::new(JsonlParser::default())
    }
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

fn usage(value: &Value) -> Usage {
    Usage {
        input_tokens: value["in"].as_u64().unwrap_or(0),
        output_tokens: value["out"].as_u64().unwrap_or(0),
        cost_usd: value["cost"].as_f64(),
        ..Usage::default()
    }
}

impl StreamParser for JsonlParser {
    fn stdout_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let unknown = || {
            vec![AgentEvent::Unknown {
                raw: line.to_string(),
            }]
        };
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            return unknown();
        };
        let event = match value["k"].as_str().unwrap_or_default() {
            "session" => AgentEvent::SessionStarted {
                session_id: text(&value, "id"),
                model: value["model"].as_str().map(String::from),
            },
            "text" => AgentEvent::AssistantText {
                text: text(&value, "text"),
            },
            "tool" => AgentEvent::ToolStarted {
                id: text(&value, "id"),
                name: text(&value, "name"),
                input: Value::Null,
            },
            "done" => AgentEvent::ToolFinished {
                id: text(&value, "id"),
                name: None,
                ok: value["ok"].as_bool().unwrap_or(true),
                output: String::new(),
            },
            "usage" => AgentEvent::Usage {
                usage: usage(&value),
            },
            "later" => {
                self.later = Some(usage(&value));
                return Vec::new();
            }
            "rate" => AgentEvent::RateLimited {
                resets_at_ms: value["resets"].as_u64(),
                message: text(&value, "msg"),
            },
            "auth" => AgentEvent::AuthFailed {
                message: text(&value, "msg"),
            },
            "quota" => AgentEvent::QuotaExhausted {
                message: text(&value, "msg"),
            },
            "overflow" => AgentEvent::ContextOverflow {
                message: text(&value, "msg"),
            },
            "result" => AgentEvent::Result {
                is_error: value["error"].as_bool().unwrap_or(false),
                subtype: value["subtype"].as_str().unwrap_or("success").to_string(),
                text: text(&value, "text"),
                session_id: value["session"].as_str().map(String::from),
                turns: value["turns"].as_u64().and_then(|t| u32::try_from(t).ok()),
                usage: ["cost", "in", "out"]
                    .iter()
                    .any(|k| value.get(k).is_some())
                    .then(|| usage(&value)),
            },
            _ => return unknown(),
        };
        vec![event]
    }

    fn stderr_line(&mut self, line: &str) -> Vec<AgentEvent> {
        vec![AgentEvent::StderrLine {
            line: line.to_string(),
        }]
    }

    fn finish(&mut self, _exit_code: Option<i32>) -> Vec<AgentEvent> {
        self.later
            .take()
            .map(|usage| AgentEvent::Usage { usage })
            .into_iter()
            .collect()
    }
}
