//! Validation of a draft before anything is written. The tasks file the draft would produce is
//! read by the same `builtin:tasks-md` component `engine tasks` and the run modes use (from a
//! scratch copy), and then:
//!
//! - every task the file had is still there, unchanged (a draft cannot slip a line into the
//!   last existing task, or re-declare one);
//! - the draft adds at least one task; each new one is `TODO`, has a checklist, depends only on
//!   tasks that exist and is on no dependency cycle, and the source has no warning about it;
//! - ids stay unique (the source refuses duplicates);
//! - every `Traces to:` id is defined in a requirements or design document (the existing ones
//!   and the draft's), and with `--full` every new task traces to one;
//! - no document holds control characters, and an appended document starts with a heading.
//!
//! Problems are sentences the agent is told on its retry, located by the draft's own lines.

use std::collections::BTreeSet;
use std::path::Path;

use engine_runtime::Host;
use engine_tasks::{GraphProblem, Task, TaskStatus};

use super::error::PlanError;
use super::files::{Action, Composed, Target};
use super::reply::{Document, Draft};
use super::spec_docs::{self, DESIGN_PREFIXES, REQUIREMENT_PREFIXES};
use crate::EngineError;

/// A draft that passed: each file's new text and the tasks it adds.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The files to write, tasks last, with their new text.
    pub files: Vec<(Target, Composed)>,
    /// The new tasks, in file order.
    pub new_tasks: Vec<Task>,
}

/// What the check needs besides the draft.
pub struct CheckSite<'a> {
    /// The wasm host (for `builtin:tasks-md`).
    pub host: &'a Host,
    /// A private directory for the scratch copies.
    pub scratch: &'a Path,
    /// The files, as they are now: the tasks file first, then the documents (written only with
    /// `--full`, else read for the ids they define).
    pub targets: &'a [Target],
    /// `--full`.
    pub full: bool,
    /// `--force`.
    pub force: bool,
}

/// Checks `draft`. `Ok(Err(problems))`: the draft is wrong; `Err`: engine could not check it.
pub async fn check(
    site: &CheckSite<'_>,
    draft: &Draft,
) -> Result<Result<Checked, Vec<String>>, PlanError> {
    // Without --full the documents are only read: a drafted one is ignored.
    let drafted = |document: Document| {
        if document == Document::Tasks || site.full {
            draft.get(document)
        } else {
            None
        }
    };
    let mut problems = Vec::new();
    if site.full {
        for document in [Document::Requirements, Document::Design] {
            if draft.get(document).is_none() {
                problems.push(format!(
                    "the reply has no ```{} block (--full asks for one)",
                    document.name()
                ));
            }
        }
    }
    let mut design_traces = Vec::new();
    let mut known_ids = BTreeSet::new();
    let mut requirement_ids = BTreeSet::new();
    for target in site.targets {
        let composed = match drafted(target.document) {
            Some(text) => {
                check_text(
                    target.document,
                    text,
                    target.action(site.force),
                    &mut problems,
                );
                Some(target.compose(text, site.force))
            }
            None => None,
        };
        if target.document == Document::Tasks {
            continue;
        }
        let prefixes = prefixes(target.document);
        // A document replaced with --force no longer defines its old ids.
        let replaced = composed
            .as_ref()
            .is_some_and(|c| c.action == Action::Replace);
        let kept = target.current.as_deref().filter(|_| !replaced);
        let existing: BTreeSet<String> = kept
            .map(|text| spec_docs::read(text, prefixes).defined)
            .unwrap_or_default()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if let (Some(text), Some(_)) = (drafted(target.document), &composed) {
            let ids = spec_docs::read(text, prefixes);
            if ids.defined.is_empty() {
                problems.push(format!(
                    "{}: defines no item (write one `#### {}001: Title` heading per item)",
                    target.document.name(),
                    prefixes[0]
                ));
            }
            let mut seen = BTreeSet::new();
            for (id, line) in &ids.defined {
                if existing.contains(id) || !seen.insert(id.clone()) {
                    problems.push(format!(
                        "{} line {line}: {id} is already defined; use a new id",
                        target.document.name()
                    ));
                }
            }
            known_ids.extend(seen);
            if target.document == Document::Design {
                design_traces.extend(ids.traces);
            }
        }
        if target.document == Document::Requirements {
            requirement_ids.extend(existing.iter().cloned());
            if let Some(text) = drafted(target.document) {
                requirement_ids.extend(
                    spec_docs::read(text, prefixes)
                        .defined
                        .into_iter()
                        .map(|(id, _)| id),
                );
            }
        }
        known_ids.extend(existing);
    }
    // The design's traces name requirements.
    for (id, line) in design_traces {
        if !requirement_ids.contains(&id) {
            problems.push(format!(
                "design.md line {line}: traces to {id}, which no requirement defines"
            ));
        }
    }
    let Some(tasks_target) = site.targets.iter().find(|t| t.document == Document::Tasks) else {
        return Err(PlanError::Engine(EngineError::Internal(
            "engine plan has no tasks file to check".into(),
        )));
    };
    let tasks = tasks_target.compose(&draft.tasks, site.force);
    let new_tasks = match check_tasks(site, tasks_target, &tasks, &known_ids).await? {
        Ok(new_tasks) => new_tasks,
        Err(more) => {
            problems.extend(more);
            Vec::new()
        }
    };
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let mut files: Vec<(Target, Composed)> = site
        .targets
        .iter()
        .filter(|t| t.document != Document::Tasks)
        .filter_map(|t| Some((t.clone(), t.compose(drafted(t.document)?, site.force))))
        .collect();
    files.push((tasks_target.clone(), tasks));
    Ok(Ok(Checked { files, new_tasks }))
}

