//! Claude Code's `stream-json` events (and its `json` / `text` output formats).

use std::io;

use serde_json::{Value, json};

use crate::output::Output;
use crate::step::{ApiRetryStep, TokenCounts};
use crate::stream::{Ending, Format, SessionInfo, Stream, Tally, ToolCall, ToolEnd};

/// Tools listed in the init event.
pub const DEFAULT_TOOLS: &[&str] = &[
    "Task",
    "Bash",
    "Glob",
    "Grep",
    "Read",
    "Edit",
    "Write",
    "NotebookEdit",
    "WebFetch",
    "TodoWrite",
    "WebSearch",
];

/// Text of the assistant message on a usage limit.
pub fn usage_limit_text(resets_at_secs: u64) -> String {
    format!(
        "You've hit your limit · resets {} (UTC)",
        clock_time(resets_at_secs)
    )
}

/// `8pm`, `8:05am`: a UTC time of day as Claude prints reset times.
fn clock_time(secs: u64) -> String {
    let of_day = secs % 86_400;
    let (hour, minute) = (of_day / 3600, of_day % 3600 / 60);
    let suffix = if hour < 12 { "am" } else { "pm" };
    let hour12 = match hour % 12 {
        0 => 12,
        other => other,
    };
    if minute == 0 {
        format!("{hour12}{suffix}")
    } else {
        format!("{hour12}:{minute:02}{suffix}")
    }
}

/// The Claude dialect.
pub struct ClaudeStream {
    info: SessionInfo,
    invocation: u64,
}

impl ClaudeStream {
    /// A stream for one session (`invocation` makes ids unique across sessions).
    pub fn new(info: SessionInfo, invocation: u64) -> ClaudeStream {
        ClaudeStream { info, invocation }
    }

    fn emit(&self, out: &mut Output, event: &Value) -> io::Result<()> {
        match self.info.format {
            Format::Stream => out.event(event),
            Format::Json | Format::Text => Ok(()),
        }
    }

    fn uuid(&self, tally: &mut Tally) -> String {
        uuid_like(self.invocation, tally.next_id())
    }

    /// One assistant message with `content`, carrying the tokens not reported yet.
    fn assistant(
        &self,
        out: &mut Output,
        tally: &mut Tally,
        content: &Value,
        error: Option<&str>,
    ) -> io::Result<()> {
        let id = tally.next_id();
        let usage = message_usage(tally.take_unreported());
        let mut event = json!({
            "type": "assistant",
            "message": {
                "model": self.info.model,
                "id": format!("msg_scripted_{:04}_{id:06}", self.invocation),
                "type": "message",
                "role": "assistant",
                "content": content,
                "stop_reason": null,
                "stop_sequence": null,
                "usage": usage,
            },
            "parent_tool_use_id": null,
            "session_id": self.info.session_id,
            "uuid": self.uuid(tally),
        });
        if let (Some(error), Some(map)) = (error, event.as_object_mut()) {
            map.insert("error".to_string(), json!(error));
        }
        self.emit(out, &event)
    }

    /// A failure reported as an assistant message with `error`, ending in an error result.
    fn failure(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        error: &str,
        text: String,
        exit: i32,
    ) -> io::Result<Ending> {
        tally.turns += 1;
        self.assistant(
            out,
            tally,
            &json!([{"type": "text", "text": text}]),
            Some(error),
        )?;
        tally.last_text = Some(text.clone());
        Ok(Ending::error("success", text, exit))
    }

    fn result_event(&self, tally: &mut Tally, ending: &Ending) -> Value {
        let duration_ms =
            u64::try_from(self.info.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let tokens = tally.tokens;
        json!({
            "type": "result",
            "subtype": ending.subtype,
            "is_error": ending.is_error,
            "duration_ms": duration_ms,
            "duration_api_ms": duration_ms,
            "num_turns": tally.turns,
            "result": ending.text,
            "session_id": self.info.session_id,
            "total_cost_usd": tally.cost_usd,
            "usage": {
                "input_tokens": tokens.input,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": tokens.cached,
                "output_tokens": tokens.output,
                "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                "service_tier": "standard",
            },
            "modelUsage": {
                self.info.model.clone(): {
                    "inputTokens": tokens.input,
                    "outputTokens": tokens.output,
                    "cacheReadInputTokens": tokens.cached,
                    "cacheCreationInputTokens": 0,
                    "webSearchRequests": 0,
                    "costUSD": tally.cost_usd,
                },
            },
            "permission_denials": [],
            "uuid": self.uuid(tally),
        })
    }
}

fn message_usage(tokens: TokenCounts) -> Value {
    json!({
        "input_tokens": tokens.input,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": tokens.cached,
        "output_tokens": tokens.output,
        "service_tier": "standard",
    })
}

/// A UUID-shaped id derived from two numbers (stable across runs).
pub fn uuid_like(high: u64, low: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        0x5c41_0000_u64 | (high >> 16 & 0xffff),
        high & 0xffff,
        low >> 48 & 0xfff,
        low >> 36 & 0xfff,
        low & 0xffff_ffff_ffff
    )
}

