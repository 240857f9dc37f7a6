//! `engine tasks graph` and `engine tasks next`: the dependency graph of a source's tasks as
//! text, Graphviz DOT or Mermaid, and the task `engine run --all` would start next.
//!
//! Edges point from a dependency to the task that waits for it (`TASK-1 -> TASK-2`: TASK-2
//! depends on TASK-1). An id a task depends on that the source does not have is drawn as a
//! dashed node marked `unknown`. Titles are escaped for each format (quotes, backslashes,
//! brackets, control characters), so a hostile title cannot break out of its label.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use engine_tasks::{Known, Task, TaskStatus, plan};
use serde_json::{Value, json};

use super::Listing;
use crate::terminal::{cell, safe};

/// The output formats of `engine tasks graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per task, its dependencies indented under it.
    Text,
    /// Graphviz (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub markdown).
    Mermaid,
}

/// The graph in `format`.
pub fn render(listing: &Listing, format: Format) -> String {
    match format {
        Format::Text => text(listing),
        Format::Dot => dot(listing),
        Format::Mermaid => mermaid(listing),
    }
}

/// Ids tasks depend on that no task has, in first-seen order.
fn unknown_ids(tasks: &[Task]) -> Vec<String> {
    let known: BTreeSet<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    let mut seen = BTreeSet::new();
    let mut unknown = Vec::new();
    for dep in tasks.iter().flat_map(|t| &t.depends_on) {
        if !known.contains(dep.as_str()) && seen.insert(dep.clone()) {
            unknown.push(dep.clone());
        }
    }
    unknown
}

fn text(listing: &Listing) -> String {
    let status: HashMap<&str, TaskStatus> = listing
        .tasks
        .iter()
        .map(|t| (t.id.as_str(), t.status))
        .collect();
    let ready: BTreeSet<usize> = listing.readiness.ready().collect();
    let mut out = String::new();
    for (i, task) in listing.tasks.iter().enumerate() {
        let mark = if ready.contains(&i) { ", ready" } else { "" };
        let _ = writeln!(
            out,
            "{} [{}{mark}] {}",
            cell(&task.id),
            task.status,
            cell(&task.title)
        );
        for dep in &task.depends_on {
            let state = status
                .get(dep.as_str())
                .map_or("unknown".to_string(), ToString::to_string);
            let _ = writeln!(out, "  <- {} [{state}]", cell(dep));
        }
    }
    out
}

/// A DOT double-quoted string's content.
fn dot_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn dot_fill(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Done => "palegreen",
        TaskStatus::InProgress => "lightskyblue",
        TaskStatus::Blocked => "lightpink",
        TaskStatus::Todo => "white",
    }
}

fn dot(listing: &Listing) -> String {
    let mut out =
        String::from("digraph tasks {\n  rankdir=LR;\n  node [shape=box, style=filled];\n");
    for task in &listing.tasks {
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n{}\\n({})\", fillcolor={}];",
            dot_escape(&task.id),
            dot_escape(&task.id),
            dot_escape(&task.title),
            task.status,
            dot_fill(task.status)
        );
    }
    for id in unknown_ids(&listing.tasks) {
        let _ = writeln!(
            out,
            "  \"{}\" [label=\"{}\\n(unknown)\", style=dashed, fillcolor=white];",
            dot_escape(&id),
            dot_escape(&id)
        );
    }
    for task in &listing.tasks {
        for dep in &task.depends_on {
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\";",
                dot_escape(dep),
                dot_escape(&task.id)
            );
        }
    }
    out.push_str("}\n");
    out
}

/// A Mermaid quoted label's content: quotes and markup characters as entity codes.
fn mermaid_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn mermaid(listing: &Listing) -> String {
    let mut node: HashMap<&str, String> = HashMap::new();
    let mut out = String::from("flowchart LR\n");
    for (i, task) in listing.tasks.iter().enumerate() {
        let name = format!("t{i}");
        let _ = writeln!(
            out,
            "  {name}[\"{}: {}\"]:::{}",
            mermaid_escape(&task.id),
            mermaid_escape(&task.title),
            task.status
        );
        node.entry(task.id.as_str()).or_insert(name);
    }
    let unknown = unknown_ids(&listing.tasks);
    for (i, id) in unknown.iter().enumerate() {
        let name = format!("u{i}");
        let _ = writeln!(
            out,
            "  {name}[\"{} (unknown)\"]:::unknown",
            mermaid_escape(id)
        );
        node.insert(id.as_str(), name);
    }
    for (i, task) in listing.tasks.iter().enumerate() {
        for dep in &task.depends_on {
            if let Some(from) = node.get(dep.as_str()) {
                let _ = writeln!(out, "  {from} --> t{i}");
            }
        }
    }
    out.push_str(
        "  classDef done fill:#cfc\n  classDef in_progress fill:#cdf\n  classDef blocked \
         fill:#fcc\n  classDef todo fill:#fff\n  classDef unknown stroke-dasharray: 4\n",
    );
    out
}

