//! Beads issues as engine tasks: fields, statuses, and Beads' dependency types turned into the
//! `depends_on` lists the host decides readiness with (a task is ready once everything it
//! depends on is done).
//!
//! - `blocks`: waits for the target.
//! - `conditional-blocks` ("runs only if the target fails"): waits for the target; once the
//!   target is closed with a reason that is not a failure (no `failed`, `rejected`, `wontfix`,
//!   `canceled`, `abandoned`, `blocked`, `error`, `timeout`, `aborted`...), the task can never
//!   run: it is marked blocked, with a warning.
//! - `waits-for` (a fan-out gate on a spawner): waits for the spawner's open children
//!   (`all-children`, the default); with `{"gate": "any-children"}` the gate opens as soon as
//!   one child is closed.
//! - `parent-child`: a child inherits everything its parent (and grandparent...) waits for,
//!   and waits for a parent that is itself marked blocked or deferred, so the children of a
//!   blocked parent are blocked. An open parent waits for its open children
//!   (`parents_wait_for_children`), so an epic is not worked on while its children are.
//! - every other type (`related`, `discovered-from`, `duplicates`...) is informational.

use std::collections::{HashMap, HashSet};

use engine_source_sdk::{Diagnostic, Location, Task, TaskStatus};

use crate::config::Config;
use crate::issue::{Issue, Located};
use crate::time::unix_seconds;

/// Close reasons that mean the issue failed (Beads' `FailureCloseKeywords`).
const FAILURE_WORDS: [&str; 11] = [
    "failed",
    "rejected",
    "wontfix",
    "won't fix",
    "canceled",
    "cancelled",
    "abandoned",
    "blocked",
    "error",
    "timeout",
    "aborted",
];

/// What the listing knows beyond the issues themselves.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Ids of deleted issues: dependencies on them are dropped (with a warning).
    pub deleted: HashSet<String>,
    /// Spawners known to have a closed child (opens their `any-children` gates).
    pub closed_child: HashSet<String>,
    /// Now, in Unix seconds (for `defer_until`); `None` ignores deferral dates.
    pub now: Option<i64>,
}

/// The normalized status of a Beads status; `None` for a custom status the config does not
/// map.
pub fn status_of(raw: &str, config: &Config) -> Option<TaskStatus> {
    if let Some(mapped) = config.statuses.get(raw) {
        return Some((*mapped).into());
    }
    match raw {
        "open" => Some(TaskStatus::Todo),
        "in_progress" | "hooked" => Some(TaskStatus::InProgress),
        "blocked" | "deferred" => Some(TaskStatus::Blocked),
        "closed" | "pinned" => Some(TaskStatus::Done),
        _ => None,
    }
}

/// One issue as a task, with only its own blocking dependencies (what `claim` and `update`
/// return).
pub fn single(issue: &Issue, config: &Config, now: Option<i64>) -> Task {
    let mut warnings = Vec::new();
    let mut task = base_task(issue, None, config, now, &mut warnings);
    task.depends_on = issue
        .dependencies
        .iter()
        .flatten()
        .filter(|d| matches!(d.kind(), "blocks" | "conditional-blocks"))
        .filter_map(|d| d.target().map(str::to_string))
        .collect();
    task
}

