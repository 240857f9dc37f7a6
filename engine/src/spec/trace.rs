//! What traces to what in a [`SpecSet`]: which ids are defined (first definition wins), each
//! task's traces resolved, and for each requirement the design items and tasks that trace to
//! it.
//!
//! A task covers a requirement when it traces to it directly, or traces to a design item that
//! traces to it (the task then covers it "via" that design item).

use std::collections::HashMap;

use engine_tasks::Task;

use super::SpecSet;
use super::markdown::Item;

/// What a task's trace names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A requirement defined in requirements.md.
    Requirement,
    /// A design item defined in design.md.
    Design,
    /// Nothing defined: a dangling trace.
    Unknown,
}

/// A task tracing to a requirement, directly or through a design item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverer<'a> {
    /// The task.
    pub task: &'a Task,
    /// The design item it traces to that traces to the requirement; `None` when it traces to
    /// the requirement itself.
    pub via: Option<&'a str>,
}

/// The links of a spec set, indexed once so that a report over thousands of requirements and
/// tasks takes time in proportion to the links, not to requirements × tasks.
#[derive(Debug)]
pub struct Links<'a> {
    /// The spec set.
    pub spec: &'a SpecSet,
    requirements: HashMap<&'a str, &'a Item>,
    designs: HashMap<&'a str, &'a Item>,
    /// The tasks (indexes into the tasks, ascending) whose traces name each id.
    tracing: HashMap<&'a str, Vec<usize>>,
    /// The design items (first definitions, file order) whose traces name each id.
    design_tracing: HashMap<&'a str, Vec<&'a Item>>,
}

impl<'a> Links<'a> {
    /// The links of `spec`.
    pub fn new(spec: &'a SpecSet) -> Self {
        let mut requirements = HashMap::new();
        for item in &spec.requirements.items {
            requirements.entry(item.id.as_str()).or_insert(item);
        }
        let mut designs = HashMap::new();
        for item in spec.design.iter().flat_map(|d| &d.items) {
            designs.entry(item.id.as_str()).or_insert(item);
        }
        let mut tracing: HashMap<&str, Vec<usize>> = HashMap::new();
        for (index, task) in spec.tasks.tasks.iter().enumerate() {
            for trace in &task.traces {
                let list = tracing.entry(trace.trim()).or_default();
                if list.last() != Some(&index) {
                    list.push(index);
                }
            }
        }
        let mut links = Links {
            spec,
            requirements,
            designs,
            tracing,
            design_tracing: HashMap::new(),
        };
        let mut design_tracing: HashMap<&str, Vec<&Item>> = HashMap::new();
        for item in links.designs() {
            for trace in &item.traces {
                let list = design_tracing.entry(trace.id.as_str()).or_default();
                if !list.iter().any(|d| std::ptr::eq(*d, item)) {
                    list.push(item);
                }
            }
        }
        links.design_tracing = design_tracing;
        links
    }

    /// The requirements, in file order, each id once (its first definition).
    pub fn requirements(&self) -> impl Iterator<Item = &'a Item> + '_ {
        self.spec
            .requirements
            .items
            .iter()
            .filter(|item| self.requirements.get(item.id.as_str()) == Some(item))
    }

    /// The design items, in file order, each id once (its first definition).
    pub fn designs(&self) -> impl Iterator<Item = &'a Item> + '_ {
        self.spec
            .design
            .iter()
            .flat_map(|d| &d.items)
            .filter(|item| self.designs.get(item.id.as_str()) == Some(item))
    }

