//! Codex's `exec --json` output, parsed into typed, borrowed structs.
//!
//! Mapping:
//! - `thread.started` -> SessionStarted (`thread_id` is what `resume` takes).
//! - `item.*` by item type: `agent_message` (completed) -> AssistantText; `command_execution`
//!   -> ToolStarted / ToolFinished named `command_execution` (ok = exit code 0);
//!   `file_change` -> ToolStarted + ToolFinished named `file_change`; `mcp_tool_call` ->
//!   `mcp__SERVER__TOOL`; `web_search` -> `web_search`; `reasoning`, `todo_list` and `error`
//!   items (warnings) -> nothing; other item types -> Unknown. Older releases' `item_type` is
//!   read as `type`. A tool is started once per item id, whether or not `item.started` came.
//! - `turn.completed` -> Usage (summed over turns; Codex reports no cost, `input_tokens` minus
//!   `cached_input_tokens` is input, the cached part is cache reads) then Result (text: the last
//!   agent message).
//! - `turn.failed` -> RateLimited when the message is a usage limit (if not reported yet), then
//!   Result{is_error}.
//! - `error` -> RateLimited for a usage limit ("try again in ..." gives the reset time),
//!   ApiRetry for "Reconnecting... N/M", AuthFailed for login failures, ContextOverflow for a
//!   full context window; otherwise remembered: if the process exits without a turn result,
//!   finish() ends the session with Result{is_error} carrying it.
//! - stderr -> StderrLine (+ AuthFailed for login failures).

use std::collections::HashSet;

use serde_json::json;

use crate::backend::StreamParser;
use crate::event::{AgentEvent, Usage};

use super::codex_wire::{Item, Line, RawUsage};
use super::reset_time::reset_from_text;
use super::text::{
    CONTEXT_OVERFLOW_PHRASES, USAGE_LIMIT_PHRASES, add_tokens, contains_any_ci, now_ms,
};

/// Phrases in Codex errors and stderr meaning the login is gone.
const CODEX_AUTH_PHRASES: &[&str] = &[
    "401 unauthorized",
    "refresh token",
    "log out and sign in again",
    "incorrect api key",
    "invalid_api_key",
    "not logged in",
];

/// Parser state for one Codex session.
pub struct CodexParser {
    started: HashSet<String>,
    totals: Usage,
    session_id: Option<String>,
    last_message: String,
    last_error: Option<String>,
    turns: u32,
    result_seen: bool,
    rate_limit_reported: bool,
    auth_reported: bool,
    overflow_reported: bool,
    now: fn() -> u64,
}

impl Default for CodexParser {
    fn default() -> Self {
        Self::new()
    }
}

impl CodexParser {
    /// A parser for a new session.
    pub fn new() -> Self {
        Self {
            started: HashSet::new(),
            totals: Usage::default(),
            session_id: None,
            last_message: String::new(),
            last_error: None,
            turns: 0,
            result_seen: false,
            rate_limit_reported: false,
            auth_reported: false,
            overflow_reported: false,
            now: now_ms,
        }
    }

    fn start_tool(
        &mut self,
        id: &str,
        name: String,
        input: serde_json::Value,
        out: &mut Vec<AgentEvent>,
    ) {
        if self.started.insert(id.to_owned()) {
            out.push(AgentEvent::ToolStarted {
                id: id.to_owned(),
                name,
                input,
            });
        }
    }

    fn finish_tool(
        &mut self,
        id: &str,
        name: String,
        ok: bool,
        output: String,
        out: &mut Vec<AgentEvent>,
    ) {
        self.started.remove(id);
        out.push(AgentEvent::ToolFinished {
            id: id.to_owned(),
            name: Some(name),
            ok,
            output,
        });
    }

