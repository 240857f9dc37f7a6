//! A persona's verdict: the JSON object it answers with, found in its reply and checked.
//!
//! ```json
//! {"verdict": "request_changes", "summary": "...",
//!  "findings": [{"file": "src/a.rs", "line": 12, "severity": "high", "message": "..."}]}
//! ```
//!
//! Agents wrap JSON in prose and code fences, so the reply is searched: the whole text, then
//! fenced blocks (last first), then every JSON object in the text (last first). The first
//! candidate that is a valid verdict wins. Field values are read leniently (`"approved"`,
//! `"changes_requested"`, `"major"`, a line given as `"12"`), but a reply without a readable
//! `verdict` is never taken as an approval.

use serde::Serialize;
use serde_json::{Map, Value};

/// How many JSON objects of one reply are tried at most (from the end).
const MAX_CANDIDATES: usize = 200;

/// What a persona decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The change may go on as it is.
    Approve,
    /// The change must be fixed first.
    RequestChanges,
}

impl Decision {
    /// `approve` or `request_changes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::RequestChanges => "request_changes",
        }
    }
}

/// How serious a finding is, from the most to the least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Broken, exploitable or data-losing: must not merge.
    Critical,
    /// A real bug or a serious gap.
    High,
    /// Should be fixed, not a disaster.
    Medium,
    /// Minor.
    Low,
    /// A remark, no action needed.
    Info,
}

impl Severity {
    /// Every severity, from the most serious.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// Reads a severity leniently: the five names, any case, plus common synonyms
    /// (`blocker`, `major`, `minor`, `nit`, `warning`...). `None` for anything else.
    pub fn parse(text: &str) -> Option<Severity> {
        let normalized = text.trim().to_ascii_lowercase();
        Some(match normalized.as_str() {
            "critical" | "blocker" | "blocking" | "severe" => Severity::Critical,
            "high" | "major" | "error" | "important" => Severity::High,
            "medium" | "moderate" | "warning" | "warn" | "normal" => Severity::Medium,
            "low" | "minor" | "nit" | "nitpick" | "trivial" | "style" => Severity::Low,
            "info" | "informational" | "note" | "suggestion" | "praise" => Severity::Info,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem a persona found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file, relative to the repository root, when the finding is about one.
    pub file: Option<String>,
    /// The line in the new version of the file, when known.
    pub line: Option<u64>,
    /// How serious it is.
    pub severity: Severity,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl Finding {
    /// `src/a.rs:12 [high] message` (`src/a.rs [high] ...` without a line, `[high] ...`
    /// without a file).
    pub fn line_text(&self) -> String {
        let place = match (&self.file, self.line) {
            (Some(file), Some(line)) => format!("{file}:{line} "),
            (Some(file), None) => format!("{file} "),
            (None, _) => String::new(),
        };
        format!("{place}[{}] {}", self.severity, self.message.trim())
    }
}

/// A persona's whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Approve or request changes.
    pub verdict: Decision,
    /// A sentence or two on the change from the persona's point of view.
    pub summary: String,
    /// What it found (possibly nothing).
    pub findings: Vec<Finding>,
    /// Its checks of the constitution's rules, when it reported them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constitution: Option<Vec<crate::checks::Check>>,
    /// Its checks of the story's acceptance criteria, when it reported them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criteria: Option<Vec<crate::checks::Check>>,
}

/// Why a reply holds no usable verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerdictError {
    /// The reply is empty.
    #[error("the reply is empty")]
    Empty,
    /// No JSON object with a `verdict` key in the reply.
    #[error("the reply has no JSON object with a \"verdict\" key")]
    NoVerdict,
    /// A JSON object with a `verdict` key, but not a valid verdict.
    #[error("the verdict object is invalid: {0}")]
    Invalid(String),
}

/// Finds and checks the verdict in a persona's reply.
pub fn parse_verdict(reply: &str) -> Result<Verdict, VerdictError> {
    let reply = reply.trim();
    if reply.is_empty() {
        return Err(VerdictError::Empty);
    }
    let mut first_invalid: Option<String> = None;
    for candidate in candidates(reply) {
        let Value::Object(object) = candidate else {
            continue;
        };
        if !object.contains_key("verdict") {
            continue;
        }
        match verdict_from_object(&object) {
            Ok(verdict) => return Ok(verdict),
            Err(why) => {
                first_invalid.get_or_insert(why);
            }
        }
    }
    Err(match first_invalid {
        Some(why) => VerdictError::Invalid(why),
        None => VerdictError::NoVerdict,
    })
}

/// JSON values in the reply, most likely first: the whole text, fenced blocks (last first),
/// then each JSON object found in the text (last first).
fn candidates(reply: &str) -> Vec<Value> {
    let mut out = Vec::new();
    if let Ok(value) = serde_json::from_str::<Value>(reply) {
        out.push(value);
    }
    for block in fenced_blocks(reply).into_iter().rev() {
        if let Ok(value) = serde_json::from_str::<Value>(block.trim()) {
            out.push(value);
        }
    }
    out.extend(embedded_objects(reply));
    out
}

/// The contents of ```` ``` ```` fenced blocks (any info string), in order.
fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after_ticks = &rest[open..];
        let ticks = after_ticks.chars().take_while(|c| *c == '`').count();
        let fence = &after_ticks[..ticks];
        // The block starts after the info string's line.
        let Some(line_end) = after_ticks.find('\n') else {
            break;
        };
        let body = &after_ticks[line_end + 1..];
        let Some(close) = body.find(fence) else {
            break;
        };
        blocks.push(&body[..close]);
        rest = &body[close + ticks..];
    }
    blocks
}

