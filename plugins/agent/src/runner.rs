//! The attempt loop: start a session, watch its events for stalls, judge how it ended, and
//! continue (resume, or start fresh after a context overflow) under the circuit breaker.

use engine_stage_sdk::StageError;
use engine_stage_sdk::agent::{Event, Outcome, SessionRequest, Summary};
use serde_json::{Value, json};

use crate::breaker::CircuitBreaker;
use crate::completion::{self, Verdict};
use crate::config::Dialect;
use crate::failures;
use crate::host::{AgentHost, AgentSession, LogLevel};
use crate::plan::Plan;
use crate::prompt;
use crate::stall::{Stall, StallDetector};
use crate::totals::Totals;

/// A completed task.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// What the sessions added up to.
    pub totals: Totals,
    /// The agent's final text.
    pub final_text: String,
    /// What the completion dialect reported.
    pub completion: Value,
}

/// What one session told us besides its summary.
#[derive(Debug, Default)]
struct Seen {
    session_id: Option<String>,
    /// The last non-empty assistant text.
    last_assistant: String,
    /// The text of the CLI's result event.
    result_text: String,
    auth_failed: Option<String>,
    quota_exhausted: Option<String>,
    /// Whether the CLI reported a usage limit during the session.
    rate_limited: bool,
    /// The reset time (Unix ms) of the usage limit the CLI reported last, when it said one.
    rate_limit_resets_at_ms: Option<u64>,
    context_overflow: Option<String>,
    stall: Option<Stall>,
}

/// What to do after a session.
enum Step {
    Done(Value),
    Fail(StageError),
    Continue {
        reason: String,
        error: Option<String>,
        /// Start a fresh session (handoff) instead of resuming.
        fresh: bool,
    },
}

/// The next session to start.
enum Next {
    Fresh(String),
    Resume { session_id: String, prompt: String },
}

/// Runs one attempt to its end.
pub fn run<H: AgentHost>(host: &mut H, plan: &Plan) -> Result<Report, StageError> {
    let config = &plan.config;
    let mut totals = Totals::default();
    let mut breaker = CircuitBreaker::new(config.continuation);
    let mut stall = StallDetector::new(config.stall.clone());
    let mut last_text = String::new();
    let mut next = Next::Fresh(plan.prompt.clone());
    loop {
        let request = request(plan, &next, &totals)?;
        let number = totals.sessions + 1;
        host.progress(&format!("agent session {number} starting"));
        let mut session = host
            .start(&request)
            .map_err(|e| failures::start_failed(&config.backend, &e, &totals))?;
        let seen = pump(host, &mut session, &mut stall, number);
        if let Some(found) = &seen.stall {
            host.log(
                LogLevel::Warn,
                &format!("agent stalled: {}", found.description),
            );
            session.cancel();
            totals.add(&session.finish());
            return Err(failures::stalled(found, &totals));
        }
        let summary = session.finish();
        totals.add(&summary);
        log_summary(host, number, &summary);
        let final_text = [
            &summary.result_text,
            &seen.result_text,
            &seen.last_assistant,
        ]
        .into_iter()
        .find(|t| !t.trim().is_empty())
        .cloned()
        .unwrap_or_default();
        // An error result's text is the error, not what the agent last said.
        let said = if matches!(summary.outcome, Outcome::Completed | Outcome::MaxTurns) {
            &final_text
        } else {
            &seen.last_assistant
        };
        if !said.trim().is_empty() {
            last_text.clone_from(said);
        }
        let session_id = summary.session_id.clone().or(seen.session_id.clone());
        match judge(host, plan, &summary, &seen, &final_text, &totals) {
            Step::Done(completion) => {
                return Ok(Report {
                    totals,
                    final_text,
                    completion,
                });
            }
            Step::Fail(error) => return Err(error),
            Step::Continue {
                reason,
                error,
                fresh,
            } => {
                if let Some(trip) = breaker.record(summary.files_changed.len(), error.as_deref()) {
                    return Err(failures::needs_attention(&trip, &totals, &last_text));
                }
                host.log(LogLevel::Info, &format!("continuing: {reason}"));
                next = match session_id {
                    Some(session_id) if !fresh => Next::Resume {
                        session_id,
                        prompt: prompt::continuation_prompt(&reason, &plan.instructions),
                    },
                    _ => {
                        let why = if fresh {
                            reason
                        } else {
                            format!("stopped before finishing ({reason})")
                        };
                        Next::Fresh(prompt::handoff_prompt(
                            &plan.prompt,
                            &why,
                            &totals.files(),
                            &last_text,
                        ))
                    }
                };
            }
        }
    }
}

