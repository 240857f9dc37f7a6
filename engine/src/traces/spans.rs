//! What each span says: pure functions from the stored state of a run to the spans exported
//! for it. Names follow the OpenTelemetry semantic conventions for CI/CD (`cicd.pipeline.*`,
//! `vcs.ref.*`) and, for agent sessions, for generative AI (`gen_ai.*`); what they do not
//! cover is under `engine.*`.
//!
//! Everything here comes from the stored state, which is already redacted: no span carries a
//! value from the process environment. Text a person or an agent wrote (the task title, a
//! failure message) is cut to [`MAX_TEXT`] characters.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use engine_core::{AttemptOutcome, AttemptRecord, FailureKind, RunState, RunStatus, Spend};
use engine_store::RunMeta;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};

use super::ids;

/// The longest text (task title, failure message) put on a span, in characters.
pub const MAX_TEXT: usize = 200;

/// The run's fixed facts every span of it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFacts {
    /// The run id (`cicd.pipeline.run.id`).
    pub run_id: String,
    /// The workflow's name (`cicd.pipeline.name`).
    pub workflow: String,
    /// The run's branch (`vcs.ref.head.name`).
    pub branch: String,
    /// The branch it started from (`vcs.ref.base.name`).
    pub base_branch: String,
    /// The commit it started from (`vcs.ref.base.revision`).
    pub base_commit: String,
    /// The task's id.
    pub task_id: String,
    /// The task's title, cut to [`MAX_TEXT`].
    pub task_title: String,
}

impl RunFacts {
    /// The facts of the run `meta` and `state` describe.
    pub fn of(meta: &RunMeta, state: &RunState) -> RunFacts {
        RunFacts {
            run_id: meta.run_id.clone(),
            workflow: meta.workflow_name.clone(),
            branch: meta.branch.clone(),
            base_branch: meta.base_branch.clone(),
            base_commit: meta.base_commit.clone(),
            task_id: state.task.id.clone(),
            task_title: cut(&state.task.title),
        }
    }
}

/// One agent session of an attempt, as its transcript tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionFacts {
    /// The session's number within the attempt (1, 2...).
    pub number: u32,
    /// When it started (ms since the epoch).
    pub start_ms: u64,
    /// When it ended (ms since the epoch).
    pub end_ms: u64,
    /// The model the CLI named, if it named one.
    pub model: Option<String>,
}

/// `cicd.pipeline.task.run.result` of an attempt; `None` while it runs.
pub fn attempt_result(outcome: &AttemptOutcome) -> Option<&'static str> {
    Some(match outcome {
        AttemptOutcome::Running => return None,
        AttemptOutcome::Succeeded { .. } => "success",
        AttemptOutcome::Failed { failure } if failure.kind == FailureKind::TimedOut => "timeout",
        AttemptOutcome::Failed { .. } => "failure",
        // The engine stopped under it (kill, crash): an error of the system, not of the task.
        AttemptOutcome::Interrupted => "error",
        AttemptOutcome::Cancelled => "cancellation",
        AttemptOutcome::Skipped { .. } => "skip",
    })
}

/// `cicd.pipeline.result` of a run; `None` while it goes on.
pub fn run_result(state: &RunState) -> Option<&'static str> {
    Some(match &state.status {
        RunStatus::Pending | RunStatus::Running => return None,
        RunStatus::Succeeded => "success",
        RunStatus::Cancelled { .. } => "cancellation",
        RunStatus::Failed { stage, .. } => {
            let timed_out = state
                .stages
                .get(stage)
                .and_then(|s| s.last_failure.as_ref())
                .is_some_and(|f| f.kind == FailureKind::TimedOut);
            if timed_out { "timeout" } else { "failure" }
        }
        RunStatus::NeedsAttention { .. } => "failure",
    })
}

fn outcome_name(outcome: &AttemptOutcome) -> &'static str {
    match outcome {
        AttemptOutcome::Running => "running",
        AttemptOutcome::Succeeded { .. } => "succeeded",
        AttemptOutcome::Failed { .. } => "failed",
        AttemptOutcome::Interrupted => "interrupted",
        AttemptOutcome::Cancelled => "cancelled",
        AttemptOutcome::Skipped { .. } => "skipped",
    }
}

fn kind_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Retryable => "retryable",
        FailureKind::Fatal => "fatal",
        FailureKind::TimedOut => "timed_out",
        FailureKind::NeedsAttention => "needs_attention",
    }
}

