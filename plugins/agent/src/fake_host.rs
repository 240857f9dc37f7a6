//! A scripted host for the attempt loop's tests: each started session plays a list of events
//! and ends with a given summary.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use engine_stage_sdk::agent::{
    AgentError, Event, Outcome, ResultInfo, SessionRequest, Summary, ToolCall, ToolResult, Usage,
};

use crate::host::{AgentHost, AgentSession, LogLevel};
use crate::plan::Plan;
use crate::plan::tests::context;

pub(crate) const NOW: u64 = 1_800_000_000_000;

/// One scripted session: the events it emits and how it ends.
pub(crate) struct Script {
    pub(crate) events: Vec<Event>,
    pub(crate) summary: Summary,
}

/// How a started session ended: events pulled, and whether it was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionEnd {
    pub(crate) pulled: usize,
    pub(crate) cancelled: bool,
}

/// Plays the scripts in order; records every request and log line.
#[derive(Default)]
pub(crate) struct FakeHost {
    pub(crate) scripts: VecDeque<Result<Script, AgentError>>,
    pub(crate) requests: Vec<SessionRequest>,
    pub(crate) ends: Rc<RefCell<Vec<SessionEnd>>>,
    pub(crate) logs: Vec<(LogLevel, String)>,
}

/// A session playing one script.
pub(crate) struct FakeSession {
    pub(crate) events: VecDeque<Event>,
    pub(crate) summary: Summary,
    pub(crate) pulled: usize,
    pub(crate) cancelled: bool,
    pub(crate) ends: Rc<RefCell<Vec<SessionEnd>>>,
}

impl FakeHost {
    pub(crate) fn new(scripts: Vec<Script>) -> Self {
        FakeHost {
            scripts: scripts.into_iter().map(Ok).collect(),
            ..FakeHost::default()
        }
    }

    pub(crate) fn ends(&self) -> Vec<SessionEnd> {
        self.ends.borrow().clone()
    }
}

impl AgentHost for FakeHost {
    type Session = FakeSession;

    fn start(&mut self, request: &SessionRequest) -> Result<FakeSession, AgentError> {
        self.requests.push(request.clone());
        let script = self
            .scripts
            .pop_front()
            .expect("the test scripted too few sessions")?;
        Ok(FakeSession {
            events: script.events.into(),
            summary: script.summary,
            pulled: 0,
            cancelled: false,
            ends: Rc::clone(&self.ends),
        })
    }

    fn now_ms(&self) -> u64 {
        NOW
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        self.logs.push((level, message.to_string()));
    }

    fn progress(&mut self, _message: &str) {}
}

impl AgentSession for FakeSession {
    fn next_event(&mut self) -> Option<Event> {
        if self.cancelled {
            return None;
        }
        let event = self.events.pop_front();
        if event.is_some() {
            self.pulled += 1;
        }
        event
    }

    fn cancel(&mut self) {
        self.cancelled = true;
    }

    fn finish(mut self) -> Summary {
        self.ends.borrow_mut().push(SessionEnd {
            pulled: self.pulled,
            cancelled: self.cancelled,
        });
        if self.cancelled {
            self.summary.outcome = Outcome::Cancelled;
        }
        self.summary
    }
}

pub(crate) fn summary(outcome: Outcome, text: &str, files: &[&str], cost: f64) -> Summary {
    Summary {
        outcome,
        result_text: text.into(),
        session_id: Some("sess-1".into()),
        turns: 3,
        usage: Usage {
            input_tokens: 1000,
            output_tokens: 100,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            cost_usd: Some(cost),
        },
        duration_ms: 10,
        exit_code: Some(0),
        detail: String::new(),
        resets_at_ms: None,
        files_changed: files.iter().map(ToString::to_string).collect(),
    }
}

pub(crate) fn session(outcome: Outcome, text: &str, files: &[&str]) -> Script {
    Script {
        events: vec![
            Event::SessionStarted("sess-1".into()),
            Event::AssistantText(text.into()),
            Event::FinalResult(ResultInfo {
                is_error: outcome != Outcome::Completed,
                subtype: "success".into(),
                text: text.into(),
            }),
        ],
        summary: summary(outcome, text, files, 0.1),
    }
}

pub(crate) fn plan(config: serde_json::Value) -> Plan {
    Plan::new(&context(config)).unwrap()
}

pub(crate) fn tool(id: &str, name: &str, input: &serde_json::Value, ok: bool) -> [Event; 2] {
    [
        Event::ToolStarted(ToolCall {
            id: id.into(),
            name: name.into(),
            input: input.to_string(),
        }),
        Event::ToolFinished(ToolResult {
            id: id.into(),
            name: Some(name.into()),
            ok,
            output: "same".into(),
        }),
    ]
}
