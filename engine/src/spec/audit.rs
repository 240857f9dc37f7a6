//! `engine spec audit`: what is missing or wrong in the links of a spec set, each finding
//! located (file and line).

use serde::Serialize;

use super::SpecSet;
use super::markdown::Item;
use super::trace::{Links, Target};

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// An id defined twice in requirements.md or design.md.
    DuplicateId,
    /// A task with no `**Traces to:**` (or one naming nothing).
    UntracedTask,
    /// A task tracing to an id that requirements.md and design.md do not define.
    DanglingTrace,
    /// A requirement no task covers (directly or through a design item).
    UncoveredRequirement,
    /// A design item no task traces to.
    UntracedDesign,
    /// A design item tracing to an id that is neither a requirement nor a design item.
    DesignUnknownTrace,
}

impl FindingKind {
    /// The kind's name in JSON and text (`dangling-trace`).
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::DuplicateId => "duplicate-id",
            FindingKind::UntracedTask => "untraced-task",
            FindingKind::DanglingTrace => "dangling-trace",
            FindingKind::UncoveredRequirement => "uncovered-requirement",
            FindingKind::UntracedDesign => "untraced-design",
            FindingKind::DesignUnknownTrace => "design-unknown-trace",
        }
    }
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind.
    pub kind: FindingKind,
    /// The file it is in (as shown).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// The id concerned (the task, requirement or design item).
    pub id: String,
    /// What is wrong, in words.
    pub message: String,
}

/// What the audit found, and how much it looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Audit {
    /// Requirements defined (each id once).
    pub requirements: usize,
    /// Design items defined (each id once).
    pub design_items: usize,
    /// Tasks.
    pub tasks: usize,
    /// The findings, by file then line.
    pub findings: Vec<Finding>,
}

/// Audits `spec`.
pub fn audit(spec: &SpecSet) -> Audit {
    let links = Links::new(spec);
    let mut findings = Vec::new();
    duplicates(
        &spec.requirements.file,
        &spec.requirements.items,
        &mut findings,
    );
    if let Some(design) = &spec.design {
        duplicates(&design.file, &design.items, &mut findings);
    }
    tasks(&links, &mut findings);
    for requirement in links.requirements() {
        if links.coverers(&requirement.id).is_empty() {
            findings.push(Finding {
                kind: FindingKind::UncoveredRequirement,
                file: spec.requirements.file.clone(),
                line: requirement.line,
                id: requirement.id.clone(),
                message: format!(
                    "requirement {} is not covered: no task traces to it or to a design item \
                     that traces to it",
                    requirement.id
                ),
            });
        }
    }
    if let Some(design) = &spec.design {
        for item in links.designs() {
            if !links.design_is_traced(&item.id) {
                findings.push(Finding {
                    kind: FindingKind::UntracedDesign,
                    file: design.file.clone(),
                    line: item.line,
                    id: item.id.clone(),
                    message: format!("design item {} is not traced to by any task", item.id),
                });
            }
            for trace in &item.traces {
                if links.target(&trace.id) == Target::Unknown {
                    findings.push(Finding {
                        kind: FindingKind::DesignUnknownTrace,
                        file: design.file.clone(),
                        line: trace.line,
                        id: item.id.clone(),
                        message: format!(
                            "design item {} traces to {}, which is not defined in {} or {}",
                            item.id,
                            crate::terminal::safe(&trace.id),
                            spec.requirements.file,
                            design.file
                        ),
                    });
                }
            }
        }
    }
    findings.sort_by(|a, b| (&a.file, a.line, a.kind).cmp(&(&b.file, b.line, b.kind)));
    Audit {
        requirements: links.requirements().count(),
        design_items: links.designs().count(),
        tasks: links.tasks().len(),
        findings,
    }
}

/// A finding for every definition of an id after its first.
fn duplicates(file: &str, items: &[Item], findings: &mut Vec<Finding>) {
    let mut first: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    for item in items {
        match first.get(item.id.as_str()) {
            Some(line) => findings.push(Finding {
                kind: FindingKind::DuplicateId,
                file: file.to_string(),
                line: item.line,
                id: item.id.clone(),
                message: format!(
                    "{} is defined again (first at {file}:{line}); the first definition is used",
                    item.id
                ),
            }),
            None => {
                first.insert(&item.id, item.line);
            }
        }
    }
}

