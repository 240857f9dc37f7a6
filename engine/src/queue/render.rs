//! What `--dry-run` prints (a table or JSON) and how a task's verdict reads.

use std::fmt::Write as _;

use engine_tasks::{Blocker, Planned, Schedule, Task, Verdict};
use serde_json::{Value, json};

use crate::tasks::Listing;
use crate::terminal::{cell, pad, safe};

/// Why a task would not start now, in words.
pub fn verdict_text(verdict: &Verdict) -> String {
    verdict_words(verdict, "running")
}

/// [`verdict_text`], naming a dependency that a run works on (or, in a dry run, would work on
/// first) `(<going>)`.
fn verdict_words(verdict: &Verdict, going: &str) -> String {
    match verdict {
        Verdict::Start { resume: None } => "ready".to_string(),
        Verdict::Start { resume: Some(run) } => format!("ready; resumes run {run}"),
        Verdict::Queued { .. } => "ready; waits for a free slot".to_string(),
        Verdict::Running { run_id } => format!("running (run {run_id})"),
        Verdict::Elsewhere { run_id } => format!(
            "in progress elsewhere (run {run_id}, driven by the engine process that holds the \
             state directory)"
        ),
        Verdict::Succeeded { run_id } => {
            format!("done by run {run_id} (its status is not in the source yet)")
        }
        Verdict::Settled { why } => why.clone(),
        Verdict::Done => "done".to_string(),
        Verdict::Blocked {
            blocked_by,
            waits_for,
        } => {
            let reasons: Vec<String> = blocked_by
                .iter()
                .map(|b| match b {
                    Blocker::Dependency { id, .. } if waits_for.contains(id) => {
                        format!("{id} ({going})")
                    }
                    other => other.to_string(),
                })
                .collect();
            format!("blocked by {}", reasons.join(", "))
        }
    }
}

/// Why a task would not run in the dry run's schedule (the tasks that would run first count
/// as running there).
fn rest_text(verdict: &Verdict, one_run: bool) -> String {
    match verdict {
        Verdict::Queued { .. } if one_run => {
            "ready; after this run (one task per `engine run`)".into()
        }
        Verdict::Blocked {
            blocked_by,
            waits_for,
        } if !waits_for.is_empty() && waits_for.len() == blocked_by.len() => {
            format!("waits for {} (which would run first)", waits_for.join(", "))
        }
        other => verdict_words(other, "would run first"),
    }
}

fn reason_name(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Start { .. } => "ready",
        Verdict::Queued { .. } => "queued",
        Verdict::Running { .. } => "running",
        Verdict::Elsewhere { .. } => "in_progress_elsewhere",
        Verdict::Succeeded { .. } => "succeeded",
        Verdict::Settled { .. } => "settled",
        Verdict::Done => "done",
        Verdict::Blocked { .. } => "blocked",
    }
}

fn priority(task: &Task) -> String {
    if task.is_urgent() && task.priority != 0 {
        format!("P{} urgent", task.priority)
    } else {
        format!("P{}", task.priority)
    }
}

/// The dry run as a table: what would run in which order, then why each other task would not.
pub fn dry_run_text(
    listing: &Listing,
    source: &str,
    schedule: &Schedule,
    parallel: usize,
    one_run: bool,
) -> String {
    let tasks = &listing.tasks;
    let mut out = String::new();
    if schedule.runs.is_empty() {
        let _ = writeln!(
            out,
            "nothing would run: no task of {} is ready",
            safe(source)
        );
    } else {
        let what = if one_run {
            "would run 1 task".to_string()
        } else {
            let n = schedule.runs.len();
            let at_a_time = if parallel > 1 {
                format!(", up to {parallel} at a time")
            } else {
                String::new()
            };
            format!(
                "would run {n} task{} from {}{at_a_time}, in this order",
                if n == 1 { "" } else { "s" },
                safe(source)
            )
        };
        let _ = writeln!(out, "{what}:");
        let rows: Vec<[String; 5]> = schedule
            .runs
            .iter()
            .enumerate()
            .map(|(n, run)| {
                let task = &tasks[run.index];
                let mut notes = Vec::new();
                if !run.after.is_empty() {
                    notes.push(format!("after {}", run.after.join(", ")));
                }
                if let Some(resume) = &run.resume {
                    notes.push(format!("resumes run {resume}"));
                }
                [
                    (n + 1).to_string(),
                    if parallel > 1 {
                        format!("round {}", run.round)
                    } else {
                        String::new()
                    },
                    cell(&task.id),
                    priority(task),
                    [cell(&task.title), safe(&notes.join("; ")).into_owned()]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join("  · "),
                ]
            })
            .collect();
        out.push_str(&table(&rows));
    }
    if !schedule.rest.is_empty() {
        out.push_str("would not run:\n");
        let rows: Vec<[String; 3]> = schedule
            .rest
            .iter()
            .map(|e| {
                let task = &tasks[e.index];
                [
                    cell(&task.id),
                    cell(&task.title),
                    safe(&rest_text(&e.verdict, one_run)).into_owned(),
                ]
            })
            .collect();
        let width = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
        for [id, title, why] in rows {
            let _ = writeln!(out, "  {}  {why}  ({title})", pad(&id, width));
        }
    }
    out
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .filter(|(_, w)| *w > 0)
            .map(|(text, w)| pad(text, w))
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    out
}

fn rest_json(tasks: &[Task], entry: &Planned, one_run: bool) -> Value {
    let task = &tasks[entry.index];
    let mut doc = json!({
        "id": task.id,
        "title": task.title,
        "status": task.status,
        "reason": reason_name(&entry.verdict),
        "why": rest_text(&entry.verdict, one_run),
    });
    match &entry.verdict {
        Verdict::Blocked {
            blocked_by,
            waits_for,
        } => {
            doc["blocked_by"] = json!(blocked_by);
            doc["waits_for"] = json!(waits_for);
        }
        Verdict::Running { run_id }
        | Verdict::Elsewhere { run_id }
        | Verdict::Succeeded { run_id } => doc["run_id"] = json!(run_id),
        _ => {}
    }
    doc
}

/// The dry run as one JSON document: `{"source", "parallel", "would_run": [...],
/// "would_not_run": [...], "warnings": [...]}`.
pub fn dry_run_json(
    listing: &Listing,
    source: &str,
    schedule: &Schedule,
    parallel: usize,
    one_run: bool,
) -> Value {
    let tasks = &listing.tasks;
    let would_run: Vec<Value> = schedule
        .runs
        .iter()
        .enumerate()
        .map(|(n, run)| {
            let task = &tasks[run.index];
            json!({
                "order": n + 1,
                "round": run.round,
                "id": task.id,
                "title": task.title,
                "priority": task.priority,
                "urgent": task.is_urgent(),
                "resume": run.resume,
                "after": run.after,
            })
        })
        .collect();
    let would_not_run: Vec<Value> = schedule
        .rest
        .iter()
        .map(|e| rest_json(tasks, e, one_run))
        .collect();
    let warnings: Vec<String> = crate::tasks::render::warnings(listing);
    json!({
        "source": source,
        "parallel": parallel,
        "would_run": would_run,
        "would_not_run": would_not_run,
        "warnings": warnings,
    })
}