    fn item(&mut self, item: Item<'_>, completed: bool, raw: &str, out: &mut Vec<AgentEvent>) {
        let id = item.id.as_str();
        match item.kind.as_str() {
            "agent_message" if completed => {
                let text = item.text.as_str().to_owned();
                self.last_message.clone_from(&text);
                out.push(AgentEvent::AssistantText { text });
            }
            "command_execution" => {
                let name = "command_execution".to_owned();
                self.start_tool(
                    id,
                    name.clone(),
                    json!({ "command": item.command.as_str() }),
                    out,
                );
                if completed {
                    let ok = item.exit_code.0 == Some(0) && item.status.as_str() != "failed";
                    let output = item.aggregated_output.0.unwrap_or_default();
                    self.finish_tool(id, name, ok, output, out);
                }
            }
            "file_change" => {
                let changes = item.changes.unwrap_or(serde_json::Value::Null);
                self.start_tool(
                    id,
                    "file_change".to_owned(),
                    json!({ "changes": changes }),
                    out,
                );
                if completed {
                    let ok = item.status.as_str() != "failed";
                    self.finish_tool(id, "file_change".to_owned(), ok, String::new(), out);
                }
            }
            "mcp_tool_call" => {
                let name = format!("mcp__{}__{}", item.server.as_str(), item.tool.as_str());
                let input = item.arguments.unwrap_or(serde_json::Value::Null);
                self.start_tool(id, name.clone(), input, out);
                if completed {
                    let failed = item.error.0.is_some() || item.status.as_str() == "failed";
                    let output = item.error.as_str().to_owned();
                    self.finish_tool(id, name, !failed, output, out);
                }
            }
            "web_search" => {
                let input = json!({ "query": item.query.as_str() });
                self.start_tool(id, "web_search".to_owned(), input, out);
                if completed {
                    self.finish_tool(id, "web_search".to_owned(), true, String::new(), out);
                }
            }
            "error" => {
                if contains_any_ci(item.message.as_str(), USAGE_LIMIT_PHRASES) {
                    self.rate_limited(item.message.as_str(), out);
                }
            }
            "agent_message" | "reasoning" | "todo_list" => {}
            _ => out.push(AgentEvent::Unknown {
                raw: raw.to_owned(),
            }),
        }
    }

    fn rate_limited(&mut self, message: &str, out: &mut Vec<AgentEvent>) {
        if !self.rate_limit_reported {
            self.rate_limit_reported = true;
            let resets_at_ms = reset_from_text(message, (self.now)());
            out.push(AgentEvent::RateLimited {
                resets_at_ms,
                message: message.to_owned(),
            });
        }
    }

    fn error(&mut self, message: &str, out: &mut Vec<AgentEvent>) {
        if contains_any_ci(message, USAGE_LIMIT_PHRASES) {
            self.rate_limited(message, out);
        } else if let Some(attempt) = reconnect_attempt(message) {
            out.push(AgentEvent::ApiRetry {
                attempt,
                delay_ms: None,
                status: None,
            });
            return;
        } else if contains_any_ci(message, CODEX_AUTH_PHRASES) {
            if !self.auth_reported {
                self.auth_reported = true;
                out.push(AgentEvent::AuthFailed {
                    message: message.to_owned(),
                });
            }
        } else if contains_any_ci(message, CONTEXT_OVERFLOW_PHRASES) && !self.overflow_reported {
            self.overflow_reported = true;
            out.push(AgentEvent::ContextOverflow {
                message: message.to_owned(),
            });
        }
        self.last_error = Some(message.to_owned());
    }

    fn turn_completed(&mut self, usage: Option<RawUsage>, out: &mut Vec<AgentEvent>) {
        self.turns = self.turns.saturating_add(1);
        if let Some(u) = usage {
            let input = u.input_tokens.0.unwrap_or(0);
            let cached = u.cached_input_tokens.0.unwrap_or(0).min(input);
            let output = u.output_tokens.0.unwrap_or(0);
            add_tokens(&mut self.totals, input - cached, output, cached, 0);
            out.push(AgentEvent::Usage { usage: self.totals });
        }
        let text = self.last_message.clone();
        self.result(false, "success", text, out);
    }

    fn result(&mut self, is_error: bool, subtype: &str, text: String, out: &mut Vec<AgentEvent>) {
        if self.result_seen {
            return;
        }
        self.result_seen = true;
        out.push(AgentEvent::Result {
            is_error,
            subtype: subtype.to_owned(),
            text,
            session_id: self.session_id.clone(),
            turns: Some(self.turns),
            usage: Some(self.totals),
        });
    }
}

