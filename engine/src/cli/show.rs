//! `engine show [RUN]`: one run's stages (in pipeline order), attempts, outcomes and
//! durations; the latest run without RUN. Works while a run is in progress (from the live
//! run's mirror, see [`super::readonly`]).

use std::fmt::{self, Write as _};
use std::path::Path;

use clap::Args;
use engine_core::{AttemptOutcome, FailureKind, RunState, StagePhase};
use engine_store::{RunRecord, Store, read_mirror, read_mirrors};

use super::readonly::{self, RunSource};
use crate::driver::attempt_log_path;
use crate::history::costs::{tokens_cell as tokens, transcripts};
use crate::history::order::{ShowDocument, StageOrder};
use crate::history::{Drivers, shown_status_of};
use crate::project::Project;
use crate::report::short_sha;
use crate::time::{human_duration, rfc3339};
use crate::{EngineError, exit};

/// Arguments of `engine show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run id (a unique prefix is enough); the latest run when omitted.
    pub run: Option<String>,
    /// Print JSON (`{meta, state, events}`) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What `engine show` without RUN says when there is no run at all (exit 2).
fn no_runs(dir: &Path) -> EngineError {
    EngineError::UnknownRun(format!(
        "no runs yet in {}: nothing to show (start one with `engine run`)",
        dir.display()
    ))
}

pub(super) fn execute(args: &ShowArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let dir = Project::state_dir_for_reading(state_dir)?;
    if !dir.exists() {
        return Err(match &args.run {
            Some(run) => {
                EngineError::UnknownRun(format!("no run {run:?}: {} does not exist", dir.display()))
            }
            None => no_runs(&dir),
        });
    }
    let (record, events, drivers) = match readonly::open(&dir, "engine show")? {
        RunSource::Store(state_dir) => {
            let store = state_dir.store();
            let run_id = crate::history::named_or_latest(store, args.run.as_deref())?
                .ok_or_else(|| no_runs(&dir))?;
            let record = store
                .load(&run_id)?
                .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")))?;
            let events = if args.json {
                store.events(&run_id)?
            } else {
                Vec::new()
            };
            (record, events, Drivers::Nobody)
        }
        RunSource::Mirrors(dir) => {
            let run_id = match &args.run {
                Some(run) => run.clone(),
                None => read_mirrors(&dir)?
                    .runs
                    .into_iter()
                    .next()
                    .map(|r| r.meta.run_id)
                    .ok_or_else(|| no_runs(&dir))?,
            };
            let run = read_mirror(&dir, &run_id)?;
            (run.record, run.events, readonly::drivers(&dir))
        }
    };
    let order = StageOrder::of_run(&record.meta, &record.state);
    if args.json {
        super::print_json(&ShowDocument::new(&record, &order, events))?;
        return Ok(exit::SUCCESS);
    }
    let view = View {
        record: &record,
        state_dir: &dir,
        order: &order,
        drivers,
        now_ms: crate::time::now_ms(),
    };
    super::streams::print(&crate::terminal::safe_lines(&render(&view)));
    Ok(exit::SUCCESS)
}

/// A run and what its text needs to know.
struct View<'a> {
    record: &'a RunRecord,
    state_dir: &'a Path,
    order: &'a StageOrder,
    /// Another engine process holds the state directory (it may be driving the run).
    /// Which runs an engine process drives now.
    drivers: Drivers,
    now_ms: u64,
}

fn render(view: &View<'_>) -> String {
    let mut out = String::new();
    // Writing into a `String` cannot fail.
    let _ = write_run(&mut out, view);
    out
}

/// Writes the run's header, then a table of its stages and attempts, then its finally stages.
fn write_run(out: &mut String, view: &View<'_>) -> fmt::Result {
    let View {
        record: RunRecord { meta, state },
        state_dir,
        ..
    } = *view;
    let took = run_duration(state)
        .map(|ms| format!(" in {}", human_duration(ms)))
        .unwrap_or_default();
    writeln!(
        out,
        "run       {}  {}{took}",
        meta.run_id,
        status_text(state, &view.drivers)
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
    for (id, st) in view.order.stages(state) {
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
        if st.phase == StagePhase::Failed {
            write_failure_tail(out, view, id, st)?;
        }
        if let StagePhase::RetryWaiting { attempt, due_at_ms } = st.phase {
            let when = if due_at_ms > view.now_ms {
                format!("in {}", human_duration(due_at_ms - view.now_ms))
            } else if view.drivers.drives(&meta.run_id) {
                "now".to_string()
            } else {
                "past due: it starts when the run is resumed".to_string()
            };
            writeln!(
                out,
                "  retry: attempt {attempt} due at {} ({when})",
                rfc3339(due_at_ms)
            )?;
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
    for (id, record) in view.order.finally(state) {
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

/// Under a failed stage: the end of its last attempt's output (the failing command's, see
/// [`crate::logs::tail::failure_tail`]) and how to see all of it.
fn write_failure_tail(
    out: &mut String,
    view: &View<'_>,
    id: &str,
    st: &engine_core::StageState,
) -> fmt::Result {
    let Some(record) = st.history.last() else {
        return Ok(());
    };
    let AttemptOutcome::Failed { failure } = &record.outcome else {
        return Ok(());
    };
    let log = attempt_log_path(view.state_dir, &view.record.meta.run_id, id, record.attempt);
    let tail =
        crate::logs::tail::failure_tail(failure, Some(&log), crate::logs::tail::FAILURE_TAIL_LINES);
    if tail.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  output of attempt {} (last lines; all of it: engine logs {} --stage {id} --attempt {}):",
        record.attempt, view.record.meta.run_id, record.attempt
    )?;
    for line in tail {
        writeln!(out, "    | {line}")?;
    }
    Ok(())
}

/// `$0.42 (12.3k in / 4.5k out tokens)`, marking costs that could not be known (`$0.42 +
/// unknown`, `unknown cost`) and costs estimated from tokens (`~$0.42 estimated`), and showing
/// cache tokens when there are any.
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
    // A cost nothing could be known of is unknown, not `$0.00`.
    let cost = if !spend.cost_known && spend.cost_usd == 0.0 {
        "unknown cost".to_string()
    } else {
        format!("{approx}${:.2}{known}{estimated}", spend.cost_usd)
    };
    format!(
        "{cost} ({} in / {} out{cache} tokens)",
        tokens(spend.input_tokens),
        tokens(spend.output_tokens)
    )
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn run_duration(state: &RunState) -> Option<u64> {
    Some(state.finished_at_ms?.saturating_sub(state.started_at_ms?))
}

fn status_text(state: &RunState, drivers: &Drivers) -> String {
    let deadline = state
        .deadline_ms
        .filter(|_| !state.status.is_terminal())
        .map(|d| format!("; times out at {} (timeout:)", rfc3339(d)))
        .unwrap_or_default();
    match shown_status_of(state, drivers) {
        "paused" => {
            let driven = if drivers.drives(&state.run_id) {
                ""
            } else {
                "; no engine process drives it: then `engine resume` continues it"
            };
            return format!(
                "paused (no new attempt starts; `engine unpause {}` lets it go \
                 on{driven}){deadline}",
                state.run_id
            );
        }
        "interrupted" => {
            return format!(
                "interrupted (no engine process drives it; `engine resume {}` continues \
                 it){deadline}",
                state.run_id
            );
        }
        "running" => return format!("running{deadline}"),
        _ => {}
    }
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
