//! Codex's `exec --json` output, parsed into typed, borrowed structs.
//!
//! Mapping:
//! - `thread.started` -> `SessionStarted` (`thread_id` is what `resume` takes).
//! - `item.*` by item type: `agent_message` (completed) -> `AssistantText`; `command_execution`
//!   -> `ToolStarted` / `ToolFinished` named `command_execution` (ok = exit code 0);
//!   `file_change` -> `ToolStarted` + `ToolFinished` named `file_change`; `mcp_tool_call` ->
//!   `mcp__SERVER__TOOL`; `web_search` -> `web_search`; `reasoning`, `todo_list` and `error`
//!   items (warnings) -> nothing; other item types -> Unknown. Older releases' `item_type` is
//!   read as `type`. A tool is started once per item id, whether or not `item.started` came.
//! - `turn.completed` -> Usage then Result (text: the last agent message). Its usage is the
//!   whole THREAD's (Codex 0.171.0: a resumed session reports every earlier session's tokens
//!   again), so the session's usage is that minus the thread's usage before the session (see
//!   [`CodexParser::resuming`]). Codex reports no cost; `input_tokens` counts the cached part
//!   and the cache writes, which are taken out (input = not read from the cache).
//! - With the thread's rollout file (see [`CodexParser::following_rollout`]), the usage it
//!   records after every model response is reported as it comes (Codex's stdout has usage only
//!   at the end of a turn), and at the end of a session that never completed its turn.
//! - `turn.failed` and `error` -> classified by their message: `QuotaExhausted` for a quota or
//!   billing limit (`insufficient_quota`: "Quota exceeded. Check your plan and billing
//!   details."), `RateLimited` for a usage limit ("try again in ..." gives the reset time) or
//!   for a per-minute 429 Codex gave up retrying ("exceeded retry limit, last status: 429":
//!   resets within [`PER_MINUTE_RESET_MS`]), `AuthFailed` for login failures and 401s,
//!   `ContextOverflow` for a full context window; `Reconnecting... N/M` -> `ApiRetry`.
//!   `turn.failed` then ends the session with `Result{is_error`}; an `error` is remembered: if the
//!   process exits without a turn result, `finish()` ends the session with `Result{is_error`}
//!   carrying it.
//! - stderr -> `StderrLine` (+ `AuthFailed` for login failures).

use std::collections::HashSet;

use serde_json::json;

use crate::backend::StreamParser;
use crate::event::{AgentEvent, Usage};

use super::codex::rollout::Rollout;
use super::codex_wire::{Item, Line, RawUsage};
use super::reset_time::reset_from_text;
use super::text::{CONTEXT_OVERFLOW_PHRASES, USAGE_LIMIT_PHRASES, contains_any_ci, now_ms};

/// How long after "exceeded retry limit, last status: 429" the limit is taken to reset: Codex
/// has already waited out the API's `retry-after` between its own retries, and does not say
/// the last one, so a per-minute window is assumed.
pub const PER_MINUTE_RESET_MS: u64 = 60_000;

/// Phrases meaning the account's quota or billing is exhausted (checked before the usage-limit
/// phrases: waiting does not help).
const CODEX_QUOTA_PHRASES: &[&str] = &[
    "quota exceeded",
    "insufficient_quota",
    "exceeded your current quota",
    "check your plan and billing",
];

