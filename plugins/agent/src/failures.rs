//! Every way an attempt of the agent stage fails: the message, the kind (retryable or fatal)
//! and the structured detail the host and the user see.

use engine_stage_sdk::StageError;
use engine_stage_sdk::agent::{AgentError, Outcome, Summary};
use serde_json::{Value, json};
use std::fmt::Write as _;

use crate::breaker::Trip;
use crate::stall::Stall;
use crate::totals::Totals;

/// The tier a stalled agent's next attempt is forced to.
pub const FORCED_TIER: &str = "genius";

/// When the reset time of a usage limit is unknown: the longest wait between two tries. The
/// wait grows with the time already waited (a per-minute limit is over in a minute, an account's
/// usage window takes hours): [`UNKNOWN_RESET_FIRST_RETRY_MS`], then as long as already waited,
/// up to this.
pub const UNKNOWN_RESET_RETRY_MS: u64 = 15 * 60 * 1000;

/// When the reset time of a usage limit is unknown: the first wait.
pub const UNKNOWN_RESET_FIRST_RETRY_MS: u64 = 60 * 1000;

/// Slack added to a known reset time by default (usage windows are announced to the minute);
/// `usage_limit.slack` changes it.
pub const RESET_SLACK_MS: u64 = 60 * 1000;

/// A reset at most this far away comes from a `retry-after` (a per-minute rate limit), counted
/// in seconds: it gets [`NEAR_RESET_SLACK_MS`] instead of the minute's slack.
pub const NEAR_RESET_MS: u64 = 5 * 60 * 1000;

/// Slack after a near reset (see [`NEAR_RESET_MS`]).
pub const NEAR_RESET_SLACK_MS: u64 = 2_000;

/// Merges `fields` and the totals into one detail object.
fn detail(totals: &Totals, fields: Value) -> Value {
    let mut out = totals.failure_fields();
    if let (Value::Object(out), Value::Object(fields)) = (&mut out, fields) {
        out.extend(fields);
    }
    out
}

/// The agent went round in circles: retryable, and the next attempt uses the top tier.
pub fn stalled(stall: &Stall, totals: &Totals) -> StageError {
    StageError::retryable(format!(
        "the agent stalled ({}); stopped it, the next attempt uses the `{FORCED_TIER}` tier",
        stall.description
    ))
    .with_detail(detail(
        totals,
        json!({
            "stall": stall.kind.as_str(),
            "description": stall.description,
            "force_tier": FORCED_TIER,
        }),
    ))
}

/// The continuation circuit breaker tripped: a human decides (fatal, `needs_attention`).
pub fn needs_attention(trip: &Trip, totals: &Totals, last_text: &str) -> StageError {
    StageError::fatal(format!("needs attention: {}", trip.message)).with_detail(detail(
        totals,
        json!({
            "needs_attention": true,
            // The engine shows `reason` as the run's reason: the sentence, not the code.
            "reason": trip.message,
            "trip": trip.reason.as_str(),
            "last_message": tail(last_text, 2_000),
        }),
    ))
}

/// The account hit a usage limit. Never a task failure: retryable, with the time to retry
/// (`retry_at_ms`) while the wait since `waiting_since_ms` stays within `max_wait_ms`.
pub fn usage_limit(
    resets_at_ms: Option<u64>,
    now_ms: u64,
    waiting_since_ms: u64,
    max_wait_ms: u64,
    totals: &Totals,
) -> StageError {
    usage_limit_with_slack(
        resets_at_ms,
        now_ms,
        waiting_since_ms,
        max_wait_ms,
        RESET_SLACK_MS,
        totals,
    )
}

