//! What the session said that decides its outcome, and the summary built from it at the end.
//! Outcome = terminal event + exit code + the events seen together: the exit code alone lies.

use std::collections::VecDeque;
use std::time::Duration;

use crate::event::{AgentEvent, Usage};
use crate::summary::{Outcome, Summary};
use crate::supervise::format::clip_chars;
use crate::supervise::spend::Spend;

/// Stderr lines kept for a crash's detail.
const STDERR_TAIL: usize = 5;
/// Characters of a line kept in a detail.
const DETAIL_LINE_CHARS: usize = 300;
/// Characters of a misconfigured CLI's result kept in the detail: it says how to fix it.
const MISCONFIGURED_CHARS: usize = 1500;
/// Error-result subtypes of a CLI that refused to run with its configuration (Gemini CLI's
/// exit 55, an untrusted folder, and exit 52, a bad setting): resuming never helps.
const MISCONFIGURED_SUBTYPES: &[&str] = &["error_untrusted_workspace", "error_config"];

/// The first terminal result.
#[derive(Debug, Clone)]
struct FinalResult {
    is_error: bool,
    subtype: String,
    text: String,
    turns: Option<u32>,
    usage: Option<Usage>,
}

/// Accumulates the events that decide the outcome.
#[derive(Debug, Default)]
pub(crate) struct Record {
    result: Option<FinalResult>,
    session_id: Option<String>,
    result_session_id: Option<String>,
    last_usage: Option<Usage>,
    rate_limited: Option<(Option<u64>, String)>,
    quota_exhausted: Option<String>,
    auth_failed: Option<String>,
    context_overflow: Option<String>,
    stderr_tail: VecDeque<String>,
}

/// How the process ended, as the driver saw it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ending {
    /// A kill decided by a limit or a cancel, before any result: its outcome and detail.
    pub(crate) kill: Option<(Outcome, String)>,
    /// The process was killed after its result because it outlived the grace period.
    pub(crate) killed_after_result: Option<String>,
    /// Exit code when it exited normally.
    pub(crate) exit_code: Option<i32>,
    /// Signal that ended it, if any.
    pub(crate) signal: Option<i32>,
    /// Wall time.
    pub(crate) duration: Duration,
    /// Turns the watchdog counted.
    pub(crate) counted_turns: u32,
    /// The session's final spend is past its budget (judged at the end too, since some CLIs
    /// report usage only with their result): why.
    pub(crate) over_budget: Option<String>,
}

impl Record {
    /// Whether the terminal result has arrived.
    pub(crate) fn has_result(&self) -> bool {
        self.result.is_some()
    }

    /// Takes one event. Returns false for a second result, which is ignored.
    pub(crate) fn event(&mut self, event: &AgentEvent) -> bool {
        match event {
            AgentEvent::SessionStarted { session_id, .. } => {
                self.session_id = Some(session_id.clone());
            }
            AgentEvent::Usage { usage } => self.last_usage = Some(*usage),
            AgentEvent::RateLimited {
                resets_at_ms,
                message,
            } => self.rate_limited = Some((*resets_at_ms, message.clone())),
            AgentEvent::QuotaExhausted { message } => {
                self.quota_exhausted = Some(message.clone());
            }
            AgentEvent::AuthFailed { message } => self.auth_failed = Some(message.clone()),
            AgentEvent::ContextOverflow { message } => {
                self.context_overflow = Some(message.clone());
            }
            AgentEvent::StderrLine { line } => {
                if self.stderr_tail.len() == STDERR_TAIL {
                    self.stderr_tail.pop_front();
                }
                self.stderr_tail.push_back(clip(line));
            }
            AgentEvent::Result {
                is_error,
                subtype,
                text,
                session_id,
                turns,
                usage,
            } => {
                if self.result.is_some() {
                    return false;
                }
                self.result_session_id.clone_from(session_id);
                self.result = Some(FinalResult {
                    is_error: *is_error,
                    subtype: subtype.clone(),
                    text: text.clone(),
                    turns: *turns,
                    usage: *usage,
                });
            }
            _ => {}
        }
        true
    }

    /// The summary of the ended session.
    pub(crate) fn summary(&self, ending: &Ending, spend: &Spend) -> Summary {
        let (outcome, detail) = self.outcome(ending);
        let result = self.result.as_ref();
        let usage = result
            .and_then(|r| r.usage)
            .or(self.last_usage)
            .unwrap_or_default();
        let (usage, cost_estimated) = spend.priced(usage);
        Summary {
            outcome,
            result_text: result.map(|r| r.text.clone()).unwrap_or_default(),
            session_id: self
                .result_session_id
                .clone()
                .or_else(|| self.session_id.clone()),
            turns: result.and_then(|r| r.turns).unwrap_or(ending.counted_turns),
            usage,
            duration_ms: u64::try_from(ending.duration.as_millis()).unwrap_or(u64::MAX),
            exit_code: ending.exit_code,
            detail,
            resets_at_ms: match outcome {
                Outcome::RateLimited => self.rate_limited.as_ref().and_then(|(at, _)| *at),
                _ => None,
            },
            files_changed: Vec::new(),
            cost_estimated,
            model: spend.model().map(str::to_string),
        }
    }

