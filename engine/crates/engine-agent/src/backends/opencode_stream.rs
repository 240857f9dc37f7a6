//! The parser of `opencode run --format json --print-logs --log-level ERROR` (checked against
//! opencode 1.18.33; real transcripts in tests/fixtures/opencode/real).
//!
//! Stdout lines `{type, timestamp, sessionID, part}`:
//! - the first `sessionID` seen -> `SessionStarted` (opencode has no init event).
//! - `text` -> `AssistantText` (printed whole, when the text part ends).
//! - `tool_use` (printed when the call ends) -> `ToolStarted` + `ToolFinished` (status `completed`
//!   ok, `error` not ok); other statuses -> `ToolStarted` only. Started once per `callID`.
//! - `step_finish` -> Usage, cumulative over this run: cost is the sum of `part.cost`, tokens
//!   the sum of `part.tokens` (`input` excludes cached input; reasoning tokens count as output).
//!   Each `step_finish` holds that step's usage only, also after `-s SESSION` (the resumed
//!   session's earlier steps are not repeated), and a stream cut and retried by opencode reports
//!   nothing for the cut attempt. Subagent (`task`) sessions and the session-title request are
//!   not printed, so their tokens are not seen.
//! - `error` (opencode gave up: exit 1) -> `AuthFailed` (`ProviderAuthError`, HTTP 401/403),
//!   `QuotaExhausted` (quota or billing), `RateLimited` (HTTP 429 or a usage limit),
//!   `ContextOverflow`; remembered for the result.
//! - `step_start` -> nothing; anything else -> Unknown.
//!
//! Stderr: every line -> `StderrLine`. opencode retries a failed model call by itself, forever,
//! without a word on stdout (per-minute 429s after `retry-after`, quota 429s and dropped streams
//! alike); with `--print-logs --log-level ERROR` each failed call is a logfmt line
//! `level=ERROR ... message="stream error" session.id=ses_... error.error="AI_APICallError: ..."`.
//! Such a line -> `SessionStarted` when no session was seen yet (a session whose first call fails
//! prints nothing on stdout), and by its message:
//! - quota or billing exhausted -> `QuotaExhausted` and an error Result: retrying cannot help, so
//!   the session is over (the supervisor stops the still-retrying process after its grace).
//! - a rate limit -> `RateLimited` with the reset the message states (`Please try again in 20s`),
//!   else [`UNSTATED_RETRY_MS`] from now; opencode keeps retrying, so the session goes on.
//! - anything else (a dropped stream, an overloaded server) -> nothing more.
//!
//! `finish()`: opencode has no terminal event, so the exit ends the session with a Result
//! (`is_error` when the exit code is not 0 or an error was seen). Killed: nothing.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::backend::StreamParser;
use crate::event::{AgentEvent, Usage};

use crate::backends::lenient::MAX_TOOL_OUTPUT_BYTES;
use crate::backends::reset_time::reset_from_text;
use crate::backends::text::{
    CONTEXT_OVERFLOW_PHRASES, USAGE_LIMIT_PHRASES, add_tokens, contains_any_ci, now_ms,
    truncate_at_char_boundary,
};

/// Phrases meaning the account's quota or billing is exhausted: waiting does not help.
const QUOTA_PHRASES: &[&str] = &[
    "insufficient_quota",
    "exceeded your current quota",
    "check your plan and billing",
    "credit balance is too low",
    "billing_hard_limit_reached",
    "billing hard limit",
];

/// Phrases of a (per-minute) rate limit the provider lifts by itself.
const RATE_LIMIT_PHRASES: &[&str] = &["rate limit", "rate_limit", "ratelimit", "too many requests"];

/// The wait assumed when a rate-limit message states none: opencode's own retry delay without
/// a `retry-after` header is at most 30 s.
pub(crate) const UNSTATED_RETRY_MS: u64 = 60_000;

/// Parser state for one opencode session.
pub struct OpencodeParser {
    now: fn() -> u64,
    session_id: Option<String>,
    started: HashSet<String>,
    totals: Usage,
    steps: u32,
    last_text: String,
    last_error: Option<String>,
    result_seen: bool,
    auth_reported: bool,
    quota_reported: bool,
    overflow_reported: bool,
}

impl Default for OpencodeParser {
    fn default() -> Self {
        Self::with_clock(now_ms)
    }
}

