//! aider, driven with a message file and plain-text output.
//!
//! `aider --message-file SCRATCH/prompt.md --yes-always --no-auto-commits --no-stream
//! --no-pretty [--model M] [--dry-run]`: the prompt (system addition in front) is written to a
//! file, never passed in argv. Plan mode adds `--dry-run` (no file is modified). aider has no
//! sessions (resume refused), no tool lists (refused), no turn or budget flag (the supervisor
//! enforces both).
//!
//! Parsing, line by line (no JSON):
//! - `Tokens: 2.4k sent, 1.1k cache write, 3k cache hit, 16 received. Cost: $0.01 message,
//!   $0.02 session.` -> Usage: tokens summed over messages (k/M suffixes), cost = the session
//!   cost (already cumulative).
//! - `Applied edit to PATH` -> ToolStarted + ToolFinished named `edit` (id `edit-N`).
//! - Login failures (`AuthenticationError`, `authentication_error`, `Invalid API key`) ->
//!   AuthFailed; quota / usage limits -> RateLimited; `Retrying in N seconds...` -> ApiRetry;
//!   context overflow -> ContextOverflow.
//! - aider's own banner and housekeeping lines (version, models, repo, repo-map, added files,
//!   `litellm.` errors and aider's explanations of them) -> Unknown.
//! - Every other non-empty line -> AssistantText.
//! - finish(exit) -> Result (is_error = exit code not 0; text: the assistant lines joined).
//!   Killed (no exit code): nothing.

use serde_json::json;

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
use crate::event::{AgentEvent, Usage};
use crate::request::PermissionMode;

use super::command::{InvocationBuilder, prompt_with_system, reject_resume, reject_tool_lists};
use super::reset_time::reset_from_text;
use super::text::{
    CONTEXT_OVERFLOW_PHRASES, USAGE_LIMIT_PHRASES, add_tokens, contains_any_ci, now_ms,
};

const AIDER_AUTH_PHRASES: &[&str] = &[
    "authenticationerror",
    "authentication_error",
    "invalid api key",
    "invalid x-api-key",
];

/// Prefixes of aider's banner and housekeeping lines (not the model's words).
const BANNER_PREFIXES: &[&str] = &[
    "Aider v",
    "Main model:",
    "Weak model:",
    "Editor model:",
    "Model:",
    "Git repo:",
    "Repo-map:",
    "Added ",
    "Use /help",
    "Cur working dir:",
    "Git working dir:",
    "https://aider.chat/",
    "Newer aider version",
    "The API provider",
    "litellm.",
];

/// The aider backend.
#[derive(Debug, Clone, Default)]
pub struct AiderBackend {
    settings: BackendSettings,
}

impl AiderBackend {
    /// The backend with the workflow's settings.
    pub fn new(settings: BackendSettings) -> Self {
        Self { settings }
    }
}

impl Backend for AiderBackend {
    fn name(&self) -> &str {
        "aider"
    }

    fn invocation(&self, cx: InvocationContext<'_>) -> Result<Invocation, BackendError> {
        let req = cx.request;
        reject_tool_lists("aider", req)?;
        reject_resume("aider", req)?;
        let mut b = InvocationBuilder::default();
        let file = b.prompt_file("aider", cx.scratch_dir, prompt_with_system(req))?;
        b.args(["--message-file".to_owned(), file]);
        b.args([
            "--yes-always",
            "--no-auto-commits",
            "--no-stream",
            "--no-pretty",
        ]);
        b.opt("--model", req.model.as_deref());
        if req.permission_mode == PermissionMode::Plan {
            b.args(["--dry-run"]);
        }
        b.build("aider", "aider", &self.settings)
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(AiderParser::default())
    }

    fn reports_cost(&self) -> bool {
        true
    }
}

/// Parser state for one aider run.
#[derive(Default)]
pub struct AiderParser {
    totals: Usage,
    text: Vec<String>,
    edits: u32,
    retries: u32,
    result_seen: bool,
    auth_reported: bool,
    rate_limit_reported: bool,
    overflow_reported: bool,
}

/// `2.4k` -> 2400, `1.2M` -> 1_200_000, `16` -> 16.
fn parse_count(s: &str) -> Option<u64> {
    let s = s.trim().replace(',', "");
    let (num, scale) = match s.strip_suffix(['k', 'K']) {
        Some(n) => (n.to_owned(), 1e3),
        None => match s.strip_suffix(['m', 'M']) {
            Some(n) => (n.to_owned(), 1e6),
            None => (s, 1.0),
        },
    };
    let value = num
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)?;
    // Rounding to whole tokens is intended.
    Some((value * scale).round() as u64)
}