/// The tasks of `target` as it is now: none when it does not exist or `--force` replaces it.
/// A file that cannot be read as tasks cannot be appended to.
pub async fn existing_tasks(site: &CheckSite<'_>, target: &Target) -> Result<Vec<Task>, PlanError> {
    let Some(text) = target.current.as_deref().filter(|_| !site.force) else {
        return Ok(Vec::new());
    };
    match list_text(site, text).await? {
        Ok(listing) => Ok(listing.tasks),
        Err(diagnostics) => Err(PlanError::ExistingTasks {
            shown: target.shown.clone(),
            problems: diagnostics
                .into_iter()
                .map(|(line, m)| match line {
                    Some(line) => format!("line {line}: {m}"),
                    None => m,
                })
                .collect(),
        }),
    }
}

/// The tasks of the composed file: the new ones, or what is wrong.
async fn check_tasks(
    site: &CheckSite<'_>,
    target: &Target,
    composed: &Composed,
    known_ids: &BTreeSet<String>,
) -> Result<Result<Vec<Task>, Vec<String>>, PlanError> {
    let existing = if composed.action == Action::Append {
        existing_tasks(site, target).await?
    } else {
        Vec::new()
    };
    let at = |line: Option<u32>| -> String {
        match line.map(|l| l as usize) {
            Some(l) if l > composed.offset => format!("tasks.md line {}: ", l - composed.offset),
            Some(l) => format!("{} line {l} (existing): ", target.shown),
            None => "tasks.md: ".to_string(),
        }
    };
    let listing = match list_text(site, &composed.text).await? {
        Ok(listing) => listing,
        Err(diagnostics) => {
            return Ok(Err(diagnostics
                .into_iter()
                .map(|(line, m)| format!("{}{m}", at(line)))
                .collect()));
        }
    };
    let mut problems = Vec::new();
    let kept = listing.tasks.len() >= existing.len()
        && existing.iter().zip(&listing.tasks).all(|(a, b)| a == b);
    if !kept {
        problems.push(
            "the draft changes tasks that already exist (it must only add new ones, each \
             starting with its own `### ID: title` heading)"
                .to_string(),
        );
        return Ok(Err(problems));
    }
    let new_tasks: Vec<Task> = listing.tasks[existing.len()..].to_vec();
    if new_tasks.is_empty() {
        problems.push("the draft adds no task".to_string());
    }
    let new_ids: BTreeSet<&str> = new_tasks.iter().map(|t| t.id.as_str()).collect();
    for task in &new_tasks {
        let line = line_of(task);
        if task.status != TaskStatus::Todo {
            problems.push(format!(
                "{}{} is {}; new tasks are TODO",
                at(line),
                task.id,
                task.raw_status
            ));
        }
        if task.checklist.is_empty() {
            problems.push(format!(
                "{}{} has no checklist (add `**Checklist:**` and `- [ ] ...` items)",
                at(line),
                task.id
            ));
        }
        for trace in &task.traces {
            if !known_ids.contains(trace) {
                problems.push(format!(
                    "{}{} traces to {trace}, which no requirement or design item defines",
                    at(line),
                    task.id
                ));
            }
        }
        if site.full && task.traces.is_empty() {
            problems.push(format!(
                "{}{} traces to nothing (add `**Traces to:** [REQ-...]`)",
                at(line),
                task.id
            ));
        }
    }
    for problem in &listing.readiness.problems {
        let involved = match problem {
            GraphProblem::DuplicateId { id, .. } => new_ids.contains(id.as_str()),
            GraphProblem::UnknownDependency { task, .. } => new_ids.contains(task.as_str()),
            GraphProblem::Cycle { members, .. } => {
                members.iter().any(|m| new_ids.contains(m.as_str()))
            }
        };
        if involved {
            let line = problem.location().and_then(|l| l.line);
            problems.push(format!("{}{}", at(line), problem.message()));
        }
    }
    for warning in &listing.warnings {
        let line = warning.location.as_ref().and_then(|l| l.line);
        if line.is_some_and(|l| l as usize > composed.offset) {
            problems.push(format!("{}{}", at(line), warning.message));
        }
    }
    Ok(if problems.is_empty() {
        Ok(new_tasks)
    } else {
        Err(problems)
    })
}