impl OpencodeParser {
    /// A parser reading the time (ms since the epoch) from `now`, for rate-limit resets.
    pub fn with_clock(now: fn() -> u64) -> Self {
        Self {
            now,
            session_id: None,
            started: HashSet::new(),
            totals: Usage::default(),
            steps: 0,
            last_text: String::new(),
            last_error: None,
            result_seen: false,
            auth_reported: false,
            quota_reported: false,
            overflow_reported: false,
        }
    }

    fn session(&mut self, id: &str, out: &mut Vec<AgentEvent>) {
        if self.session_id.is_none() && !id.is_empty() {
            self.session_id = Some(id.to_owned());
            out.push(AgentEvent::SessionStarted {
                session_id: id.to_owned(),
                model: None,
            });
        }
    }

    fn tool_use(&mut self, part: &Value, out: &mut Vec<AgentEvent>) {
        let id = part
            .get("callID")
            .or_else(|| part.get("id"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = part
            .get("tool")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let state = part.get("state").unwrap_or(&Value::Null);
        let status = state.get("status").and_then(Value::as_str).unwrap_or("");
        if self.started.insert(id.to_owned()) {
            let input = state.get("input").cloned().unwrap_or(Value::Null);
            out.push(AgentEvent::ToolStarted {
                id: id.to_owned(),
                name: name.clone(),
                input,
            });
        }
        let (ok, key) = match status {
            "completed" => (true, "output"),
            "error" => (false, "error"),
            _ => return,
        };
        self.started.remove(id);
        let output = state.get(key).and_then(Value::as_str).unwrap_or("");
        out.push(AgentEvent::ToolFinished {
            id: id.to_owned(),
            name: Some(name),
            ok,
            output: truncate_at_char_boundary(output, MAX_TOOL_OUTPUT_BYTES).to_owned(),
        });
    }

    fn step_finish(&mut self, part: &Value, out: &mut Vec<AgentEvent>) {
        self.steps = self.steps.saturating_add(1);
        let cost = part
            .get("cost")
            .and_then(Value::as_f64)
            .filter(|c| c.is_finite() && *c >= 0.0)
            .unwrap_or(0.0);
        let t = part.get("tokens").unwrap_or(&Value::Null);
        let output = u64_at(t, &["output"]).saturating_add(u64_at(t, &["reasoning"]));
        add_tokens(
            &mut self.totals,
            u64_at(t, &["input"]),
            output,
            u64_at(t, &["cache", "read"]),
            u64_at(t, &["cache", "write"]),
        );
        self.totals.cost_usd = Some(self.totals.cost_usd.unwrap_or(0.0) + cost);
        out.push(AgentEvent::Usage { usage: self.totals });
    }

    fn quota(&mut self, message: &str, out: &mut Vec<AgentEvent>) {
        if !std::mem::replace(&mut self.quota_reported, true) {
            out.push(AgentEvent::QuotaExhausted {
                message: message.to_owned(),
            });
        }
    }

    fn error(&mut self, error: &Value, out: &mut Vec<AgentEvent>) {
        let name = error.get("name").and_then(Value::as_str).unwrap_or("Error");
        let data = error.get("data").unwrap_or(&Value::Null);
        let message = data
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_owned();
        let status = data.get("statusCode").and_then(Value::as_u64);
        let body = data
            .get("responseBody")
            .and_then(Value::as_str)
            .unwrap_or("");
        if name == "ProviderAuthError" || matches!(status, Some(401 | 403)) {
            if !std::mem::replace(&mut self.auth_reported, true) {
                out.push(AgentEvent::AuthFailed {
                    message: message.clone(),
                });
            }
        } else if contains_any_ci(&message, QUOTA_PHRASES) || contains_any_ci(body, QUOTA_PHRASES) {
            self.quota(&message, out);
        } else if status == Some(429) || contains_any_ci(&message, USAGE_LIMIT_PHRASES) {
            out.push(AgentEvent::RateLimited {
                resets_at_ms: reset_from_text(&message, (self.now)()),
                message: message.clone(),
            });
        } else if contains_any_ci(&message, CONTEXT_OVERFLOW_PHRASES)
            && !std::mem::replace(&mut self.overflow_reported, true)
        {
            out.push(AgentEvent::ContextOverflow {
                message: message.clone(),
            });
        }
        self.last_error = Some(message);
    }

    /// A `--print-logs` line: a failed model call that opencode retries by itself.
    fn log_line(&mut self, line: &str, out: &mut Vec<AgentEvent>) {
        let fields = logfmt(line);
        if let Some(id) = fields.get("session.id").filter(|id| id.starts_with("ses_")) {
            self.session(id, out);
        }
        if fields.get("message").map(String::as_str) != Some("stream error") {
            return;
        }
        let Some(error) = fields.get("error.error") else {
            return;
        };
        let message = error
            .split_once(": ")
            .filter(|(kind, _)| kind.starts_with("AI_") && !kind.contains(' '))
            .map_or(error.as_str(), |(_, rest)| rest);
        if contains_any_ci(message, QUOTA_PHRASES) {
            self.quota(message, out);
            if !std::mem::replace(&mut self.result_seen, true) {
                out.push(self.result(true, message.to_owned()));
            }
        } else if contains_any_ci(message, RATE_LIMIT_PHRASES)
            || contains_any_ci(message, USAGE_LIMIT_PHRASES)
        {
            let now = (self.now)();
            let resets_at_ms =
                reset_from_text(message, now).unwrap_or(now.saturating_add(UNSTATED_RETRY_MS));
            out.push(AgentEvent::RateLimited {
                resets_at_ms: Some(resets_at_ms),
                message: message.to_owned(),
            });
        }
    }

    fn result(&self, is_error: bool, text: String) -> AgentEvent {
        AgentEvent::Result {
            is_error,
            subtype: if is_error { "error" } else { "success" }.to_owned(),
            text,
            session_id: self.session_id.clone(),
            turns: Some(self.steps),
            usage: Some(self.totals),
        }
    }
}

fn u64_at(v: &Value, path: &[&str]) -> u64 {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The `key=value` and `key="quoted \"value\""` fields of a logfmt line (opencode's log
/// format). Not a log line (no `level=` field): empty.
fn logfmt(line: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_owned();
        rest = &rest[eq + 1..];
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, other)) => value.push(other),
                        None => {}
                    },
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            rest = &quoted[end..];
            value
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            let value = rest[..end].to_owned();
            rest = &rest[end..];
            value
        };
        if key.contains(' ') {
            // Free text, not logfmt.
            return BTreeMap::new();
        }
        fields.insert(key, value);
        rest = rest.trim_start();
    }
    if fields.contains_key("level") {
        fields
    } else {
        BTreeMap::new()
    }
}