/// Every JSON object that starts at a `{` of the text and parses, last first (nested objects
/// included; the caller keeps those with a `verdict` key).
fn embedded_objects(text: &str) -> Vec<Value> {
    let starts: Vec<usize> = text.match_indices('{').map(|(i, _)| i).collect();
    let mut out = Vec::new();
    for &start in starts.iter().rev().take(MAX_CANDIDATES) {
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        if let Some(Ok(value @ Value::Object(_))) = stream.next() {
            out.push(value);
        }
    }
    out
}

fn verdict_from_object(object: &Map<String, Value>) -> Result<Verdict, String> {
    let verdict = match object.get("verdict") {
        Some(Value::String(text)) => parse_decision(text).ok_or_else(|| {
            format!("\"verdict\" must be \"approve\" or \"request_changes\", not {text:?}")
        })?,
        Some(other) => {
            return Err(format!(
                "\"verdict\" must be \"approve\" or \"request_changes\", not {other}"
            ));
        }
        None => return Err("\"verdict\" is missing".to_string()),
    };
    let summary = match object.get("summary") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.trim().to_string(),
        Some(other) => return Err(format!("\"summary\" must be a string, not {other}")),
    };
    let findings = match object.get("findings") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| finding(item).map_err(|why| format!("finding {}: {why}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => return Err(format!("\"findings\" must be a list, not {other}")),
    };
    Ok(Verdict {
        verdict,
        summary,
        findings,
        constitution: crate::checks::read_checks(object, "constitution"),
        criteria: crate::checks::read_checks(object, "criteria"),
    })
}

/// `approve` / `request_changes` and their usual spellings.
fn parse_decision(text: &str) -> Option<Decision> {
    let normalized: String = text
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c == '-' || c == ' ' { '_' } else { c })
        .collect();
    match normalized.as_str() {
        "approve" | "approved" | "accept" | "accepted" | "lgtm" | "pass" => Some(Decision::Approve),
        "request_changes" | "changes_requested" | "request_change" | "reject" | "rejected"
        | "needs_changes" | "changes_needed" => Some(Decision::RequestChanges),
        _ => None,
    }
}

fn finding(item: &Value) -> Result<Finding, String> {
    let Value::Object(map) = item else {
        return match item {
            Value::String(text) if !text.trim().is_empty() => Ok(Finding {
                file: None,
                line: None,
                severity: Severity::Medium,
                message: text.trim().to_string(),
            }),
            other => Err(format!("expected an object, got {other}")),
        };
    };
    let text_field = |keys: &[&str]| {
        keys.iter().find_map(|key| match map.get(*key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        })
    };
    let message = text_field(&["message", "description", "comment", "issue", "text"])
        .ok_or_else(|| "\"message\" is missing or empty".to_string())?;
    let file = text_field(&["file", "path"]);
    let line = match map.get("line") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_u64().filter(|l| *l > 0),
        // "12", "12-14", "L12": the first number.
        Some(Value::String(s)) => {
            let digits: String = s
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u64>().ok().filter(|l| *l > 0)
        }
        Some(other) => return Err(format!("\"line\" must be a number, not {other}")),
    };
    let severity = match map.get("severity") {
        None | Some(Value::Null) => Severity::Medium,
        Some(Value::String(s)) => Severity::parse(s).ok_or_else(|| {
            format!("\"severity\" must be one of critical, high, medium, low, info, not {s:?}")
        })?,
        Some(other) => return Err(format!("\"severity\" must be a string, not {other}")),
    };
    Ok(Finding {
        file,
        line,
        severity,
        message,
    })
}

#[cfg(test)]
#[path = "tests/verdict_tests.rs"]
mod tests;
