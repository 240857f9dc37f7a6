//! The host side of the WIT `agent` interface: a bridge from the guest's session resource to an
//! [`AgentLauncher`] the engine provides for each attempt (it knows the workflow's backends,
//! model tiers, budgets and the run's worktree). The runtime itself only checks the grant and
//! translates types.

use std::future::Future;
use std::pin::Pin;

use engine_agent_types::{AgentEvent, Outcome, PermissionMode, SessionRequest, Summary, Usage};
use wasmtime::component::Resource;

use crate::bindings::engine::stage::agent as wit;
use crate::sandbox::StageState;

/// Longest text of a single event handed to the guest (tool outputs can be huge; the raw
/// transcript keeps everything).
const MAX_EVENT_TEXT: usize = 64 * 1024;

/// A boxed future, as returned by [`AgentSession`]'s methods.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Starts agent sessions for one attempt of one stage.
pub trait AgentLauncher: Send + Sync {
    /// Starts a session. `request.model` may be a tier name the launcher resolves.
    fn start(&self, request: SessionRequest) -> Result<Box<dyn AgentSession>, AgentStartError>;
}

/// A running agent session.
pub trait AgentSession: Send {
    /// The next normalized event; `None` once the session ended.
    fn next_event(&mut self) -> BoxFuture<'_, Option<AgentEvent>>;
    /// Stops the session.
    fn cancel(&mut self);
    /// Waits for the end and returns the summary.
    fn finish(self: Box<Self>) -> BoxFuture<'static, Summary>;
}

/// Why a session could not start (the WIT `agent-error`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentStartError {
    /// The stage is not granted `agent`.
    #[error("{0}")]
    NotPermitted(String),
    /// No such backend.
    #[error("{0}")]
    UnknownBackend(String),
    /// No budget left, or the spend cannot be known while a budget applies.
    #[error("{0}")]
    BudgetExhausted(String),
    /// The CLI could not be started.
    #[error("{0}")]
    SpawnFailed(String),
    /// The request is invalid.
    #[error("{0}")]
    InvalidRequest(String),
}

/// A session held in the store's resource table; `None` once `finish` consumed it.
pub struct SessionSlot {
    session: Option<Box<dyn AgentSession>>,
}

impl wit::Host for StageState {
    async fn start(
        &mut self,
        request: wit::SessionRequest,
    ) -> wasmtime::Result<Result<Resource<SessionSlot>, wit::AgentError>> {
        let Some(launcher) = self.agent.clone() else {
            return Ok(Err(wit::AgentError::NotPermitted(format!(
                "stage {} is not granted agent sessions; add `agent: true` under permissions",
                self.exec.stage_id
            ))));
        };
        let request = SessionRequest {
            backend: request.backend,
            model: request.model,
            prompt: request.prompt,
            system_prompt: request.system_prompt,
            permission_mode: match request.permission_mode {
                wit::PermissionMode::Default => PermissionMode::Default,
                wit::PermissionMode::AcceptEdits => PermissionMode::AcceptEdits,
                wit::PermissionMode::Plan => PermissionMode::Plan,
                wit::PermissionMode::Bypass => PermissionMode::Bypass,
            },
            allowed_tools: request.allowed_tools,
            denied_tools: request.denied_tools,
            max_turns: request.max_turns,
            resume_session: request.resume_session,
            budget_usd: request.budget_usd.filter(|b| b.is_finite()),
        };
        match launcher.start(request) {
            Ok(session) => {
                let slot = self.table.push(SessionSlot {
                    session: Some(session),
                })?;
                Ok(Ok(slot))
            }
            Err(e) => Ok(Err(match e {
                AgentStartError::NotPermitted(m) => wit::AgentError::NotPermitted(m),
                AgentStartError::UnknownBackend(m) => wit::AgentError::UnknownBackend(m),
                AgentStartError::BudgetExhausted(m) => wit::AgentError::BudgetExhausted(m),
                AgentStartError::SpawnFailed(m) => wit::AgentError::SpawnFailed(m),
                AgentStartError::InvalidRequest(m) => wit::AgentError::InvalidRequest(m),
            })),
        }
    }
}

impl wit::HostSession for StageState {
    async fn next_event(
        &mut self,
        slot: Resource<SessionSlot>,
    ) -> wasmtime::Result<Option<wit::Event>> {
        let slot = self.table.get_mut(&slot)?;
        let Some(session) = slot.session.as_mut() else {
            return Ok(None);
        };
        let event = session.next_event().await;
        Ok(event.map(to_wit_event))
    }

    async fn cancel(&mut self, slot: Resource<SessionSlot>) -> wasmtime::Result<()> {
        if let Some(session) = self.table.get_mut(&slot)?.session.as_mut() {
            session.cancel();
        }
        Ok(())
    }

