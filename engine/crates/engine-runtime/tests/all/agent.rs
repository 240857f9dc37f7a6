//! The `agent` import: a stage drives a session through the WIT resource, the host bridges it to
//! the engine's launcher, checks the grant and maps every event and error.

use crate::common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use engine_agent::{AgentEvent, Outcome, SessionRequest, Summary, Usage};
use engine_runtime::{AgentLauncher, AgentSession, AgentStartError, BoxFuture};
use serde_json::json;

/// Plays a fixed list of events and records what it was asked.
struct FakeLauncher {
    events: Vec<AgentEvent>,
    /// How the sessions end unless cancelled.
    outcome: Outcome,
    fail: Option<AgentStartError>,
    requests: Mutex<Vec<SessionRequest>>,
    cancelled: Arc<Mutex<bool>>,
}

struct FakeSession {
    events: VecDeque<AgentEvent>,
    outcome: Outcome,
    cancelled: Arc<Mutex<bool>>,
}

impl AgentLauncher for FakeLauncher {
    fn start(&self, request: SessionRequest) -> Result<Box<dyn AgentSession>, AgentStartError> {
        self.requests.lock().unwrap().push(request);
        if let Some(e) = &self.fail {
            return Err(e.clone());
        }
        Ok(Box::new(FakeSession {
            events: self.events.clone().into(),
            outcome: self.outcome,
            cancelled: self.cancelled.clone(),
        }))
    }
}

impl AgentSession for FakeSession {
    fn next_event(&mut self) -> BoxFuture<'_, Option<AgentEvent>> {
        let cancelled = *self.cancelled.lock().unwrap();
        let next = if cancelled {
            None
        } else {
            self.events.pop_front()
        };
        Box::pin(async move { next })
    }
    fn cancel(&mut self) {
        *self.cancelled.lock().unwrap() = true;
    }
    fn finish(self: Box<Self>) -> BoxFuture<'static, Summary> {
        let cancelled = *self.cancelled.lock().unwrap();
        let outcome = self.outcome;
        Box::pin(async move {
            Summary {
                outcome: if cancelled {
                    Outcome::Cancelled
                } else {
                    outcome
                },
                result_text: "all done".into(),
                session_id: Some("sess-1".into()),
                turns: 2,
                usage: Usage {
                    cost_usd: Some(0.25),
                    ..Usage::default()
                },
                duration_ms: 5,
                exit_code: Some(0),
                detail: String::new(),
                resets_at_ms: None,
                files_changed: vec!["src/lib.rs".into()],
                cost_estimated: false,
                model: None,
            }
        })
    }
}

fn launcher(events: Vec<AgentEvent>, fail: Option<AgentStartError>) -> Arc<FakeLauncher> {
    Arc::new(FakeLauncher {
        events,
        outcome: Outcome::Completed,
        fail,
        requests: Mutex::new(Vec::new()),
        cancelled: Arc::new(Mutex::new(false)),
    })
}

fn session_events() -> Vec<AgentEvent> {
    vec![
        AgentEvent::SessionStarted {
            session_id: "sess-1".into(),
            model: None,
        },
        AgentEvent::AssistantText {
            text: "working".into(),
        },
        AgentEvent::ToolStarted {
            id: "t1".into(),
            name: "Bash".into(),
            input: json!({"command": "ls"}),
        },
        AgentEvent::ToolFinished {
            id: "t1".into(),
            name: Some("Bash".into()),
            ok: true,
            output: "x".repeat(200_000),
        },
        AgentEvent::Usage {
            usage: Usage::default(),
        },
        AgentEvent::ContextOverflow {
            message: "prompt is too long".into(),
        },
        AgentEvent::Result {
            is_error: false,
            subtype: "success".into(),
            text: "all done".into(),
            session_id: None,
            turns: Some(2),
            usage: None,
        },
    ]
}

