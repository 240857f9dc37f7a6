//! What `engine tasks` prints: a table for people, JSON for scripts, and the source's warnings
//! and the dependency graph's problems as `file:line: warning: ...` lines.

use std::fmt::Write as _;

use engine_tasks::{Blocker, Entry, Location, Task, TaskStatus};
use serde_json::{Value, json};

use super::Listing;
use crate::terminal::{cell, safe};

/// The table: one row per task in readiness order; a task that is not ready gets a second line
/// saying what blocks it. Ends with a count.
pub fn table(listing: &Listing) -> String {
    let headers = ["ID", "STATUS", "PRI", "READY", "TITLE"];
    let rows: Vec<([String; 5], &Entry)> = listing
        .readiness
        .order
        .iter()
        .filter_map(|entry| {
            let task = listing.tasks.get(entry.index)?;
            Some((
                [
                    cell(&task.id),
                    cell(&task.status.to_string()),
                    format!("P{}", task.priority),
                    if entry.ready { "yes" } else { "no" }.to_string(),
                    cell(&task.title),
                ],
                entry,
            ))
        })
        .collect();
    let mut widths = headers.map(str::len);
    for (cells, _) in &rows {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(&headers.map(str::to_string));
    let indent: usize = widths[..4].iter().map(|w| w + 2).sum();
    for (cells, entry) in &rows {
        out.push_str(&line(cells));
        if !entry.blocked_by.is_empty() {
            let why: Vec<String> = entry.blocked_by.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                out,
                "{}blocked by: {}",
                " ".repeat(indent),
                safe(&why.join(", "))
            );
        }
    }
    let count = |status: TaskStatus| listing.tasks.iter().filter(|t| t.status == status).count();
    let ready = listing.readiness.ready().count();
    let done = count(TaskStatus::Done);
    let total = listing.tasks.len();
    let _ = writeln!(
        out,
        "\n{total} task{}: {ready} ready, {} not ready, {done} done",
        if total == 1 { "" } else { "s" },
        total - ready - done
    );
    out
}

/// `file:line: warning: message` lines: the source's warnings, then the graph's problems.
pub fn warnings(listing: &Listing) -> Vec<String> {
    let located = |location: Option<&Location>, message: &str| match location {
        Some(location) => format!(
            "{}: warning: {}",
            safe(&location.to_string()),
            safe(message)
        ),
        None => format!("warning: {}", safe(message)),
    };
    listing
        .warnings
        .iter()
        .map(|w| located(w.location.as_ref(), &w.message))
        .chain(
            listing
                .readiness
                .problems
                .iter()
                .map(|p| located(p.location(), &p.message())),
        )
        .collect()
}

/// The JSON document: `source`, `tasks` (in readiness order, each with `ready` and
/// `blocked_by`), `warnings` and `problems`.
pub fn json(listing: &Listing) -> Value {
    let tasks: Vec<Value> = listing
        .readiness
        .order
        .iter()
        .filter_map(|entry| Some(task_json(listing.tasks.get(entry.index)?, entry)))
        .collect();
    let diagnostic = |location: Option<&Location>, message: String| json!({ "location": location.map(ToString::to_string), "message": message });
    json!({
        "source": listing.source,
        "tasks": tasks,
        "warnings": listing.warnings.iter()
            .map(|w| diagnostic(w.location.as_ref(), w.message.clone()))
            .collect::<Vec<_>>(),
        "problems": listing.readiness.problems.iter()
            .map(|p| diagnostic(p.location(), p.message()))
            .collect::<Vec<_>>(),
    })
}

fn task_json(task: &Task, entry: &Entry) -> Value {
    let blocked_by: Vec<&Blocker> = entry.blocked_by.iter().collect();
    json!({
        "id": task.id,
        "title": task.title,
        "status": task.status,
        "raw_status": task.raw_status,
        "priority": task.priority,
        "ready": entry.ready,
        "blocked_by": blocked_by,
        "depends_on": task.depends_on,
        "labels": task.labels,
        "milestone": task.milestone,
        "estimate": task.estimate,
        "checklist": task.checklist,
        "traces": task.traces,
        "location": task.location.as_ref().map(ToString::to_string),
    })
}