/// [`usage_limit`] with `slack_ms` added to a known reset time instead of the default.
pub fn usage_limit_with_slack(
    resets_at_ms: Option<u64>,
    now_ms: u64,
    waiting_since_ms: u64,
    max_wait_ms: u64,
    slack_ms: u64,
    totals: &Totals,
) -> StageError {
    let deadline = waiting_since_ms.saturating_add(max_wait_ms);
    let retry_at = match resets_at_ms {
        Some(reset) if reset <= deadline => {
            let slack = if reset.saturating_sub(now_ms) <= NEAR_RESET_MS {
                slack_ms.min(NEAR_RESET_SLACK_MS)
            } else {
                slack_ms
            };
            Some(reset.max(now_ms).saturating_add(slack))
        }
        None if now_ms < deadline => {
            let waited = now_ms.saturating_sub(waiting_since_ms);
            let wait = waited.clamp(UNKNOWN_RESET_FIRST_RETRY_MS, UNKNOWN_RESET_RETRY_MS);
            Some(now_ms.saturating_add(wait).min(deadline))
        }
        // A reset past the deadline, or no reset known and the deadline passed.
        Some(_) | None => None,
    };
    let message = match (retry_at, resets_at_ms) {
        (Some(at), _) => format!(
            "usage limit reached; not a task failure: retry at {}",
            format_ms(at)
        ),
        (None, Some(reset)) => format!(
            "usage limit reached; it resets at {}, past usage_limit.max_wait",
            format_ms(reset)
        ),
        (None, None) => {
            "usage limit reached and still not reset after usage_limit.max_wait".to_string()
        }
    };
    let mut fields = json!({
        "usage_limit": true,
        "resets_at_ms": resets_at_ms,
        "waiting_since_ms": waiting_since_ms,
        "max_wait_ms": max_wait_ms,
    });
    if let (Some(at), Value::Object(map)) = (retry_at, &mut fields) {
        map.insert("retry_at_ms".into(), json!(at));
    }
    StageError::retryable(message).with_detail(detail(totals, fields))
}

/// How to log a backend in.
pub fn login_hint(backend: &str) -> String {
    match backend {
        "claude" => "run `claude /login` on the host, or set ANTHROPIC_API_KEY (or \
                     CLAUDE_CODE_OAUTH_TOKEN) and grant it to this stage"
            .to_string(),
        "codex" => {
            "run `codex login` on the host, or set OPENAI_API_KEY and grant it to this stage"
                .to_string()
        }
        "gemini" => "run `gemini` once on the host to log in, or set GEMINI_API_KEY and grant it \
                     to this stage"
            .to_string(),
        "opencode" => "run `opencode auth login` on the host".to_string(),
        "aider" => "set the model provider's API key (e.g. ANTHROPIC_API_KEY or OPENAI_API_KEY) \
                    and grant it to this stage"
            .to_string(),
        "cursor" => "run `cursor-agent login` on the host, or set CURSOR_API_KEY and grant it to \
                     this stage"
            .to_string(),
        other => format!("log the `{other}` CLI in on the host, or pass its API key to this stage"),
    }
}

/// Authentication failed: fatal, saying how to fix it.
pub fn auth_failed(backend: &str, message: &str, totals: &Totals) -> StageError {
    let fix = login_hint(backend);
    StageError::fatal(format!(
        "the `{backend}` agent is not logged in ({}): {fix}",
        message.trim()
    ))
    .with_detail(detail(
        totals,
        json!({ "auth_failed": true, "backend": backend, "message": message, "fix": fix }),
    ))
}

/// The account's quota or billing is exhausted: fatal at once (waiting for a reset never helps
/// and polling would only fail again), saying what to do.
pub fn quota_exhausted(backend: &str, message: &str, totals: &Totals) -> StageError {
    let fix = "add credits or raise the spending limit at the model provider, then run the task \
               again";
    StageError::fatal(format!(
        "the `{backend}` agent's account has no quota left ({}): its quota or billing is \
         exhausted; {fix}",
        message.trim()
    ))
    .with_detail(detail(
        totals,
        json!({
            "quota_exhausted": true,
            "backend": backend,
            "message": message,
            "fix": fix,
        }),
    ))
}

/// The CLI refused to run with its configuration (an untrusted folder, a bad setting): fatal at
/// once, since resuming or retrying fails the same way; the summary's detail says how to fix it.
pub fn misconfigured(backend: &str, summary: &Summary, totals: &Totals) -> StageError {
    let why = match summary.detail.trim() {
        "" => "the agent CLI is misconfigured",
        detail => detail,
    };
    StageError::fatal(format!(
        "the `{backend}` agent did not run: {why}; fix it, then run the task again"
    ))
    .with_detail(detail(
        totals,
        json!({
            "misconfigured": true,
            "backend": backend,
            "exit_code": summary.exit_code,
            "detail": summary.detail,
        }),
    ))
}