#[tokio::test]
async fn a_granted_stage_drives_a_session_and_sees_every_event() {
    let stage = common::fixture("fixture-agent");
    let fake = launcher(session_events(), None);
    let (mut req, _) =
        common::request(json!({"backend": "codex", "model": "smart", "budget_usd": 1.5}));
    req.permissions.agent = true;
    req.agent = Some(fake.clone());
    let success = common::host().run_attempt(&stage, req).await.unwrap();
    assert_eq!(
        success.outputs["events"],
        json!([
            "session-started",
            "assistant-text",
            "tool-started",
            "tool-finished",
            "usage",
            "context-overflow",
            "result"
        ])
    );
    assert_eq!(success.outputs["summary"]["outcome"], "completed");
    assert_eq!(success.outputs["summary"]["session_id"], "sess-1");
    assert_eq!(success.outputs["summary"]["cost_usd"], 0.25);
    assert_eq!(
        success.outputs["summary"]["files_changed"],
        json!(["src/lib.rs"])
    );
    let requests = fake.requests.lock().unwrap();
    assert_eq!(requests[0].backend, "codex");
    assert_eq!(requests[0].model.as_deref(), Some("smart"));
    assert_eq!(requests[0].budget_usd, Some(1.5));
}

#[tokio::test]
async fn without_the_grant_the_import_refuses_even_with_a_launcher() {
    let stage = common::fixture("fixture-agent");
    let fake = launcher(session_events(), None);
    let (mut req, _) = common::request(json!({}));
    req.agent = Some(fake.clone());
    let failure = common::host().run_attempt(&stage, req).await.unwrap_err();
    assert!(
        failure.message.contains("not-permitted"),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("agent: true"),
        "{}",
        failure.message
    );
    assert!(
        fake.requests.lock().unwrap().is_empty(),
        "the launcher was never asked"
    );
}

#[tokio::test]
async fn launcher_errors_reach_the_stage_typed() {
    let stage = common::fixture("fixture-agent");
    let fake = launcher(
        vec![],
        Some(AgentStartError::BudgetExhausted(
            "run budget of $5.00 is spent".into(),
        )),
    );
    let (mut req, _) = common::request(json!({}));
    req.permissions.agent = true;
    req.agent = Some(fake);
    let failure = common::host().run_attempt(&stage, req).await.unwrap_err();
    assert_eq!(
        failure.message,
        "budget-exhausted: run budget of $5.00 is spent"
    );
}

#[tokio::test]
async fn a_stage_can_cancel_its_session() {
    let stage = common::fixture("fixture-agent");
    let fake = launcher(session_events(), None);
    let (mut req, _) = common::request(json!({"cancel_after": 2}));
    req.permissions.agent = true;
    req.agent = Some(fake.clone());
    let success = common::host().run_attempt(&stage, req).await.unwrap();
    assert_eq!(success.outputs["events"].as_array().unwrap().len(), 2);
    assert_eq!(success.outputs["summary"]["outcome"], "cancelled");
    assert!(*fake.cancelled.lock().unwrap());
}

#[tokio::test]
async fn an_exhausted_quota_reaches_the_stage_as_its_own_event_and_outcome() {
    let stage = common::fixture("fixture-agent");
    let fake = Arc::new(FakeLauncher {
        outcome: Outcome::QuotaExhausted,
        ..Arc::into_inner(launcher(
            vec![AgentEvent::QuotaExhausted {
                message: "insufficient_quota".into(),
            }],
            None,
        ))
        .unwrap()
    });
    let (mut req, _) = common::request(json!({}));
    req.permissions.agent = true;
    req.agent = Some(fake);
    let success = common::host().run_attempt(&stage, req).await.unwrap();
    assert_eq!(success.outputs["events"], json!(["quota-exhausted"]));
    assert_eq!(success.outputs["summary"]["outcome"], "quota-exhausted");
}

#[tokio::test]
async fn a_misconfigured_cli_reaches_the_stage_as_its_own_outcome() {
    let stage = common::fixture("fixture-agent");
    let fake = Arc::new(FakeLauncher {
        outcome: Outcome::Misconfigured,
        ..Arc::into_inner(launcher(Vec::new(), None)).unwrap()
    });
    let (mut req, _) = common::request(json!({}));
    req.permissions.agent = true;
    req.agent = Some(fake);
    let success = common::host().run_attempt(&stage, req).await.unwrap();
    assert_eq!(success.outputs["summary"]["outcome"], "misconfigured");
}
