//! Mode `agent`: one read-only session asks for a JSON verdict; a reply without a valid one
//! gets one follow-up in the same session (resume) asking for JSON only; still nothing is a
//! retryable failure, never a silent pass.

use engine_stage_sdk::agent::{
    AgentError, Event, Outcome, PermissionMode, SessionRequest, Summary,
};
use engine_stage_sdk::{StageError, Task};
use serde_json::{Value, json};

use crate::assessment::{Assessment, Decision, StopKind};
use crate::config::TriageConfig;
use crate::host::{LogLevel, TriageHost, TriageSession};
use crate::prompt;
use crate::verdict::{self, Verdict};

/// Tools the triage agent may use: reading only.
pub const ALLOWED_TOOLS: &[&str] = &["Read", "Grep", "Glob", "LS"];

/// Tools the triage agent may not use.
pub const DENIED_TOOLS: &[&str] = &[
    "Edit",
    "MultiEdit",
    "Write",
    "NotebookEdit",
    "Bash",
    "WebFetch",
    "WebSearch",
];

/// The one backend that takes tool allow/deny lists (in its own tool names). Every other
/// backend refuses them and gets none: the session is read-only through
/// [`PermissionMode::Plan`] for every backend (the host enforces it: the CLI's own read-only
/// mode, or a throw-away copy of the worktree for a CLI that has none).
pub const TOOL_LIST_BACKEND: &str = "claude";

/// `tools` for the backend that takes tool lists; nothing for every other backend.
pub fn tool_list(backend: &str, tools: &[&str]) -> Vec<String> {
    if backend == TOOL_LIST_BACKEND {
        tools.iter().map(ToString::to_string).collect()
    } else {
        Vec::new()
    }
}

/// Added to a known usage-limit reset time before the retry.
const RESET_SLACK_MS: u64 = 60_000;

/// What the sessions cost and produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionTotals {
    /// Sessions started (1, or 2 with the follow-up).
    pub sessions: u32,
    /// Their cost in USD, when every session reported one.
    pub cost_usd: Option<f64>,
    /// The session id, for reading the transcript.
    pub session_id: Option<String>,
}