/// Adds one `Tokens: ... Cost: ...` line to `totals`; false when the line is not one.
fn add_cost_line(line: &str, totals: &mut Usage) -> bool {
    let Some(rest) = line.trim().strip_prefix("Tokens:") else {
        return false;
    };
    let (tokens, cost) = rest.split_once("Cost:").unwrap_or((rest, ""));
    for item in tokens.trim().trim_end_matches('.').split(',') {
        let item = item.trim();
        let Some((count, label)) = item.split_once(' ') else {
            continue;
        };
        let Some(n) = parse_count(count) else {
            continue;
        };
        match label.trim() {
            "sent" => add_tokens(totals, n, 0, 0, 0),
            "received" => add_tokens(totals, 0, n, 0, 0),
            "cache write" => add_tokens(totals, 0, 0, 0, n),
            "cache hit" => add_tokens(totals, 0, 0, n, 0),
            _ => {}
        }
    }
    let session = cost
        .split(',')
        .find_map(|part| part.trim().trim_end_matches('.').strip_suffix(" session"))
        .and_then(|amount| amount.trim().trim_start_matches('$').parse::<f64>().ok())
        .filter(|c| c.is_finite());
    if let Some(c) = session {
        totals.cost_usd = Some(c);
    }
    true
}

/// `Retrying in 0.2 seconds...` -> 200.
fn retry_delay_ms(line: &str) -> Option<u64> {
    let rest = line.trim().strip_prefix("Retrying in ")?;
    let secs = rest.split_whitespace().next()?.parse::<f64>().ok()?;
    // Rounding to whole milliseconds is intended.
    (secs.is_finite() && secs >= 0.0).then(|| (secs * 1000.0).round() as u64)
}

impl StreamParser for AiderParser {
    fn stdout_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            return Vec::new();
        }
        if add_cost_line(line, &mut self.totals) {
            return vec![AgentEvent::Usage { usage: self.totals }];
        }
        if let Some(path) = line.trim().strip_prefix("Applied edit to ") {
            self.edits = self.edits.saturating_add(1);
            let id = format!("edit-{}", self.edits);
            return vec![
                AgentEvent::ToolStarted {
                    id: id.clone(),
                    name: "edit".into(),
                    input: json!({ "path": path }),
                },
                AgentEvent::ToolFinished {
                    id,
                    name: Some("edit".into()),
                    ok: true,
                    output: String::new(),
                },
            ];
        }
        if let Some(delay_ms) = retry_delay_ms(line) {
            self.retries = self.retries.saturating_add(1);
            return vec![AgentEvent::ApiRetry {
                attempt: self.retries,
                delay_ms: Some(delay_ms),
                status: None,
            }];
        }
        let message = line.to_owned();
        if contains_any_ci(line, AIDER_AUTH_PHRASES) {
            return if std::mem::replace(&mut self.auth_reported, true) {
                vec![AgentEvent::Unknown { raw: message }]
            } else {
                vec![AgentEvent::AuthFailed { message }]
            };
        }
        if contains_any_ci(line, USAGE_LIMIT_PHRASES) {
            return if std::mem::replace(&mut self.rate_limit_reported, true) {
                vec![AgentEvent::Unknown { raw: message }]
            } else {
                vec![AgentEvent::RateLimited {
                    resets_at_ms: reset_from_text(line, now_ms()),
                    message,
                }]
            };
        }
        if contains_any_ci(line, CONTEXT_OVERFLOW_PHRASES) {
            return if std::mem::replace(&mut self.overflow_reported, true) {
                vec![AgentEvent::Unknown { raw: message }]
            } else {
                vec![AgentEvent::ContextOverflow { message }]
            };
        }
        if BANNER_PREFIXES.iter().any(|p| line.starts_with(p)) {
            return vec![AgentEvent::Unknown { raw: message }];
        }
        self.text.push(message.clone());
        vec![AgentEvent::AssistantText { text: message }]
    }

    fn stderr_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim_end_matches('\r');
        let mut out = vec![AgentEvent::StderrLine {
            line: line.to_owned(),
        }];
        if contains_any_ci(line, AIDER_AUTH_PHRASES)
            && !std::mem::replace(&mut self.auth_reported, true)
        {
            out.push(AgentEvent::AuthFailed {
                message: line.to_owned(),
            });
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
        vec![AgentEvent::Result {
            is_error: code != 0,
            subtype: if code == 0 { "success" } else { "error" }.to_owned(),
            text: self.text.join("\n"),
            session_id: None,
            turns: None,
            usage: Some(self.totals),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_counts_with_suffixes() {
        assert_eq!(parse_count("2.4k"), Some(2400));
        assert_eq!(parse_count("1.2M"), Some(1_200_000));
        assert_eq!(parse_count("16"), Some(16));
        assert_eq!(parse_count("x"), None);
    }

    #[test]
    fn cost_lines_accumulate_tokens_and_keep_the_session_cost() {
        let mut u = Usage::default();
        assert!(add_cost_line(
            "Tokens: 2.4k sent, 16 received. Cost: $0.01 message, $0.02 session.",
            &mut u
        ));
        assert!(add_cost_line(
            "Tokens: 12k sent, 1.1k cache write, 3k cache hit, 500 received. Cost: $0.05 message, $0.07 session.",
            &mut u
        ));
        assert_eq!(
            u,
            Usage {
                input_tokens: 14_400,
                output_tokens: 516,
                cache_read_tokens: 3000,
                cache_write_tokens: 1100,
                cost_usd: Some(0.07)
            }
        );
        assert!(!add_cost_line("Some text about Tokens: later", &mut u));
    }

    #[test]
    fn retry_lines() {
        assert_eq!(retry_delay_ms("Retrying in 0.2 seconds..."), Some(200));
        assert_eq!(retry_delay_ms("Retrying soon"), None);
    }
}
