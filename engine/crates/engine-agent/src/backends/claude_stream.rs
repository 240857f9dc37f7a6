//! Claude Code's `stream-json` output, parsed into typed, borrowed structs (no `Value` for whole
//! lines: most bytes are tool outputs, which are cut while parsing, and unneeded fields such as
//! `tool_use_result` are skipped).
//!
//! Mapping:
//! - `system/init` -> `SessionStarted`; `system/api_retry` -> `ApiRetry` (its delay is kept: after a
//!   429 it is the API's `retry-after`); other `system` lines -> `AuthFailed` when they carry a
//!   login failure, else Unknown.
//! - `stream_event` (`--include-partial-messages`): `message_start` / `message_delta` -> Usage
//!   (the live count: `assistant` lines only ever carry `output_tokens: 1`); every other stream
//!   event (text and tool-input deltas, one line per token) is skipped unparsed.
//! - `assistant`: `text` blocks -> `AssistantText` (skipped for subagents, i.e. a non-null
//!   `parent_tool_use_id`: their text is not the session's answer); `tool_use` blocks ->
//!   `ToolStarted` (subagents' too, so supervision sees their tools); `message.usage` -> Usage,
//!   cumulative for the session and deduplicated by `message.id` (events of one message repeat
//!   its usage). A message with an `error` is not assistant text: `billing_error`, or any error
//!   whose text says the credit balance is too low (a billing 429 arrives as `rate_limit`) ->
//!   `QuotaExhausted`; `rate_limit` -> `RateLimited` (reset from the last rejected
//!   `rate_limit_event`, else from the text, else now + the delay of the last 429 retry, which
//!   Claude takes from `retry-after`, else now + 1 minute for an API 429: an account window
//!   always comes with a `rate_limit_event`); `authentication_failed` -> `AuthFailed`; any error
//!   saying "prompt is too long" -> `ContextOverflow`.
//! - `user` `tool_result` blocks (several when tools ran in parallel) -> `ToolFinished`, named
//!   after the matching `ToolStarted`.
//! - `rate_limit_event` with status `rejected` -> `RateLimited` (`resetsAt` seconds -> ms).
//! - `result` -> Result (only the first; later ones are ignored), preceded by `ContextOverflow`,
//!   `QuotaExhausted`, `RateLimited` or `AuthFailed` when an error result says so and nothing reported
//!   it before. Its usage is `modelUsage` summed over models: the session's true totals (the
//!   result's own `usage` holds only the last call after a stream was cut and retried, and only
//!   the first at `error_max_budget_usd`); `usage` when there is no `modelUsage`.
//! - stderr -> `StderrLine`, plus `AuthFailed` for login failures.
//! - Anything else, or a line that is not JSON -> Unknown.
//!
//! `AuthFailed`, `QuotaExhausted` and `ContextOverflow` are reported once per session.

mod usage;

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;

use crate::backend::StreamParser;
use crate::event::AgentEvent;

use super::claude_wire::{Content, Line, RawUsage, StreamEvent};
use super::lenient::LStr;
use super::reset_time::reset_from_text;
use super::text::{
    CONTEXT_OVERFLOW_PHRASES, USAGE_LIMIT_PHRASES, contains_any_ci, contains_ci, epoch_to_ms,
    now_ms,
};

/// Phrases in stderr, `system` lines and error results meaning the login is gone.
pub(crate) const CLAUDE_AUTH_PHRASES: &[&str] = &[
    "oauth token has expired",
    "please run /login",
    "authentication_error",
    "invalid api key",
];

/// Phrases in errors meaning the account's credit or billing is exhausted: waiting does not help.
pub(crate) const CLAUDE_QUOTA_PHRASES: &[&str] = &[
    "credit balance is too low",
    "billing_error",
    "purchase credits",
];

/// The wait assumed for an API 429 that says nothing of its reset (Anthropic's API limits are
/// per minute).
const API_RATE_LIMIT_WAIT_MS: u64 = 60_000;

