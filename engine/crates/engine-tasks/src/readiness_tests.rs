//! Table tests and property tests of [`readiness`].

use std::collections::HashSet;

use proptest::prelude::*;

use crate::model::{Location, Task, TaskStatus};
use crate::readiness::{Blocker, GraphProblem, readiness};

use TaskStatus::{Blocked, Done, InProgress, Todo};

fn task(id: &str, status: TaskStatus, priority: u8, deps: &[&str]) -> Task {
    Task {
        work: engine_core::Task {
            id: id.to_string(),
            title: format!("title of {id}"),
            body: String::new(),
            labels: Vec::new(),
        },
        status,
        raw_status: status.as_str().to_uppercase(),
        priority,
        depends_on: deps.iter().map(std::string::ToString::to_string).collect(),
        milestone: None,
        estimate: None,
        checklist: Vec::new(),
        traces: Vec::new(),
        location: Some(Location {
            file: "spec/tasks.md".into(),
            line: Some(10),
        }),
    }
}

/// `(id, ready, blocked_by as text)` in readiness order.
fn verdict(tasks: &[Task]) -> Vec<(String, bool, String)> {
    readiness(tasks)
        .order
        .iter()
        .map(|e| {
            let why: Vec<String> = e.blocked_by.iter().map(ToString::to_string).collect();
            (tasks[e.index].id.clone(), e.ready, why.join("; "))
        })
        .collect()
}

fn row(id: &str, ready: bool, why: &str) -> (String, bool, String) {
    (id.to_string(), ready, why.to_string())
}

#[test]
fn ready_tasks_come_by_priority_then_in_progress_then_file_order() {
    let tasks = [
        task("T1", Todo, 2, &[]),
        task("T2", Todo, 1, &[]),
        task("T3", InProgress, 2, &[]),
        task("T4", Todo, 1, &[]),
        task("T5", Done, 0, &[]),
        task("T6", InProgress, 1, &[]),
    ];
    assert_eq!(
        verdict(&tasks),
        [
            row("T6", true, ""),
            row("T2", true, ""),
            row("T4", true, ""),
            row("T3", true, ""),
            row("T1", true, ""),
            row("T5", false, ""),
        ]
    );
}

#[test]
fn an_urgent_label_ranks_like_priority_zero() {
    let mut urgent = task("U", Todo, 3, &[]);
    urgent.work.labels = vec!["Urgent".into()];
    let tasks = [
        task("T1", Todo, 1, &[]),
        task("T0", Todo, 0, &[]),
        urgent,
        task("I0", InProgress, 0, &[]),
    ];
    assert_eq!(
        verdict(&tasks),
        [
            row("I0", true, ""),
            row("T0", true, ""),
            row("U", true, ""),
            row("T1", true, ""),
        ]
    );
}

#[test]
fn dependencies_must_all_be_done() {
    let tasks = [
        task("A", Done, 0, &[]),
        task("B", InProgress, 0, &["A"]),
        task("C", Todo, 0, &["A", "B"]),
        task("D", Todo, 3, &["A"]),
        task("E", Blocked, 0, &["A"]),
        task("F", Todo, 0, &["E", "E"]),
    ];
    assert_eq!(
        verdict(&tasks),
        [
            row("B", true, ""),
            row("D", true, ""),
            row("C", false, "B (in_progress)"),
            row("E", false, "status blocked"),
            row("F", false, "E (blocked)"),
            row("A", false, ""),
        ]
    );
    assert!(readiness(&tasks).problems.is_empty());
}

#[test]
fn an_unknown_dependency_is_never_ready_and_is_named() {
    let tasks = [
        task("TASK-1", Todo, 0, &["TASK-10"]),
        task("TASK-2", Done, 0, &[]),
    ];
    let result = readiness(&tasks);
    assert_eq!(
        verdict(&tasks),
        [
            row("TASK-1", false, "TASK-10 (unknown)"),
            row("TASK-2", false, "")
        ]
    );
    assert_eq!(
        result
            .problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "spec/tasks.md:10: TASK-1 depends on TASK-10, which is not a task of this source; \
          TASK-1 is never ready until the dependency is fixed"
        ]
    );
}