impl SessionTotals {
    fn add(&mut self, summary: &Summary) {
        self.cost_usd = match (self.sessions, self.cost_usd, summary.usage.cost_usd) {
            (0, _, cost) => cost,
            (_, Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        self.sessions += 1;
        if summary.session_id.is_some() {
            self.session_id.clone_from(&summary.session_id);
        }
    }

    fn spent(&self) -> f64 {
        self.cost_usd.unwrap_or(0.0)
    }

    /// `{sessions, cost_usd, session_id}`.
    pub fn to_json(&self) -> Value {
        json!({
            "sessions": self.sessions,
            "cost_usd": self.cost_usd,
            "session_id": self.session_id,
        })
    }
}

/// The agent's assessment of the task, with what the sessions cost.
pub fn assess<H: TriageHost>(
    host: &mut H,
    config: &TriageConfig,
    task: &Task,
) -> Result<(Assessment, SessionTotals), StageError> {
    let mut totals = SessionTotals::default();
    let first = converse(
        host,
        config,
        prompt::verdict_prompt(config, task),
        None,
        &mut totals,
    )?;
    let problem = match verdict::parse(&first.text) {
        Ok(verdict) => return Ok((assessment(verdict, false), totals)),
        Err(problem) => problem,
    };
    let Some(session_id) = first.session_id else {
        return Err(unparsed(&problem.to_string(), &first.text, &totals, false));
    };
    host.log(
        LogLevel::Warn,
        &format!("the triage agent gave no valid verdict ({problem}); asking again for JSON only"),
    );
    let prompt = prompt::repair_prompt(&problem.to_string());
    let second = converse(host, config, prompt, Some(session_id), &mut totals)?;
    match verdict::parse(&second.text) {
        Ok(verdict) => Ok((assessment(verdict, true), totals)),
        Err(again) => Err(unparsed(&again.to_string(), &second.text, &totals, true)),
    }
}

fn assessment(verdict: Verdict, asked_twice: bool) -> Assessment {
    let mut signals = vec![match verdict.decision {
        Decision::Run(tier) => format!("agent:run -> {tier}"),
        Decision::Stop(kind) => format!("agent:{}", kind.as_str()),
    }];
    if asked_twice {
        signals.push("agent:verdict on the JSON-only follow-up".to_string());
    }
    let said = if verdict.reason.is_empty() {
        "the agent gave no reason".to_string()
    } else {
        verdict.reason
    };
    match verdict.decision {
        Decision::Run(tier) => Assessment::run(tier, said, signals),
        Decision::Stop(kind) => {
            let what = match kind {
                StopKind::AlreadyDone => "already done",
                StopKind::TooVague => "too vague",
                StopKind::SkipLabel => "not to be run",
            };
            Assessment::stop(
                kind,
                format!("the agent says the task is {what}: {said}"),
                signals,
            )
        }
    }
}

/// What one session said.
struct Reply {
    text: String,
    session_id: Option<String>,
}

/// Runs one session (fresh, or resuming `resume`) and returns its final text, or the failure
/// its ending means.
fn converse<H: TriageHost>(
    host: &mut H,
    config: &TriageConfig,
    prompt: String,
    resume: Option<String>,
    totals: &mut SessionTotals,
) -> Result<Reply, StageError> {
    let settings = &config.agent;
    let budget_usd = match settings.budget_usd {
        Some(budget) if budget - totals.spent() <= 0.0 => {
            return Err(StageError::fatal(format!(
                "the triage budget of ${budget:.2} is spent before a verdict"
            ))
            .with_detail(totals_detail(totals, json!({ "budget_exceeded": true }))));
        }
        Some(budget) => Some(budget - totals.spent()),
        None => None,
    };
    let request = SessionRequest {
        backend: settings.backend.clone(),
        model: Some(settings.model.clone()),
        prompt,
        system_prompt: Some(prompt::SYSTEM_PROMPT.to_string()),
        permission_mode: PermissionMode::Plan,
        allowed_tools: tool_list(&settings.backend, ALLOWED_TOOLS),
        denied_tools: tool_list(&settings.backend, DENIED_TOOLS),
        max_turns: Some(settings.max_turns),
        resume_session: resume,
        budget_usd,
    };
    host.progress("triage agent reading the task");
    let mut session = host
        .start(&request)
        .map_err(|e| start_failed(&settings.backend, &e, totals))?;
    let (mut last_assistant, mut result_text, mut session_id) =
        (String::new(), String::new(), None);
    while let Some(event) = session.next_event() {
        match event {
            Event::SessionStarted(id) => session_id = Some(id),
            Event::AssistantText(text) if !text.trim().is_empty() => last_assistant = text,
            Event::FinalResult(result) => result_text = result.text,
            _ => {}
        }
    }
    let summary = session.finish();
    totals.add(&summary);
    ended(&summary, totals)?;
    let text = [&summary.result_text, &result_text, &last_assistant]
        .into_iter()
        .find(|t| !t.trim().is_empty())
        .cloned()
        .unwrap_or_default();
    Ok(Reply {
        text,
        session_id: summary.session_id.clone().or(session_id),
    })
}

/// The failure a session's ending means; `Ok` when its text is worth reading.
fn ended(summary: &Summary, totals: &SessionTotals) -> Result<(), StageError> {
    let detail = |fields| totals_detail(totals, fields);
    let outcome = summary.outcome;
    let fields = json!({ "outcome": outcome.as_str(), "detail": summary.detail });
    match outcome {
        Outcome::Completed | Outcome::MaxTurns => Ok(()),
        Outcome::AuthFailed => Err(StageError::fatal(format!(
            "the triage agent is not logged in ({}): log the CLI in on the host or pass its API key",
            summary.detail.trim()
        ))
        .with_detail(detail(json!({ "auth_failed": true, "detail": summary.detail })))),
        // Waiting for a reset never helps an empty account: fail at once, saying what to do.
        Outcome::QuotaExhausted => Err(StageError::fatal(format!(
            "the triage agent's account has no quota left ({}): add credits or raise the \
             spending limit at the provider, then run the task again",
            summary.detail.trim()
        ))
        .with_detail(detail(json!({ "quota_exhausted": true, "detail": summary.detail })))),
        // A CLI that refused its configuration refuses every retry too.
        Outcome::Misconfigured => Err(StageError::fatal(format!(
            "the triage agent did not run ({}): fix its configuration, then run the task again",
            summary.detail.trim()
        ))
        .with_detail(detail(json!({ "misconfigured": true, "detail": summary.detail })))),
        Outcome::BudgetExceeded => Err(StageError::fatal(format!(
            "the triage agent was stopped at its budget: {}",
            summary.detail
        ))
        .with_detail(detail(json!({ "budget_exceeded": true })))),
        Outcome::RateLimited => {
            let mut fields = json!({ "usage_limit": true, "resets_at_ms": summary.resets_at_ms });
            if let (Some(at), Value::Object(map)) = (summary.resets_at_ms, &mut fields) {
                map.insert("retry_at_ms".into(), json!(at.saturating_add(RESET_SLACK_MS)));
            }
            Err(StageError::retryable("the triage agent hit a usage limit").with_detail(detail(fields)))
        }
        _ => Err(StageError::retryable(format!(
            "the triage agent session ended without a verdict: {outcome}{}",
            if summary.detail.trim().is_empty() {
                String::new()
            } else {
                format!(" ({})", summary.detail.trim())
            }
        ))
        .with_detail(detail(fields))),
    }
}

/// A session that could not start: fatal, saying how to fix it.
fn start_failed(backend: &str, error: &AgentError, totals: &SessionTotals) -> StageError {
    let message = match error {
        AgentError::NotPermitted(why) => format!(
            "mode `agent` needs agent sessions: grant them with `permissions: {{ agent: true }}` \
             on this stage, or use `mode: rules` ({why})"
        ),
        AgentError::UnknownBackend(why) => {
            format!("unknown agent backend `{backend}` in `agent.backend` ({why})")
        }
        AgentError::BudgetExhausted(why) => format!("no budget left for the triage agent ({why})"),
        AgentError::SpawnFailed(why) => {
            format!("the `{backend}` agent CLI could not be started; is it installed? ({why})")
        }
        AgentError::InvalidRequest(why) => format!("invalid triage agent request ({why})"),
    };
    StageError::fatal(message).with_detail(totals_detail(
        totals,
        json!({ "error": error.kind(), "reason": error.message() }),
    ))
}

/// No verdict after the follow-up (or no session to follow up): retryable, never a pass.
fn unparsed(problem: &str, text: &str, totals: &SessionTotals, asked_twice: bool) -> StageError {
    let when = if asked_twice {
        "even when asked for JSON only"
    } else {
        "and the session cannot be resumed to ask again"
    };
    StageError::retryable(format!(
        "the triage agent gave no valid verdict {when}: {problem}"
    ))
    .with_detail(totals_detail(
        totals,
        json!({ "verdict_unparsed": true, "problem": problem, "last_text": tail(text, 2_000) }),
    ))
}

fn totals_detail(totals: &SessionTotals, fields: Value) -> Value {
    let mut out = json!({ "agent": totals.to_json() });
    if let (Value::Object(out), Value::Object(fields)) = (&mut out, fields) {
        out.extend(fields);
    }
    out
}

fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(max)).collect()
}

#[cfg(test)]
#[path = "agent_mode_tests.rs"]
mod tests;
