//! Gemini CLI's `stream-json` output.
//!
//! Mapping:
//! - `init` -> `SessionStarted`.
//! - `message` with role `assistant` -> `AssistantText`. Chunks marked `delta: true` are joined
//!   and emitted as one text when anything else arrives (or at the end).
//! - `tool_use` -> `ToolStarted`; `tool_result` -> `ToolFinished` (ok = status `success`; output or
//!   error message).
//! - `retry` -> `ApiRetry` (older versions; 0.61.0 prints its retries on stderr instead).
//! - `error` (severity `error`; warnings are ignored) and an error `result`'s message (see
//!   `gemini_errors`): an exhausted quota or billing -> `QuotaExhausted`; a rate limit ->
//!   `RateLimited`, reset = now + the delay the message asks for (`Please retry in 1s`), when it
//!   says; a refused key -> `AuthFailed`; a full context -> `ContextOverflow`. Remembered for the
//!   result.
//! - `result` -> Result (status `error` -> `is_error`, subtype from `error.type`; text: the last
//!   assistant text, or the error message); `stats` -> usage: `input` is the uncached input,
//!   `cached` the cache reads, and output is `total_tokens - input_tokens`, since `output_tokens`
//!   (the candidates) leaves out the thinking tokens the API bills as output. A resumed
//!   session's stats count only its own calls (0.61.0 headless), so nothing is subtracted.
//! - `finish()`: exit 41 -> `AuthFailed`; without a result event, a Result from the exit code:
//!   0 success, 41 `error_auth`, 42 `error_input`, 44 `error_sandbox`, 52 `error_config`,
//!   53 `error_max_turns`, 54 `error_tool`, 55 `error_untrusted_workspace` (the worktree was
//!   not trusted: the text says how to fix it), 130 `error_interrupted`, else `error`; its text
//!   is the last error, else the CLI's last stderr line. Killed (no exit code): nothing.
//! - stderr -> `StderrLine` (+ `AuthFailed` for login failures; the CLI's retry notices `Attempt N
//!   failed: ... Retrying after Xms...` -> `ApiRetry`). Other lines -> Unknown.

use std::collections::HashMap;

use serde_json::Value;

use crate::backend::StreamParser;
use crate::event::{AgentEvent, Usage};

use super::lenient::MAX_TOOL_OUTPUT_BYTES;
use super::reset_time::reset_from_text;
use super::text::{CONTEXT_OVERFLOW_PHRASES, contains_any_ci, now_ms, truncate_at_char_boundary};

#[path = "gemini_errors.rs"]
mod errors;

use errors::{AUTH_PHRASES as GEMINI_AUTH_PHRASES, ErrorKind};

/// Exit code of Gemini CLI's `FatalUntrustedWorkspaceError`.
const EXIT_UNTRUSTED_WORKSPACE: i32 = 55;

/// What the result of an exit 55 says besides the CLI's own message.
const UNTRUSTED_FIX: &str = "Gemini CLI refused to run in an untrusted folder (exit 55). The \
    engine trusts the worktree by setting GEMINI_CLI_TRUST_WORKSPACE=true: make sure nothing sets \
    GEMINI_CLI_TRUST_WORKSPACE=false or GEMINI_RESTRICTED_MODE=true (agents.env), or pass \
    `--skip-trust` in the backend's extra_args";

/// Parser state for one Gemini CLI session.
pub struct GeminiParser {
    tool_names: HashMap<String, String>,
    pending_text: String,
    last_text: String,
    session_id: Option<String>,
    last_error: Option<String>,
    result_seen: bool,
    auth_reported: bool,
    overflow_reported: bool,
    rate_limit_reported: bool,
    quota_reported: bool,
    /// The retry number of the CLI's last `Attempt N failed` notice on stderr.
    retry_attempt: Option<u32>,
    /// The last stderr line that is not a known notice (for a result from the exit code).
    last_stderr: Option<String>,
    now: fn() -> u64,
}

