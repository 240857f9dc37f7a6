//! aider's output: plain text on stdout, and (with `--analytics-log /dev/stderr`) one JSON line
//! per analytics event on stderr. Checked against aider 0.86.2 (tests/fixtures/aider/real).
//!
//! stdout, line by line:
//! - `Tokens: 2.4k sent, 800 cache write, 3.0k cache hit, 16 received. Cost: $0.01 message,
//!   $0.02 session.`, or the same report on two lines (`Tokens: ... received.` then
//!   `Cost: ...`: aider's form when the provider reports cache hits AND writes) -> one message's
//!   usage. aider rounds counts of 1000 and more (`2.4k`, `12k`) and costs; the exact
//!   `prompt_tokens`, `completion_tokens` and `total_cost` of each message come from the
//!   analytics event `message_send` on stderr and win when present. Cache counts exist only in
//!   the rounded text. aider's `sent` is litellm's `prompt_tokens` (every input token, cached
//!   ones included) plus the cache writes once more, so input (not from cache) = sent - cache
//!   hit - 2 x cache write. Through an OpenAI-style API that reports only
//!   `prompt_tokens_details.cached_tokens`, aider shows no cache hit: the cached tokens are
//!   counted as input. Cost: aider's session cost (cumulative, aider's own prices); unknown
//!   when aider printed no `Cost:` (no prices for the model).
//! - `Applied edit to PATH` -> `ToolStarted` + `ToolFinished` named `edit` (id `edit-N`); the
//!   PATH line aider prints before applying (after the usage report) leaves the summary.
//! - An API error: a `litellm.XError: ...` line (continued on the next lines when aider wraps
//!   it), then aider's explanation (`The API provider ...`), then `Retrying in N seconds...`
//!   while aider retries (-> `ApiRetry`), or nothing when it gives up (it still exits 0). Login
//!   failures -> `AuthFailed` at once (aider does not retry them); quota / billing
//!   (`insufficient_quota`, `exceeded your current quota`) -> `QuotaExhausted` at once; context
//!   overflow -> `ContextOverflow` at once; a rate limit -> `RateLimited` when aider gives up, reset
//!   = now + the delay the error states (`Please try again in 1s.`), if any. A failure not
//!   followed by a successful message makes the result an error.
//! - aider's banner and housekeeping (version, model, repo, repo-map, analytics and git-identity
//!   notices, URLs it repeats after an error) -> Unknown.
//! - Every other non-empty line -> `AssistantText`; the result text is those lines.
//! - finish(exit) -> Result (`is_error` = exit code not 0 or an unrecovered failure). Killed (no
//!   exit code): nothing.

use serde_json::{Value, json};

use crate::backend::StreamParser;
use crate::event::{AgentEvent, Usage};

use super::reset_time::reset_from_text;
use super::text::{CONTEXT_OVERFLOW_PHRASES, contains_any_ci, now_ms, saturating_u64};

const AUTH_PHRASES: &[&str] = &[
    "authenticationerror",
    "authentication_error",
    "invalid api key",
    "incorrect api key",
    "invalid x-api-key",
];

const QUOTA_PHRASES: &[&str] = &[
    "insufficient_quota",
    "exceeded your current quota",
    "check your plan and billing",
    "credit balance is too low",
];

const RATE_LIMIT_PHRASES: &[&str] = &["ratelimiterror", "rate limit", "rate_limit"];

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
    "Analytics have been permanently disabled",
    "Update git name with:",
    "Update git email with:",
    "Warning: Input is not a terminal",
    "Empty response received from LLM",
    "Did not apply edit to ",
    "Skipping edits to ",
];

/// Start of aider's explanation after an API error.
const EXPLANATION_PREFIX: &str = "The API provider";

/// One message's report in aider's text (rounded counts).
#[derive(Debug, Clone, Copy, Default)]
struct TextReport {
    sent: u64,
    received: u64,
    cache_hit: u64,
    cache_write: u64,
    session_cost: Option<f64>,
}