fn request(plan: &Plan, next: &Next, totals: &Totals) -> Result<SessionRequest, StageError> {
    let config = &plan.config;
    let budget = match config.budget_usd {
        Some(budget) => {
            let left = budget - totals.cost_usd;
            if left <= 0.0 {
                return Err(failures::stage_budget_spent(budget, totals));
            }
            Some(left)
        }
        None => None,
    };
    let (prompt, resume) = match next {
        Next::Fresh(prompt) => (prompt.clone(), None),
        Next::Resume { session_id, prompt } => (prompt.clone(), Some(session_id.clone())),
    };
    Ok(SessionRequest {
        backend: config.backend.clone(),
        model: plan.model.clone(),
        prompt,
        system_prompt: plan.system_prompt.clone(),
        permission_mode: config.permission_mode.into(),
        allowed_tools: config.allowed_tools.clone(),
        denied_tools: config.denied_tools.clone(),
        max_turns: Some(config.max_turns),
        resume_session: resume,
        budget_usd: budget,
    })
}

/// Pulls events until the session ends or stalls.
fn pump<H: AgentHost>(
    host: &mut H,
    session: &mut H::Session,
    stall: &mut StallDetector,
    number: u32,
) -> Seen {
    let mut seen = Seen::default();
    while let Some(event) = session.next_event() {
        if let Some(found) = stall.observe(&event) {
            seen.stall = Some(found);
            return seen;
        }
        match event {
            Event::SessionStarted(id) => {
                host.log(LogLevel::Debug, &format!("agent session id {id}"));
                seen.session_id = Some(id);
            }
            Event::AssistantText(text) => {
                if !text.trim().is_empty() {
                    seen.last_assistant = text;
                }
            }
            Event::ToolStarted(call) => {
                host.progress(&format!("agent session {number}: {}", call.name));
            }
            Event::RateLimited(resets_at) => {
                host.log(LogLevel::Warn, "the agent hit a usage limit");
                seen.rate_limited = true;
                seen.rate_limit_resets_at_ms = resets_at;
            }
            Event::ApiRetry(attempt) => {
                host.log(
                    LogLevel::Info,
                    &format!("the agent's API call is retrying (#{attempt})"),
                );
            }
            Event::AuthFailed(message) => {
                host.log(
                    LogLevel::Error,
                    &format!("agent authentication failed: {message}"),
                );
                seen.auth_failed = Some(message);
            }
            Event::QuotaExhausted(message) => {
                host.log(
                    LogLevel::Error,
                    &format!("the agent's account has no quota left: {message}"),
                );
                seen.quota_exhausted = Some(message);
            }
            Event::ContextOverflow(message) => {
                host.log(
                    LogLevel::Warn,
                    &format!("the agent ran out of context: {message}"),
                );
                seen.context_overflow = Some(message);
            }
            Event::SupervisorWarning(message) => host.log(LogLevel::Warn, &message),
            Event::FinalResult(info) => {
                if !info.text.trim().is_empty() {
                    seen.result_text = info.text;
                }
            }
            Event::ToolFinished(_) | Event::Usage(_) | Event::StderrLine(_) | Event::Unknown(_) => {
            }
        }
    }
    seen
}