/// A `stream_event` line, only what the usage needs.
#[derive(Deserialize)]
struct StreamLine<'a> {
    #[serde(borrow, default)]
    event: Option<StreamEvent<'a>>,
    #[serde(borrow, default)]
    parent_tool_use_id: LStr<'a>,
}

/// Parser state for one Claude Code session.
pub struct ClaudeParser {
    tool_names: HashMap<String, String>,
    ledger: usage::Ledger,
    session_id: Option<String>,
    last_reset_ms: Option<u64>,
    /// The delay of the last retry after a 429 (Claude's `retry-after`), ms.
    last_429_delay_ms: Option<u64>,
    result_seen: bool,
    auth_reported: bool,
    quota_reported: bool,
    overflow_reported: bool,
    rate_limit_reported: bool,
    now: fn() -> u64,
}

impl Default for ClaudeParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ClaudeParser {
    /// A parser for a new session.
    pub fn new() -> Self {
        Self {
            tool_names: HashMap::new(),
            ledger: usage::Ledger::default(),
            session_id: None,
            last_reset_ms: None,
            last_429_delay_ms: None,
            result_seen: false,
            auth_reported: false,
            quota_reported: false,
            overflow_reported: false,
            rate_limit_reported: false,
            now: now_ms,
        }
    }

    fn auth_failed(&mut self, message: &str, out: &mut Vec<AgentEvent>) {
        if !self.auth_reported {
            self.auth_reported = true;
            out.push(AgentEvent::AuthFailed {
                message: message.to_owned(),
            });
        }
    }

    fn quota_exhausted(&mut self, message: &str, out: &mut Vec<AgentEvent>) {
        if !self.quota_reported {
            self.quota_reported = true;
            out.push(AgentEvent::QuotaExhausted {
                message: message.to_owned(),
            });
        }
    }

    fn context_overflow(&mut self, message: &str, out: &mut Vec<AgentEvent>) {
        if !self.overflow_reported {
            self.overflow_reported = true;
            out.push(AgentEvent::ContextOverflow {
                message: message.to_owned(),
            });
        }
    }

    fn rate_limited(&mut self, message: &str, out: &mut Vec<AgentEvent>) {
        self.rate_limit_reported = true;
        // A rejected `rate_limit_event`'s `resetsAt` is exact; text such as "resets 6:04am" is
        // only minute-precise (and just after 6:04:00 would read as tomorrow), so it is the
        // fallback. An API 429 (not an account window, which always comes with a
        // `rate_limit_event`) resets after the `retry-after` Claude waited before its last retry,
        // or, when it did not retry, after a minute: never the long default wait.
        let now = (self.now)();
        let resets_at_ms = self
            .last_reset_ms
            .or_else(|| reset_from_text(message, now))
            .or_else(|| {
                self.last_429_delay_ms
                    .or_else(|| contains_ci(message, "(429)").then_some(API_RATE_LIMIT_WAIT_MS))
                    .map(|delay| now.saturating_add(delay))
            });
        out.push(AgentEvent::RateLimited {
            resets_at_ms,
            message: message.to_owned(),
        });
    }

    /// Emits the totals when a usage report changed them.
    fn usage_changed(&self, changed: bool, out: &mut Vec<AgentEvent>) {
        if changed {
            out.push(AgentEvent::Usage {
                usage: self.ledger.totals(),
            });
        }
    }

