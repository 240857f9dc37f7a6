//! Which tasks are ready, in which order, and why the others are not.
//!
//! A task is **ready** when its status is `todo` or `in_progress`, every task it depends on
//! exists and is `done`, and it is not on a dependency cycle. Ready tasks come first, ordered by
//! priority (0 first; a task labelled `urgent` counts as priority 0, see [`Task::rank`]), then `in_progress` before `todo` (an interrupted task is resumed before a
//! new one starts), then the source's order. The other open or blocked tasks follow in the same
//! order, then the finished ones in the source's order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Location, Task, TaskStatus};

/// Why a task is not ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Blocker {
    /// The task itself is marked blocked.
    Status {
        /// Its status (`blocked`).
        status: TaskStatus,
    },
    /// A task it depends on is not done.
    Dependency {
        /// The dependency's id.
        id: String,
        /// The dependency's status.
        status: TaskStatus,
    },
    /// It depends on an id the source does not have.
    UnknownDependency {
        /// The unknown id.
        id: String,
    },
    /// It is on a dependency cycle: none of the tasks on it can ever become ready.
    Cycle {
        /// The tasks that depend on each other in cycles with it (it included), in the
        /// source's order; at most [`CYCLE_IDS_SHOWN`] of them.
        ids: Vec<String>,
        /// How many more tasks are on those cycles.
        #[serde(default, skip_serializing_if = "is_zero")]
        more: usize,
    },
}

/// How many tasks of a cycle a [`Blocker::Cycle`] names.
pub const CYCLE_IDS_SHOWN: usize = 10;

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes the field by reference"
)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocker::Status { status } => write!(f, "status {status}"),
            Blocker::Dependency { id, status } => write!(f, "{id} ({status})"),
            Blocker::UnknownDependency { id } => write!(f, "{id} (unknown)"),
            Blocker::Cycle { ids, more: 0 } if ids.len() == 1 => f.write_str("depends on itself"),
            Blocker::Cycle { ids, more: 0 } => write!(f, "cycle among {}", ids.join(", ")),
            Blocker::Cycle { ids, more } => {
                write!(f, "cycle among {} and {more} more", ids.join(", "))
            }
        }
    }
}

/// One task's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Index of the task in the list given to [`readiness`].
    pub index: usize,
    /// Whether it can be worked on now.
    pub ready: bool,
    /// Why an open or blocked task is not ready; empty for ready and finished tasks.
    pub blocked_by: Vec<Blocker>,
}

/// A defect of the dependency graph, reported once per defect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphProblem {
    /// Several tasks share an id; dependencies on it resolve to the first.
    DuplicateId {
        /// The id.
        id: String,
        /// Where each task with it is written, in the source's order.
        locations: Vec<Option<Location>>,
    },
    /// A task depends on an id the source does not have.
    UnknownDependency {
        /// The task.
        task: String,
        /// The unknown id.
        dependency: String,
        /// Where the task is written.
        location: Option<Location>,
    },
    /// Tasks depend on each other in a circle.
    Cycle {
        /// One cycle, starting at the first of `members` (a shortest one through it).
        ids: Vec<String>,
        /// Every task on a cycle with it (a strongly connected component), in the source's
        /// order; usually the same tasks as `ids`.
        members: Vec<String>,
        /// Where the first task is written.
        location: Option<Location>,
    },
}

impl GraphProblem {
    /// Where the problem is written (the first place, for a duplicate id).
    pub fn location(&self) -> Option<&Location> {
        match self {
            GraphProblem::DuplicateId { locations, .. } => locations.iter().flatten().next(),
            GraphProblem::UnknownDependency { location, .. }
            | GraphProblem::Cycle { location, .. } => location.as_ref(),
        }
    }

