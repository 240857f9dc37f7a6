//! `engine show RUN`: one run's stages, attempts, outcomes and durations. Works while a run is
//! in progress (from the live run's mirror, see [`super::readonly`]).

use std::fmt::{self, Write as _};
use std::path::Path;

use clap::Args;
use engine_core::{AttemptOutcome, FailureKind, RunState, StagePhase};
use engine_store::{RunRecord, Store, read_mirror};

use super::readonly::{self, RunSource};
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

pub(super) fn execute(args: &ShowArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let dir = Project::state_dir_for_reading(state_dir)?;
    if !dir.exists() {
        return Err(EngineError::UnknownRun(format!(
            "no run {:?}: {} does not exist",
            args.run,
            dir.display()
        )));
    }
    let (record, events) = match readonly::open(&dir, "engine show")? {
        RunSource::Store(state_dir) => {
            let store = state_dir.store();
            let run_id = store.resolve_id(&args.run)?;
            let record = store
                .load(&run_id)?
                .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
            let events = if args.json {
                store.events(&run_id)?
            } else {
                Vec::new()
            };
            (record, events)
        }
        RunSource::Mirrors(dir) => {
            let run = read_mirror(&dir, &args.run)?;
            (run.record, run.events)
        }
    };
    if args.json {
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
    print!("{}", crate::terminal::safe_lines(&render(&record, &dir)));
    Ok(exit::SUCCESS)
}

fn render(record: &RunRecord, state_dir: &Path) -> String {
    let mut out = String::new();
    // Writing into a `String` cannot fail.
    let _ = write_run(&mut out, record, state_dir);
    out
}

/// Writes the run's header, then a table of its stages and attempts, then its finally stages.
fn write_run(out: &mut String, record: &RunRecord, state_dir: &Path) -> fmt::Result {
    let RunRecord { meta, state } = record;
    let took = run_duration(state)
        .map(|ms| format!(" in {}", human_duration(ms)))
        .unwrap_or_default();
    writeln!(
        out,
        "run       {}  {}{took}",
        meta.run_id,
        status_text(state)
    )?;
    writeln!(
        out,
        "workflow  {} ({})",
        meta.workflow_name,
        meta.workflow_file.display()
    )?;
    writeln!(out, "task      {} [{}]", state.task.title, state.task.id)?;
    writeln!(
        out,
        "branch    {} from {} @ {}",
        meta.branch,
        meta.base_branch,
        short_sha(&meta.base_commit)
    )?;
    if let Some(worktree) = &meta.worktree {
        writeln!(out, "worktree  {}", worktree.display())?;
    }
    writeln!(out, "created   {}", rfc3339(meta.created_at_ms))?;
    let spend = state.spend();
    if !spend.is_zero() || !spend.cost_known {
        writeln!(out, "spent     {}", spend_text(&spend))?;
    }
    out.push('\n');
    writeln!(
        out,
        "{:<16} {:<10} {:>8}  {:>8}  SUMMARY",
        "STAGE", "STATUS", "ATTEMPTS", "TOOK"
    )?;
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
        writeln!(
            out,
            "{:<16} {:<10} {:>8}  {:>8}  {}",
            id,
            phase_name(&st.phase),
            st.attempts,
            if st.history.is_empty() {
                String::new()
            } else {
                human_duration(took)
            },
            first_line(&summary)
        )?;
        for r in &st.history {
            let took = r.ended_at_ms.map_or_else(
                || "…".into(),
                |e| human_duration(e.saturating_sub(r.started_at_ms)),
            );
            writeln!(
                out,
                "  attempt {:<3} {:<28} {:>8}  log: {}",
                r.attempt,
                outcome_text(&r.outcome),
                took,
                attempt_log_path(state_dir, &meta.run_id, id, r.attempt).display()
            )?;
            if !r.spend.is_zero() || !r.spend.cost_known {
                writeln!(out, "              spent {}", spend_text(&r.spend))?;
            }
            for transcript in transcripts(state_dir, &meta.run_id, id, r.attempt) {
                writeln!(out, "              transcript: {}", transcript.display())?;
            }
        }
        if let StagePhase::AwaitingApproval { deadline_ms, .. } = st.phase {
            let until = deadline_ms
                .map(|d| format!(" (until {})", rfc3339(d)))
                .unwrap_or_default();
            writeln!(
                out,
                "  waiting for approval{until}: engine approve {run} --stage {id}  |  \
                 engine reject {run} --stage {id} --reason \"...\"",
                run = meta.run_id
            )?;
        }
    }
    for (id, record) in &state.finally {
        let what = match &record.outcome {
            engine_core::FinallyOutcome::Succeeded { summary } => {
                format!("succeeded  {}", first_line(summary))
            }
            engine_core::FinallyOutcome::Failed { message } => {
                format!("failed     {}", first_line(message))
            }
            engine_core::FinallyOutcome::Skipped { reason } => format!("skipped    {reason}"),
        };
        writeln!(out, "finally {id:<8} {what}")?;
    }
    Ok(())
}

/// `$0.42 (12.3k in / 4.5k out tokens)`, marking costs that could not be known and costs
/// estimated from tokens (`~$0.42 estimated`), and showing cache tokens when there are any.
pub(super) fn spend_text(spend: &engine_core::Spend) -> String {
    let known = if spend.cost_known { "" } else { " + unknown" };
    let (approx, estimated) = if spend.cost_estimated {
        ("~", " estimated from tokens")
    } else {
        ("", "")
    };
    let cache = if spend.cache_read_tokens + spend.cache_write_tokens > 0 {
        format!(
            " / {} cache read / {} cache write",
            tokens(spend.cache_read_tokens),
            tokens(spend.cache_write_tokens)
        )
    } else {
        String::new()
    };
    format!(
        "{approx}${:.2}{known}{estimated} ({} in / {} out{cache} tokens)",
        spend.cost_usd,
        tokens(spend.input_tokens),
        tokens(spend.output_tokens)
    )
}

fn tokens(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// The raw agent transcripts of one attempt (`<state>/runs/<run>/transcripts/<stage>.<attempt>.<n>.jsonl`).
fn transcripts(
    state_dir: &Path,
    run_id: &str,
    stage: &str,
    attempt: u32,
) -> Vec<std::path::PathBuf> {
    let dir = state_dir.join("runs").join(run_id).join("transcripts");
    let prefix = format!("{stage}.{attempt}.");
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|extension| extension == "jsonl")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    found.sort();
    found
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
        engine_core::RunStatus::NeedsAttention { stage, reason } => {
            format!("needs attention ({stage}): {}", first_line(reason))
        }
        other => other.name().to_string(),
    }
}

fn phase_name(phase: &StagePhase) -> &'static str {
    match phase {
        StagePhase::Pending => "pending",
        StagePhase::Running { .. } => "running",
        StagePhase::RetryWaiting { .. } => "retrying",
        StagePhase::AwaitingApproval { .. } => "waiting",
        StagePhase::Succeeded => "succeeded",
        StagePhase::Skipped => "skipped",
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
                FailureKind::NeedsAttention => "needs attention",
            }
        ),
        AttemptOutcome::Interrupted => "interrupted".into(),
        AttemptOutcome::Cancelled => "cancelled".into(),
        AttemptOutcome::Skipped { .. } => "skipped".into(),
    }
}
