//! `engine show RUN`: one run's stages, attempts, outcomes and durations.

use std::path::Path;

use clap::Args;
use engine_core::{AttemptOutcome, FailureKind, RunState, StagePhase};
use engine_store::{RunRecord, StateDir, Store};

use crate::driver::attempt_log_path;
use crate::project::Project;
use crate::report::short_sha;
use crate::time::{human_duration, rfc3339};
use crate::{EngineError, exit};

/// Arguments of `engine show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run id (a unique prefix is enough).
    pub run: String,
    /// Print JSON (`{meta, state, events}`) instead of text.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn execute(args: ShowArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let dir = Project::state_dir_for_reading(state_dir)?;
    if !dir.exists() {
        return Err(EngineError::UnknownRun(format!(
            "no run {:?}: {} does not exist",
            args.run,
            dir.display()
        )));
    }
    let state_dir = StateDir::open_locked(&dir, "engine show")?;
    let store = state_dir.store();
    let run_id = store.resolve_id(&args.run)?;
    let record = store
        .load(&run_id)?
        .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
    if args.json {
        let events = store.events(&run_id)?;
        let events: Vec<_> = events
            .into_iter()
            .map(|(seq, event)| serde_json::json!({"seq": seq, "event": event}))
            .collect();
        super::print_json(&serde_json::json!({
            "meta": record.meta,
            "state": record.state,
            "events": events,
        }))?;
        return Ok(exit::SUCCESS);
    }
    print!("{}", render(&record, &dir));
    Ok(exit::SUCCESS)
}

fn render(record: &RunRecord, state_dir: &Path) -> String {
    let RunRecord { meta, state } = record;
    let mut out = String::new();
    let took = run_duration(state)
        .map(|ms| format!(" in {}", human_duration(ms)))
        .unwrap_or_default();
    out += &format!("run       {}  {}{took}\n", meta.run_id, status_text(state));
    out += &format!(
        "workflow  {} ({})\n",
        meta.workflow_name,
        meta.workflow_file.display()
    );
    out += &format!("task      {} [{}]\n", state.task.title, state.task.id);
    out += &format!(
        "branch    {} from {} @ {}\n",
        meta.branch,
        meta.base_branch,
        short_sha(&meta.base_commit)
    );
    if let Some(worktree) = &meta.worktree {
        out += &format!("worktree  {}\n", worktree.display());
    }
    out += &format!("created   {}\n\n", rfc3339(meta.created_at_ms));
    out += &format!(
        "{:<16} {:<10} {:>8}  {:>8}  SUMMARY\n",
        "STAGE", "STATUS", "ATTEMPTS", "TOOK"
    );
    for (id, st) in &state.stages {
        let took: u64 = st
            .history
            .iter()
            .filter_map(|r| Some(r.ended_at_ms?.saturating_sub(r.started_at_ms)))
            .sum();
        let summary = st
            .summary
            .clone()
            .or_else(|| st.last_failure.as_ref().map(|f| f.message.clone()))
            .unwrap_or_default();
        out += &format!(
            "{:<16} {:<10} {:>8}  {:>8}  {}\n",
            id,
            phase_name(&st.phase),
            st.attempts,
            if st.history.is_empty() {
                String::new()
            } else {
                human_duration(took)
            },
            first_line(&summary)
        );
        for r in &st.history {
            let took = r
                .ended_at_ms
                .map(|e| human_duration(e.saturating_sub(r.started_at_ms)))
                .unwrap_or_else(|| "…".into());
            out += &format!(
                "  attempt {:<3} {:<28} {:>8}  log: {}\n",
                r.attempt,
                outcome_text(&r.outcome),
                took,
                attempt_log_path(state_dir, &meta.run_id, id, r.attempt).display()
            );
        }
    }
    out
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn run_duration(state: &RunState) -> Option<u64> {
    Some(state.finished_at_ms?.saturating_sub(state.started_at_ms?))
}

fn status_text(state: &RunState) -> String {
    match &state.status {
        engine_core::RunStatus::Failed { stage, message } => {
            format!("failed at {stage}: {}", first_line(message))
        }
        engine_core::RunStatus::Cancelled { reason } => format!("cancelled: {reason}"),
        other => other.name().to_string(),
    }
}

fn phase_name(phase: &StagePhase) -> &'static str {
    match phase {
        StagePhase::Pending => "pending",
        StagePhase::Running { .. } => "running",
        StagePhase::RetryWaiting { .. } => "retrying",
        StagePhase::Succeeded => "succeeded",
        StagePhase::Failed => "failed",
        StagePhase::Cancelled => "cancelled",
    }
}

fn outcome_text(outcome: &AttemptOutcome) -> String {
    match outcome {
        AttemptOutcome::Running => "running".into(),
        AttemptOutcome::Succeeded { .. } => "succeeded".into(),
        AttemptOutcome::Failed { failure } => format!(
            "failed ({})",
            match failure.kind {
                FailureKind::Retryable => "retryable",
                FailureKind::Fatal => "fatal",
                FailureKind::TimedOut => "timed out",
            }
        ),
        AttemptOutcome::Interrupted => "interrupted".into(),
        AttemptOutcome::Cancelled => "cancelled".into(),
    }
}