    /// The message without the location.
    pub fn message(&self) -> String {
        match self {
            GraphProblem::DuplicateId { id, locations } => {
                let places: Vec<String> = locations
                    .iter()
                    .map(|l| l.as_ref().map_or("?".to_string(), ToString::to_string))
                    .collect();
                format!(
                    "{} tasks have the id {id} ({}); dependencies on it use the first",
                    locations.len(),
                    places.join(", ")
                )
            }
            GraphProblem::UnknownDependency {
                task, dependency, ..
            } => format!(
                "{task} depends on {dependency}, which is not a task of this source; {task} \
                 is never ready until the dependency is fixed"
            ),
            GraphProblem::Cycle { ids, members, .. } => {
                let mut text = format!("dependency cycle {}", cycle_text(ids));
                if members.len() > ids.len() {
                    let shown = &members[..members.len().min(CYCLE_IDS_SHOWN)];
                    // Writing into a String cannot fail.
                    let _ = write!(
                        text,
                        " (tasks on cycles together: {}{})",
                        shown.join(", "),
                        more_text(members.len() - shown.len())
                    );
                }
                text.push_str(": none of these tasks can become ready");
                text
            }
        }
    }
}

impl std::fmt::Display for GraphProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.location() {
            Some(location) => write!(f, "{location}: {}", self.message()),
            None => f.write_str(&self.message()),
        }
    }
}

/// The verdict on a list of tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// One entry per task, in readiness order (see the module documentation).
    pub order: Vec<Entry>,
    /// Defects of the dependency graph, in the source's order.
    pub problems: Vec<GraphProblem>,
}

impl Readiness {
    /// The ready tasks' indices, in the order they should be worked on.
    pub fn ready(&self) -> impl Iterator<Item = usize> + '_ {
        self.order.iter().filter(|e| e.ready).map(|e| e.index)
    }
}

/// Decides which of `tasks` are ready and orders them. Pure; linear in the number of tasks
/// and dependencies.
pub fn readiness(tasks: &[Task]) -> Readiness {
    let mut problems = Vec::new();
    let by_id = index_ids(tasks, &mut problems);
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    let mut blocked_by: Vec<Vec<Blocker>> = vec![Vec::new(); tasks.len()];
    for (i, task) in tasks.iter().enumerate() {
        if task.status == TaskStatus::Blocked {
            blocked_by[i].push(Blocker::Status {
                status: task.status,
            });
        }
        let mut seen = HashSet::new();
        for dep in task.depends_on.iter().filter(|d| seen.insert(d.as_str())) {
            match by_id.get(dep.as_str()) {
                None => {
                    problems.push(GraphProblem::UnknownDependency {
                        task: task.id.clone(),
                        dependency: dep.clone(),
                        location: task.location.clone(),
                    });
                    blocked_by[i].push(Blocker::UnknownDependency { id: dep.clone() });
                }
                Some(&j) => {
                    edges[i].push(j);
                    if tasks[j].status != TaskStatus::Done {
                        blocked_by[i].push(Blocker::Dependency {
                            id: dep.clone(),
                            status: tasks[j].status,
                        });
                    }
                }
            }
        }
    }
    for component in strongly_connected(&edges) {
        let looped = component.len() > 1 || edges[component[0]].contains(&component[0]);
        if !looped {
            continue;
        }
        let path = cycle_through(&component, &edges);
        let ids: Vec<String> = path.iter().map(|&i| tasks[i].id.clone()).collect();
        let members: Vec<String> = component.iter().map(|&i| tasks[i].id.clone()).collect();
        let shown = &members[..members.len().min(CYCLE_IDS_SHOWN)];
        for &member in &component {
            if tasks[member].status != TaskStatus::Done {
                blocked_by[member].push(Blocker::Cycle {
                    ids: shown.to_vec(),
                    more: members.len() - shown.len(),
                });
            }
        }
        problems.push(GraphProblem::Cycle {
            location: tasks[component[0]].location.clone(),
            ids,
            members,
        });
    }
    problems.sort_by_key(|p| first_index(p, &by_id));

    let mut order: Vec<Entry> = blocked_by
        .into_iter()
        .enumerate()
        .map(|(index, blockers)| {
            let status = tasks[index].status;
            Entry {
                index,
                ready: status.is_open() && blockers.is_empty(),
                blocked_by: if status == TaskStatus::Done {
                    Vec::new()
                } else {
                    blockers
                },
            }
        })
        .collect();
    order.sort_by_key(|entry| {
        let task = &tasks[entry.index];
        let group = match (entry.ready, task.status) {
            (true, _) => 0,
            (false, TaskStatus::Done) => 2,
            (false, _) => 1,
        };
        let (priority, resumed) = if group == 2 {
            (0, false)
        } else {
            (task.rank(), task.status != TaskStatus::InProgress)
        };
        (group, priority, resumed, entry.index)
    });
    Readiness { order, problems }
}