impl Default for GeminiParser {
    fn default() -> Self {
        Self::new()
    }
}

fn str_field<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn u64_field(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

fn usage_from_stats(stats: &Value) -> Usage {
    let total_input = u64_field(stats, "input_tokens").unwrap_or(0);
    let cached = u64_field(stats, "cached").unwrap_or(0);
    let candidates = u64_field(stats, "output_tokens").unwrap_or(0);
    // The total also counts the thinking tokens, which `output_tokens` leaves out.
    let output = u64_field(stats, "total_tokens").map_or(candidates, |total| {
        total.saturating_sub(total_input).max(candidates)
    });
    Usage {
        input_tokens: u64_field(stats, "input").unwrap_or(total_input.saturating_sub(cached)),
        output_tokens: output,
        cache_read_tokens: cached,
        cache_write_tokens: 0,
        cost_usd: None,
    }
}

impl GeminiParser {
    /// A parser for a new session.
    pub fn new() -> Self {
        Self::with_clock(now_ms)
    }

    /// A parser whose clock (ms since the epoch, for rate-limit resets) is `now`.
    pub fn with_clock(now: fn() -> u64) -> Self {
        Self {
            tool_names: HashMap::new(),
            pending_text: String::new(),
            last_text: String::new(),
            session_id: None,
            last_error: None,
            result_seen: false,
            auth_reported: false,
            overflow_reported: false,
            rate_limit_reported: false,
            quota_reported: false,
            retry_attempt: None,
            last_stderr: None,
            now,
        }
    }

    fn flush_text(&mut self, out: &mut Vec<AgentEvent>) {
        if !self.pending_text.is_empty() {
            let text = std::mem::take(&mut self.pending_text);
            self.last_text.clone_from(&text);
            out.push(AgentEvent::AssistantText { text });
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

    fn classify_error(&mut self, message: &str, out: &mut Vec<AgentEvent>) {
        match errors::classify(message) {
            ErrorKind::Quota => {
                if !self.quota_reported {
                    self.quota_reported = true;
                    out.push(AgentEvent::QuotaExhausted {
                        message: message.to_owned(),
                    });
                }
            }
            ErrorKind::RateLimit(delay) => {
                if !self.rate_limit_reported {
                    self.rate_limit_reported = true;
                    let now = (self.now)();
                    let resets_at_ms = delay
                        .map(|d| now.saturating_add(d))
                        .or_else(|| reset_from_text(message, now));
                    out.push(AgentEvent::RateLimited {
                        resets_at_ms,
                        message: message.to_owned(),
                    });
                }
            }
            ErrorKind::Auth => self.auth_failed(message, out),
            ErrorKind::Other => {
                if contains_any_ci(message, CONTEXT_OVERFLOW_PHRASES) && !self.overflow_reported {
                    self.overflow_reported = true;
                    out.push(AgentEvent::ContextOverflow {
                        message: message.to_owned(),
                    });
                }
            }
        }
    }

    fn result(&mut self, event: &Value, out: &mut Vec<AgentEvent>) {
        if self.result_seen {
            return;
        }
        self.result_seen = true;
        let is_error = str_field(event, "status") != Some("success");
        let error = event.get("error");
        let error_message = error
            .and_then(|e| str_field(e, "message"))
            .map(str::to_owned);
        if let Some(message) = &error_message {
            self.classify_error(message, out);
        }
        let subtype = match (is_error, error.and_then(|e| str_field(e, "type"))) {
            (false, _) => "success".to_owned(),
            (true, Some(kind)) => kind.to_owned(),
            (true, None) => "error".to_owned(),
        };
        let text = match (is_error, error_message) {
            (true, Some(message)) => message,
            _ => self.last_text.clone(),
        };
        out.push(AgentEvent::Result {
            is_error,
            subtype,
            text,
            session_id: self.session_id.clone(),
            turns: None,
            usage: event.get("stats").map(usage_from_stats),
        });
    }

    fn event(&mut self, event: &Value, raw: &str, out: &mut Vec<AgentEvent>) {
        let kind = str_field(event, "type").unwrap_or("");
        let assistant_message = kind == "message" && str_field(event, "role") == Some("assistant");
        if !assistant_message {
            self.flush_text(out);
        }
        match kind {
            "init" => match str_field(event, "session_id") {
                Some(id) => {
                    self.session_id = Some(id.to_owned());
                    let model = str_field(event, "model").map(str::to_owned);
                    out.push(AgentEvent::SessionStarted {
                        session_id: id.to_owned(),
                        model,
                    });
                }
                None => out.push(AgentEvent::Unknown {
                    raw: raw.to_owned(),
                }),
            },
            "message" if assistant_message => {
                let content = str_field(event, "content").unwrap_or("");
                self.pending_text.push_str(content);
                if event.get("delta").and_then(Value::as_bool) != Some(true) {
                    self.flush_text(out);
                }
            }
            "message" => {}
            "tool_use" => {
                let id = str_field(event, "tool_id").unwrap_or("").to_owned();
                let name = str_field(event, "tool_name").unwrap_or("").to_owned();
                self.tool_names.insert(id.clone(), name.clone());
                let input = event.get("parameters").cloned().unwrap_or(Value::Null);
                out.push(AgentEvent::ToolStarted { id, name, input });
            }
            "tool_result" => {
                let id = str_field(event, "tool_id").unwrap_or("").to_owned();
                let ok = str_field(event, "status") == Some("success");
                let output = str_field(event, "output")
                    .or_else(|| {
                        event
                            .get("error")
                            .and_then(|e| str_field(e, "message").or(e.as_str()))
                    })
                    .unwrap_or("");
                out.push(AgentEvent::ToolFinished {
                    name: self.tool_names.remove(&id),
                    id,
                    ok,
                    output: truncate_at_char_boundary(output, MAX_TOOL_OUTPUT_BYTES).to_owned(),
                });
            }
            "retry" => out.push(AgentEvent::ApiRetry {
                attempt: u64_field(event, "attempt")
                    .map_or(0, |a| u32::try_from(a).unwrap_or(u32::MAX)),
                delay_ms: u64_field(event, "delay_ms"),
                status: None,
            }),
            "error" => {
                if str_field(event, "severity") != Some("warning") {
                    let message = str_field(event, "message").unwrap_or("").to_owned();
                    self.classify_error(&message, out);
                    self.last_error = Some(message);
                }
            }
            "result" => self.result(event, out),
            _ => out.push(AgentEvent::Unknown {
                raw: raw.to_owned(),
            }),
        }
    }
}

/// The result subtype for a Gemini CLI exit code.
fn exit_subtype(code: i32) -> &'static str {
    match code {
        0 => "success",
        41 => "error_auth",
        42 => "error_input",
        44 => "error_sandbox",
        52 => "error_config",
        53 => "error_max_turns",
        54 => "error_tool",
        EXIT_UNTRUSTED_WORKSPACE => "error_untrusted_workspace",
        130 => "error_interrupted",
        _ => "error",
    }
}

impl StreamParser for GeminiParser {
    fn stdout_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let raw = line.trim_end_matches('\r');
        if raw.trim().is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        match serde_json::from_str::<Value>(raw) {
            Ok(event) if event.is_object() => self.event(&event, raw, &mut out),
            _ => {
                self.flush_text(&mut out);
                out.push(AgentEvent::Unknown {
                    raw: raw.to_owned(),
                });
            }
        }
        out
    }

    fn stderr_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim_end_matches('\r');
        let mut out = vec![AgentEvent::StderrLine {
            line: line.to_owned(),
        }];
        if contains_any_ci(line, GEMINI_AUTH_PHRASES) {
            self.auth_failed(line, &mut out);
        }
        // The retry notice: `Attempt N failed: <error>` then, maybe lines later, `... Retrying
        // after Xms...`. Its error is not the session's: the CLI is retrying it.
        if let Some(attempt) = errors::retry_attempt(line) {
            self.retry_attempt = Some(attempt);
        }
        if line.contains("Max attempts reached") {
            self.retry_attempt = None;
            return out;
        }
        if let Some(delay_ms) = errors::retrying_after_ms(line) {
            out.push(AgentEvent::ApiRetry {
                attempt: self.retry_attempt.take().unwrap_or(0),
                delay_ms: Some(delay_ms),
                status: None,
            });
        } else if self.retry_attempt.is_none() && !line.starts_with(' ') {
            let clean = errors::strip_ansi(line);
            // Node's own warnings (`(node:PID) [DEP0040] DeprecationWarning ...`) say nothing
            // about why the CLI stopped.
            let node_warning = clean.trim_start().starts_with("(node:");
            if !clean.trim().is_empty() && !node_warning {
                self.last_stderr = Some(clean.trim().to_owned());
            }
        }
        out
    }

    fn finish(&mut self, exit_code: Option<i32>) -> Vec<AgentEvent> {
        let mut out = Vec::new();
        self.flush_text(&mut out);
        let Some(code) = exit_code else { return out };
        if code == 41 {
            self.auth_failed(
                "gemini exited with code 41 (authentication failed)",
                &mut out,
            );
        }
        if !self.result_seen {
            self.result_seen = true;
            let text = match (code, self.last_error.take()) {
                (0, _) => self.last_text.clone(),
                (EXIT_UNTRUSTED_WORKSPACE, _) => match self.last_stderr.take() {
                    Some(said) => format!("{UNTRUSTED_FIX}. Gemini CLI said: {said}"),
                    None => UNTRUSTED_FIX.to_owned(),
                },
                (_, Some(error)) => error,
                (_, None) => match self.last_stderr.take() {
                    Some(said) => format!("gemini exited with code {code}: {said}"),
                    None => format!("gemini exited with code {code}"),
                },
            };
            out.push(AgentEvent::Result {
                is_error: code != 0,
                subtype: exit_subtype(code).to_owned(),
                text,
                session_id: self.session_id.clone(),
                turns: None,
                usage: None,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exit_without_an_error_event_says_what_the_cli_printed_last() {
        let mut p = GeminiParser::new();
        p.stderr_line("Error: invalid setting 'model.name' in settings.json");
        let events = p.finish(Some(52));
        let text = events.iter().find_map(|e| match e {
            AgentEvent::Result { text, .. } => Some(text.clone()),
            _ => None,
        });
        assert_eq!(
            text.as_deref(),
            Some(
                "gemini exited with code 52: Error: invalid setting 'model.name' in settings.json"
            )
        );
    }

    #[test]
    fn delta_chunks_are_joined_into_one_text() {
        let mut p = GeminiParser::new();
        assert!(
            p.stdout_line(r#"{"type":"message","role":"assistant","content":"Hel","delta":true}"#)
                .is_empty()
        );
        assert!(
            p.stdout_line(r#"{"type":"message","role":"assistant","content":"lo","delta":true}"#)
                .is_empty()
        );
        assert_eq!(
            p.finish(None),
            [AgentEvent::AssistantText {
                text: "Hello".into()
            }]
        );
    }

    #[test]
    fn exit_codes_without_a_result() {
        let mut p = GeminiParser::new();
        let out = p.finish(Some(53));
        assert!(
            matches!(&out[..], [AgentEvent::Result { is_error: true, subtype, .. }] if subtype == "error_max_turns")
        );
        let mut p = GeminiParser::new();
        let out = p.finish(Some(41));
        assert!(
            matches!(&out[..], [AgentEvent::AuthFailed { .. }, AgentEvent::Result { subtype, .. }] if subtype == "error_auth")
        );
    }
}