/// The span of the run: from its start to its end (or the end of its last `finally:` stage).
pub fn run_span(facts: &RunFacts, state: &RunState, created_at_ms: u64) -> SpanData {
    let result = run_result(state).unwrap_or("error");
    let start = state.started_at_ms.unwrap_or(created_at_ms);
    let end = state
        .finally
        .values()
        .map(|f| f.at_ms)
        .chain(state.finished_at_ms)
        .max()
        .unwrap_or(start);
    let mut attributes = common(facts);
    attributes.extend([
        KeyValue::new("cicd.pipeline.action.name", "RUN"),
        KeyValue::new("cicd.pipeline.result", result),
        KeyValue::new("vcs.ref.head.type", "branch"),
        KeyValue::new("vcs.ref.base.name", facts.base_branch.clone()),
        KeyValue::new("vcs.ref.base.type", "branch"),
        KeyValue::new("vcs.ref.base.revision", facts.base_commit.clone()),
        KeyValue::new("engine.task.id", cut(&facts.task_id)),
        KeyValue::new("engine.task.title", facts.task_title.clone()),
        KeyValue::new("engine.run.status", state.status.name()),
    ]);
    if let Some(head) = state.commits().last() {
        attributes.push(KeyValue::new("vcs.ref.head.revision", head.clone()));
    }
    spend_attributes(&mut attributes, &state.spend());
    let status = match &state.status {
        RunStatus::Succeeded => Status::Ok,
        RunStatus::Failed { stage, message } => {
            attributes.push(KeyValue::new("error.type", "failed"));
            error(&format!("stage {stage} failed: {message}"))
        }
        RunStatus::NeedsAttention { stage, reason } => {
            attributes.push(KeyValue::new("error.type", "needs_attention"));
            error(&format!("stage {stage} needs attention: {reason}"))
        }
        _ => Status::Unset,
    };
    span(
        facts,
        ids::run_span_id(&facts.run_id),
        SpanId::INVALID,
        format!("RUN {}", facts.workflow),
        SpanKind::Server,
        (start, end),
        attributes,
        status,
    )
}

/// The run's attributes and the stage attempt's task name and id (an attempt's span and its
/// agent sessions' spans carry them alike).
fn task_attributes(facts: &RunFacts, stage: &str, record: &AttemptRecord) -> Vec<KeyValue> {
    let mut attributes = common(facts);
    attributes.extend([
        KeyValue::new("cicd.pipeline.task.name", stage.to_string()),
        KeyValue::new(
            "cicd.pipeline.task.run.id",
            task_run_id(facts, stage, record),
        ),
    ]);
    attributes
}

/// The span of one ended attempt of `stage`, a child of the run's; `models` are those its
/// agent sessions named.
pub fn attempt_span(
    facts: &RunFacts,
    stage: &str,
    record: &AttemptRecord,
    models: &[String],
) -> SpanData {
    let mut attributes = task_attributes(facts, stage, record);
    attributes.extend([
        KeyValue::new("engine.attempt", i64::from(record.attempt)),
        KeyValue::new("engine.outcome", outcome_name(&record.outcome)),
    ]);
    if let Some(result) = attempt_result(&record.outcome) {
        attributes.push(KeyValue::new("cicd.pipeline.task.run.result", result));
    }
    if !models.is_empty() {
        attributes.push(KeyValue::new("engine.model", cut(&models.join("+"))));
    }
    if !record.commits.is_empty() {
        attributes.push(KeyValue::new(
            "engine.commits",
            i64::try_from(record.commits.len()).unwrap_or(i64::MAX),
        ));
    }
    spend_attributes(&mut attributes, &record.spend);
    let status = match &record.outcome {
        AttemptOutcome::Succeeded { .. } => Status::Ok,
        AttemptOutcome::Failed { failure } => {
            attributes.push(KeyValue::new(
                "engine.failure.kind",
                kind_name(failure.kind),
            ));
            attributes.push(KeyValue::new("error.type", kind_name(failure.kind)));
            error(&failure.message)
        }
        AttemptOutcome::Interrupted => {
            attributes.push(KeyValue::new("error.type", "interrupted"));
            error("the engine stopped while the attempt ran")
        }
        _ => Status::Unset,
    };
    let end = record.ended_at_ms.unwrap_or(record.started_at_ms);
    span(
        facts,
        ids::attempt_span_id(&facts.run_id, stage, record.attempt),
        ids::run_span_id(&facts.run_id),
        stage.to_string(),
        SpanKind::Internal,
        (record.started_at_ms, end),
        attributes,
        status,
    )
}

