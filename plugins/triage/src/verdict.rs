//! The agent's verdict: `{"decision": "run" | "already_done" | "too_vague", "tier": ...,
//! "reason": ...}`, found in a fenced code block tagged `json` or as the last JSON object of the
//! text.

use serde_json::{Map, Value};

use crate::assessment::{Decision, StopKind};
use crate::tier::Tier;

/// Texts longer than this are searched only in their last part (a verdict comes last).
const MAX_SCANNED_BYTES: usize = 64 * 1024;

/// A verdict the agent gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Run (on a tier), or stop.
    pub decision: Decision,
    /// Why, in the agent's words (may be empty).
    pub reason: String,
}

/// Why no verdict could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerdictError {
    /// The text holds no JSON object.
    #[error("no JSON object in the reply")]
    NoJson,
    /// JSON objects, but none with a `decision`.
    #[error("the JSON has no \"decision\"")]
    NoDecision,
    /// `decision` is not one of the three.
    #[error("unknown decision {0:?} (expected run, already_done or too_vague)")]
    UnknownDecision(String),
    /// `decision` is `run` but `tier` is missing.
    #[error("decision \"run\" without a \"tier\"")]
    MissingTier,
    /// `tier` is not a tier name.
    #[error("unknown tier {0:?} (expected genius, smart or primitive)")]
    UnknownTier(String),
}

/// Reads the verdict from the agent's final text: the last fenced block (```json or ```)
/// holding an object with a `decision`, else the last such JSON object anywhere in the text.
pub fn parse(text: &str) -> Result<Verdict, VerdictError> {
    let text = tail(text, MAX_SCANNED_BYTES);
    let from_fences = fenced_blocks(text)
        .iter()
        .rev()
        .find_map(|block| last_object_with_decision(block));
    let object = match from_fences.or_else(|| last_object_with_decision(text)) {
        Some(object) => object,
        None if json_objects(text).is_empty() => return Err(VerdictError::NoJson),
        None => return Err(VerdictError::NoDecision),
    };
    verdict_from(&object)
}

fn verdict_from(object: &Map<String, Value>) -> Result<Verdict, VerdictError> {
    let decision = object.get("decision").map(value_text).unwrap_or_default();
    let reason = object.get("reason").map(value_text).unwrap_or_default();
    let normal = decision.trim().to_lowercase().replace(['-', ' '], "_");
    let decision = match normal.as_str() {
        "run" => {
            let tier = match object.get("tier") {
                None | Some(Value::Null) => return Err(VerdictError::MissingTier),
                Some(value) => value_text(value),
            };
            match Tier::parse(&tier) {
                Some(tier) => Decision::Run(tier),
                None if tier.trim().is_empty() => return Err(VerdictError::MissingTier),
                None => return Err(VerdictError::UnknownTier(tier)),
            }
        }
        "already_done" | "done" => Decision::Stop(StopKind::AlreadyDone),
        "too_vague" | "vague" => Decision::Stop(StopKind::TooVague),
        _ => return Err(VerdictError::UnknownDecision(decision)),
    };
    Ok(Verdict {
        decision,
        reason: reason.trim().to_string(),
    })
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The last `max` bytes of `text`, cut at a character boundary.
fn tail(text: &str, max: usize) -> &str {
    &text[text.ceil_char_boundary(text.len().saturating_sub(max))..]
}

/// The contents of the fenced code blocks of `text` (backtick or tilde fences, any info string).
fn fenced_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut open: Option<(&str, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(fence) = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f)) {
                    open = Some((fence, String::new()));
                }
            }
            Some((fence, body)) => {
                if trimmed.trim_end() == *fence {
                    blocks.push(std::mem::take(body));
                    open = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    blocks
}

/// The top-level JSON objects found in `text`, in order.
fn json_objects(text: &str) -> Vec<Map<String, Value>> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = text[at..].find('{') {
        let start = at + offset;
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(Value::Object(object))) => {
                found.push(object);
                at = start + stream.byte_offset().max(1);
            }
            _ => at = start + 1,
        }
    }
    found
}

/// The last JSON object of `text` that has a `decision` key.
fn last_object_with_decision(text: &str) -> Option<Map<String, Value>> {
    json_objects(text)
        .into_iter()
        .rev()
        .find(|object| object.contains_key("decision"))
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