    async fn finish(&mut self, slot: Resource<SessionSlot>) -> wasmtime::Result<wit::Summary> {
        let taken = self.table.get_mut(&slot)?.session.take();
        let Some(session) = taken else {
            return Err(wasmtime::Error::msg(
                "agent session finished twice (finish may be called once)",
            ));
        };
        Ok(to_wit_summary(session.finish().await))
    }

    async fn drop(&mut self, slot: Resource<SessionSlot>) -> wasmtime::Result<()> {
        // Dropping the session kills its process group (the session's own drop guard).
        self.table.delete(slot)?;
        Ok(())
    }
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_EVENT_TEXT {
        text.truncate(text.floor_char_boundary(MAX_EVENT_TEXT));
        text.push_str("\n[… truncated; the transcript has it all]");
    }
    text
}

fn to_wit_usage(u: Usage) -> wit::Usage {
    wit::Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cache_read_tokens: u.cache_read_tokens,
        cache_write_tokens: u.cache_write_tokens,
        cost_usd: u.cost_usd,
    }
}

fn to_wit_event(event: AgentEvent) -> wit::Event {
    match event {
        AgentEvent::SessionStarted { session_id, .. } => wit::Event::SessionStarted(session_id),
        AgentEvent::AssistantText { text } => wit::Event::AssistantText(cut(text)),
        AgentEvent::ToolStarted { id, name, input } => wit::Event::ToolStarted(wit::ToolCall {
            id,
            name,
            input: cut(input.to_string()),
        }),
        AgentEvent::ToolFinished {
            id,
            name,
            ok,
            output,
        } => wit::Event::ToolFinished(wit::ToolResult {
            id,
            name,
            ok,
            output: cut(output),
        }),
        AgentEvent::Usage { usage } => wit::Event::Usage(to_wit_usage(usage)),
        AgentEvent::RateLimited { resets_at_ms, .. } => wit::Event::RateLimited(resets_at_ms),
        AgentEvent::ApiRetry { attempt, .. } => wit::Event::ApiRetry(attempt),
        AgentEvent::AuthFailed { message } => wit::Event::AuthFailed(cut(message)),
        AgentEvent::QuotaExhausted { message } => wit::Event::QuotaExhausted(cut(message)),
        AgentEvent::ContextOverflow { message } => wit::Event::ContextOverflow(cut(message)),
        AgentEvent::Result {
            is_error,
            subtype,
            text,
            ..
        } => wit::Event::FinalResult(wit::ResultInfo {
            is_error,
            subtype,
            text: cut(text),
        }),
        AgentEvent::StderrLine { line } => wit::Event::StderrLine(cut(line)),
        AgentEvent::Unknown { raw } => wit::Event::Unknown(cut(raw)),
        AgentEvent::SupervisorWarning { message } => wit::Event::SupervisorWarning(message),
    }
}

fn to_wit_summary(s: Summary) -> wit::Summary {
    wit::Summary {
        outcome: match s.outcome {
            Outcome::Completed => wit::Outcome::Completed,
            Outcome::Errored => wit::Outcome::Errored,
            Outcome::MaxTurns => wit::Outcome::MaxTurns,
            Outcome::BudgetExceeded => wit::Outcome::BudgetExceeded,
            Outcome::RateLimited => wit::Outcome::RateLimited,
            Outcome::AuthFailed => wit::Outcome::AuthFailed,
            Outcome::QuotaExhausted => wit::Outcome::QuotaExhausted,
            Outcome::Misconfigured => wit::Outcome::Misconfigured,
            Outcome::ContextOverflow => wit::Outcome::ContextOverflow,
            Outcome::KilledInactive => wit::Outcome::KilledInactive,
            Outcome::KilledToolCeiling => wit::Outcome::KilledToolCeiling,
            Outcome::KilledSilence => wit::Outcome::KilledSilence,
            Outcome::Crashed => wit::Outcome::Crashed,
            Outcome::Cancelled => wit::Outcome::Cancelled,
        },
        result_text: cut(s.result_text),
        session_id: s.session_id,
        turns: s.turns,
        usage: to_wit_usage(s.usage),
        duration_ms: s.duration_ms,
        exit_code: s.exit_code,
        detail: s.detail,
        resets_at_ms: s.resets_at_ms,
        files_changed: s.files_changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_on_a_char_boundary_with_a_note() {
        assert_eq!(cut("short".to_string()), "short");
        let long = format!("x{}", "é".repeat(MAX_EVENT_TEXT / 2));
        let text = cut(long);
        let (kept, note) = text.split_at(MAX_EVENT_TEXT - 1);
        assert!(kept.starts_with('x') && kept[1..].chars().all(|c| c == 'é'));
        assert_eq!(note, "\n[… truncated; the transcript has it all]");
    }
}
