//! Claude Code's `stream-json` output, parsed into typed, borrowed structs (no `Value` for whole
//! lines: most bytes are tool outputs, which are cut while parsing, and unneeded fields such as
//! `tool_use_result` are skipped).
//!
//! Mapping:
//! - `system/init` -> SessionStarted; `system/api_retry` -> ApiRetry; other `system` lines ->
//!   AuthFailed when they carry a login failure, else Unknown.
//! - `assistant`: `text` blocks -> AssistantText (skipped for subagents, i.e. a non-null
//!   `parent_tool_use_id`: their text is not the session's answer); `tool_use` blocks ->
//!   ToolStarted (subagents' too, so supervision sees their tools); `message.usage` -> Usage,
//!   cumulative for the session and deduplicated by `message.id` (events of one message repeat
//!   its usage). A message with an `error` is not assistant text: `rate_limit` -> RateLimited
//!   (reset time from the text when it can be known, else from the last rejected
//!   `rate_limit_event`), `authentication_failed` and `billing_error` -> AuthFailed (both need a
//!   person to fix the account), any error saying "prompt is too long" -> ContextOverflow.
//! - `user` `tool_result` blocks (several when tools ran in parallel) -> ToolFinished, named
//!   after the matching ToolStarted.
//! - `rate_limit_event` with status `rejected` -> RateLimited (`resetsAt` seconds -> ms).
//! - `result` -> Result (only the first; later ones are ignored), preceded by ContextOverflow,
//!   RateLimited or AuthFailed when an error result says so and nothing reported it before.
//! - stderr -> StderrLine, plus AuthFailed for login failures.
//! - Anything else, or a line that is not JSON -> Unknown.
//!
//! AuthFailed and ContextOverflow are reported once per session.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::backend::StreamParser;
use crate::event::{AgentEvent, Usage};

use super::claude_wire::{Content, Line, RawUsage};
use super::reset_time::reset_from_text;
use super::text::{
    CONTEXT_OVERFLOW_PHRASES, USAGE_LIMIT_PHRASES, add_tokens, contains_any_ci, epoch_to_ms, now_ms,
};

/// Phrases in stderr, `system` lines and error results meaning the login is gone.
pub(crate) const CLAUDE_AUTH_PHRASES: &[&str] = &[
    "oauth token has expired",
    "please run /login",
    "authentication_error",
    "invalid api key",
];