/// Id -> index of its first task; later duplicates become problems.
fn index_ids<'a>(tasks: &'a [Task], problems: &mut Vec<GraphProblem>) -> HashMap<&'a str, usize> {
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(tasks.len());
    let mut duplicates: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        match by_id.get(task.id.as_str()) {
            None => {
                by_id.insert(&task.id, i);
            }
            Some(&first) => match duplicates.iter_mut().find(|(f, _)| *f == first) {
                Some((_, others)) => others.push(i),
                None => duplicates.push((first, vec![first, i])),
            },
        }
    }
    for (first, all) in duplicates {
        problems.push(GraphProblem::DuplicateId {
            id: tasks[first].id.clone(),
            locations: all.iter().map(|&i| tasks[i].location.clone()).collect(),
        });
    }
    by_id
}

/// The index of the task a problem is about, for sorting problems in the source's order.
fn first_index(problem: &GraphProblem, by_id: &HashMap<&str, usize>) -> usize {
    let id = match problem {
        GraphProblem::DuplicateId { id, .. } => Some(id),
        GraphProblem::UnknownDependency { task, .. } => Some(task),
        GraphProblem::Cycle { ids, .. } => ids.first(),
    };
    id.and_then(|id| by_id.get(id.as_str()).copied())
        .unwrap_or(usize::MAX)
}

/// `A -> B -> A`; a long cycle is cut after [`CYCLE_IDS_SHOWN`] tasks.
fn cycle_text(ids: &[String]) -> String {
    let shown = &ids[..ids.len().min(CYCLE_IDS_SHOWN)];
    let mut parts: Vec<String> = shown.to_vec();
    if ids.len() > shown.len() {
        parts.push(format!("...{}", more_text(ids.len() - shown.len())));
    }
    if let Some(first) = ids.first() {
        parts.push(first.clone());
    }
    parts.join(" -> ")
}

/// ` and N more`, or nothing.
fn more_text(more: usize) -> String {
    if more == 0 {
        String::new()
    } else {
        format!(" and {more} more")
    }
}

/// Strongly connected components (Tarjan, iterative: a chain of thousands of tasks must not
/// overflow the stack). Each component is sorted by index.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = edges.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut components = Vec::new();
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(top) = calls.last_mut() {
            let v = top.0;
            if let Some(&w) = edges[v].get(top.1) {
                top.1 += 1;
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort_unstable();
                components.push(component);
            }
        }
    }
    components
}

/// A shortest cycle through the component's first task (breadth-first inside the component).
fn cycle_through(component: &[usize], edges: &[Vec<usize>]) -> Vec<usize> {
    let start = component[0];
    let members: HashSet<usize> = component.iter().copied().collect();
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &edges[v] {
            if w == start {
                let mut path = vec![v];
                let mut at = v;
                while at != start {
                    match parent.get(&at) {
                        Some(&up) => at = up,
                        None => return component.to_vec(),
                    }
                    path.push(at);
                }
                path.reverse();
                return path;
            }
            if members.contains(&w) && w != start && !parent.contains_key(&w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    // Unreachable for a real cycle; the component itself is still a truthful answer.
    component.to_vec()
}