/// Every issue as a task, in the given order, with the dependencies readiness needs.
pub fn tasks(issues: &[Located], config: &Config, facts: &Facts) -> (Vec<Task>, Vec<Diagnostic>) {
    let mut warnings = Vec::new();
    let mut tasks: Vec<Task> = issues
        .iter()
        .map(|l| {
            base_task(
                &l.issue,
                l.location.clone(),
                config,
                facts.now,
                &mut warnings,
            )
        })
        .collect();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, l) in issues.iter().enumerate() {
        by_id.entry(l.issue.id.as_str()).or_insert(i);
    }
    let parents: Vec<Option<String>> = issues.iter().map(|l| parent_of(&l.issue)).collect();
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, parent) in parents.iter().enumerate() {
        if let Some(parent) = parent {
            children.entry(parent.as_str()).or_default().push(i);
        }
    }

    // What each issue waits for itself.
    let mut own: Vec<Vec<String>> = Vec::with_capacity(issues.len());
    for (i, l) in issues.iter().enumerate() {
        let mut waits = Vec::new();
        for dep in l.issue.dependencies.iter().flatten() {
            let Some(target) = dep.target() else { continue };
            let kind = dep.kind();
            if !matches!(kind, "blocks" | "conditional-blocks" | "waits-for") {
                continue;
            }
            if facts.deleted.contains(target) {
                warnings.push(at(
                    l.location.as_ref(),
                    format!(
                        "{} depends on {target} ({kind}), which was deleted; the dependency is ignored",
                        l.issue.id
                    ),
                ));
                continue;
            }
            let target_index = by_id.get(target).copied();
            match kind {
                "waits-for" => {
                    let kids = children.get(target).map_or(&[][..], Vec::as_slice);
                    let closed = facts.closed_child.contains(target)
                        || kids.iter().any(|&k| tasks[k].status == TaskStatus::Done);
                    if !(dep.any_children() && closed) {
                        waits.extend(
                            kids.iter()
                                .filter(|&&k| tasks[k].status != TaskStatus::Done)
                                .map(|&k| issues[k].issue.id.clone()),
                        );
                    }
                }
                "conditional-blocks" => {
                    waits.push(target.to_string());
                    if let Some(t) = target_index.map(|t| &issues[t].issue)
                        && t.raw_status() == "closed"
                        && !is_failure(t.close_reason.as_deref().unwrap_or(""))
                    {
                        tasks[i].status = TaskStatus::Blocked;
                        warnings.push(at(
                            l.location.as_ref(),
                            format!(
                                "{} runs only if {target} fails (conditional-blocks), but {target} \
                                 was closed as a success ({:?}); {} will not run",
                                l.issue.id,
                                t.close_reason.as_deref().unwrap_or(""),
                                l.issue.id
                            ),
                        ));
                    }
                }
                _ => waits.push(target.to_string()),
            }
        }
        own.push(waits);
    }

    // What each issue inherits from its parents, and parents waiting for their children.
    let mut depends: Vec<Vec<String>> = own.clone();
    for i in 0..issues.len() {
        let mut seen = HashSet::from([i]);
        let mut parent = parents[i].as_deref();
        while let Some(p) = parent {
            let Some(&pi) = by_id.get(p) else {
                if seen.len() > 1 {
                    break;
                }
                warnings.push(at(
                    issues[i].location.as_ref(),
                    format!(
                        "the parent of {} is {p}, which is not an issue of this tracker",
                        issues[i].issue.id
                    ),
                ));
                break;
            };
            if !seen.insert(pi) || tasks[pi].status == TaskStatus::Done {
                break;
            }
            if tasks[pi].status == TaskStatus::Blocked {
                depends[i].push(p.to_string());
            }
            depends[i].extend(own[pi].iter().cloned());
            parent = parents[pi].as_deref();
        }
        if config.parents_wait_for_children
            && matches!(tasks[i].status, TaskStatus::Todo | TaskStatus::InProgress)
        {
            let id = issues[i].issue.id.as_str();
            for &child in children.get(id).map_or(&[][..], Vec::as_slice) {
                if tasks[child].status != TaskStatus::Done && !own[child].iter().any(|d| d == id) {
                    depends[i].push(issues[child].issue.id.clone());
                }
            }
        }
    }
    for (task, deps) in tasks.iter_mut().zip(depends) {
        let mut seen = HashSet::new();
        task.depends_on = deps
            .into_iter()
            .filter(|d| seen.insert(d.clone()))
            .collect();
    }
    (tasks, warnings)
}

/// Spawners of `any-children` gates whose closed children the listing cannot see (it holds
/// open issues only): the gate is open if one of them is closed, which `bd` has to be asked.
pub fn gates_to_check(issues: &[Located], config: &Config) -> Vec<String> {
    let mut children: HashMap<String, Vec<&Issue>> = HashMap::new();
    for l in issues {
        if let Some(parent) = parent_of(&l.issue) {
            children.entry(parent).or_default().push(&l.issue);
        }
    }
    let mut spawners: Vec<String> = Vec::new();
    for dep in issues
        .iter()
        .flat_map(|l| l.issue.dependencies.iter().flatten())
    {
        let Some(target) = dep.target() else { continue };
        if dep.kind() != "waits-for" || !dep.any_children() || spawners.iter().any(|s| s == target)
        {
            continue;
        }
        let kids = children.get(target).map_or(&[][..], Vec::as_slice);
        let done = |k: &&Issue| status_of(k.raw_status(), config) == Some(TaskStatus::Done);
        if !kids.is_empty() && !kids.iter().any(done) {
            spawners.push(target.to_string());
        }
    }
    spawners
}