    /// A `stream_event` line: only `message_start` and `message_delta` are parsed.
    fn stream_event(&mut self, raw: &str, out: &mut Vec<AgentEvent>) {
        if let Some(kind) = usage::stream_event_kind(raw)
            && kind != "message_start"
            && kind != "message_delta"
        {
            return;
        }
        let Ok(line) = serde_json::from_str::<StreamLine<'_>>(raw) else {
            out.push(AgentEvent::Unknown {
                raw: raw.to_owned(),
            });
            return;
        };
        let Some(event) = line.event else { return };
        let parent = line.parent_tool_use_id.as_str();
        let changed = match event.kind.as_str() {
            "message_start" => match event.message {
                Some(message) if message.id.0.is_some() => self.ledger.message_start(
                    parent,
                    message.id.as_str(),
                    message.usage.map(RawUsage::to_usage),
                ),
                _ => false,
            },
            "message_delta" => event
                .usage
                .is_some_and(|u| self.ledger.message_delta(parent, u.to_usage())),
            _ => false,
        };
        self.usage_changed(changed, out);
    }

    fn system(&mut self, line: &Line<'_>, raw: &str, out: &mut Vec<AgentEvent>) {
        match line.subtype.as_str() {
            "init" if line.session_id.0.is_some() => {
                self.session_id = line.session_id.to_owned_opt();
                out.push(AgentEvent::SessionStarted {
                    session_id: line.session_id.as_str().to_owned(),
                    model: line.model.to_owned_opt(),
                });
            }
            "api_retry" => {
                let status = line.error_status.0.and_then(|s| u16::try_from(s).ok());
                if status == Some(429) {
                    self.last_429_delay_ms = line.retry_delay_ms.0;
                }
                out.push(AgentEvent::ApiRetry {
                    attempt: line
                        .attempt
                        .0
                        .map_or(0, |a| u32::try_from(a).unwrap_or(u32::MAX)),
                    delay_ms: line.retry_delay_ms.0,
                    status,
                });
            }
            _ if contains_any_ci(raw, CLAUDE_AUTH_PHRASES) => self.auth_failed(raw, out),
            _ => out.push(AgentEvent::Unknown {
                raw: raw.to_owned(),
            }),
        }
    }

    fn assistant(&mut self, line: Line<'_>, raw: &str, out: &mut Vec<AgentEvent>) {
        let Some(message) = line.message else {
            out.push(AgentEvent::Unknown {
                raw: raw.to_owned(),
            });
            return;
        };
        let subagent = line.parent_tool_use_id.0.is_some();
        if let Some(error) = line.error.0.as_deref() {
            let text = joined_text(&message.content);
            let text = if text.is_empty() {
                error.to_owned()
            } else {
                text
            };
            match error {
                "billing_error" => self.quota_exhausted(&text, out),
                _ if contains_any_ci(&text, CLAUDE_QUOTA_PHRASES) => {
                    self.quota_exhausted(&text, out);
                }
                "rate_limit" => self.rate_limited(&text, out),
                "authentication_failed" => self.auth_failed(&text, out),
                _ if contains_any_ci(&text, CONTEXT_OVERFLOW_PHRASES) => {
                    self.context_overflow(&text, out);
                }
                _ => {}
            }
        } else {
            for block in message.content.0 {
                match block.kind.as_str() {
                    "text" if !subagent => {
                        if let Some(text) = block.text.0.filter(|t| !t.is_empty()) {
                            out.push(AgentEvent::AssistantText {
                                text: text.into_owned(),
                            });
                        }
                    }
                    "tool_use" => {
                        let id = block.id.as_str().to_owned();
                        let name = block.name.as_str().to_owned();
                        self.tool_names.insert(id.clone(), name.clone());
                        let input = block.input.unwrap_or(serde_json::Value::Null);
                        out.push(AgentEvent::ToolStarted { id, name, input });
                    }
                    _ => {}
                }
            }
        }
        if let Some(usage) = message.usage {
            let changed = self.ledger.add(message.id.0.as_deref(), usage.to_usage());
            self.usage_changed(changed, out);
        }
    }

    fn user(&mut self, line: Line<'_>, out: &mut Vec<AgentEvent>) {
        let Some(message) = line.message else { return };
        for block in message.content.0 {
            if block.kind.as_str() != "tool_result" {
                continue;
            }
            let id = block.tool_use_id.as_str().to_owned();
            out.push(AgentEvent::ToolFinished {
                name: self.tool_names.remove(&id),
                id,
                ok: !block.is_error.0.unwrap_or(false),
                output: block.content.0.unwrap_or_default(),
            });
        }
    }

    fn rate_limit_event(&mut self, line: &Line<'_>, out: &mut Vec<AgentEvent>) {
        let Some(info) = &line.rate_limit_info else {
            return;
        };
        if info.status.as_str() != "rejected" {
            return;
        }
        let resets_at_ms = info.resets_at.0.map(epoch_to_ms);
        self.last_reset_ms = resets_at_ms.or(self.last_reset_ms);
        self.rate_limit_reported = true;
        let kind = info.rate_limit_type.0.as_deref().unwrap_or("unknown");
        out.push(AgentEvent::RateLimited {
            resets_at_ms,
            message: format!("usage limit reached ({kind})"),
        });
    }

    fn result(&mut self, line: Line<'_>, out: &mut Vec<AgentEvent>) {
        if self.result_seen {
            return;
        }
        self.result_seen = true;
        let is_error = line.is_error.0.unwrap_or(false);
        let text = line.result.0.map(Cow::into_owned).unwrap_or_default();
        if is_error {
            if contains_any_ci(&text, CONTEXT_OVERFLOW_PHRASES) {
                self.context_overflow(&text, out);
            } else if contains_any_ci(&text, CLAUDE_QUOTA_PHRASES) {
                self.quota_exhausted(&text, out);
            } else if contains_any_ci(&text, CLAUDE_AUTH_PHRASES) {
                self.auth_failed(&text, out);
            } else if !self.rate_limit_reported && contains_any_ci(&text, USAGE_LIMIT_PHRASES) {
                self.rate_limited(&text, out);
            }
        }
        let mut usage = line
            .model_usage
            .0
            .or_else(|| line.usage.map(RawUsage::to_usage))
            .unwrap_or_else(|| self.ledger.totals());
        usage.cost_usd = line.total_cost_usd.0;
        let subtype = match line.subtype.0 {
            Some(s) => s.into_owned(),
            None if is_error => "error".to_owned(),
            None => "success".to_owned(),
        };
        out.push(AgentEvent::Result {
            is_error,
            subtype,
            text,
            session_id: line
                .session_id
                .to_owned_opt()
                .or_else(|| self.session_id.clone()),
            turns: line
                .num_turns
                .0
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            usage: Some(usage),
        });
    }
}