/// The span of one agent session of an attempt, a child of the attempt's. What the attempt
/// spent is put on it when it is the attempt's only session (spend is recorded per attempt).
pub fn session_span(
    facts: &RunFacts,
    stage: &str,
    record: &AttemptRecord,
    session: &SessionFacts,
    only: bool,
) -> SpanData {
    let mut attributes = task_attributes(facts, stage, record);
    attributes.extend([
        KeyValue::new("gen_ai.operation.name", "invoke_agent"),
        KeyValue::new("engine.attempt", i64::from(record.attempt)),
        KeyValue::new("engine.session", i64::from(session.number)),
    ]);
    if let Some(model) = &session.model {
        attributes.push(KeyValue::new("gen_ai.response.model", cut(model)));
        attributes.push(KeyValue::new("engine.model", cut(model)));
    }
    if only {
        let spend = &record.spend;
        attributes.push(KeyValue::new(
            "gen_ai.usage.input_tokens",
            tokens(spend.input_tokens),
        ));
        attributes.push(KeyValue::new(
            "gen_ai.usage.output_tokens",
            tokens(spend.output_tokens),
        ));
        spend_attributes(&mut attributes, spend);
    }
    span(
        facts,
        ids::session_span_id(&facts.run_id, stage, record.attempt, session.number),
        ids::attempt_span_id(&facts.run_id, stage, record.attempt),
        "invoke_agent".to_string(),
        SpanKind::Internal,
        (session.start_ms, session.end_ms),
        attributes,
        Status::Unset,
    )
}

/// The attempt's idempotency key, `run/stage/attempt`.
fn task_run_id(facts: &RunFacts, stage: &str, record: &AttemptRecord) -> String {
    format!("{}/{stage}/{}", facts.run_id, record.attempt)
}

fn common(facts: &RunFacts) -> Vec<KeyValue> {
    vec![
        KeyValue::new("cicd.pipeline.name", facts.workflow.clone()),
        KeyValue::new("cicd.pipeline.run.id", facts.run_id.clone()),
        KeyValue::new("vcs.ref.head.name", facts.branch.clone()),
    ]
}

/// Tokens and money, when something was spent.
fn spend_attributes(attributes: &mut Vec<KeyValue>, spend: &Spend) {
    let tokens_spent = spend.input_tokens
        + spend.output_tokens
        + spend.cache_read_tokens
        + spend.cache_write_tokens;
    if tokens_spent == 0 && spend.cost_usd == 0.0 && spend.cost_known {
        return;
    }
    attributes.extend([
        KeyValue::new("engine.tokens.input", tokens(spend.input_tokens)),
        KeyValue::new("engine.tokens.output", tokens(spend.output_tokens)),
        KeyValue::new("engine.tokens.cache_read", tokens(spend.cache_read_tokens)),
        KeyValue::new(
            "engine.tokens.cache_write",
            tokens(spend.cache_write_tokens),
        ),
        KeyValue::new("engine.cost.usd", spend.cost_usd),
        KeyValue::new("engine.cost.known", spend.cost_known),
        KeyValue::new("engine.cost.estimated", spend.cost_estimated),
    ]);
}

fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn error(message: &str) -> Status {
    Status::Error {
        description: Cow::Owned(cut(message)),
    }
}

/// `text` cut to [`MAX_TEXT`] characters (an ellipsis marks the cut).
pub fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

fn at(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one place that fills a span's fields"
)]
fn span(
    facts: &RunFacts,
    id: SpanId,
    parent: SpanId,
    name: String,
    kind: SpanKind,
    (start_ms, end_ms): (u64, u64),
    attributes: Vec<KeyValue>,
    status: Status,
) -> SpanData {
    SpanData {
        span_context: SpanContext::new(
            ids::trace_id(&facts.run_id),
            id,
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        ),
        parent_span_id: parent,
        parent_span_is_remote: false,
        span_kind: kind,
        name: Cow::Owned(name),
        start_time: at(start_ms),
        end_time: at(end_ms.max(start_ms)),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope(),
    }
}

/// The instrumentation scope of every span: `engine` and its version.
pub fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("engine")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

#[cfg(test)]
#[path = "spans_tests.rs"]
mod tests;
