//! A scripted host for the tests: sessions that play given events and end with a summary, a
//! worktree made of a list of paths, and a record of every request and log line.

use std::collections::{BTreeMap, VecDeque};

use engine_stage_sdk::agent::{
    AgentError, Event, Outcome, ResultInfo, SessionRequest, Summary, Usage,
};
use engine_stage_sdk::{Context, IdempotencyKeys, Task};

use crate::config::TriageConfig;
use crate::host::{LogLevel, TriageHost, TriageSession};

/// One scripted session.
pub(crate) struct Script {
    pub(crate) events: Vec<Event>,
    pub(crate) summary: Summary,
}

/// Plays the scripts in order.
#[derive(Default)]
pub(crate) struct FakeHost {
    pub(crate) scripts: VecDeque<Result<Script, AgentError>>,
    pub(crate) requests: Vec<SessionRequest>,
    pub(crate) logs: Vec<(LogLevel, String)>,
    /// The worktree's paths; `None`: not mounted.
    pub(crate) files: Option<Vec<String>>,
}

impl FakeHost {
    pub(crate) fn new(scripts: Vec<Script>) -> FakeHost {
        FakeHost {
            scripts: scripts.into_iter().map(Ok).collect(),
            ..FakeHost::default()
        }
    }
}

pub(crate) struct FakeSession {
    events: VecDeque<Event>,
    summary: Summary,
}

impl TriageHost for FakeHost {
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
        })
    }

    fn workspace_mounted(&self) -> bool {
        self.files.is_some()
    }

    fn exists(&self, relative: &str) -> bool {
        self.files
            .as_ref()
            .is_some_and(|files| files.iter().any(|f| f == relative))
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        self.logs.push((level, message.to_string()));
    }

    fn progress(&mut self, _message: &str) {}
}

impl TriageSession for FakeSession {
    fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn finish(self) -> Summary {
        self.summary
    }
}

/// A session that ends with `outcome` after saying `text`.
pub(crate) fn session(outcome: Outcome, text: &str) -> Script {
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
        summary: Summary {
            outcome,
            result_text: text.into(),
            session_id: Some("sess-1".into()),
            turns: 2,
            usage: Usage {
                cost_usd: Some(0.01),
                ..Usage::default()
            },
            duration_ms: 5,
            exit_code: Some(0),
            detail: String::new(),
            resets_at_ms: None,
            files_changed: Vec::new(),
        },
    }
}

/// A completed session saying `text`.
pub(crate) fn says(text: &str) -> Script {
    session(Outcome::Completed, text)
}

/// A context for `text` (first line = title) with `labels` and the config `with`.
pub(crate) fn context(
    text: &str,
    labels: &[&str],
    with: serde_json::Value,
) -> Context<TriageConfig> {
    Context {
        run_id: "r1".into(),
        stage_id: "triage".into(),
        attempt: 1,
        keys: IdempotencyKeys {
            stage: "r1/triage".into(),
            attempt: "r1/triage/1".into(),
        },
        task: Task {
            id: "T-1".into(),
            title: text.lines().next().unwrap_or_default().into(),
            body: text.into(),
            labels: labels.iter().map(ToString::to_string).collect(),
        },
        config: serde_json::from_value(with).unwrap(),
        outputs: BTreeMap::new(),
        feedback: None,
        interrupted: false,
        workspace: None,
        previous_failure: None,
        git: None,
    }
}