/// The text blocks of a message, joined.
fn joined_text(content: &Content<'_>) -> String {
    let texts: Vec<&str> = content
        .0
        .iter()
        .filter(|b| b.kind.as_str() == "text")
        .filter_map(|b| b.text.0.as_deref())
        .collect();
    texts.join("\n")
}

impl StreamParser for ClaudeParser {
    fn stdout_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let raw = line.trim_end_matches('\r');
        if raw.trim().is_empty() {
            return Vec::new();
        }
        if usage::is_stream_event(raw) {
            let mut out = Vec::new();
            self.stream_event(raw, &mut out);
            return out;
        }
        let Ok(parsed) = serde_json::from_str::<Line<'_>>(raw) else {
            return vec![AgentEvent::Unknown {
                raw: raw.to_owned(),
            }];
        };
        let mut out = Vec::new();
        match parsed.kind.as_str() {
            "stream_event" => self.stream_event(raw, &mut out),
            "system" => self.system(&parsed, raw, &mut out),
            "assistant" => self.assistant(parsed, raw, &mut out),
            "user" => self.user(parsed, &mut out),
            "rate_limit_event" => self.rate_limit_event(&parsed, &mut out),
            "result" => self.result(parsed, &mut out),
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
        if contains_any_ci(line, CLAUDE_AUTH_PHRASES) {
            self.auth_failed(line, &mut out);
        }
        out
    }

    fn finish(&mut self, _exit_code: Option<i32>) -> Vec<AgentEvent> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests;
