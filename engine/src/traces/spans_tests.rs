//! The attribute mapping of [`super`]: results as the CI/CD conventions define them, parents,
//! times, spend, and text cut to length.

use std::collections::BTreeMap;

use engine_core::{Failure, StageState, Task};
use opentelemetry::Value;

use super::*;

const RUN: &str = "01JQ3Z6V7W8X9Y0ABCDEFGHJKM";

fn failed(kind: FailureKind) -> AttemptOutcome {
    AttemptOutcome::Failed {
        failure: Failure {
            kind,
            message: "boom".into(),
            detail: serde_json::Value::Null,
            retry_at_ms: None,
        },
    }
}

fn record(attempt: u32, outcome: AttemptOutcome) -> AttemptRecord {
    AttemptRecord {
        attempt,
        started_at_ms: 1_000,
        ended_at_ms: Some(4_000),
        outcome,
        spend: Spend::NONE,
        commits: Vec::new(),
    }
}

fn state(status: RunStatus, stages: &[(&str, Vec<AttemptRecord>)]) -> RunState {
    RunState {
        run_id: RUN.into(),
        task: Task {
            id: "T-1".into(),
            title: "x".repeat(500),
            body: "secret body is never exported".into(),
            labels: Vec::new(),
        },
        status,
        stages: stages
            .iter()
            .map(|(id, history)| {
                let mut stage = StageState::new();
                stage.attempts = u32::try_from(history.len()).unwrap();
                stage.history.clone_from(history);
                ((*id).to_string(), stage)
            })
            .collect(),
        seq: 9,
        started_at_ms: Some(500),
        finished_at_ms: Some(9_000),
        finally: BTreeMap::new(),
        paused_at_ms: None,
        deadline_ms: None,
    }
}

fn facts(state: &RunState) -> RunFacts {
    RunFacts::of(&crate::test_fixtures::run_meta(RUN, "engine/t-1"), state)
}

fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn text(span: &SpanData, key: &str) -> String {
    attr(span, key)
        .map(|v| v.as_str().into_owned())
        .unwrap_or_default()
}

#[test]
fn attempt_results_follow_the_cicd_conventions() {
    let cases = [
        (
            AttemptOutcome::Succeeded {
                summary: String::new(),
            },
            Some("success"),
        ),
        (failed(FailureKind::Retryable), Some("failure")),
        (failed(FailureKind::Fatal), Some("failure")),
        (failed(FailureKind::NeedsAttention), Some("failure")),
        (failed(FailureKind::TimedOut), Some("timeout")),
        (AttemptOutcome::Interrupted, Some("error")),
        (AttemptOutcome::Cancelled, Some("cancellation")),
        (
            AttemptOutcome::Skipped {
                reason: String::new(),
            },
            Some("skip"),
        ),
        (AttemptOutcome::Running, None),
    ];
    for (outcome, result) in cases {
        assert_eq!(attempt_result(&outcome), result, "{outcome:?}");
    }
}

#[test]
fn run_results_follow_the_cicd_conventions() {
    let timed_out = {
        let mut s = state(
            RunStatus::Failed {
                stage: "test".into(),
                message: "too slow".into(),
            },
            &[("test", vec![record(1, failed(FailureKind::TimedOut))])],
        );
        s.stages.get_mut("test").unwrap().last_failure = Some(Failure {
            kind: FailureKind::TimedOut,
            message: "too slow".into(),
            detail: serde_json::Value::Null,
            retry_at_ms: None,
        });
        s
    };
    assert_eq!(run_result(&timed_out), Some("timeout"));
    let cases = [
        (RunStatus::Succeeded, Some("success")),
        (
            RunStatus::Failed {
                stage: "test".into(),
                message: "red".into(),
            },
            Some("failure"),
        ),
        (
            RunStatus::NeedsAttention {
                stage: "triage".into(),
                reason: "vague".into(),
            },
            Some("failure"),
        ),
        (
            RunStatus::Cancelled {
                reason: "no".into(),
            },
            Some("cancellation"),
        ),
        (RunStatus::Running, None),
    ];
    for (status, result) in cases {
        assert_eq!(
            run_result(&state(status.clone(), &[])),
            result,
            "{status:?}"
        );
    }
}