impl StreamParser for OpencodeParser {
    fn stdout_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let raw = line.trim_end_matches('\r');
        if raw.trim().is_empty() {
            return Vec::new();
        }
        let event = match serde_json::from_str::<Value>(raw) {
            Ok(v) if v.is_object() => v,
            _ => {
                return vec![AgentEvent::Unknown {
                    raw: raw.to_owned(),
                }];
            }
        };
        let mut out = Vec::new();
        if let Some(id) = event.get("sessionID").and_then(Value::as_str) {
            self.session(id, &mut out);
        }
        let part = event.get("part").unwrap_or(&Value::Null);
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "step_start" => {}
            "text" => {
                let text = part.get("text").and_then(Value::as_str).unwrap_or("");
                if !text.is_empty() {
                    text.clone_into(&mut self.last_text);
                    out.push(AgentEvent::AssistantText {
                        text: text.to_owned(),
                    });
                }
            }
            "tool_use" => self.tool_use(part, &mut out),
            "step_finish" => self.step_finish(part, &mut out),
            "error" => self.error(event.get("error").unwrap_or(&Value::Null), &mut out),
            _ => out.push(AgentEvent::Unknown {
                raw: raw.to_owned(),
            }),
        }
        out
    }

    fn stderr_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim_end_matches('\r');
        let mut out = vec![AgentEvent::StderrLine {
            line: line.to_owned(),
        }];
        if line.contains("level=ERROR") {
            self.log_line(line, &mut out);
        }
        out
    }

    fn finish(&mut self, exit_code: Option<i32>) -> Vec<AgentEvent> {
        let Some(code) = exit_code else {
            return Vec::new();
        };
        if std::mem::replace(&mut self.result_seen, true) {
            return Vec::new();
        }
        let is_error = code != 0 || self.last_error.is_some();
        let text = match self.last_error.take() {
            Some(error) => error,
            None if code != 0 => format!("opencode exited with code {code}"),
            None => self.last_text.clone(),
        };
        vec![self.result(is_error, text)]
    }
}

#[cfg(test)]
#[path = "opencode_stream_tests.rs"]
mod tests;