    fn outcome(&self, ending: &Ending) -> (Outcome, String) {
        let (outcome, detail) = self.ended(ending);
        match &ending.over_budget {
            // Spending past the cap is what counts, however the CLI ended (a CLI that reports
            // usage only with its result can finish "successfully" past it); a cancel stands.
            Some(why) if !matches!(outcome, Outcome::Cancelled | Outcome::BudgetExceeded) => (
                Outcome::BudgetExceeded,
                format!("{why} (the session ended: {detail})"),
            ),
            _ => (outcome, detail),
        }
    }

    fn ended(&self, ending: &Ending) -> (Outcome, String) {
        if let Some(result) = &self.result {
            let (outcome, mut detail) = self.result_outcome(result);
            if let Some(kill) = &ending.killed_after_result {
                detail.push_str("; ");
                detail.push_str(kill);
            }
            return (outcome, detail);
        }
        if let Some((outcome, detail)) = &ending.kill {
            // A stuck CLI that reported a usage limit or an auth failure first is explained by
            // it: the stage must wait or tell the user, not just retry.
            let explainable = matches!(
                outcome,
                Outcome::KilledInactive | Outcome::KilledSilence | Outcome::KilledToolCeiling
            );
            if let Some((explained, why)) = self.explanation().filter(|_| explainable) {
                return (explained, format!("{why}; then killed: {detail}"));
            }
            return (*outcome, detail.clone());
        }
        let exit = match (ending.exit_code, ending.signal) {
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(signal)) => format!("was killed by signal {signal}"),
            (None, None) => "ended".to_string(),
        };
        if let Some((explained, why)) = self.explanation() {
            return (
                explained,
                format!("{why}; the process {exit} without a result"),
            );
        }
        let mut detail = format!("the process {exit} without a result");
        if !self.stderr_tail.is_empty() {
            detail.push_str("; last stderr: ");
            detail.push_str(&Vec::from(self.stderr_tail.clone()).join(" | "));
        }
        (Outcome::Crashed, detail)
    }

    fn result_outcome(&self, result: &FinalResult) -> (Outcome, String) {
        let subtype = result.subtype.as_str();
        match subtype {
            "error_max_turns" => {
                return (
                    Outcome::MaxTurns,
                    "the CLI stopped at its turn limit".into(),
                );
            }
            "error_max_budget_usd" => {
                return (
                    Outcome::BudgetExceeded,
                    "the CLI stopped at its budget".into(),
                );
            }
            _ if MISCONFIGURED_SUBTYPES.contains(&subtype) => {
                let text = clip_chars(result.text.trim(), MISCONFIGURED_CHARS);
                return (
                    Outcome::Misconfigured,
                    format!("the agent CLI is misconfigured: {text}"),
                );
            }
            _ => {}
        }
        if !result.is_error && !subtype.starts_with("error") {
            return (Outcome::Completed, format!("result `{subtype}`"));
        }
        if let Some(explained) = self.explanation() {
            return explained;
        }
        (
            Outcome::Errored,
            format!("error result `{subtype}`: {}", clip(&result.text)),
        )
    }

    /// An outcome explained by a quota, usage-limit, auth or context event seen in the stream.
    /// An exhausted quota comes first: a CLI may also report its 429 as a rate limit, and
    /// waiting for a reset would never help.
    fn explanation(&self) -> Option<(Outcome, String)> {
        if let Some(message) = &self.quota_exhausted {
            return Some((
                Outcome::QuotaExhausted,
                format!("quota or billing exhausted: {}", clip(message)),
            ));
        }
        if let Some((_, message)) = &self.rate_limited {
            return Some((
                Outcome::RateLimited,
                format!("usage limit: {}", clip(message)),
            ));
        }
        if let Some(message) = &self.auth_failed {
            return Some((
                Outcome::AuthFailed,
                format!("authentication failed: {}", clip(message)),
            ));
        }
        self.context_overflow.as_ref().map(|message| {
            (
                Outcome::ContextOverflow,
                format!("context overflow: {}", clip(message)),
            )
        })
    }
}

fn clip(text: &str) -> String {
    clip_chars(text, DETAIL_LINE_CHARS)
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