/// What `engine tasks next` says: the task `engine run --all` would start first (by the
/// source's statuses and dependencies; runs the state directory knows about are not
/// consulted), and why each other open task is not ready.
#[derive(Debug, Clone)]
pub struct Next<'a> {
    /// The next task, if any is ready.
    pub next: Option<&'a Task>,
    /// Open or blocked tasks that are not ready, with why, in readiness order.
    pub not_ready: Vec<(&'a Task, Vec<String>)>,
}

/// Decides the next task of `listing` as `engine run --all` orders its queue.
pub fn next(listing: &Listing) -> Next<'_> {
    let tasks = &listing.tasks;
    let first = plan(tasks, &Known::default(), 1)
        .starts()
        .next()
        .and_then(|(i, _)| tasks.get(i));
    let not_ready = listing
        .readiness
        .order
        .iter()
        .filter(|e| !e.ready && !e.blocked_by.is_empty())
        .filter_map(|e| {
            let why = e.blocked_by.iter().map(ToString::to_string).collect();
            Some((tasks.get(e.index)?, why))
        })
        .collect();
    Next {
        next: first,
        not_ready,
    }
}

impl Next<'_> {
    /// For people: the next task, then one line per task that is not ready.
    pub fn text(&self) -> String {
        let mut out = String::new();
        match self.next {
            Some(task) => {
                let _ = writeln!(
                    out,
                    "next: {} (P{}, {}) {}",
                    cell(&task.id),
                    task.priority,
                    task.status,
                    cell(&task.title)
                );
            }
            None => out.push_str("no task is ready\n"),
        }
        for (task, why) in &self.not_ready {
            let _ = writeln!(
                out,
                "not ready: {} blocked by {}",
                cell(&task.id),
                safe(&why.join(", "))
            );
        }
        out
    }

    /// For scripts: `{"next": {id, title, status, priority} | null, "not_ready": [{id,
    /// blocked_by}]}`.
    pub fn json(&self) -> Value {
        json!({
            "next": self.next.map(|t| json!({
                "id": t.id,
                "title": t.title,
                "status": t.status,
                "priority": t.priority,
            })),
            "not_ready": self.not_ready.iter().map(|(t, why)| json!({
                "id": t.id,
                "blocked_by": why,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, title: &str, status: TaskStatus, deps: &[&str]) -> Task {
        Task {
            work: engine_core::Task {
                id: id.into(),
                title: title.into(),
                ..engine_core::Task::default()
            },
            status,
            raw_status: String::new(),
            priority: 1,
            depends_on: deps.iter().map(ToString::to_string).collect(),
            milestone: None,
            estimate: None,
            checklist: Vec::new(),
            traces: Vec::new(),
            location: None,
        }
    }

    fn listing(tasks: Vec<Task>) -> Listing {
        Listing {
            source: "builtin:tasks-md".into(),
            readiness: engine_tasks::readiness(&tasks),
            tasks,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn hostile_titles_stay_inside_their_labels() {
        let l = listing(vec![task(
            "T-1",
            "a\"] --> x; \\\" <b>#1`\ny",
            TaskStatus::Todo,
            &[],
        )]);
        let dot = render(&l, Format::Dot);
        assert!(
            dot.contains(r#"label="T-1\na\"] --> x; \\\" <b>#1` y\n(todo)""#),
            "{dot}"
        );
        let mermaid = render(&l, Format::Mermaid);
        assert!(
            mermaid
                .contains(r#"t0["T-1: a#quot;] --#gt; x; \#quot; #lt;b#gt;#35;1#96; y"]:::todo"#),
            "{mermaid}"
        );
    }

    #[test]
    fn edges_go_from_dependency_to_dependent_and_unknown_ids_are_dashed() {
        let l = listing(vec![
            task("T-1", "one", TaskStatus::Done, &[]),
            task("T-2", "two", TaskStatus::Todo, &["T-1", "T-9"]),
        ]);
        let dot = render(&l, Format::Dot);
        assert!(dot.contains("  \"T-1\" -> \"T-2\";\n"), "{dot}");
        assert!(
            dot.contains("\"T-9\" [label=\"T-9\\n(unknown)\", style=dashed"),
            "{dot}"
        );
        let mermaid = render(&l, Format::Mermaid);
        assert!(mermaid.contains("  t0 --> t1\n  u0 --> t1\n"), "{mermaid}");
        assert_eq!(
            render(&l, Format::Text),
            "T-1 [done] one\nT-2 [todo] two\n  <- T-1 [done]\n  <- T-9 [unknown]\n"
        );
        let next = next(&l);
        assert!(next.next.is_none());
        assert_eq!(next.not_ready[0].1, ["T-9 (unknown)"]);
    }
}
