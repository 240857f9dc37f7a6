//! One run as the API gives it: its row in the runs list, and its whole document (meta, state,
//! stages in pipeline order with their attempts).

use std::path::Path;

use engine_core::{RunState, StagePhase};
use engine_store::RunRecord;
use serde_json::{Value, json};

use crate::history::order::{OrderedState, StageOrder};
use crate::history::{Drivers, Listed, shown_status_of};
use crate::time::rfc3339;

/// A run's row, as `engine runs --json` prints it.
pub fn run_row(listed: &Listed) -> Value {
    let r = &listed.record;
    json!({
        "run_id": r.meta.run_id,
        "status": listed.status,
        "workflow": r.meta.workflow_name,
        "task": r.state.task.title,
        "task_id": r.state.task.id,
        "branch": r.meta.branch,
        "created_at": rfc3339(r.meta.created_at_ms),
        "duration_ms": duration_ms(&r.state),
        "spend": r.state.spend(),
    })
}

/// How long a run that ended took.
pub fn duration_ms(state: &RunState) -> Option<u64> {
    Some(state.finished_at_ms?.saturating_sub(state.started_at_ms?))
}

/// `GET /api/runs/{id}`: `{status, meta, state, stages}` (see docs/http-api.md).
pub fn run_document(record: &RunRecord, drivers: &Drivers, state_dir: &Path) -> Value {
    let order = StageOrder::of_run(&record.meta, &record.state);
    let state = serde_json::to_value(OrderedState {
        state: &record.state,
        order: &order,
    })
    .unwrap_or(Value::Null);
    let logs = crate::logs::read::logs_dir(state_dir, &record.meta.run_id);
    let stages: Vec<Value> = order
        .stages(&record.state)
        .into_iter()
        .map(|(id, stage)| {
            let attempts: Vec<Value> = stage
                .history
                .iter()
                .map(|a| {
                    let transcripts = crate::history::costs::transcripts(
                        state_dir,
                        &record.meta.run_id,
                        id,
                        a.attempt,
                    )
                    .len();
                    json!({
                        "attempt": a.attempt,
                        "outcome": a.outcome,
                        "started_at_ms": a.started_at_ms,
                        "ended_at_ms": a.ended_at_ms,
                        "spend": a.spend,
                        "log": logs.join(format!("{id}.{}.log", a.attempt)).is_file(),
                        "transcripts": transcripts,
                    })
                })
                .collect();
            json!({
                "id": id,
                "phase": phase_name(&stage.phase),
                "awaiting_approval": matches!(stage.phase, StagePhase::AwaitingApproval { .. }),
                "summary": stage.summary,
                "attempts": attempts,
            })
        })
        .collect();
    json!({
        "status": shown_status_of(&record.state, drivers),
        "meta": record.meta,
        "state": state,
        "stages": stages,
    })
}

/// The phase's name (`pending`, `running`, `retry_waiting`, `awaiting_approval`...), as the
/// state's own `phase` tag says it.
fn phase_name(phase: &StagePhase) -> String {
    serde_json::to_value(phase)
        .ok()
        .and_then(|v| v.get("phase").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}
