//! opencode: `opencode run --format json`.
//!
//! `opencode run --format json [-m provider/model] [-s SESSION] [--agent plan]`, with the prompt
//! on stdin: `opencode run` appends piped stdin to its message, and with no message argument the
//! message is the prompt alone, so a long prompt never goes through argv. Plan mode runs
//! opencode's read-only `plan` agent. No system-prompt flag (put in front of the prompt), no turn
//! or budget flag (the supervisor enforces both), no tool lists (refused).
//!
//! Parsing (lines `{type, timestamp, sessionID, part}`):
//! - the first `sessionID` seen -> SessionStarted (opencode has no init event).
//! - `text` -> AssistantText.
//! - `tool_use` (printed when the call ends) -> ToolStarted + ToolFinished (status `completed`
//!   ok, `error` not ok); other statuses -> ToolStarted only. Started once per `callID`.
//! - `step_finish` -> Usage, cumulative: cost is the sum of `part.cost`, tokens the sum of
//!   `part.tokens` (reasoning tokens count as output).
//! - `error` -> AuthFailed (`ProviderAuthError`, HTTP 401/403), RateLimited (HTTP 429, quota or
//!   usage limit), ContextOverflow; remembered for the result.
//! - finish(): opencode has no terminal event, so the exit ends the session with a Result
//!   (is_error when the exit code is not 0 or an error was seen). Killed: nothing.
//! - `step_start` -> nothing; anything else -> Unknown; stderr -> StderrLine.

use std::collections::HashSet;

use serde_json::Value;

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
use crate::event::{AgentEvent, Usage};
use crate::request::PermissionMode;

use super::command::{InvocationBuilder, prompt_with_system, reject_tool_lists};
use super::lenient::MAX_TOOL_OUTPUT_BYTES;
use super::reset_time::reset_from_text;
use super::text::{
    CONTEXT_OVERFLOW_PHRASES, USAGE_LIMIT_PHRASES, add_tokens, contains_any_ci, now_ms,
    truncate_at_char_boundary,
};

/// The opencode backend.
#[derive(Debug, Clone, Default)]
pub struct OpencodeBackend {
    settings: BackendSettings,
}

impl OpencodeBackend {
    /// The backend with the workflow's settings.
    pub fn new(settings: BackendSettings) -> Self {
        Self { settings }
    }
}

impl Backend for OpencodeBackend {
    fn name(&self) -> &str {
        "opencode"
    }

    fn invocation(&self, cx: InvocationContext<'_>) -> Result<Invocation, BackendError> {
        let req = cx.request;
        reject_tool_lists("opencode", req)?;
        let mut b = InvocationBuilder::default();
        b.args(["run", "--format", "json"]);
        b.opt("-m", req.model.as_deref());
        b.opt("-s", req.resume_session.as_deref());
        if req.permission_mode == PermissionMode::Plan {
            b.args(["--agent", "plan"]);
        }
        b.stdin_prompt(prompt_with_system(req));
        b.build("opencode", "opencode", &self.settings)
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(OpencodeParser::default())
    }

    fn reports_cost(&self) -> bool {
        true
    }
}

/// Parser state for one opencode session.
#[derive(Default)]
pub struct OpencodeParser {
    session_id: Option<String>,
    started: HashSet<String>,
    totals: Usage,
    steps: u32,
    last_text: String,
    last_error: Option<String>,
    result_seen: bool,
    auth_reported: bool,
    rate_limit_reported: bool,
    overflow_reported: bool,
}