/// One message's `message_send` analytics event (exact).
#[derive(Debug, Clone, Copy)]
struct ExactReport {
    sent: u64,
    received: u64,
    total_cost: Option<f64>,
}

/// What a failed API call was.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Failure {
    RateLimit { resets_at_ms: Option<u64> },
    Quota,
    Auth,
    Overflow,
    Other,
}

/// Parser state for one aider run.
pub struct AiderParser {
    texts: Vec<TextReport>,
    exact: Vec<ExactReport>,
    /// The `Tokens:` line of a two-line report waits for its `Cost:` line.
    awaiting_cost: bool,
    said: Vec<String>,
    /// `said.len()` at the last usage report: lines after it are aider's own until the model
    /// answers again (the path it asks to create before applying an edit).
    said_at_report: usize,
    edits: u32,
    retries: u32,
    /// The error block being read (`litellm.` line and its wrapped continuation).
    error_block: Option<String>,
    /// The last failure, until a message succeeds.
    failure: Option<(Failure, String)>,
    /// After an error: the URLs aider repeats are not the model's words.
    after_error: bool,
    result_seen: bool,
    auth_reported: bool,
    quota_reported: bool,
    overflow_reported: bool,
    now: fn() -> u64,
}

impl Default for AiderParser {
    fn default() -> Self {
        Self::with_clock(now_ms)
    }
}

impl AiderParser {
    /// A parser whose clock (ms since the epoch, for reset times) is `now`.
    pub fn with_clock(now: fn() -> u64) -> Self {
        Self {
            texts: Vec::new(),
            exact: Vec::new(),
            awaiting_cost: false,
            said: Vec::new(),
            said_at_report: 0,
            edits: 0,
            retries: 0,
            error_block: None,
            failure: None,
            after_error: false,
            result_seen: false,
            auth_reported: false,
            quota_reported: false,
            overflow_reported: false,
            now,
        }
    }

    /// The session's usage so far: exact counts where aider logged them, cache counts from
    /// the text.
    fn usage(&self) -> Usage {
        let mut u = Usage::default();
        for k in 0..self.texts.len().max(self.exact.len()) {
            let text = self.texts.get(k).copied().unwrap_or_default();
            let exact = self.exact.get(k);
            let sent = exact.map_or(text.sent, |e| e.sent);
            let received = exact.map_or(text.received, |e| e.received);
            let input = sent
                .saturating_sub(text.cache_hit)
                .saturating_sub(text.cache_write.saturating_mul(2));
            u.input_tokens = u.input_tokens.saturating_add(input);
            u.output_tokens = u.output_tokens.saturating_add(received);
            u.cache_read_tokens = u.cache_read_tokens.saturating_add(text.cache_hit);
            u.cache_write_tokens = u.cache_write_tokens.saturating_add(text.cache_write);
        }
        if self.texts.iter().any(|t| t.session_cost.is_some()) {
            let exact_cost = (self.exact.len() >= self.texts.len())
                .then(|| self.exact.last().and_then(|e| e.total_cost))
                .flatten();
            let text_cost = self.texts.iter().rev().find_map(|t| t.session_cost);
            u.cost_usd = exact_cost.or(text_cost);
        }
        u
    }

    fn usage_event(&self) -> Vec<AgentEvent> {
        vec![AgentEvent::Usage {
            usage: self.usage(),
        }]
    }

    /// Ends the error block being read: classifies it.
    fn close_error(&mut self, out: &mut Vec<AgentEvent>) {
        let Some(message) = self.error_block.take() else {
            return;
        };
        self.after_error = true;
        let failure = if contains_any_ci(&message, AUTH_PHRASES) {
            if !std::mem::replace(&mut self.auth_reported, true) {
                out.push(AgentEvent::AuthFailed {
                    message: message.clone(),
                });
            }
            Failure::Auth
        } else if contains_any_ci(&message, QUOTA_PHRASES) {
            if !std::mem::replace(&mut self.quota_reported, true) {
                out.push(AgentEvent::QuotaExhausted {
                    message: message.clone(),
                });
            }
            Failure::Quota
        } else if contains_any_ci(&message, CONTEXT_OVERFLOW_PHRASES) {
            if !std::mem::replace(&mut self.overflow_reported, true) {
                out.push(AgentEvent::ContextOverflow {
                    message: message.clone(),
                });
            }
            Failure::Overflow
        } else if contains_any_ci(&message, RATE_LIMIT_PHRASES) {
            Failure::RateLimit {
                resets_at_ms: reset_from_text(&message, (self.now)()),
            }
        } else {
            Failure::Other
        };
        out.push(AgentEvent::Unknown {
            raw: message.clone(),
        });
        self.failure = Some((failure, message));
    }