/// The agent says only a human can unblock the task: fatal, never retried.
pub fn blocked(reason: &str, totals: &Totals) -> StageError {
    StageError::fatal(format!("the agent is blocked: {reason}"))
        .with_detail(detail(totals, json!({ "blocked": true, "reason": reason })))
}

/// The agent says it failed: retryable (a new attempt may succeed).
pub fn agent_failed(reason: &str, report: &Value, totals: &Totals) -> StageError {
    StageError::retryable(format!("the agent reports failure: {reason}")).with_detail(detail(
        totals,
        json!({ "agent_failed": true, "reason": reason, "completion": report }),
    ))
}

/// The host stopped the session for spending past a budget: fatal.
pub fn budget_exceeded(summary: &Summary, totals: &Totals) -> StageError {
    StageError::fatal(format!(
        "the agent was stopped at its budget: {}",
        summary.detail
    ))
    .with_detail(detail(totals, json!({ "budget_exceeded": true })))
}

/// The stage's own `budget_usd` is spent before a continuation could start: fatal.
pub fn stage_budget_spent(budget: f64, totals: &Totals) -> StageError {
    StageError::fatal(format!(
        "the stage's budget of ${budget:.2} is spent (${:.2}) and the task is not complete",
        totals.cost_usd
    ))
    .with_detail(detail(
        totals,
        json!({ "budget_exceeded": true, "budget_usd": budget }),
    ))
}

/// The session ended in a way another attempt may fix (killed, crashed, cancelled).
pub fn session_ended(summary: &Summary, totals: &Totals) -> StageError {
    let why = match summary.outcome {
        Outcome::KilledInactive => "the host stopped it: no output for too long",
        Outcome::KilledToolCeiling => "the host stopped it: a tool ran past its time limit",
        Outcome::KilledSilence => "the host stopped it: silent for too long",
        Outcome::Crashed => "the agent ended without a result",
        Outcome::Cancelled => "the session was cancelled",
        _ => "the session ended unexpectedly",
    };
    let mut message = format!("agent session failed: {why}");
    if !summary.detail.trim().is_empty() {
        let _ = write!(message, " ({})", summary.detail.trim());
    }
    StageError::retryable(message).with_detail(detail(
        totals,
        json!({
            "outcome": summary.outcome.as_str(),
            "exit_code": summary.exit_code,
            "detail": summary.detail,
        }),
    ))
}

/// A session could not start.
pub fn start_failed(backend: &str, error: &AgentError, totals: &Totals) -> StageError {
    let message = match error {
        AgentError::NotPermitted(why) => {
            format!(
                "agent sessions are not permitted: add `agent: true` to this stage's permissions ({why})"
            )
        }
        AgentError::UnknownBackend(why) => format!("unknown agent backend `{backend}` ({why})"),
        AgentError::BudgetExhausted(why) => format!("no budget left for an agent session ({why})"),
        AgentError::SpawnFailed(why) => {
            format!("the `{backend}` agent CLI could not be started; is it installed? ({why})")
        }
        AgentError::InvalidRequest(why) => format!("invalid agent session request ({why})"),
    };
    StageError::fatal(message).with_detail(detail(
        totals,
        json!({
            "error": error.kind(),
            "reason": error.message(),
            "budget_exceeded": matches!(error, AgentError::BudgetExhausted(_)),
        }),
    ))
}

/// `2026-11-21T20:00:00Z`, or the number when it is out of range.
fn format_ms(ms: u64) -> String {
    std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_millis(ms))
        .map_or_else(
            || format!("{ms} ms after the epoch"),
            |t| humantime::format_rfc3339_seconds(t).to_string(),
        )
}

fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(max)).collect()
}

#[cfg(test)]
#[path = "failures_tests.rs"]
mod tests;