/// Parser state for one Claude Code session.
pub struct ClaudeParser {
    tool_names: HashMap<String, String>,
    usage_by_message: HashMap<String, Usage>,
    totals: Usage,
    session_id: Option<String>,
    last_reset_ms: Option<u64>,
    result_seen: bool,
    auth_reported: bool,
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
            usage_by_message: HashMap::new(),
            totals: Usage::default(),
            session_id: None,
            last_reset_ms: None,
            result_seen: false,
            auth_reported: false,
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
        // fallback.
        let resets_at_ms = self
            .last_reset_ms
            .or_else(|| reset_from_text(message, (self.now)()));
        out.push(AgentEvent::RateLimited {
            resets_at_ms,
            message: message.to_owned(),
        });
    }

    /// Adds one event's usage, deduplicated by message id; true when the totals changed.
    fn add_usage(&mut self, message_id: Option<&str>, usage: Usage) -> bool {
        let delta = match message_id {
            Some(id) => match self.usage_by_message.get_mut(id) {
                Some(seen) => {
                    let merged = Usage {
                        input_tokens: seen.input_tokens.max(usage.input_tokens),
                        output_tokens: seen.output_tokens.max(usage.output_tokens),
                        cache_read_tokens: seen.cache_read_tokens.max(usage.cache_read_tokens),
                        cache_write_tokens: seen.cache_write_tokens.max(usage.cache_write_tokens),
                        cost_usd: None,
                    };
                    let delta = Usage {
                        input_tokens: merged.input_tokens - seen.input_tokens,
                        output_tokens: merged.output_tokens - seen.output_tokens,
                        cache_read_tokens: merged.cache_read_tokens - seen.cache_read_tokens,
                        cache_write_tokens: merged.cache_write_tokens - seen.cache_write_tokens,
                        cost_usd: None,
                    };
                    *seen = merged;
                    delta
                }
                None => {
                    self.usage_by_message.insert(id.to_owned(), usage);
                    usage
                }
            },
            None => usage,
        };
        add_tokens(
            &mut self.totals,
            delta.input_tokens,
            delta.output_tokens,
            delta.cache_read_tokens,
            delta.cache_write_tokens,
        );
        delta != Usage::default()
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
            "api_retry" => out.push(AgentEvent::ApiRetry {
                attempt: line
                    .attempt
                    .0
                    .map_or(0, |a| u32::try_from(a).unwrap_or(u32::MAX)),
                delay_ms: line.retry_delay_ms.0,
                status: line.error_status.0.and_then(|s| u16::try_from(s).ok()),
            }),
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
                "rate_limit" => self.rate_limited(&text, out),
                "authentication_failed" | "billing_error" => self.auth_failed(&text, out),
                _ if contains_any_ci(&text, CONTEXT_OVERFLOW_PHRASES) => {
                    self.context_overflow(&text, out)
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
        if let Some(usage) = message.usage
            && self.add_usage(message.id.0.as_deref(), usage.to_usage())
        {
            out.push(AgentEvent::Usage { usage: self.totals });
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
            } else if contains_any_ci(&text, CLAUDE_AUTH_PHRASES) {
                self.auth_failed(&text, out);
            } else if !self.rate_limit_reported && contains_any_ci(&text, USAGE_LIMIT_PHRASES) {
                self.rate_limited(&text, out);
            }
        }
        let mut usage = line.usage.map_or(self.totals, RawUsage::to_usage);
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
        let Ok(parsed) = serde_json::from_str::<Line<'_>>(raw) else {
            return vec![AgentEvent::Unknown {
                raw: raw.to_owned(),
            }];
        };
        let mut out = Vec::new();
        match parsed.kind.as_str() {
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
mod tests {
    use super::*;

    fn parse(p: &mut ClaudeParser, line: &str) -> Vec<AgentEvent> {
        p.stdout_line(line)
    }

    #[test]
    fn usage_repeated_across_events_of_one_message_counts_once() {
        let mut p = ClaudeParser::new();
        let a = r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"text","text":"a"}],"usage":{"input_tokens":10,"output_tokens":5}}}"#;
        let b = r#"{"type":"assistant","message":{"id":"m1","content":[{"type":"tool_use","id":"t","name":"Read","input":{}}],"usage":{"input_tokens":10,"output_tokens":7}}}"#;
        let c = r#"{"type":"assistant","message":{"id":"m2","content":[],"usage":{"input_tokens":3,"output_tokens":1,"cache_read_input_tokens":100}}}"#;
        assert!(parse(&mut p, a).contains(&AgentEvent::Usage {
            usage: Usage {
                input_tokens: 10,
                output_tokens: 5,
                ..Default::default()
            }
        }));
        assert!(parse(&mut p, b).contains(&AgentEvent::Usage {
            usage: Usage {
                input_tokens: 10,
                output_tokens: 7,
                ..Default::default()
            }
        }));
        assert_eq!(
            parse(&mut p, a).len(),
            1,
            "a repeat of seen usage emits only the text"
        );
        let last = parse(&mut p, c);
        assert_eq!(
            last,
            [AgentEvent::Usage {
                usage: Usage {
                    input_tokens: 13,
                    output_tokens: 8,
                    cache_read_tokens: 100,
                    ..Default::default()
                }
            }]
        );
    }

    #[test]
    fn rate_limit_text_reset_uses_the_clock_when_it_can() {
        let mut p = ClaudeParser::new();
        p.now = || 1_760_000_000_000;
        let line = r#"{"type":"assistant","error":"rate_limit","message":{"id":"x","content":[{"type":"text","text":"Claude AI usage limit reached|1760003600"}]}}"#;
        assert_eq!(
            parse(&mut p, line),
            [AgentEvent::RateLimited {
                resets_at_ms: Some(1_760_003_600_000),
                message: "Claude AI usage limit reached|1760003600".into()
            }]
        );
    }

    #[test]
    fn the_exact_reset_of_a_rate_limit_event_wins_over_reset_text() {
        let mut p = ClaudeParser::new();
        // 06:04:30 UTC on some day; the text says "resets 6:04am", which just passed.
        p.now = || 1_760_076_270_000;
        let event = r#"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1760076272}}"#;
        let _ = parse(&mut p, event);
        let line = r#"{"type":"assistant","error":"rate_limit","message":{"id":"y","content":[{"type":"text","text":"You've hit your limit · resets 6:04am (UTC)"}]}}"#;
        let out = parse(&mut p, line);
        assert!(
            matches!(
                &out[..],
                [AgentEvent::RateLimited {
                    resets_at_ms: Some(1_760_076_272_000),
                    ..
                }]
            ),
            "{out:?}"
        );
    }

    #[test]
    fn a_changed_field_type_degrades_the_value_not_the_event() {
        let mut p = ClaudeParser::new();
        let line = r#"{"type":"result","subtype":"success","is_error":"no","result":"done","num_turns":"3","total_cost_usd":{"x":1},"session_id":"s"}"#;
        let out = parse(&mut p, line);
        assert!(
            matches!(&out[..], [AgentEvent::Result { is_error: false, turns: Some(3), text, .. }] if text == "done")
        );
    }

    #[test]
    fn stderr_login_failures_are_reported_once() {
        let mut p = ClaudeParser::new();
        assert_eq!(
            p.stderr_line("OAuth token has expired. Please run /login")
                .len(),
            2
        );
        assert_eq!(p.stderr_line("Please run /login").len(), 1);
        assert_eq!(p.stderr_line("warning: something").len(), 1);
    }
}