/// `Reconnecting... 2/5 (stream disconnected ...)` -> 2.
fn reconnect_attempt(message: &str) -> Option<u32> {
    let rest = message
        .trim_start()
        .strip_prefix("Reconnecting...")?
        .trim_start();
    let (n, _) = rest.split_once('/')?;
    n.trim().parse().ok()
}

impl StreamParser for CodexParser {
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
            "thread.started" if parsed.thread_id.0.is_some() => {
                self.session_id = parsed.thread_id.to_owned_opt();
                out.push(AgentEvent::SessionStarted {
                    session_id: parsed.thread_id.as_str().to_owned(),
                    model: None,
                });
            }
            "turn.started" => {}
            kind @ ("item.started" | "item.updated" | "item.completed") => match parsed.item {
                Some(item) if kind != "item.updated" => {
                    self.item(item, kind == "item.completed", raw, &mut out);
                }
                Some(_) => {}
                None => out.push(AgentEvent::Unknown {
                    raw: raw.to_owned(),
                }),
            },
            "turn.completed" => self.turn_completed(parsed.usage, &mut out),
            "turn.failed" => {
                let message = parsed.error.as_str().to_owned();
                if contains_any_ci(&message, USAGE_LIMIT_PHRASES) {
                    self.rate_limited(&message, &mut out);
                }
                self.turns = self.turns.saturating_add(1);
                self.result(true, "turn_failed", message, &mut out);
            }
            "error" => {
                let message = match parsed.message.0.as_deref() {
                    Some(m) => m.to_owned(),
                    None => parsed.error.as_str().to_owned(),
                };
                self.error(&message, &mut out);
            }
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
        if contains_any_ci(line, CODEX_AUTH_PHRASES) && !self.auth_reported {
            self.auth_reported = true;
            out.push(AgentEvent::AuthFailed {
                message: line.to_owned(),
            });
        }
        out
    }

    fn finish(&mut self, exit_code: Option<i32>) -> Vec<AgentEvent> {
        let mut out = Vec::new();
        if exit_code.is_some()
            && let Some(error) = self.last_error.take()
        {
            self.result(true, "error", error, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_messages_are_retries() {
        assert_eq!(
            reconnect_attempt("Reconnecting... 2/5 (stream disconnected)"),
            Some(2)
        );
        assert_eq!(reconnect_attempt("something else"), None);
        let mut p = CodexParser::new();
        let out = p.stdout_line(r#"{"type":"error","message":"Reconnecting... 1/5"}"#);
        assert_eq!(
            out,
            [AgentEvent::ApiRetry {
                attempt: 1,
                delay_ms: None,
                status: None
            }]
        );
        assert!(p.finish(Some(0)).is_empty(), "a retry is not a fatal error");
    }

    #[test]
    fn usage_limit_reset_is_relative_to_now() {
        let mut p = CodexParser::new();
        p.now = || 1_000_000;
        let out = p.stdout_line(
            r#"{"type":"error","message":"You've hit your usage limit. Try again in 2 hours."}"#,
        );
        assert!(
            matches!(&out[..], [AgentEvent::RateLimited { resets_at_ms: Some(t), .. }] if *t == 1_000_000 + 7_200_000)
        );
    }

    #[test]
    fn legacy_item_type_field_is_read() {
        let mut p = CodexParser::new();
        let out = p.stdout_line(
            r#"{"type":"item.completed","item":{"id":"item_0","item_type":"agent_message","text":"hi"}}"#,
        );
        assert_eq!(out, [AgentEvent::AssistantText { text: "hi".into() }]);
    }

    #[test]
    fn fatal_error_without_a_turn_result_ends_the_session_at_exit() {
        let mut p = CodexParser::new();
        assert!(
            p.stdout_line(r#"{"type":"error","message":"model not found"}"#)
                .is_empty()
        );
        assert!(p.finish(None).is_empty(), "killed: no synthetic result");
        let mut p = CodexParser::new();
        p.stdout_line(r#"{"type":"error","message":"model not found"}"#);
        assert!(
            matches!(&p.finish(Some(1))[..], [AgentEvent::Result { is_error: true, text, .. }] if text == "model not found")
        );
    }
}