/// Untraced tasks and dangling traces.
fn tasks(links: &Links<'_>, findings: &mut Vec<Finding>) {
    let doc = &links.spec.tasks;
    for task in links.tasks() {
        let line = doc
            .trace_lines
            .get(&task.id)
            .copied()
            .or_else(|| task.location.as_ref().and_then(|l| l.line))
            .unwrap_or(1);
        let id = crate::terminal::safe(&task.id).into_owned();
        if task.traces.iter().all(|t| t.trim().is_empty()) {
            findings.push(Finding {
                kind: FindingKind::UntracedTask,
                file: doc.file.clone(),
                line,
                id: task.id.clone(),
                message: format!(
                    "task {id} traces to nothing: add `**Traces to:** [REQ-...]` to its block"
                ),
            });
            continue;
        }
        for trace in task
            .traces
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
        {
            if links.target(trace) == Target::Unknown {
                findings.push(Finding {
                    kind: FindingKind::DanglingTrace,
                    file: doc.file.clone(),
                    line,
                    id: task.id.clone(),
                    message: format!(
                        "task {id} traces to {}, which is not defined in {}{}",
                        crate::terminal::safe(trace),
                        links.spec.requirements.file,
                        links
                            .spec
                            .design
                            .as_ref()
                            .map(|d| format!(" or {}", d.file))
                            .unwrap_or_default()
                    ),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::trace::tests::{spec, task};
    use engine_tasks::TaskStatus;

    fn kinds(audit: &Audit) -> Vec<(FindingKind, &str, u32, &str)> {
        audit
            .findings
            .iter()
            .map(|f| (f.kind, f.file.as_str(), f.line, f.id.as_str()))
            .collect()
    }

    #[test]
    fn finds_each_kind_of_problem_with_its_line() {
        let spec = spec(
            "# R\n## REQ-001: A\n## REQ-002: B\n## REQ-001: again\n",
            Some(
                "## DESIGN-001: D\n**Traces to:** [REQ-001], [REQ-404]\n## DESIGN-002: E\n\
                 ## DESIGN-002: again\n",
            ),
            vec![
                task("TASK-1", &["DESIGN-001"], TaskStatus::Done, None, 3),
                task("TASK-2", &[], TaskStatus::Todo, None, 7),
                task(
                    "TASK-3",
                    &["REQ-001", "REQ-999"],
                    TaskStatus::Todo,
                    None,
                    11,
                ),
            ],
        );
        let audit = audit(&spec);
        assert_eq!(
            kinds(&audit),
            [
                (
                    FindingKind::DesignUnknownTrace,
                    "spec/design.md",
                    2,
                    "DESIGN-001"
                ),
                (
                    FindingKind::UntracedDesign,
                    "spec/design.md",
                    3,
                    "DESIGN-002"
                ),
                (FindingKind::DuplicateId, "spec/design.md", 4, "DESIGN-002"),
                (
                    FindingKind::UncoveredRequirement,
                    "spec/requirements.md",
                    3,
                    "REQ-002"
                ),
                (
                    FindingKind::DuplicateId,
                    "spec/requirements.md",
                    4,
                    "REQ-001"
                ),
                (FindingKind::UntracedTask, "spec/tasks.md", 7, "TASK-2"),
                (FindingKind::DanglingTrace, "spec/tasks.md", 11, "TASK-3"),
            ]
        );
        assert_eq!(
            (audit.requirements, audit.design_items, audit.tasks),
            (2, 2, 3)
        );
        assert!(audit.findings[6].message.contains("REQ-999"));
    }

    #[test]
    fn a_clean_spec_has_no_findings_and_design_is_optional() {
        let spec = spec(
            "## REQ-001: A\n",
            None,
            vec![task("TASK-1", &["REQ-001"], TaskStatus::Todo, None, 1)],
        );
        assert!(audit(&spec).findings.is_empty());
    }
}