fn judge<H: AgentHost>(
    host: &mut H,
    plan: &Plan,
    summary: &Summary,
    seen: &Seen,
    final_text: &str,
    totals: &Totals,
) -> Step {
    let config = &plan.config;
    // A CLI that refused its configuration fails the same way however often it is resumed.
    if summary.outcome == Outcome::Misconfigured {
        return Step::Fail(failures::misconfigured(&config.backend, summary, totals));
    }
    // An exhausted quota or billing fails at once: no reset will come, so never wait or poll.
    let quota = summary.outcome == Outcome::QuotaExhausted
        || (seen.quota_exhausted.is_some() && summary.outcome != Outcome::Completed);
    if quota {
        let message = seen
            .quota_exhausted
            .clone()
            .unwrap_or_else(|| summary.detail.clone());
        return Step::Fail(failures::quota_exhausted(&config.backend, &message, totals));
    }
    if summary.outcome == Outcome::AuthFailed || seen.auth_failed.is_some() {
        let message = seen
            .auth_failed
            .clone()
            .unwrap_or_else(|| summary.detail.clone());
        return Step::Fail(failures::auth_failed(&config.backend, &message, totals));
    }
    let rate_limited = summary.outcome == Outcome::RateLimited
        || (seen.rate_limited && summary.outcome != Outcome::Completed);
    if rate_limited {
        // The earliest reset anyone reported: a retry that comes too early only costs another
        // wait, one that comes too late wastes the time in between.
        let resets_at = match (summary.resets_at_ms, seen.rate_limit_resets_at_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let now = host.now_ms();
        let since = plan.usage_waiting_since_ms.unwrap_or(now);
        return Step::Fail(failures::usage_limit_with_slack(
            resets_at,
            now,
            since,
            plan.max_wait_ms,
            plan.reset_slack_ms,
            totals,
        ));
    }
    let overflowed = summary.outcome == Outcome::ContextOverflow
        || (seen.context_overflow.is_some() && summary.outcome != Outcome::Completed);
    if overflowed {
        return Step::Continue {
            reason: "ran out of context".to_string(),
            error: Some("context overflow".to_string()),
            fresh: true,
        };
    }
    match summary.outcome {
        Outcome::Completed | Outcome::MaxTurns => {
            let verdict = if config.completion == Dialect::None {
                if summary.outcome == Outcome::Completed {
                    Verdict::Complete { detail: json!({}) }
                } else {
                    Verdict::Incomplete {
                        reason: "the session reached its turn limit".to_string(),
                    }
                }
            } else {
                completion::evaluate(config.completion, &config.promise, final_text)
            };
            match verdict {
                Verdict::Complete { detail } => Step::Done(detail),
                Verdict::Incomplete { reason } => {
                    let reason = if summary.outcome == Outcome::MaxTurns {
                        format!("{reason} (the session reached its turn limit)")
                    } else {
                        reason
                    };
                    Step::Continue {
                        reason,
                        error: None,
                        fresh: false,
                    }
                }
                Verdict::Failed { reason, detail } => {
                    Step::Fail(failures::agent_failed(&reason, &detail, totals))
                }
                Verdict::Blocked { reason } => Step::Fail(failures::blocked(&reason, totals)),
            }
        }
        Outcome::Errored => {
            let error = if summary.detail.trim().is_empty() {
                summary.result_text.clone()
            } else {
                summary.detail.clone()
            };
            Step::Continue {
                reason: format!("the session ended in an error: {}", error.trim()),
                error: Some(error),
                fresh: false,
            }
        }
        Outcome::BudgetExceeded => Step::Fail(failures::budget_exceeded(summary, totals)),
        // AuthFailed, QuotaExhausted, Misconfigured, RateLimited and ContextOverflow are handled
        // above; listed here so a new outcome is a compile error.
        Outcome::KilledInactive
        | Outcome::KilledToolCeiling
        | Outcome::KilledSilence
        | Outcome::Crashed
        | Outcome::Cancelled
        | Outcome::AuthFailed
        | Outcome::QuotaExhausted
        | Outcome::Misconfigured
        | Outcome::RateLimited
        | Outcome::ContextOverflow => Step::Fail(failures::session_ended(summary, totals)),
    }
}

fn log_summary<H: AgentHost>(host: &mut H, number: u32, s: &Summary) {
    let cost = s
        .usage
        .cost_usd
        .map_or_else(|| "cost unknown".to_string(), |c| format!("${c:.4}"));
    host.log(
        LogLevel::Info,
        &format!(
            "agent session {number} ended: {}, {} turns, {} files changed, {cost}",
            s.outcome,
            s.turns,
            s.files_changed.len()
        ),
    );
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "runner_ending_tests.rs"]
mod ending_tests;
