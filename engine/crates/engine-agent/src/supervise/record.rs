//! What the session said that decides its outcome, and the summary built from it at the end.
//! Outcome = terminal event + exit code + the events seen together: the exit code alone lies.

use std::collections::VecDeque;
use std::time::Duration;

use crate::event::{AgentEvent, Usage};
use crate::summary::{Outcome, Summary};
use crate::supervise::spend::Spend;

/// Stderr lines kept for a crash's detail.
const STDERR_TAIL: usize = 5;
/// Characters of a line kept in a detail.
const DETAIL_LINE_CHARS: usize = 300;

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
                self.result_session_id = session_id.clone();
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
        Summary {
            outcome,
            result_text: result.map(|r| r.text.clone()).unwrap_or_default(),
            session_id: self
                .result_session_id
                .clone()
                .or_else(|| self.session_id.clone()),
            turns: result.and_then(|r| r.turns).unwrap_or(ending.counted_turns),
            usage: spend.priced(usage),
            duration_ms: u64::try_from(ending.duration.as_millis()).unwrap_or(u64::MAX),
            exit_code: ending.exit_code,
            detail,
            resets_at_ms: match outcome {
                Outcome::RateLimited => self.rate_limited.as_ref().and_then(|(at, _)| *at),
                _ => None,
            },
            files_changed: Vec::new(),
        }
    }

    fn outcome(&self, ending: &Ending) -> (Outcome, String) {
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

    /// An outcome explained by a usage-limit, auth or context event seen in the stream.
    fn explanation(&self) -> Option<(Outcome, String)> {
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
    match text.char_indices().nth(DETAIL_LINE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(is_error: bool, subtype: &str) -> AgentEvent {
        AgentEvent::Result {
            is_error,
            subtype: subtype.into(),
            text: "done".into(),
            session_id: Some("s-result".into()),
            turns: Some(4),
            usage: Some(Usage {
                input_tokens: 10,
                ..Usage::default()
            }),
        }
    }

    fn summarize(events: &[AgentEvent], ending: Ending) -> Summary {
        let mut record = Record::default();
        let mut spend = Spend::new(None);
        for event in events {
            if let AgentEvent::Usage { usage } = event {
                spend.update(usage);
            }
            record.event(event);
        }
        record.summary(&ending, &spend)
    }

    fn exited(code: i32) -> Ending {
        Ending {
            exit_code: Some(code),
            ..Ending::default()
        }
    }

    #[test]
    fn success_result_completes_even_with_a_bad_exit_code() {
        let s = summarize(&[result(false, "success")], exited(1));
        assert_eq!(s.outcome, Outcome::Completed);
        assert_eq!(s.result_text, "done");
        assert_eq!(s.session_id.as_deref(), Some("s-result"));
        assert_eq!(s.turns, 4);
        assert_eq!(s.usage.input_tokens, 10);
        assert_eq!(s.exit_code, Some(1));
    }

    #[test]
    fn error_result_is_explained_by_what_was_seen() {
        let limit = AgentEvent::RateLimited {
            resets_at_ms: Some(42),
            message: "hit your limit".into(),
        };
        let s = summarize(&[limit, result(true, "success")], exited(0));
        assert_eq!(s.outcome, Outcome::RateLimited);
        assert_eq!(s.resets_at_ms, Some(42));

        let auth = AgentEvent::AuthFailed {
            message: "OAuth token has expired".into(),
        };
        let s = summarize(&[auth, result(true, "error_during_execution")], exited(1));
        assert_eq!(s.outcome, Outcome::AuthFailed);

        let overflow = AgentEvent::ContextOverflow {
            message: "prompt is too long".into(),
        };
        let s = summarize(
            &[overflow, result(true, "error_during_execution")],
            exited(1),
        );
        assert_eq!(s.outcome, Outcome::ContextOverflow);

        let s = summarize(&[result(true, "error_during_execution")], exited(1));
        assert_eq!(s.outcome, Outcome::Errored);
        assert_eq!(s.resets_at_ms, None);
    }

    #[test]
    fn subtypes_name_the_cli_limits() {
        let s = summarize(&[result(true, "error_max_turns")], exited(0));
        assert_eq!(s.outcome, Outcome::MaxTurns);
        let s = summarize(&[result(true, "error_max_budget_usd")], exited(0));
        assert_eq!(s.outcome, Outcome::BudgetExceeded);
    }

    #[test]
    fn the_first_result_is_kept() {
        let mut record = Record::default();
        assert!(record.event(&result(false, "success")));
        assert!(!record.event(&result(true, "error_during_execution")));
        let s = record.summary(&exited(0), &Spend::new(None));
        assert_eq!(s.outcome, Outcome::Completed);
    }

    #[test]
    fn no_result_is_a_crash_with_stderr() {
        let events: Vec<AgentEvent> = (0..7)
            .map(|i| AgentEvent::StderrLine {
                line: format!("line {i}"),
            })
            .collect();
        let s = summarize(&events, exited(3));
        assert_eq!(s.outcome, Outcome::Crashed);
        assert_eq!(
            s.detail,
            "the process exited with code 3 without a result; last stderr: line 2 | line 3 | line 4 | line 5 | line 6"
        );
    }

    #[test]
    fn kills_stand_unless_a_limit_explains_a_stuck_cli() {
        let kill = |outcome| Ending {
            kill: Some((outcome, "rule".into())),
            ..Ending::default()
        };
        let s = summarize(&[], kill(Outcome::KilledInactive));
        assert_eq!(
            (s.outcome, s.detail.as_str()),
            (Outcome::KilledInactive, "rule")
        );
        let auth = AgentEvent::AuthFailed {
            message: "Please run /login".into(),
        };
        let s = summarize(std::slice::from_ref(&auth), kill(Outcome::KilledInactive));
        assert_eq!(s.outcome, Outcome::AuthFailed);
        let s = summarize(&[auth], kill(Outcome::Cancelled));
        assert_eq!(s.outcome, Outcome::Cancelled);
    }

    #[test]
    fn a_result_outranks_the_kill_after_it() {
        let ending = Ending {
            killed_after_result: Some("killed 5s after its result".into()),
            ..Ending::default()
        };
        let s = summarize(&[result(false, "success")], ending);
        assert_eq!(s.outcome, Outcome::Completed);
        assert!(
            s.detail.ends_with("killed 5s after its result"),
            "{}",
            s.detail
        );
    }

    #[test]
    fn usage_falls_back_to_the_last_cumulative_update() {
        let usage = AgentEvent::Usage {
            usage: Usage {
                output_tokens: 99,
                cost_usd: Some(0.25),
                ..Usage::default()
            },
        };
        let s = summarize(&[usage], exited(0));
        assert_eq!(s.usage.output_tokens, 99);
        assert_eq!(s.usage.cost_usd, Some(0.25));
        assert_eq!(s.turns, 0);
    }
}