    /// The summary: the model's words, without aider's own lines.
    fn result_text(&self) -> String {
        self.said.join("\n")
    }
}

/// `2.4k` -> 2400, `1.2M` -> `1_200_000`, `16` -> 16.
pub(crate) fn parse_count(s: &str) -> Option<u64> {
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
    Some(saturating_u64((value * scale).round()))
}

/// The session cost of a `Cost: $0.01 message, $0.02 session.` part.
fn session_cost(cost: &str) -> Option<f64> {
    cost.split(',')
        .find_map(|part| part.trim().trim_end_matches('.').strip_suffix(" session"))
        .and_then(|amount| amount.trim().trim_start_matches('$').parse::<f64>().ok())
        .filter(|c| c.is_finite() && *c >= 0.0)
}

/// A `Tokens: ...` line (with or without its `Cost:` part) -> the report and whether the cost
/// part was on the line.
fn tokens_line(line: &str) -> Option<(TextReport, bool)> {
    let rest = line.trim().strip_prefix("Tokens:")?;
    let (tokens, cost) = match rest.split_once("Cost:") {
        Some((t, c)) => (t, Some(c)),
        None => (rest, None),
    };
    let mut report = TextReport::default();
    for item in tokens.trim().trim_end_matches('.').split(',') {
        let Some((count, label)) = item.trim().split_once(' ') else {
            continue;
        };
        let Some(n) = parse_count(count) else {
            continue;
        };
        match label.trim() {
            "sent" => report.sent = n,
            "received" => report.received = n,
            "cache write" => report.cache_write = n,
            "cache hit" => report.cache_hit = n,
            _ => {}
        }
    }
    report.session_cost = cost.and_then(session_cost);
    Some((report, cost.is_some()))
}

/// `Retrying in 0.2 seconds...` -> 200.
pub(crate) fn retry_delay_ms(line: &str) -> Option<u64> {
    let rest = line.trim().strip_prefix("Retrying in ")?;
    let secs = rest.split_whitespace().next()?.parse::<f64>().ok()?;
    // Rounding to whole milliseconds is intended.
    (secs.is_finite() && secs >= 0.0).then(|| saturating_u64((secs * 1000.0).round()))
}

/// A `message_send` analytics line -> its exact counts.
fn message_send(line: &str) -> Option<ExactReport> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    if v.get("event")?.as_str()? != "message_send" {
        return None;
    }
    let p = v.get("properties")?;
    Some(ExactReport {
        sent: p.get("prompt_tokens")?.as_u64()?,
        received: p.get("completion_tokens")?.as_u64()?,
        total_cost: p
            .get("total_cost")
            .and_then(Value::as_f64)
            .filter(|c| c.is_finite() && *c >= 0.0),
    })
}

fn is_analytics_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("{\"event\"")
}

fn is_bare_url(line: &str) -> bool {
    let t = line.trim();
    (t.starts_with("https://") || t.starts_with("http://")) && !t.contains(' ')
}

