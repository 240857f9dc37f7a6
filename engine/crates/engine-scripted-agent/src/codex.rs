//! Codex's `exec --json` events (and its plain-text output without `--json`).

use std::io;

use serde_json::{Value, json};

use crate::output::Output;
use crate::player::now_secs;
use crate::step::ApiRetryStep;
use crate::stream::{Ending, Format, SessionInfo, Stream, Tally, ToolCall, ToolEnd};

/// Message of the usage-limit error.
pub const USAGE_LIMIT_MESSAGE: &str =
    "You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again";

/// Message of the authentication error.
pub const AUTH_ERROR_MESSAGE: &str = "unexpected status 401 Unauthorized: Your access token could not be refreshed because your refresh token has expired. Please log out and sign in again.";

/// Message of the context-overflow error.
pub const CONTEXT_OVERFLOW_MESSAGE: &str = "Codex ran out of room in the model's context window. Start a new conversation or clear earlier history before retrying.";

/// The Codex dialect.
pub struct CodexStream {
    info: SessionInfo,
}

impl CodexStream {
    /// A stream for one session.
    pub fn new(info: SessionInfo) -> CodexStream {
        CodexStream { info }
    }

    fn emit(&self, out: &mut Output, event: &Value) -> io::Result<()> {
        match self.info.format {
            Format::Stream | Format::Json => out.event(event),
            Format::Text => Ok(()),
        }
    }

    fn item(&self, out: &mut Output, phase: &str, item: &Value) -> io::Result<()> {
        self.emit(out, &json!({"type": phase, "item": item}))
    }

    fn error(&self, out: &mut Output, message: &str) -> io::Result<()> {
        match self.info.format {
            Format::Text => out.stderr_line(&format!("ERROR: {message}")),
            _ => self.emit(out, &json!({"type": "error", "message": message})),
        }
    }

    fn write_last_message(&self, tally: &Tally) -> io::Result<()> {
        match &self.info.last_message_file {
            Some(path) => std::fs::write(
                self.info.cwd.join(path),
                tally.last_text.clone().unwrap_or_default(),
            ),
            None => Ok(()),
        }
    }
}

fn item_id(tally: &mut Tally) -> String {
    format!("item_{}", tally.next_id())
}

/// A tool call as the Codex item it would be: (item type, fields other than id/type/status).
fn item_fields(call: &ToolCall) -> (&'static str, Value) {
    let file_change = |path: &Value, kind: &str| json!({"changes": [{"path": path, "kind": kind}]});
    match call {
        ToolCall::Command(command) => ("command_execution", json!({"command": command})),
        ToolCall::WriteFile { path, created, .. } => (
            "file_change",
            file_change(&json!(path), if *created { "add" } else { "update" }),
        ),
        ToolCall::AppendFile { path, .. } => ("file_change", file_change(&json!(path), "update")),
        ToolCall::DeleteFile(path) => ("file_change", file_change(&json!(path), "delete")),
        ToolCall::Generic { name, input } => {
            let path = input
                .get("file_path")
                .or_else(|| input.get("path"))
                .cloned();
            match (name.as_str(), path) {
                ("Bash" | "shell" | "exec", _) => {
                    let command = input
                        .get("command")
                        .cloned()
                        .unwrap_or(Value::String(String::new()));
                    ("command_execution", json!({"command": command}))
                }
                ("Write", Some(path)) => ("file_change", file_change(&path, "add")),
                ("Edit" | "MultiEdit" | "NotebookEdit", Some(path)) => {
                    ("file_change", file_change(&path, "update"))
                }
                _ => (
                    "mcp_tool_call",
                    json!({"server": "scripted", "tool": name, "arguments": input}),
                ),
            }
        }
    }
}

fn with_fields(mut fields: Value, extra: Value) -> Value {
    if let (Some(map), Value::Object(extra)) = (fields.as_object_mut(), extra) {
        map.extend(extra);
    }
    fields
}

impl Stream for CodexStream {
    fn start(&mut self, out: &mut Output, _tally: &mut Tally) -> io::Result<()> {
        self.emit(
            out,
            &json!({"type": "thread.started", "thread_id": self.info.session_id}),
        )?;
        self.emit(out, &json!({"type": "turn.started"}))
    }

    fn say(&mut self, out: &mut Output, tally: &mut Tally, text: &str) -> io::Result<()> {
        tally.turns += 1;
        tally.last_text = Some(text.to_string());
        if self.info.format == Format::Text {
            return out.line(text);
        }
        let id = item_id(tally);
        self.item(
            out,
            "item.completed",
            &json!({"id": id, "type": "agent_message", "text": text}),
        )
    }

    fn think(&mut self, out: &mut Output, tally: &mut Tally, text: &str) -> io::Result<()> {
        let id = item_id(tally);
        self.item(
            out,
            "item.completed",
            &json!({"id": id, "type": "reasoning", "text": text}),
        )
    }

    fn tool_started(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        call: &ToolCall,
    ) -> io::Result<String> {
        tally.turns += 1;
        let id = item_id(tally);
        let (kind, fields) = item_fields(call);
        let extra = match kind {
            "command_execution" => {
                json!({"aggregated_output": "", "exit_code": null, "status": "in_progress"})
            }
            "mcp_tool_call" => json!({"result": null, "error": null, "status": "in_progress"}),
            // Codex reports a file change only once it is applied.
            _ => return Ok(id),
        };
        let item = with_fields(json!({"id": id, "type": kind}), with_fields(fields, extra));
        self.item(out, "item.started", &item)?;
        Ok(id)
    }