fn line_of(task: &Task) -> Option<u32> {
    task.location.as_ref().and_then(|l| l.line)
}

fn prefixes(document: Document) -> &'static [&'static str] {
    match document {
        Document::Requirements => REQUIREMENT_PREFIXES,
        _ => DESIGN_PREFIXES,
    }
}

/// Control characters, and (appending) a document that does not start with a heading.
fn check_text(document: Document, text: &str, action: Action, problems: &mut Vec<String>) {
    for (index, line) in text.lines().enumerate() {
        if line
            .chars()
            .any(|c| c.is_control() && c != '\t' && c != '\r')
        {
            problems.push(format!(
                "{} line {}: contains a control character",
                document.name(),
                index + 1
            ));
        }
    }
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let heading = match document {
        Document::Tasks => first.starts_with("## ") || first.starts_with("### "),
        _ => first.starts_with('#'),
    };
    if !heading && (action == Action::Append || document == Document::Tasks) {
        problems.push(format!(
            "{}: the first line must be a heading ({})",
            document.name(),
            if document == Document::Tasks {
                "`## Milestone N: name` or `### ID: title`"
            } else {
                "`#### REQ-001: title`"
            }
        ));
    }
}

/// The tasks `builtin:tasks-md` reads from `text`, or the located problems that stop it
/// reading them. The text is written to one scratch path for every call, so the tasks of two
/// texts compare equal when only the text differs (their locations name the same file).
async fn list_text(
    site: &CheckSite<'_>,
    text: &str,
) -> Result<Result<crate::tasks::Listing, Vec<(Option<u32>, String)>>, PlanError> {
    let dir = site.scratch.join("check");
    std::fs::create_dir_all(&dir).map_err(|e| PlanError::io(&dir, e))?;
    let file = dir.join("tasks.md");
    std::fs::write(&file, text).map_err(|e| PlanError::io(&file, e))?;
    let (prepared, root) = crate::tasks::prepare_tasks_file(site.host, &file).await?;
    match crate::tasks::list(site.host, &prepared, &root).await {
        Ok(listing) => Ok(Ok(listing)),
        Err(EngineError::TaskSource(engine_tasks::SourceError::Malformed(diagnostics))) => {
            Ok(Err(diagnostics
                .into_iter()
                .map(|d| (d.location.and_then(|l| l.line), d.message))
                .collect()))
        }
        Err(e) => Err(e.into()),
    }
}
