//! Conversions between the SDK's agent types and the raw WIT bindings.

use super::{
    AgentError, Event, Outcome, PermissionMode, ResultInfo, SessionRequest, Summary, ToolCall,
    ToolResult, Usage, raw,
};
use crate::adapter::json_or_string;

pub(super) fn request_to_raw(r: &SessionRequest) -> raw::SessionRequest {
    raw::SessionRequest {
        backend: r.backend.clone(),
        model: r.model.clone(),
        prompt: r.prompt.clone(),
        system_prompt: r.system_prompt.clone(),
        permission_mode: match r.permission_mode {
            PermissionMode::Default => raw::PermissionMode::Default,
            PermissionMode::AcceptEdits => raw::PermissionMode::AcceptEdits,
            PermissionMode::Plan => raw::PermissionMode::Plan,
            PermissionMode::Bypass => raw::PermissionMode::Bypass,
        },
        allowed_tools: r.allowed_tools.clone(),
        denied_tools: r.denied_tools.clone(),
        max_turns: r.max_turns,
        resume_session: r.resume_session.clone(),
        budget_usd: r.budget_usd,
    }
}

impl From<raw::Usage> for Usage {
    fn from(u: raw::Usage) -> Self {
        Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_read_tokens: u.cache_read_tokens,
            cache_write_tokens: u.cache_write_tokens,
            cost_usd: u.cost_usd,
        }
    }
}

impl From<raw::Event> for Event {
    fn from(e: raw::Event) -> Self {
        match e {
            raw::Event::SessionStarted(id) => Event::SessionStarted(id),
            raw::Event::AssistantText(text) => Event::AssistantText(text),
            raw::Event::ToolStarted(call) => Event::ToolStarted(ToolCall {
                id: call.id,
                name: call.name,
                input: json_or_string(&call.input),
            }),
            raw::Event::ToolFinished(result) => Event::ToolFinished(ToolResult {
                id: result.id,
                name: result.name,
                ok: result.ok,
                output: result.output,
            }),
            raw::Event::Usage(usage) => Event::Usage(usage.into()),
            raw::Event::RateLimited(resets_at) => Event::RateLimited(resets_at),
            raw::Event::ApiRetry(attempt) => Event::ApiRetry(attempt),
            raw::Event::AuthFailed(message) => Event::AuthFailed(message),
            raw::Event::QuotaExhausted(message) => Event::QuotaExhausted(message),
            raw::Event::ContextOverflow(message) => Event::ContextOverflow(message),
            raw::Event::FinalResult(info) => Event::FinalResult(ResultInfo {
                is_error: info.is_error,
                subtype: info.subtype,
                text: info.text,
            }),
            raw::Event::StderrLine(line) => Event::StderrLine(line),
            raw::Event::Unknown(line) => Event::Unknown(line),
            raw::Event::SupervisorWarning(message) => Event::SupervisorWarning(message),
        }
    }
}

impl From<raw::Outcome> for Outcome {
    fn from(o: raw::Outcome) -> Self {
        match o {
            raw::Outcome::Completed => Outcome::Completed,
            raw::Outcome::Errored => Outcome::Errored,
            raw::Outcome::MaxTurns => Outcome::MaxTurns,
            raw::Outcome::BudgetExceeded => Outcome::BudgetExceeded,
            raw::Outcome::RateLimited => Outcome::RateLimited,
            raw::Outcome::AuthFailed => Outcome::AuthFailed,
            raw::Outcome::QuotaExhausted => Outcome::QuotaExhausted,
            raw::Outcome::Misconfigured => Outcome::Misconfigured,
            raw::Outcome::ContextOverflow => Outcome::ContextOverflow,
            raw::Outcome::KilledInactive => Outcome::KilledInactive,
            raw::Outcome::KilledToolCeiling => Outcome::KilledToolCeiling,
            raw::Outcome::KilledSilence => Outcome::KilledSilence,
            raw::Outcome::Crashed => Outcome::Crashed,
            raw::Outcome::Cancelled => Outcome::Cancelled,
        }
    }
}