#[test]
fn cycles_block_their_open_members_and_are_reported_once() {
    let tasks = [
        task("A", Todo, 0, &[]),
        task("B", Todo, 0, &["D"]),
        task("C", Todo, 0, &["B"]),
        task("D", Todo, 0, &["C", "A"]),
        task("S", Todo, 0, &["S"]),
        task("X", Todo, 0, &["B"]),
    ];
    let result = readiness(&tasks);
    let problems: Vec<String> = result
        .problems
        .iter()
        .map(super::readiness::GraphProblem::message)
        .collect();
    assert_eq!(
        problems,
        [
            "dependency cycle B -> D -> C -> B: none of these tasks can become ready",
            "dependency cycle S -> S: none of these tasks can become ready",
        ]
    );
    let rows = verdict(&tasks);
    assert_eq!(rows[0], row("A", true, ""));
    assert!(rows.contains(&row("B", false, "D (todo); cycle among B, C, D")));
    assert!(rows.contains(&row("S", false, "S (todo); depends on itself")));
    // Outside the cycle: blocked by its dependency, not by the cycle.
    assert!(rows.contains(&row("X", false, "B (todo)")));
}

#[test]
fn duplicate_ids_are_reported_and_dependencies_use_the_first() {
    let tasks = [
        task("A", Done, 0, &[]),
        task("A", Todo, 0, &[]),
        task("B", Todo, 0, &["A"]),
    ];
    let result = readiness(&tasks);
    assert!(matches!(
        &result.problems[..],
        [GraphProblem::DuplicateId { id, locations }] if id == "A" && locations.len() == 2
    ));
    assert!(verdict(&tasks).contains(&row("B", true, "")));
}

#[test]
fn blockers_serialize_for_scripts() {
    let json = serde_json::to_value([
        Blocker::Dependency {
            id: "A".into(),
            status: InProgress,
        },
        Blocker::UnknownDependency { id: "Z".into() },
        Blocker::Cycle {
            ids: vec!["B".into(), "C".into()],
            more: 0,
        },
        Blocker::Status { status: Blocked },
    ])
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"reason": "dependency", "id": "A", "status": "in_progress"},
            {"reason": "unknown_dependency", "id": "Z"},
            {"reason": "cycle", "ids": ["B", "C"]},
            {"reason": "status", "status": "blocked"},
        ])
    );
}

#[test]
fn a_long_chain_does_not_overflow_the_stack() {
    let ids: Vec<String> = (0..20_000).map(|i| format!("T-{i}")).collect();
    let mut tasks: Vec<Task> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let deps: Vec<&str> = if i + 1 < ids.len() {
                vec![ids[i + 1].as_str()]
            } else {
                vec![ids[0].as_str()]
            };
            task(id, Todo, 0, &deps)
        })
        .collect();
    let result = readiness(&tasks);
    assert_eq!(result.problems.len(), 1, "one big cycle");
    let why = result.order[0].blocked_by.last().map(ToString::to_string);
    assert_eq!(
        why.as_deref(),
        Some("cycle among T-0, T-1, T-2, T-3, T-4, T-5, T-6, T-7, T-8, T-9 and 19990 more")
    );
    assert!(
        result.problems[0]
            .message()
            .starts_with("dependency cycle T-0 -> T-1 -> T-2 -> T-3 -> T-4 -> T-5 -> T-6 -> T-7 -> T-8 -> T-9 -> ... and 19990 more -> T-0: "),
        "{}",
        result.problems[0]
    );
    if let Some(last) = tasks.last_mut() {
        last.depends_on.clear();
    }
    let result = readiness(&tasks);
    assert!(result.problems.is_empty());
    assert_eq!(result.ready().count(), 1);
}