    /// The tasks, in file order.
    pub fn tasks(&self) -> &'a [Task] {
        &self.spec.tasks.tasks
    }

    /// What id `id` names.
    pub fn target(&self, id: &str) -> Target {
        if self.requirements.contains_key(id) {
            Target::Requirement
        } else if self.designs.contains_key(id) {
            Target::Design
        } else {
            Target::Unknown
        }
    }

    /// The design items (file order) whose `Traces to:` names requirement `id`.
    pub fn designs_of(&self, id: &str) -> Vec<&'a Item> {
        self.design_tracing.get(id).cloned().unwrap_or_default()
    }

    /// The tasks (file order) that cover requirement `id`, each once: directly when it traces
    /// to it, else via the first design item of [`Links::designs_of`] it traces to.
    pub fn coverers(&self, id: &str) -> Vec<Coverer<'a>> {
        let tasks = self.tasks();
        // Task index → the design item it covers through (None: directly).
        let mut found: std::collections::BTreeMap<usize, Option<&'a str>> =
            std::collections::BTreeMap::new();
        for &index in self.tracing.get(id).into_iter().flatten() {
            found.insert(index, None);
        }
        for design in self.designs_of(id) {
            for &index in self.tracing.get(design.id.as_str()).into_iter().flatten() {
                found.entry(index).or_insert(Some(design.id.as_str()));
            }
        }
        found
            .into_iter()
            .filter_map(|(index, via)| tasks.get(index).map(|task| Coverer { task, via }))
            .collect()
    }

    /// Whether some task traces to design item `id`.
    pub fn design_is_traced(&self, id: &str) -> bool {
        self.tracing.contains_key(id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::spec::markdown::{self, Kind};
    use crate::spec::{Document, TasksDocument};
    use engine_tasks::TaskStatus;

    /// A task with `id`, `traces`, `status` and milestone, written at `line`.
    pub(crate) fn task(
        id: &str,
        traces: &[&str],
        status: TaskStatus,
        milestone: Option<&str>,
        line: u32,
    ) -> Task {
        let work = engine_core::Task {
            id: id.into(),
            title: format!("title of {id}"),
            ..Default::default()
        };
        Task {
            work,
            status,
            raw_status: String::new(),
            priority: 0,
            depends_on: vec![],
            milestone: milestone.map(str::to_string),
            estimate: None,
            checklist: vec![],
            traces: traces.iter().map(|t| (*t).to_string()).collect(),
            location: Some(engine_tasks::Location {
                file: "spec/tasks.md".into(),
                line: Some(line),
            }),
        }
    }

    /// A spec set from requirements and design texts and tasks.
    pub(crate) fn spec(requirements: &str, design: Option<&str>, tasks: Vec<Task>) -> SpecSet {
        let trace_lines = tasks
            .iter()
            .map(|t| {
                (
                    t.id.clone(),
                    t.location.as_ref().and_then(|l| l.line).unwrap_or(0),
                )
            })
            .collect();
        SpecSet {
            requirements: Document {
                file: "spec/requirements.md".into(),
                items: markdown::parse(requirements, "r", Kind::Requirements).unwrap(),
            },
            design: design.map(|d| Document {
                file: "spec/design.md".into(),
                items: markdown::parse(d, "d", Kind::Design).unwrap(),
            }),
            tasks: TasksDocument {
                file: "spec/tasks.md".into(),
                tasks,
                trace_lines,
                warnings: vec![],
            },
        }
    }

    #[test]
    fn tasks_cover_requirements_directly_or_through_design() {
        let spec = spec(
            "## REQ-001: A\n## REQ-002: B\n## REQ-003: C\n## REQ-001: again\n",
            Some("## DESIGN-001: D\n**Traces to:** [REQ-002]\n"),
            vec![
                task("TASK-1", &["REQ-001"], TaskStatus::Done, None, 1),
                task("TASK-2", &["DESIGN-001"], TaskStatus::Todo, None, 5),
                task(
                    "TASK-3",
                    &[" REQ-002 ", "DESIGN-001"],
                    TaskStatus::Todo,
                    None,
                    9,
                ),
            ],
        );
        let links = Links::new(&spec);
        let ids: Vec<&str> = links.requirements().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["REQ-001", "REQ-002", "REQ-003"]);
        assert_eq!(links.requirements().next().unwrap().title, "A");
        let covered: Vec<(&str, Option<&str>)> = links
            .coverers("REQ-002")
            .iter()
            .map(|c| (c.task.id.as_str(), c.via))
            .collect();
        assert_eq!(covered, [("TASK-2", Some("DESIGN-001")), ("TASK-3", None)]);
        assert!(links.coverers("REQ-003").is_empty());
        assert_eq!(links.target("DESIGN-001"), Target::Design);
        assert_eq!(links.target("REQ-404"), Target::Unknown);
        assert!(links.design_is_traced("DESIGN-001"));
    }
}
