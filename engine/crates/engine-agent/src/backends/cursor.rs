//! cursor-agent in print mode with `stream-json` output.
//!
//! `cursor-agent -p --output-format stream-json [--model M] [--resume=ID] [--force | --mode
//! plan]`, with the prompt on stdin and no prompt argument: print mode takes its prompt from
//! piped stdin, so a long prompt never goes through argv. (cursor-agent is closed source; this is
//! how other harnesses drive it to avoid E2BIG. If a release stops reading stdin, a scripted
//! `command` wrapper can pass the prompt differently.) Bypass adds `--force` (commands run
//! without approval), plan runs `--mode plan`. No system-prompt flag (put in front of the
//! prompt), no turn or budget flag (the supervisor enforces both), no tool lists (refused).
//!
//! Parsing (Claude-like): `system/init` -> `SessionStarted`; `assistant` text blocks ->
//! `AssistantText`; `tool_call` `started` / `completed` -> `ToolStarted` / `ToolFinished` (the name is
//! the tool object's key without `ToolCall`, e.g. `readToolCall` -> `read`; ok = a `success`
//! result with exit code 0 when it has one); `retry/starting` -> `ApiRetry`; `result` -> Result
//! (first only; no usage: cursor reports none); `user`, `thinking`, `connection` -> nothing;
//! anything else -> Unknown. stderr -> `StderrLine`, plus `AuthFailed` for login failures and
//! `RateLimited` for usage limits. cursor-agent may end without a result: `finish()` adds nothing
//! (the supervisor reports the crash).

use std::collections::HashMap;

use serde_json::Value;

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
use crate::event::AgentEvent;
use crate::request::PermissionMode;

use super::command::{InvocationBuilder, prompt_with_system, reject_tool_lists};
use super::lenient::MAX_TOOL_OUTPUT_BYTES;
use super::reset_time::reset_from_text;
use super::text::{USAGE_LIMIT_PHRASES, contains_any_ci, now_ms, truncate_at_char_boundary};

const CURSOR_AUTH_PHRASES: &[&str] = &[
    "authentication required",
    "cursor-agent login",
    "not logged in",
    "invalid api key",
    "unauthorized",
];

/// The cursor-agent backend.
#[derive(Debug, Clone, Default)]
pub struct CursorBackend {
    settings: BackendSettings,
}

impl CursorBackend {
    /// The backend with the workflow's settings.
    pub fn new(settings: BackendSettings) -> Self {
        Self { settings }
    }
}

impl Backend for CursorBackend {
    fn name(&self) -> &'static str {
        "cursor"
    }

    fn invocation(&self, cx: InvocationContext<'_>) -> Result<Invocation, BackendError> {
        let req = cx.request;
        reject_tool_lists("cursor", req)?;
        let mut b = InvocationBuilder::default();
        b.args(["-p", "--output-format", "stream-json"]);
        b.opt("--model", req.model.as_deref());
        if let Some(session) = &req.resume_session {
            b.args([format!("--resume={session}")]);
        }
        match req.permission_mode {
            PermissionMode::Bypass => {
                b.args(["--force"]);
            }
            PermissionMode::Plan => {
                b.args(["--mode", "plan"]);
            }
            PermissionMode::Default | PermissionMode::AcceptEdits => {}
        }
        b.stdin_prompt(prompt_with_system(req));
        b.build("cursor", "cursor-agent", &self.settings)
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(CursorParser::default())
    }

    fn reports_cost(&self) -> bool {
        false
    }
}

/// Parser state for one cursor-agent session.
#[derive(Default)]
pub struct CursorParser {
    tool_names: HashMap<String, String>,
    session_id: Option<String>,
    result_seen: bool,
    auth_reported: bool,
    rate_limit_reported: bool,
}

/// The tool's name and its object from a `tool_call` value (`{"readToolCall": {...}}`).
fn tool_of(tool_call: &Value) -> Option<(String, &Value)> {
    let (key, inner) = tool_call.as_object()?.iter().find(|(_, v)| v.is_object())?;
    let name = match (key.as_str(), inner.get("name").and_then(Value::as_str)) {
        ("function", Some(name)) => name.to_owned(),
        _ => key.strip_suffix("ToolCall").unwrap_or(key).to_owned(),
    };
    Some((name, inner))
}

/// Whether a tool's `result` is a success, and its output text.
fn tool_outcome(result: &Value) -> (bool, String) {
    let text_of = |v: &Value| -> Option<String> {
        [
            "content",
            "stdout",
            "diffString",
            "output",
            "message",
            "errorMessage",
        ]
        .iter()
        .find_map(|k| v.get(k).and_then(Value::as_str))
        .or(v.as_str())
        .map(str::to_owned)
    };
    let (ok, body) = match result.get("success") {
        Some(success) => {
            let exit_ok = success
                .get("exitCode")
                .and_then(Value::as_i64)
                .is_none_or(|c| c == 0);
            (exit_ok, success)
        }
        None => (
            false,
            result
                .as_object()
                .and_then(|o| o.values().next())
                .unwrap_or(result),
        ),
    };
    let text = text_of(body).unwrap_or_else(|| {
        if body.is_null() {
            String::new()
        } else {
            body.to_string()
        }
    });
    (
        ok,
        truncate_at_char_boundary(&text, MAX_TOOL_OUTPUT_BYTES).to_owned(),
    )
}