/// Ids an issue refers to through dependencies and its parent.
pub fn referenced(issue: &Issue) -> impl Iterator<Item = &str> {
    issue
        .dependencies
        .iter()
        .flatten()
        .filter(|d| {
            matches!(
                d.kind(),
                "blocks" | "conditional-blocks" | "waits-for" | "parent-child"
            )
        })
        .filter_map(|d| d.target())
        .chain(issue.parent.as_deref())
}

/// The parent: the target of a `parent-child` dependency, or the `parent` field.
fn parent_of(issue: &Issue) -> Option<String> {
    issue
        .dependencies
        .iter()
        .flatten()
        .find(|d| d.kind() == "parent-child")
        .and_then(|d| d.target())
        .or(issue.parent.as_deref().filter(|p| !p.is_empty()))
        .map(str::to_string)
}

fn is_failure(reason: &str) -> bool {
    let lower = reason.to_lowercase();
    FAILURE_WORDS.iter().any(|w| lower.contains(w))
}

fn at(location: Option<&Location>, message: String) -> Diagnostic {
    Diagnostic {
        location: location.cloned(),
        message,
    }
}

/// The task's own fields: everything but `depends_on`.
fn base_task(
    issue: &Issue,
    location: Option<Location>,
    config: &Config,
    now: Option<i64>,
    warnings: &mut Vec<Diagnostic>,
) -> Task {
    let raw = issue.raw_status();
    let mut raw_status = raw.to_string();
    let mut status = status_of(raw, config).unwrap_or_else(|| {
        warnings.push(at(
            location.as_ref(),
            format!(
                "{} has the status `{raw}`, which engine does not know; it is not run (say what \
                 it means under `statuses:`, e.g. `statuses: {{ {raw}: in_progress }}`)",
                issue.id
            ),
        ));
        TaskStatus::Blocked
    });
    if let Some(until) = issue
        .defer_until
        .as_deref()
        .filter(|u| !u.trim().is_empty())
    {
        match (unix_seconds(until), now) {
            (Some(when), Some(now)) if when > now && status == TaskStatus::Todo => {
                status = TaskStatus::Blocked;
                raw_status = format!("{raw}, deferred until {until}");
            }
            (None, _) => warnings.push(at(
                location.as_ref(),
                format!(
                    "{} has a defer_until engine cannot read ({until:?}); it is ignored",
                    issue.id
                ),
            )),
            _ => {}
        }
    }
    let mut labels = issue.labels.clone().unwrap_or_default();
    if let Some(kind) = issue.issue_type.as_deref().filter(|k| !k.is_empty()) {
        labels.push(format!("type:{kind}"));
    }
    Task {
        id: issue.id.clone(),
        title: issue
            .title
            .clone()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| issue.id.clone()),
        body: body(issue),
        status,
        raw_status,
        priority: issue
            .priority
            .map_or(2, |p| u8::try_from(p.clamp(0, 255)).unwrap_or(u8::MAX)),
        labels,
        depends_on: Vec::new(),
        milestone: parent_of(issue),
        estimate: issue.estimated_minutes.filter(|m| *m > 0).map(|m| {
            if m % 60 == 0 {
                format!("{}h", m / 60)
            } else {
                format!("{m}m")
            }
        }),
        checklist: Vec::new(),
        traces: issue
            .external_ref
            .iter()
            .filter(|r| !r.is_empty())
            .cloned()
            .collect(),
        location,
    }
}

/// The description, then `## Design`, `## Acceptance criteria` and `## Notes` when present.
fn body(issue: &Issue) -> String {
    let text = |t: &Option<String>| {
        t.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let mut parts: Vec<String> = text(&issue.description).into_iter().collect();
    for (title, field) in [
        ("Design", &issue.design),
        ("Acceptance criteria", &issue.acceptance_criteria),
        ("Notes", &issue.notes),
    ] {
        if let Some(section) = text(field) {
            parts.push(format!("## {title}\n\n{section}"));
        }
    }
    parts.join("\n\n")
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