/// Phrases of a per-minute rate limit Codex retried and gave up on.
const CODEX_RATE_LIMIT_PHRASES: &[&str] = &["last status: 429", "429 too many requests"];

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
    previous: Usage,
    rollout: Option<Rollout>,
    turn_usage_seen: bool,
    session_id: Option<String>,
    last_message: String,
    last_error: Option<String>,
    turns: u32,
    result_seen: bool,
    rate_limit_reported: bool,
    quota_reported: bool,
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
            previous: Usage::default(),
            rollout: None,
            turn_usage_seen: false,
            session_id: None,
            last_message: String::new(),
            last_error: None,
            turns: 0,
            result_seen: false,
            rate_limit_reported: false,
            quota_reported: false,
            auth_reported: false,
            overflow_reported: false,
            now: now_ms,
        }
    }

    /// A parser for a session that resumes a thread which had used `previous` tokens before
    /// (Codex reports the whole thread's usage; the session's own is what is past it).
    pub fn resuming(previous: Usage) -> Self {
        Self {
            previous,
            ..Self::new()
        }
    }

    /// A parser that also follows the thread's rollout file under `codex_home` (Codex's
    /// `CODEX_HOME`). For a resumed thread (`resume`: its id) the thread's usage so far is read
    /// first and becomes the baseline [`Self::resuming`] takes; so this must be called before
    /// the session starts.
    pub fn following_rollout(codex_home: &std::path::Path, resume: Option<&str>) -> Self {
        let mut rollout = Rollout::new(codex_home);
        let mut previous = Usage::default();
        if let Some(thread) = resume {
            rollout.set_thread(thread);
            previous = rollout.poll().unwrap_or_default();
        }
        Self {
            previous,
            rollout: Some(rollout),
            ..Self::new()
        }
    }

    /// The thread's cumulative usage `total` as this session's.
    fn set_cumulative(&mut self, total: Usage, always: bool, out: &mut Vec<AgentEvent>) {
        let session = since(total, self.previous);
        if always || session != self.totals {
            self.totals = session;
            out.push(AgentEvent::Usage { usage: session });
        }
    }

    /// New usage from the rollout, until the turn's own report came.
    fn poll_rollout(&mut self, out: &mut Vec<AgentEvent>) {
        if self.turn_usage_seen {
            return;
        }
        if let Some(total) = self.rollout.as_mut().and_then(Rollout::poll) {
            self.set_cumulative(total, false, out);
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
        if let Some(attempt) = reconnect_attempt(message) {
            out.push(AgentEvent::ApiRetry {
                attempt,
                delay_ms: None,
                status: None,
            });
            return;
        }
        self.classify(message, out);
        self.last_error = Some(message.to_owned());
    }

    /// The event a failure's message stands for, each kind reported once.
    fn classify(&mut self, message: &str, out: &mut Vec<AgentEvent>) {
        if contains_any_ci(message, CODEX_QUOTA_PHRASES) {
            if !self.quota_reported {
                self.quota_reported = true;
                out.push(AgentEvent::QuotaExhausted {
                    message: message.to_owned(),
                });
            }
        } else if contains_any_ci(message, USAGE_LIMIT_PHRASES) {
            self.rate_limited(message, out);
        } else if contains_any_ci(message, CODEX_RATE_LIMIT_PHRASES) {
            if !self.rate_limit_reported {
                self.rate_limit_reported = true;
                out.push(AgentEvent::RateLimited {
                    resets_at_ms: Some((self.now)().saturating_add(PER_MINUTE_RESET_MS)),
                    message: message.to_owned(),
                });
            }
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
    }

    fn turn_completed(&mut self, usage: Option<RawUsage>, out: &mut Vec<AgentEvent>) {
        self.turns = self.turns.saturating_add(1);
        match usage {
            Some(u) => {
                self.turn_usage_seen = true;
                self.set_cumulative(u.normalized(), true, out);
            }
            None => self.poll_rollout(out),
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

/// `total - previous`, field by field (never below zero).
fn since(total: Usage, previous: Usage) -> Usage {
    Usage {
        input_tokens: total.input_tokens.saturating_sub(previous.input_tokens),
        output_tokens: total.output_tokens.saturating_sub(previous.output_tokens),
        cache_read_tokens: total
            .cache_read_tokens
            .saturating_sub(previous.cache_read_tokens),
        cache_write_tokens: total
            .cache_write_tokens
            .saturating_sub(previous.cache_write_tokens),
        cost_usd: None,
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
                if let Some(rollout) = self.rollout.as_mut() {
                    rollout.set_thread(parsed.thread_id.as_str());
                }
                out.push(AgentEvent::SessionStarted {
                    session_id: parsed.thread_id.as_str().to_owned(),
                    model: None,
                });
            }
            "turn.started" => {}
            kind @ ("item.started" | "item.updated" | "item.completed") => match parsed.item {
                Some(item) if kind != "item.updated" => {
                    self.poll_rollout(&mut out);
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
                self.classify(&message, &mut out);
                self.poll_rollout(&mut out);
                self.turns = self.turns.saturating_add(1);
                self.result(true, "turn_failed", message, &mut out);
            }
            "error" => {
                let message = match parsed.message.0.as_deref() {
                    Some(m) => m.to_owned(),
                    None => parsed.error.as_str().to_owned(),
                };
                self.poll_rollout(&mut out);
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
        self.poll_rollout(&mut out);
        if exit_code.is_some()
            && let Some(error) = self.last_error.take()
        {
            self.result(true, "error", error, &mut out);
        }
        out
    }
}

#[cfg(test)]
#[path = "codex_stream_tests.rs"]
mod tests;