impl From<raw::Summary> for Summary {
    fn from(s: raw::Summary) -> Self {
        Summary {
            outcome: s.outcome.into(),
            result_text: s.result_text,
            session_id: s.session_id,
            turns: s.turns,
            usage: s.usage.into(),
            duration_ms: s.duration_ms,
            exit_code: s.exit_code,
            detail: s.detail,
            resets_at_ms: s.resets_at_ms,
            files_changed: s.files_changed,
        }
    }
}

impl From<raw::AgentError> for AgentError {
    fn from(e: raw::AgentError) -> Self {
        match e {
            raw::AgentError::NotPermitted(m) => AgentError::NotPermitted(m),
            raw::AgentError::UnknownBackend(m) => AgentError::UnknownBackend(m),
            raw::AgentError::BudgetExhausted(m) => AgentError::BudgetExhausted(m),
            raw::AgentError::SpawnFailed(m) => AgentError::SpawnFailed(m),
            raw::AgentError::InvalidRequest(m) => AgentError::InvalidRequest(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_converts_every_field() {
        let mut request = SessionRequest::new("claude", "do it")
            .model("smart")
            .system_prompt("be brief")
            .permission_mode(PermissionMode::AcceptEdits)
            .resume("s-1");
        request.allowed_tools = vec!["Read".into()];
        request.denied_tools = vec!["WebFetch".into()];
        request.max_turns = Some(7);
        request.budget_usd = Some(1.5);
        let raw = request_to_raw(&request);
        assert_eq!(raw.backend, "claude");
        assert_eq!(raw.model.as_deref(), Some("smart"));
        assert_eq!(raw.prompt, "do it");
        assert_eq!(raw.system_prompt.as_deref(), Some("be brief"));
        assert!(matches!(
            raw.permission_mode,
            raw::PermissionMode::AcceptEdits
        ));
        assert_eq!(raw.allowed_tools, ["Read"]);
        assert_eq!(raw.denied_tools, ["WebFetch"]);
        assert_eq!(raw.max_turns, Some(7));
        assert_eq!(raw.resume_session.as_deref(), Some("s-1"));
        assert_eq!(raw.budget_usd, Some(1.5));
    }

    #[test]
    fn tool_input_is_parsed_leniently() {
        let parsed = Event::from(raw::Event::ToolStarted(raw::ToolCall {
            id: "t1".into(),
            name: "Bash".into(),
            input: r#"{"command":"ls"}"#.into(),
        }));
        match parsed {
            Event::ToolStarted(call) => assert_eq!(call.input["command"], "ls"),
            other => panic!("unexpected {other:?}"),
        }
        let raw_text = Event::from(raw::Event::ToolStarted(raw::ToolCall {
            id: "t2".into(),
            name: "Bash".into(),
            input: "not json".into(),
        }));
        match raw_text {
            Event::ToolStarted(call) => assert_eq!(call.input, "not json"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn summary_and_errors_convert() {
        let summary = Summary::from(raw::Summary {
            outcome: raw::Outcome::RateLimited,
            result_text: "limit".into(),
            session_id: Some("s".into()),
            turns: 3,
            usage: raw::Usage {
                input_tokens: 10,
                output_tokens: 2,
                cache_read_tokens: 1,
                cache_write_tokens: 0,
                cost_usd: Some(0.25),
            },
            duration_ms: 9,
            exit_code: Some(1),
            detail: "usage limit".into(),
            resets_at_ms: Some(1_000),
            files_changed: vec!["a.rs".into()],
        });
        assert_eq!(summary.outcome, Outcome::RateLimited);
        assert_eq!(summary.outcome.as_str(), "rate_limited");
        assert_eq!(summary.usage.cost_usd, Some(0.25));
        assert_eq!(summary.resets_at_ms, Some(1_000));
        assert_eq!(summary.files_changed, ["a.rs"]);
        let error = AgentError::from(raw::AgentError::BudgetExhausted("none left".into()));
        assert_eq!(error.kind(), "budget-exhausted");
        assert_eq!(error.to_string(), "budget-exhausted: none left");
    }
}
