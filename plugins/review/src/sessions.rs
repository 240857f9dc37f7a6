//! Persona sessions: read-only requests, run in parallel, and the reply read as a verdict.
//!
//! **Parallel, like a matrix.** The host runs every agent CLI as its own supervised process and
//! queues its events, so starting all sessions first and then draining them one after the other
//! runs the personas at the same time: the review takes as long as its slowest persona, not the
//! sum. `max_parallel` bounds how many run at once (batches of that size).

use engine_stage_sdk::agent::{
    AgentError, Event, Outcome, PermissionMode, SessionRequest, Summary,
};

use crate::host::{LogLevel, ReviewHost, ReviewSession};
use crate::personas::Persona;
use crate::verdict::{Verdict, VerdictError, parse_verdict};

/// Tools a persona may use: reading and searching the worktree.
pub const ALLOWED_TOOLS: &[&str] = &["Read", "Grep", "Glob"];
/// Tools a persona may not use: anything that writes, runs commands or reaches the network.
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
/// backend refuses them, so its personas get none: a review session is read-only through
/// [`PermissionMode::Plan`] for every backend (the host enforces it: the CLI's own read-only
/// mode, or a throw-away copy of the worktree for a CLI that has none).
pub const TOOL_LIST_BACKEND: &str = "claude";
/// Turn limit of the session asked again for its JSON.
pub const REASK_MAX_TURNS: u32 = 3;

/// Session settings shared by every persona.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    /// Turn limit of a review session.
    pub max_turns: u32,
    /// Spending cap of each session in USD.
    pub budget_usd: Option<f64>,
}

/// A read-only review session for `persona` with `prompt`.
pub fn review_request(
    persona: &Persona,
    settings: &SessionSettings,
    prompt: String,
) -> SessionRequest {
    SessionRequest {
        backend: persona.backend.clone(),
        model: Some(persona.model.clone()),
        prompt,
        system_prompt: None,
        permission_mode: PermissionMode::Plan,
        allowed_tools: tool_list(&persona.backend, ALLOWED_TOOLS),
        denied_tools: tool_list(&persona.backend, DENIED_TOOLS),
        max_turns: Some(settings.max_turns),
        resume_session: None,
        budget_usd: settings.budget_usd,
    }
}

/// `tools` for the backend that takes tool lists; nothing for every other backend.
fn tool_list(backend: &str, tools: &[&str]) -> Vec<String> {
    if backend == TOOL_LIST_BACKEND {
        tools.iter().map(ToString::to_string).collect()
    } else {
        Vec::new()
    }
}

/// The same session resumed with `prompt` (the re-ask for JSON).
pub fn resume_request(
    persona: &Persona,
    settings: &SessionSettings,
    session_id: &str,
    prompt: String,
) -> SessionRequest {
    SessionRequest {
        max_turns: Some(REASK_MAX_TURNS),
        resume_session: Some(session_id.to_string()),
        ..review_request(persona, settings, prompt)
    }
}

/// How a session ended, as the review sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEnd {
    /// It could not start.
    NotStarted(AgentError),
    /// It ran.
    Ended {
        /// The host's summary.
        summary: Summary,
        /// The session id (from the summary, else from its start event).
        session_id: Option<String>,
        /// Texts that may hold the verdict, oldest first: assistant messages and plans
        /// handed to `ExitPlanMode`.
        texts: Vec<String>,
    },
}

impl SessionEnd {
    /// The session's cost in USD, when known.
    pub fn cost_usd(&self) -> Option<f64> {
        match self {
            SessionEnd::NotStarted(_) => None,
            SessionEnd::Ended { summary, .. } => summary.usage.cost_usd,
        }
    }
}

