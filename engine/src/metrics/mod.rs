//! `GET /metrics`: the stored runs as Prometheus metrics, in the `OpenMetrics` text format.
//!
//! [`render`] is pure: it reads only what its [`Scrape`] hands it. Every scrape builds a fresh
//! [`prometheus_client`] registry from the stored state, so the numbers are the same whichever
//! engine process answers and right after a restart: counters count what the store holds (runs
//! are never deleted from it, so they only go up).
//!
//! Labels are bounded: status and outcome names, workflow names, stage ids and model names,
//! never a run id, a task or any free text (titles, summaries, failure messages, reasons). The
//! values that come from workflows and transcripts are escaped by the encoder (`\`, `"`, line
//! feed); other control characters are replaced and long values cut (see [`label`]).
//!
//! What each metric means is documented in `docs/http-api.md` (`## Metrics`).

mod encode;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use engine_core::{AttemptOutcome, RunState, Spend, StagePhase};
use engine_store::RunRecord;
use engine_workflow::LoadedWorkflow;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::history::costs::{Spending, spending_attempts};
use crate::history::{Drivers, STATUS_NAMES, shown_status_of};

/// The `Content-Type` of what [`render`] returns (`OpenMetrics` text, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the buckets of stage attempt durations: a second to two hours.
const ATTEMPT_BUCKETS: [f64; 12] = [
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0,
];

/// Upper bounds (seconds) of the buckets of run durations: ten seconds to a day.
const RUN_BUCKETS: [f64; 12] = [
    10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0, 86400.0,
];

/// The longest label value kept, in characters; longer ones are cut and end with `…`.
const MAX_LABEL_CHARS: usize = 128;

/// What one scrape is made from: the stored runs and the few facts around them that the caller
/// knows (who drives what, models, the task source, the budget).
pub struct Scrape<'a> {
    /// Every stored run (meta and state).
    pub records: &'a [RunRecord],
    /// Which runs an engine process drives now (a run stored as running that nobody drives is
    /// `interrupted`, see [`crate::history::shown_status`]).
    pub drivers: &'a Drivers,
    /// The model of an attempt's agent sessions, by (run id, stage, attempt):
    /// e.g. [`crate::history::costs::attempt_model`]; `unknown` when none is known.
    pub models: &'a dyn Fn(&str, &str, u32) -> String,
    /// Ready tasks of the task source that no run works on yet; `None` when there is no task
    /// source (then `engine_queue_ready_tasks` is absent).
    pub queue_depth: Option<u64>,
    /// The workflow's `budget.day_usd`.
    pub day_budget_usd: Option<f64>,
    /// Known USD spent today (the UTC day, as `budget.day_usd` counts it).
    pub day_spent_usd: f64,
    /// The workflow's `budget.run_usd`.
    pub run_budget_usd: Option<f64>,
}

/// The `OpenMetrics` text exposition of `scrape` (ends with `# EOF`).
pub fn render(scrape: &Scrape) -> String {
    let mut registry = Registry::with_prefix("engine");
    registry.register_collector(Box::new(Numbers::gather(scrape)));
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
        // Writing to a String does not fail; should it, an empty exposition is still valid.
        out = "# EOF\n".into();
    }
    out
}