    fn tool_finished(
        &mut self,
        out: &mut Output,
        _tally: &mut Tally,
        id: &str,
        call: &ToolCall,
        end: &ToolEnd,
    ) -> io::Result<()> {
        let status = if end.is_error { "failed" } else { "completed" };
        let (kind, fields) = item_fields(call);
        let extra = match kind {
            "command_execution" => json!({
                "aggregated_output": end.output,
                "exit_code": end.exit_code.unwrap_or(i32::from(end.is_error)),
                "status": status,
            }),
            "mcp_tool_call" => {
                let (result, error) = if end.is_error {
                    (Value::Null, json!({"message": end.output}))
                } else {
                    (
                        json!({"content": [{"type": "text", "text": end.output}], "structured_content": null}),
                        Value::Null,
                    )
                };
                json!({"result": result, "error": error, "status": status})
            }
            _ => json!({"status": status}),
        };
        let item = with_fields(json!({"id": id, "type": kind}), with_fields(fields, extra));
        self.item(out, "item.completed", &item)
    }

    fn api_retry(
        &mut self,
        out: &mut Output,
        _tally: &mut Tally,
        retry: &ApiRetryStep,
    ) -> io::Result<()> {
        // Codex reports stream retries as non-fatal top-level `error` events.
        let message = format!(
            "Reconnecting... {}/5 (unexpected status {} while streaming the response)",
            retry.attempt, retry.status
        );
        self.error(out, &message)
    }

    fn usage_limit(
        &mut self,
        out: &mut Output,
        _tally: &mut Tally,
        resets_at_secs: u64,
        exit: Option<i32>,
    ) -> io::Result<Ending> {
        let remaining = resets_at_secs.saturating_sub(now_secs());
        let message = format!("{USAGE_LIMIT_MESSAGE} in {}.", spelled_delay(remaining));
        self.error(out, &message)?;
        Ok(Ending::error(
            "error_during_execution",
            message,
            exit.unwrap_or(1),
        ))
    }

    fn auth_error(&mut self, out: &mut Output, _tally: &mut Tally) -> io::Result<Ending> {
        self.error(out, AUTH_ERROR_MESSAGE)?;
        Ok(Ending::error(
            "error_during_execution",
            AUTH_ERROR_MESSAGE.to_string(),
            1,
        ))
    }

    fn context_overflow(&mut self, out: &mut Output, _tally: &mut Tally) -> io::Result<Ending> {
        self.error(out, CONTEXT_OVERFLOW_MESSAGE)?;
        Ok(Ending::error(
            "error_during_execution",
            CONTEXT_OVERFLOW_MESSAGE.to_string(),
            1,
        ))
    }

    fn result(&mut self, out: &mut Output, tally: &mut Tally, ending: &Ending) -> io::Result<()> {
        self.write_last_message(tally)?;
        if ending.is_error {
            return self.emit(
                out,
                &json!({"type": "turn.failed", "error": {"message": ending.text}}),
            );
        }
        let tokens = tally.tokens;
        let usage = json!({"input_tokens": tokens.input, "cached_input_tokens": tokens.cached, "output_tokens": tokens.output});
        self.emit(out, &json!({"type": "turn.completed", "usage": usage}))
    }

    fn duplicate_result(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        first: &Ending,
    ) -> io::Result<()> {
        self.result(out, tally, first)
    }
}

/// `2 days 3 hours 5 minutes`, `2 seconds`: a delay as Codex words it (zero parts left out).
fn spelled_delay(secs: u64) -> String {
    let parts = [
        (secs / 86_400, "day"),
        (secs % 86_400 / 3600, "hour"),
        (secs % 3600 / 60, "minute"),
        (secs % 60, "second"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, unit)| format!("{count} {unit}{}", if *count == 1 { "" } else { "s" }))
        .collect();
    if words.is_empty() {
        "0 seconds".to_string()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_map_to_codex_items() {
        let bash = ToolCall::Generic {
            name: "Bash".into(),
            input: json!({"command": "ls"}),
        };
        assert_eq!(
            item_fields(&bash),
            ("command_execution", json!({"command": "ls"}))
        );
        let edit = ToolCall::Generic {
            name: "Edit".into(),
            input: json!({"file_path": "/a"}),
        };
        assert_eq!(
            item_fields(&edit).1["changes"][0],
            json!({"path": "/a", "kind": "update"})
        );
        let read = ToolCall::Generic {
            name: "Read".into(),
            input: json!({"file_path": "/a"}),
        };
        assert_eq!(item_fields(&read).0, "mcp_tool_call");
        let delete = ToolCall::DeleteFile("/a".into());
        assert_eq!(item_fields(&delete).1["changes"][0]["kind"], "delete");
    }

    #[test]
    fn delays_are_spelled_like_codex() {
        assert_eq!(spelled_delay(2), "2 seconds");
        assert_eq!(
            spelled_delay(86_400 * 2 + 3 * 3600 + 5 * 60),
            "2 days 3 hours 5 minutes"
        );
        assert_eq!(spelled_delay(3601), "1 hour 1 second");
        assert_eq!(spelled_delay(0), "0 seconds");
    }
}