/// Starts the sessions of `requests` (`parallel` at a time, in order), drains them, and returns
/// how each ended, in the order of `requests`. `label` names each request in the log.
pub fn run_all<H: ReviewHost>(
    host: &mut H,
    requests: &[(String, SessionRequest)],
    parallel: usize,
) -> Vec<SessionEnd> {
    let mut ends = Vec::with_capacity(requests.len());
    for batch in requests.chunks(parallel.max(1)) {
        let started: Vec<(&String, Result<H::Session, AgentError>)> = batch
            .iter()
            .map(|(label, request)| (label, host.start(request)))
            .collect();
        for (label, session) in started {
            let end = match session {
                Ok(session) => drain(host, label, session),
                Err(error) => {
                    host.log(
                        LogLevel::Warn,
                        &format!(
                            "review: {label}'s session could not start: {}",
                            error.text()
                        ),
                    );
                    SessionEnd::NotStarted(error)
                }
            };
            ends.push(end);
        }
    }
    ends
}

fn drain<H: ReviewHost>(host: &mut H, label: &str, mut session: H::Session) -> SessionEnd {
    let mut texts = Vec::new();
    let mut started_id = None;
    while let Some(event) = session.next_event() {
        match event {
            Event::SessionStarted(id) => started_id = Some(id),
            Event::AssistantText(text) => texts.push(text),
            Event::ToolStarted(call) if call.name == "ExitPlanMode" => {
                if let Some(plan) = call.input_json().get("plan").and_then(|p| p.as_str()) {
                    texts.push(plan.to_string());
                }
            }
            Event::SupervisorWarning(warning) => {
                host.log(LogLevel::Warn, &format!("review: {label}: {warning}"));
            }
            _ => {}
        }
    }
    let summary = session.finish();
    let session_id = summary.session_id.clone().or(started_id);
    SessionEnd::Ended {
        summary,
        session_id,
        texts,
    }
}

/// What a session's reply amounts to.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A readable verdict.
    Verdict(Verdict),
    /// The session ran but its reply holds no readable verdict; it can be asked again when its
    /// id is known.
    Unreadable {
        /// Why the reply was not a verdict.
        error: VerdictError,
        /// The session to resume.
        session_id: Option<String>,
    },
    /// The session did not run to a reply (could not start, crashed, ran out of budget...).
    NoReply(String),
}

/// Reads the verdict from a session's end: the final result text first, then the session's
/// messages from the last one back.
pub fn reply(end: &SessionEnd) -> Reply {
    let (summary, session_id, texts) = match end {
        SessionEnd::NotStarted(error) => {
            return Reply::NoReply(format!("its session could not start ({})", error.text()));
        }
        SessionEnd::Ended {
            summary,
            session_id,
            texts,
        } => (summary, session_id, texts),
    };
    if !matches!(summary.outcome, Outcome::Completed | Outcome::MaxTurns) {
        let detail = summary.detail.trim();
        return Reply::NoReply(if detail.is_empty() {
            format!("its session ended {}", summary.outcome)
        } else {
            format!("its session ended {}: {detail}", summary.outcome)
        });
    }
    let mut first_error = None;
    let sources =
        std::iter::once(summary.result_text.as_str()).chain(texts.iter().rev().map(String::as_str));
    for text in sources {
        match parse_verdict(text) {
            Ok(verdict) => return Reply::Verdict(verdict),
            Err(error) => {
                // Keep the most telling error: an invalid verdict beats "no JSON".
                let better = match &first_error {
                    None => true,
                    Some(VerdictError::Invalid(_)) => false,
                    Some(VerdictError::Empty) => {
                        matches!(error, VerdictError::Invalid(_) | VerdictError::NoVerdict)
                    }
                    Some(_) => matches!(error, VerdictError::Invalid(_)),
                };
                if better {
                    first_error = Some(error);
                }
            }
        }
    }
    Reply::Unreadable {
        error: first_error.unwrap_or(VerdictError::Empty),
        session_id: session_id.clone(),
    }
}

#[cfg(test)]
#[path = "tests/sessions_tests.rs"]
mod tests;