#[test]
fn the_run_span_is_the_root_and_carries_the_run() {
    let mut s = state(
        RunStatus::Succeeded,
        &[("execute", vec![record(1, AttemptOutcome::Interrupted)])],
    );
    s.finally.insert(
        "notify".into(),
        engine_core::FinallyRecord {
            at_ms: 9_500,
            outcome: engine_core::FinallyOutcome::Succeeded {
                summary: String::new(),
            },
        },
    );
    let f = facts(&s);
    let span = run_span(&f, &s, 0);
    assert_eq!(span.span_context.trace_id(), ids::trace_id(RUN));
    assert_eq!(span.span_context.span_id(), ids::run_span_id(RUN));
    assert_eq!(span.parent_span_id, SpanId::INVALID);
    assert_eq!(span.name, "RUN wf");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.start_time, at(500));
    // The run ends with its last finally stage.
    assert_eq!(span.end_time, at(9_500));
    assert_eq!(text(&span, "cicd.pipeline.name"), "wf");
    assert_eq!(text(&span, "cicd.pipeline.run.id"), RUN);
    assert_eq!(text(&span, "cicd.pipeline.result"), "success");
    assert_eq!(text(&span, "vcs.ref.head.name"), "engine/t-1");
    assert_eq!(text(&span, "vcs.ref.base.name"), "main");
    assert_eq!(span.status, Status::Ok);
    // The title is cut; the task's body is not exported at all.
    let title = text(&span, "engine.task.title");
    assert_eq!(title.chars().count(), MAX_TEXT + 1);
    assert!(title.ends_with('…'));
    assert!(
        !span
            .attributes
            .iter()
            .any(|kv| kv.value.as_str().contains("secret body"))
    );
}

#[test]
fn an_attempt_span_is_a_child_of_the_run_with_its_result_and_spend() {
    let mut r = record(2, failed(FailureKind::Fatal));
    r.spend = Spend {
        cost_usd: 0.25,
        cost_known: true,
        input_tokens: 1200,
        output_tokens: 300,
        ..Spend::NONE
    };
    let s = state(
        RunStatus::Failed {
            stage: "execute".into(),
            message: "boom".into(),
        },
        &[("execute", vec![r.clone()])],
    );
    let f = facts(&s);
    let span = attempt_span(&f, "execute", &r, &["model-a".to_string()]);
    assert_eq!(span.span_context.trace_id(), ids::trace_id(RUN));
    assert_eq!(
        span.span_context.span_id(),
        ids::attempt_span_id(RUN, "execute", 2)
    );
    assert_eq!(span.parent_span_id, ids::run_span_id(RUN));
    assert_eq!(span.name, "execute");
    assert_eq!((span.start_time, span.end_time), (at(1_000), at(4_000)));
    assert_eq!(text(&span, "cicd.pipeline.task.name"), "execute");
    assert_eq!(
        text(&span, "cicd.pipeline.task.run.id"),
        format!("{RUN}/execute/2")
    );
    assert_eq!(text(&span, "cicd.pipeline.task.run.result"), "failure");
    assert_eq!(attr(&span, "engine.attempt"), Some(Value::I64(2)));
    assert_eq!(text(&span, "engine.outcome"), "failed");
    assert_eq!(text(&span, "error.type"), "fatal");
    assert_eq!(text(&span, "engine.model"), "model-a");
    assert_eq!(attr(&span, "engine.tokens.input"), Some(Value::I64(1200)));
    assert_eq!(attr(&span, "engine.cost.usd"), Some(Value::F64(0.25)));
    assert_eq!(
        span.status,
        Status::Error {
            description: "boom".into()
        }
    );
    // Nothing spent, nothing said about spend.
    let gate = attempt_span(
        &f,
        "lint",
        &record(
            1,
            AttemptOutcome::Succeeded {
                summary: String::new(),
            },
        ),
        &[],
    );
    assert_eq!(attr(&gate, "engine.tokens.input"), None);
    assert_eq!(attr(&gate, "engine.model"), None);
}

#[test]
fn a_session_span_is_a_child_of_its_attempt() {
    let mut r = record(
        1,
        AttemptOutcome::Succeeded {
            summary: String::new(),
        },
    );
    r.spend.input_tokens = 10;
    let s = state(RunStatus::Running, &[("execute", vec![r.clone()])]);
    let f = facts(&s);
    let session = SessionFacts {
        number: 1,
        start_ms: 1_500,
        end_ms: 3_000,
        model: Some("model-a".into()),
    };
    let span = session_span(&f, "execute", &r, &session, true);
    assert_eq!(
        span.span_context.span_id(),
        ids::session_span_id(RUN, "execute", 1, 1)
    );
    assert_eq!(span.parent_span_id, ids::attempt_span_id(RUN, "execute", 1));
    assert_eq!(span.name, "invoke_agent");
    assert_eq!(text(&span, "gen_ai.operation.name"), "invoke_agent");
    assert_eq!(text(&span, "gen_ai.response.model"), "model-a");
    assert_eq!(
        attr(&span, "gen_ai.usage.input_tokens"),
        Some(Value::I64(10))
    );
    // One of several sessions: the attempt's spend is not put on it.
    let shared = session_span(&f, "execute", &r, &session, false);
    assert_eq!(attr(&shared, "gen_ai.usage.input_tokens"), None);
}

#[test]
fn text_is_cut_on_a_character_boundary() {
    assert_eq!(cut("short"), "short");
    let long = "é".repeat(MAX_TEXT + 10);
    let cut_text = cut(&long);
    assert_eq!(cut_text.chars().count(), MAX_TEXT + 1);
    assert_eq!(cut(&"a".repeat(MAX_TEXT)), "a".repeat(MAX_TEXT));
}