/// A label value from user-controlled text (a workflow name, a stage id, a model): control
/// characters other than the line feed (which the encoder escapes, with `\` and `"`) become
/// `�`, and a value over [`MAX_LABEL_CHARS`] characters is cut and ends with `…`.
pub fn label(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(MAX_LABEL_CHARS)
        .map(|c| {
            if c.is_control() && c != '\n' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    if value.chars().nth(MAX_LABEL_CHARS).is_some() {
        out.pop();
        out.push('…');
    }
    out
}

/// What the agent sessions of one model spent.
#[derive(Debug, Clone, Copy)]
struct ModelSums {
    /// Attempts with spend.
    attempts: u64,
    /// Of those, attempts some of whose cost could not be known.
    unknown_cost: u64,
    /// Their spend, summed.
    spend: Spend,
}

/// The numbers of one scrape, computed from the stored runs.
#[derive(Debug)]
struct Numbers {
    /// Runs by shown status (every status, zeros included).
    runs: BTreeMap<&'static str, u64>,
    /// Runs by (workflow, shown status), only the pairs that have runs.
    workflow_runs: BTreeMap<(String, &'static str), u64>,
    /// Durations of finished runs by (workflow, status).
    run_durations: BTreeMap<(String, &'static str), Histogram>,
    /// Durations of finished attempts by (stage, outcome).
    attempt_durations: BTreeMap<(String, &'static str), Histogram>,
    /// Spend by model.
    models: BTreeMap<String, ModelSums>,
    /// Attempts running now of stages granted `agent`, in runs a process drives.
    sessions_active: u64,
    /// Approval stages waiting for a human, in runs that have not ended.
    approvals_waiting: u64,
    queue_ready: Option<u64>,
    day_limit: Option<f64>,
    day_spent: f64,
    run_limit: Option<f64>,
}

impl Numbers {
    fn gather(scrape: &Scrape) -> Self {
        let mut numbers = Numbers {
            runs: STATUS_NAMES.iter().map(|s| (*s, 0)).collect(),
            workflow_runs: BTreeMap::new(),
            run_durations: BTreeMap::new(),
            attempt_durations: BTreeMap::new(),
            models: BTreeMap::new(),
            sessions_active: 0,
            approvals_waiting: 0,
            queue_ready: scrape.queue_depth,
            day_limit: scrape.day_budget_usd,
            day_spent: scrape.day_spent_usd,
            run_limit: scrape.run_budget_usd,
        };
        let mut workflows = WorkflowCache::default();
        for record in scrape.records {
            numbers.add_run(record, scrape.drivers, &mut workflows);
        }
        for Spending {
            record,
            stage,
            attempt,
        } in spending_attempts(scrape.records)
        {
            let model = label(&(scrape.models)(
                &record.meta.run_id,
                stage,
                attempt.attempt,
            ));
            let sums = numbers.models.entry(model).or_insert(ModelSums {
                attempts: 0,
                unknown_cost: 0,
                spend: Spend::NONE,
            });
            sums.attempts += 1;
            if !attempt.spend.cost_known {
                sums.unknown_cost += 1;
            }
            sums.spend = sums.spend + attempt.spend;
        }
        numbers
    }

    fn add_run<'r>(
        &mut self,
        record: &'r RunRecord,
        drivers: &Drivers,
        workflows: &mut WorkflowCache<'r>,
    ) {
        let state = &record.state;
        let status = shown_status_of(state, drivers);
        *self.runs.entry(status).or_insert(0) += 1;
        let workflow = label(&record.meta.workflow_name);
        *self
            .workflow_runs
            .entry((workflow.clone(), status))
            .or_insert(0) += 1;
        if state.status.is_terminal()
            && let (Some(start), Some(end)) = (state.started_at_ms, state.finished_at_ms)
        {
            self.run_durations
                .entry((workflow, state.status.name()))
                .or_insert_with(|| Histogram::new(RUN_BUCKETS))
                .observe(seconds(start, end));
        }
        for (stage, st) in &state.stages {
            for attempt in &st.history {
                let (Some(end), Some(outcome)) =
                    (attempt.ended_at_ms, outcome_name(&attempt.outcome))
                else {
                    continue;
                };
                self.attempt_durations
                    .entry((label(stage), outcome))
                    .or_insert_with(|| Histogram::new(ATTEMPT_BUCKETS))
                    .observe(seconds(attempt.started_at_ms, end));
            }
        }
        if !state.status.is_terminal() {
            self.approvals_waiting += state.awaiting_approval().len() as u64;
            if drivers.drives(&state.run_id) {
                self.sessions_active += agent_attempts_running(record, workflows);
            }
        }
    }
}

/// The name of a finished attempt's outcome; `None` for one still running or skipped (it did
/// not run).
fn outcome_name(outcome: &AttemptOutcome) -> Option<&'static str> {
    match outcome {
        AttemptOutcome::Succeeded { .. } => Some("succeeded"),
        AttemptOutcome::Failed { .. } => Some("failed"),
        AttemptOutcome::Interrupted => Some("interrupted"),
        AttemptOutcome::Cancelled => Some("cancelled"),
        AttemptOutcome::Running | AttemptOutcome::Skipped { .. } => None,
    }
}

/// Seconds from `start_ms` to `end_ms` (0 when the clock went back).
fn seconds(start_ms: u64, end_ms: u64) -> f64 {
    end_ms.saturating_sub(start_ms) as f64 / 1000.0
}

/// The workflows of the runs, loaded from each run's stored source at most once per scrape
/// (`None`: the source no longer loads).
#[derive(Default)]
struct WorkflowCache<'r> {
    loaded: HashMap<&'r str, Option<LoadedWorkflow>>,
}

/// How many stages of run `record` have an attempt running now and are granted `agent` by the
/// run's workflow (as stored when the run was created). A run whose workflow no longer loads
/// counts none.
fn agent_attempts_running<'r>(record: &'r RunRecord, workflows: &mut WorkflowCache<'r>) -> u64 {
    let running: Vec<&str> = running_stages(&record.state).collect();
    if running.is_empty() {
        return 0;
    }
    let meta = &record.meta;
    let loaded = workflows
        .loaded
        .entry(meta.workflow_source.as_str())
        .or_insert_with(|| {
            let base = meta
                .workflow_file
                .parent()
                .unwrap_or(&meta.repo_root)
                .to_path_buf();
            engine_workflow::load_str(
                &meta.workflow_file.display().to_string(),
                &base,
                &meta.workflow_source,
            )
            .ok()
        });
    let Some(loaded) = loaded else { return 0 };
    running
        .into_iter()
        .filter(|stage| loaded.spec(stage).is_some_and(|s| s.permissions.agent))
        .count() as u64
}

/// The stages of `state` with an attempt running.
fn running_stages(state: &RunState) -> impl Iterator<Item = &str> {
    state
        .stages
        .iter()
        .filter(|(_, st)| matches!(st.phase, StagePhase::Running { .. }))
        .map(|(id, _)| id.as_str())
}