impl CursorParser {
    fn event(&mut self, event: &Value, raw: &str, out: &mut Vec<AgentEvent>) {
        let str_of = |k: &str| event.get(k).and_then(Value::as_str);
        match (
            str_of("type").unwrap_or(""),
            str_of("subtype").unwrap_or(""),
        ) {
            ("system", "init") if str_of("session_id").is_some() => {
                let id = str_of("session_id").unwrap_or("").to_owned();
                self.session_id = Some(id.clone());
                out.push(AgentEvent::SessionStarted {
                    session_id: id,
                    model: str_of("model").map(str::to_owned),
                });
            }
            ("assistant", _) => {
                let blocks = event.pointer("/message/content").and_then(Value::as_array);
                for block in blocks.into_iter().flatten() {
                    if block.get("type").and_then(Value::as_str) == Some("text")
                        && let Some(text) = block
                            .get("text")
                            .and_then(Value::as_str)
                            .filter(|t| !t.is_empty())
                    {
                        out.push(AgentEvent::AssistantText {
                            text: text.to_owned(),
                        });
                    }
                }
            }
            ("tool_call", subtype @ ("started" | "completed")) => {
                let id = str_of("call_id").unwrap_or("").to_owned();
                let Some((name, inner)) = event.get("tool_call").and_then(tool_of) else {
                    out.push(AgentEvent::Unknown {
                        raw: raw.to_owned(),
                    });
                    return;
                };
                if subtype == "started" {
                    let input = inner
                        .get("args")
                        .or_else(|| inner.get("arguments"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    self.tool_names.insert(id.clone(), name.clone());
                    out.push(AgentEvent::ToolStarted { id, name, input });
                } else {
                    let (ok, output) = tool_outcome(inner.get("result").unwrap_or(&Value::Null));
                    let name = self.tool_names.remove(&id).unwrap_or(name);
                    out.push(AgentEvent::ToolFinished {
                        id,
                        name: Some(name),
                        ok,
                        output,
                    });
                }
            }
            ("retry", "starting") => out.push(AgentEvent::ApiRetry {
                attempt: event
                    .get("attempt")
                    .and_then(Value::as_u64)
                    .map_or(0, |a| u32::try_from(a).unwrap_or(u32::MAX)),
                delay_ms: None,
                status: None,
            }),
            ("result", _) => {
                if std::mem::replace(&mut self.result_seen, true) {
                    return;
                }
                let is_error = event
                    .get("is_error")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let default_subtype = if is_error { "error" } else { "success" };
                out.push(AgentEvent::Result {
                    is_error,
                    subtype: str_of("subtype").unwrap_or(default_subtype).to_owned(),
                    text: str_of("result").unwrap_or("").to_owned(),
                    session_id: str_of("session_id")
                        .map(str::to_owned)
                        .or_else(|| self.session_id.clone()),
                    turns: None,
                    usage: None,
                });
            }
            ("user" | "thinking" | "connection" | "retry", _) => {}
            _ => out.push(AgentEvent::Unknown {
                raw: raw.to_owned(),
            }),
        }
    }
}

impl StreamParser for CursorParser {
    fn stdout_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let raw = line.trim_end_matches('\r');
        if raw.trim().is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        match serde_json::from_str::<Value>(raw) {
            Ok(event) if event.is_object() => self.event(&event, raw, &mut out),
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
        if contains_any_ci(line, CURSOR_AUTH_PHRASES)
            && !std::mem::replace(&mut self.auth_reported, true)
        {
            out.push(AgentEvent::AuthFailed {
                message: line.to_owned(),
            });
        } else if contains_any_ci(line, USAGE_LIMIT_PHRASES)
            && !std::mem::replace(&mut self.rate_limit_reported, true)
        {
            out.push(AgentEvent::RateLimited {
                resets_at_ms: reset_from_text(line, now_ms()),
                message: line.to_owned(),
            });
        }
        out
    }

    fn finish(&mut self, _exit_code: Option<i32>) -> Vec<AgentEvent> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::request::SessionRequest;

    #[test]
    fn bypass_resume_and_model() {
        let req = SessionRequest {
            model: Some("gpt-5".into()),
            prompt: "p".into(),
            permission_mode: PermissionMode::Bypass,
            resume_session: Some("chat-1".into()),
            ..Default::default()
        };
        let tiers = BTreeMap::new();
        let cx = InvocationContext {
            request: &req,
            scratch_dir: Path::new("/tmp"),
            tiers: &tiers,
        };
        let inv = CursorBackend::default().invocation(cx).unwrap();
        assert_eq!(inv.program, "cursor-agent");
        assert_eq!(
            inv.args,
            [
                "-p",
                "--output-format",
                "stream-json",
                "--model",
                "gpt-5",
                "--resume=chat-1",
                "--force"
            ]
        );
        assert_eq!(inv.stdin.as_deref(), Some(b"p".as_slice()));
    }

    #[test]
    fn tool_names_and_outcomes() {
        let v: Value =
            serde_json::from_str(r#"{"shellToolCall":{"args":{"command":"ls"}}}"#).unwrap();
        assert_eq!(tool_of(&v).map(|(n, _)| n).as_deref(), Some("shell"));
        let v: Value =
            serde_json::from_str(r#"{"function":{"name":"mcp_x","arguments":"{}"}}"#).unwrap();
        assert_eq!(tool_of(&v).map(|(n, _)| n).as_deref(), Some("mcp_x"));
        let ok: Value = serde_json::from_str(r#"{"success":{"exitCode":0,"stdout":"a"}}"#).unwrap();
        assert_eq!(tool_outcome(&ok), (true, "a".to_owned()));
        let bad: Value = serde_json::from_str(r#"{"success":{"exitCode":2,"stdout":""}}"#).unwrap();
        assert!(!tool_outcome(&bad).0);
        let err: Value = serde_json::from_str(r#"{"error":{"errorMessage":"nope"}}"#).unwrap();
        assert_eq!(tool_outcome(&err), (false, "nope".to_owned()));
    }
}