fn u64_at(v: &Value, path: &[&str]) -> u64 {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

impl OpencodeParser {
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
            .filter(|c| c.is_finite())
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

    fn error(&mut self, error: &Value, out: &mut Vec<AgentEvent>) {
        let name = error.get("name").and_then(Value::as_str).unwrap_or("Error");
        let data = error.get("data").unwrap_or(&Value::Null);
        let message = data
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_owned();
        let status = data.get("statusCode").and_then(Value::as_u64);
        if name == "ProviderAuthError" || matches!(status, Some(401 | 403)) {
            if !self.auth_reported {
                self.auth_reported = true;
                out.push(AgentEvent::AuthFailed {
                    message: message.clone(),
                });
            }
        } else if status == Some(429) || contains_any_ci(&message, USAGE_LIMIT_PHRASES) {
            if !self.rate_limit_reported {
                self.rate_limit_reported = true;
                let resets_at_ms = reset_from_text(&message, now_ms());
                out.push(AgentEvent::RateLimited {
                    resets_at_ms,
                    message: message.clone(),
                });
            }
        } else if contains_any_ci(&message, CONTEXT_OVERFLOW_PHRASES) && !self.overflow_reported {
            self.overflow_reported = true;
            out.push(AgentEvent::ContextOverflow {
                message: message.clone(),
            });
        }
        self.last_error = Some(message);
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
        if self.session_id.is_none()
            && let Some(id) = event.get("sessionID").and_then(Value::as_str)
        {
            self.session_id = Some(id.to_owned());
            out.push(AgentEvent::SessionStarted {
                session_id: id.to_owned(),
                model: None,
            });
        }
        let part = event.get("part").unwrap_or(&Value::Null);
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "step_start" => {}
            "text" => {
                let text = part.get("text").and_then(Value::as_str).unwrap_or("");
                if !text.is_empty() {
                    self.last_text = text.to_owned();
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
        vec![AgentEvent::StderrLine {
            line: line.trim_end_matches('\r').to_owned(),
        }]
    }

    fn finish(&mut self, exit_code: Option<i32>) -> Vec<AgentEvent> {
        let Some(code) = exit_code else {
            return Vec::new();
        };
        if self.result_seen {
            return Vec::new();
        }
        self.result_seen = true;
        let is_error = code != 0 || self.last_error.is_some();
        let text = match self.last_error.take() {
            Some(error) => error,
            None if code != 0 => format!("opencode exited with code {code}"),
            None => self.last_text.clone(),
        };
        vec![AgentEvent::Result {
            is_error,
            subtype: if is_error { "error" } else { "success" }.to_owned(),
            text,
            session_id: self.session_id.clone(),
            turns: Some(self.steps),
            usage: Some(self.totals),
        }]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::request::SessionRequest;

    #[test]
    fn plan_mode_resume_and_model() {
        let req = SessionRequest {
            model: Some("anthropic/claude-sonnet-4-5".into()),
            prompt: "p".into(),
            permission_mode: PermissionMode::Plan,
            resume_session: Some("ses_1".into()),
            ..Default::default()
        };
        let tiers = BTreeMap::new();
        let cx = InvocationContext {
            request: &req,
            scratch_dir: Path::new("/tmp"),
            tiers: &tiers,
        };
        let inv = OpencodeBackend::default().invocation(cx).unwrap();
        assert_eq!(
            inv.args,
            [
                "run",
                "--format",
                "json",
                "-m",
                "anthropic/claude-sonnet-4-5",
                "-s",
                "ses_1",
                "--agent",
                "plan"
            ]
        );
        assert_eq!(inv.stdin.as_deref(), Some(b"p".as_slice()));
    }

    #[test]
    fn running_tool_is_started_once_then_finished() {
        let mut p = OpencodeParser::default();
        let running = r#"{"type":"tool_use","part":{"callID":"c1","tool":"bash","state":{"status":"running","input":{"command":"ls"}}}}"#;
        let done = r#"{"type":"tool_use","part":{"callID":"c1","tool":"bash","state":{"status":"completed","input":{"command":"ls"},"output":"a"}}}"#;
        assert_eq!(p.stdout_line(running).len(), 1);
        let out = p.stdout_line(done);
        assert!(
            matches!(&out[..], [AgentEvent::ToolFinished { ok: true, output, .. }] if output == "a")
        );
    }
}