fn tool_use(call: &ToolCall) -> (String, Value) {
    match call {
        ToolCall::Generic { name, input } => (name.clone(), input.clone()),
        ToolCall::Command(command) => ("Bash".to_string(), json!({"command": command})),
        ToolCall::WriteFile { path, content, .. } => (
            "Write".to_string(),
            json!({"file_path": path, "content": content}),
        ),
        ToolCall::AppendFile { path, content } => (
            "Edit".to_string(),
            json!({"file_path": path, "old_string": "", "new_string": content}),
        ),
        ToolCall::DeleteFile(path) => (
            "Bash".to_string(),
            json!({"command": format!("rm {}", shell_quote(&path.to_string_lossy())), "description": "Delete a file"}),
        ),
    }
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

impl Stream for ClaudeStream {
    fn start(&mut self, out: &mut Output, tally: &mut Tally) -> io::Result<()> {
        let event = json!({
            "type": "system",
            "subtype": "init",
            "cwd": self.info.cwd,
            "session_id": self.info.session_id,
            "tools": self.info.tools,
            "mcp_servers": [],
            "model": self.info.model,
            "permissionMode": self.info.permission_mode,
            "slash_commands": [],
            "apiKeySource": "none",
            "claude_code_version": "2.0.0 (scripted-agent)",
            "output_style": "default",
            "agents": [],
            "uuid": self.uuid(tally),
        });
        self.emit(out, &event)
    }

    fn say(&mut self, out: &mut Output, tally: &mut Tally, text: &str) -> io::Result<()> {
        tally.turns += 1;
        tally.last_text = Some(text.to_string());
        self.assistant(out, tally, &json!([{"type": "text", "text": text}]), None)
    }

    fn think(&mut self, out: &mut Output, tally: &mut Tally, text: &str) -> io::Result<()> {
        let content = json!([{"type": "thinking", "thinking": text, "signature": "scripted"}]);
        self.assistant(out, tally, &content, None)
    }

    fn tool_started(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        call: &ToolCall,
    ) -> io::Result<String> {
        tally.turns += 1;
        let id = format!(
            "toolu_scripted_{:04}_{:06}",
            self.invocation,
            tally.next_id()
        );
        let (name, input) = tool_use(call);
        let content = json!([{"type": "tool_use", "id": id, "name": name, "input": input}]);
        self.assistant(out, tally, &content, None)?;
        Ok(id)
    }

    fn tool_finished(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        id: &str,
        _call: &ToolCall,
        end: &ToolEnd,
    ) -> io::Result<()> {
        let content = match end.exit_code {
            Some(code) if code != 0 => format!("Exit code {code}\n{}", end.output),
            _ => end.output.clone(),
        };
        let event = json!({
            "type": "user",
            "message": {
                "role": "user",
                "content": [{"tool_use_id": id, "type": "tool_result", "content": content, "is_error": end.is_error}],
            },
            "parent_tool_use_id": null,
            "session_id": self.info.session_id,
            "uuid": self.uuid(tally),
        });
        self.emit(out, &event)
    }

    fn api_retry(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        retry: &ApiRetryStep,
    ) -> io::Result<()> {
        let event = json!({
            "type": "system",
            "subtype": "api_retry",
            "attempt": retry.attempt,
            "max_retries": 10,
            "retry_delay_ms": retry.delay_ms,
            "error_status": retry.status,
            "session_id": self.info.session_id,
            "uuid": self.uuid(tally),
        });
        self.emit(out, &event)
    }

    fn usage_limit(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        resets_at_secs: u64,
        exit: Option<i32>,
    ) -> io::Result<Ending> {
        let event = json!({
            "type": "rate_limit_event",
            "rate_limit_info": {
                "status": "rejected",
                "resetsAt": resets_at_secs,
                "rateLimitType": "five_hour",
                "overageStatus": "rejected",
                "isUsingOverage": false,
            },
            "session_id": self.info.session_id,
            "uuid": self.uuid(tally),
        });
        self.emit(out, &event)?;
        // The real CLI has been seen exiting 0 here.
        self.failure(
            out,
            tally,
            "rate_limit",
            usage_limit_text(resets_at_secs),
            exit.unwrap_or(0),
        )
    }

    fn auth_error(&mut self, out: &mut Output, tally: &mut Tally) -> io::Result<Ending> {
        out.stderr_line("OAuth token has expired. Please run /login")?;
        let text = "Failed to authenticate. API Error: 401 {\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"OAuth token has expired. Please obtain a new token or refresh your existing token.\"}} · Please run /login";
        self.failure(out, tally, "authentication_failed", text.to_string(), 1)
    }

    fn context_overflow(&mut self, out: &mut Output, tally: &mut Tally) -> io::Result<Ending> {
        self.failure(
            out,
            tally,
            "invalid_request",
            "Prompt is too long".to_string(),
            1,
        )
    }

    fn result(&mut self, out: &mut Output, tally: &mut Tally, ending: &Ending) -> io::Result<()> {
        let event = self.result_event(tally, ending);
        match self.info.format {
            Format::Stream | Format::Json => out.event(&event),
            Format::Text => out.line(&ending.text),
        }
    }

    fn duplicate_result(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        _first: &Ending,
    ) -> io::Result<()> {
        let second = Ending::error("error_during_execution", "duplicate result".to_string(), 1);
        let event = self.result_event(tally, &second);
        self.emit(out, &event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_times_read_like_claudes() {
        assert_eq!(clock_time(20 * 3600), "8pm");
        assert_eq!(clock_time(86_400 * 3 + 8 * 3600 + 5 * 60), "8:05am");
        assert_eq!(clock_time(0), "12am");
        assert_eq!(clock_time(12 * 3600 + 30 * 60), "12:30pm");
        assert_eq!(
            usage_limit_text(20 * 3600),
            "You've hit your limit · resets 8pm (UTC)"
        );
    }

    #[test]
    fn uuid_like_ids_are_stable_and_distinct() {
        assert_eq!(uuid_like(1, 2), uuid_like(1, 2));
        assert_ne!(uuid_like(1, 2), uuid_like(2, 1));
        let id = uuid_like(7, 0);
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