/// Random task graphs: ids `T0..Tn` plus unknown ids, any statuses and priorities.
fn arb_tasks() -> impl Strategy<Value = Vec<Task>> {
    (1usize..12).prop_flat_map(|n| {
        let one = (
            prop_oneof![Just(Todo), Just(InProgress), Just(Done), Just(Blocked)],
            0u8..4,
            proptest::collection::vec(0usize..n + 2, 0..4),
        );
        proptest::collection::vec(one, n).prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (status, priority, deps))| {
                    let deps: Vec<String> = deps.iter().map(|d| format!("T{d}")).collect();
                    let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                    task(&format!("T{i}"), status, priority, &deps)
                })
                .collect()
        })
    })
}

/// Random acyclic graphs without unknown ids or blocked marks (dependencies point to earlier
/// tasks, then the list is rotated so file order differs from dependency order).
fn arb_dag() -> impl Strategy<Value = Vec<Task>> {
    (1usize..14).prop_flat_map(|n| {
        (
            proptest::collection::vec(
                (
                    prop_oneof![Just(Todo), Just(InProgress), Just(Done)],
                    0u8..4,
                    proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
                ),
                n,
            ),
            0..n,
        )
            .prop_map(|(specs, rotate)| {
                let mut tasks: Vec<Task> = specs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (status, priority, deps))| {
                        let deps: Vec<String> = if i == 0 {
                            Vec::new()
                        } else {
                            deps.iter().map(|d| format!("T{}", d.index(i))).collect()
                        };
                        let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                        task(&format!("T{i}"), status, priority, &deps)
                    })
                    .collect();
                tasks.rotate_left(rotate);
                tasks
            })
    })
}

proptest! {
    /// The verdict is consistent with its definition, whatever the graph.
    #[test]
    fn verdicts_follow_the_definition(tasks in arb_tasks()) {
        let result = readiness(&tasks);
        let indices: HashSet<usize> = result.order.iter().map(|e| e.index).collect();
        prop_assert_eq!(indices.len(), tasks.len());
        let on_cycle: HashSet<String> = result.problems.iter().flat_map(|p| match p {
            GraphProblem::Cycle { members, .. } => members.clone(),
            _ => Vec::new(),
        }).collect();
        for entry in &result.order {
            let t = &tasks[entry.index];
            let deps_done = t.depends_on.iter().all(|d| {
                tasks.iter().find(|o| &o.id == d).is_some_and(|o| o.status == Done)
            });
            if entry.ready {
                prop_assert!(t.status.is_open() && deps_done && entry.blocked_by.is_empty());
                prop_assert!(!on_cycle.contains(&t.id));
            } else if t.status.is_open() && deps_done {
                prop_assert!(on_cycle.contains(&t.id), "{} should be ready", t.id);
            }
            for dep in &t.depends_on {
                if t.status != Done && !tasks.iter().any(|o| &o.id == dep) {
                    let unknown = Blocker::UnknownDependency { id: dep.clone() };
                    prop_assert!(entry.blocked_by.contains(&unknown), "{} not named", dep);
                }
            }
        }
        // Ready tasks first, in (priority, in_progress first, file order).
        let ready: Vec<usize> = result.ready().collect();
        prop_assert!(result.order.iter().take(ready.len()).all(|e| e.ready));
        let keys: Vec<_> = ready.iter().map(|&i| {
            (tasks[i].rank(), tasks[i].status != InProgress, i)
        }).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        prop_assert_eq!(keys, sorted);
    }

    /// Without unknown ids, blocked marks or cycles, working off the first ready task again and
    /// again finishes every task, each only after its dependencies.
    #[test]
    fn working_off_ready_tasks_finishes_an_acyclic_list(mut tasks in arb_dag()) {
        let mut finished: Vec<String> = tasks.iter().filter(|t| t.status == Done).map(|t| t.id.clone()).collect();
        for _ in 0..tasks.len() {
            let result = readiness(&tasks);
            prop_assert!(result.problems.is_empty());
            let Some(next) = result.ready().next() else { break };
            for dep in &tasks[next].depends_on {
                prop_assert!(finished.contains(dep));
            }
            tasks[next].status = Done;
            finished.push(tasks[next].id.clone());
        }
        prop_assert!(tasks.iter().all(|t| t.status == Done));
    }
}