impl StreamParser for AiderParser {
    fn stdout_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim_end_matches('\r');
        let trimmed = line.trim();
        let mut out = Vec::new();
        if self.error_block.is_some() {
            let ends = trimmed.is_empty()
                || trimmed.starts_with(EXPLANATION_PREFIX)
                || trimmed.starts_with("Retrying in ")
                || trimmed.starts_with("litellm.");
            if !ends && let Some(block) = self.error_block.as_mut() {
                block.push(' ');
                block.push_str(trimmed);
                return out;
            }
            self.close_error(&mut out);
        }
        if trimmed.is_empty() {
            return out;
        }
        if self.awaiting_cost {
            self.awaiting_cost = false;
            if let Some(cost) = trimmed.strip_prefix("Cost:") {
                if let Some(last) = self.texts.last_mut() {
                    last.session_cost = session_cost(cost);
                }
                out.extend(self.usage_event());
                return out;
            }
        }
        if let Some((report, had_cost)) = tokens_line(trimmed) {
            self.texts.push(report);
            self.said_at_report = self.said.len();
            self.awaiting_cost = !had_cost;
            // A message went through: whatever failed before was retried successfully.
            self.failure = None;
            self.after_error = false;
            out.extend(self.usage_event());
            return out;
        }
        if let Some(path) = trimmed.strip_prefix("Applied edit to ") {
            // aider names the file before applying (its "Create new file?" question).
            let from = self.said_at_report.min(self.said.len());
            let mut k = from;
            while k < self.said.len() {
                if self.said[k].trim() == path {
                    self.said.remove(k);
                } else {
                    k += 1;
                }
            }
            self.edits = self.edits.saturating_add(1);
            let id = format!("edit-{}", self.edits);
            out.push(AgentEvent::ToolStarted {
                id: id.clone(),
                name: "edit".into(),
                input: json!({ "path": path }),
            });
            out.push(AgentEvent::ToolFinished {
                id,
                name: Some("edit".into()),
                ok: true,
                output: String::new(),
            });
            return out;
        }
        if let Some(delay_ms) = retry_delay_ms(trimmed) {
            self.retries = self.retries.saturating_add(1);
            out.push(AgentEvent::ApiRetry {
                attempt: self.retries,
                delay_ms: Some(delay_ms),
                status: None,
            });
            return out;
        }
        if trimmed.starts_with("litellm.") {
            self.error_block = Some(trimmed.to_owned());
            return out;
        }
        let message = line.to_owned();
        let housekeeping = BANNER_PREFIXES.iter().any(|p| trimmed.starts_with(p))
            || trimmed.starts_with(EXPLANATION_PREFIX)
            || (self.after_error && is_bare_url(trimmed));
        if housekeeping {
            out.push(AgentEvent::Unknown { raw: message });
            return out;
        }
        self.after_error = false;
        self.said.push(message.clone());
        out.push(AgentEvent::AssistantText { text: message });
        out
    }

    fn stderr_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim_end_matches('\r');
        if is_analytics_line(line) {
            if let Some(report) = message_send(line) {
                self.exact.push(report);
                return self.usage_event();
            }
            return vec![AgentEvent::Unknown {
                raw: line.to_owned(),
            }];
        }
        let mut out = vec![AgentEvent::StderrLine {
            line: line.to_owned(),
        }];
        if contains_any_ci(line, AUTH_PHRASES) && !std::mem::replace(&mut self.auth_reported, true)
        {
            out.push(AgentEvent::AuthFailed {
                message: line.to_owned(),
            });
        }
        out
    }

    fn finish(&mut self, exit_code: Option<i32>) -> Vec<AgentEvent> {
        let mut out = Vec::new();
        self.close_error(&mut out);
        let Some(code) = exit_code else {
            return out;
        };
        if std::mem::replace(&mut self.result_seen, true) {
            return out;
        }
        let failure = self.failure.take();
        if let Some((Failure::RateLimit { resets_at_ms }, message)) = &failure {
            out.push(AgentEvent::RateLimited {
                resets_at_ms: *resets_at_ms,
                message: message.clone(),
            });
        }
        let is_error = code != 0 || failure.is_some();
        out.push(AgentEvent::Result {
            is_error,
            subtype: if is_error { "error" } else { "success" }.to_owned(),
            text: self.result_text(),
            session_id: None,
            turns: None,
            usage: Some(self.usage()),
        });
        out
    }
}

#[cfg(test)]
#[path = "aider_output_tests.rs"]
mod tests;
