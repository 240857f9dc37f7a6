//! Table tests and property tests of [`plan`] and [`schedule`].

use std::collections::{BTreeMap, BTreeSet, HashSet};

use proptest::prelude::*;

use crate::model::{Task, TaskStatus};
use crate::queue::{Known, Schedule, Scheduled, Verdict, plan, schedule};
use crate::readiness::Blocker;

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
        location: None,
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `(id, verdict)` in plan order.
fn verdicts(tasks: &[Task], known: &Known, slots: usize) -> Vec<(String, Verdict)> {
    plan(tasks, known, slots)
        .entries
        .into_iter()
        .map(|e| (tasks[e.index].id.clone(), e.verdict))
        .collect()
}

fn start(resume: Option<&str>) -> Verdict {
    Verdict::Start {
        resume: resume.map(str::to_string),
    }
}

#[test]
fn ready_tasks_start_in_order_up_to_the_free_slots() {
    let tasks = [
        task("A", Todo, 1, &[]),
        task("B", Todo, 0, &[]),
        task("C", Todo, 2, &[]),
    ];
    assert_eq!(
        verdicts(&tasks, &Known::default(), 2),
        [
            ("B".into(), start(None)),
            ("A".into(), start(None)),
            ("C".into(), Verdict::Queued { resume: None }),
        ]
    );
    assert!(plan(&tasks, &Known::default(), 0).starts().next().is_none());
}

#[test]
fn what_the_engine_knows_overrides_the_source() {
    let tasks = [
        task("RUN", InProgress, 0, &[]),
        task("DEP", Todo, 0, &["RUN"]),
        task("OK", Todo, 0, &[]),
        task("AFTER-OK", Todo, 0, &["OK"]),
        task("FAILED", Todo, 0, &[]),
        task("UNF", InProgress, 1, &[]),
        task("OTHER", InProgress, 1, &[]),
        task("DONE", Done, 0, &[]),
    ];
    let known = Known {
        running: map(&[("RUN", "r1")]),
        succeeded: map(&[("OK", "r2")]),
        settled: map(&[("FAILED", "run r3 failed")]),
        unfinished: map(&[("UNF", "r4")]),
        elsewhere: map(&[("OTHER", "r5")]),
    };
    let got = verdicts(&tasks, &known, 5);
    let by_id: BTreeMap<String, Verdict> = got.into_iter().collect();
    assert_eq!(
        by_id["RUN"],
        Verdict::Running {
            run_id: "r1".into()
        }
    );
    assert_eq!(
        by_id["DEP"],
        Verdict::Blocked {
            blocked_by: vec![Blocker::Dependency {
                id: "RUN".into(),
                status: InProgress
            }],
            waits_for: vec!["RUN".into()],
        }
    );
    assert_eq!(
        by_id["OK"],
        Verdict::Succeeded {
            run_id: "r2".into()
        }
    );
    assert_eq!(by_id["AFTER-OK"], start(None));
    assert_eq!(
        by_id["FAILED"],
        Verdict::Settled {
            why: "run r3 failed".into()
        }
    );
    assert_eq!(by_id["UNF"], start(Some("r4")));
    assert_eq!(
        by_id["OTHER"],
        Verdict::Elsewhere {
            run_id: "r5".into()
        }
    );
    assert_eq!(by_id["DONE"], Verdict::Done);
}

#[test]
fn a_chain_is_scheduled_one_round_per_link_and_independent_tasks_fill_the_slots() {
    let tasks = [
        task("T1", Todo, 0, &[]),
        task("T2", Todo, 0, &["T1"]),
        task("T3", Todo, 0, &["T2"]),
        task("X", Todo, 0, &[]),
        task("Y", Todo, 1, &[]),
        task("Z", Todo, 0, &["MISSING"]),
        task("B", Blocked, 0, &[]),
    ];
    let s = schedule(&tasks, &Known::default(), 2, None);
    let runs: Vec<(String, usize, Vec<String>)> = s
        .runs
        .iter()
        .map(|r| (tasks[r.index].id.clone(), r.round, r.after.clone()))
        .collect();
    assert_eq!(
        runs,
        [
            ("T1".into(), 1, vec![]),
            ("X".into(), 1, vec![]),
            ("T2".into(), 2, vec!["T1".into()]),
            ("Y".into(), 2, vec![]),
            ("T3".into(), 3, vec!["T2".into()]),
        ]
    );
    let rest: Vec<&str> = s.rest.iter().map(|e| tasks[e.index].id.as_str()).collect();
    assert_eq!(rest, ["Z", "B"]);

    // One run (a plain `engine run`): the first task, the rest waits or queues.
    let one = schedule(&tasks, &Known::default(), 1, Some(1));
    assert_eq!(one.runs.len(), 1);
    let rest: BTreeMap<String, Verdict> = one
        .rest
        .into_iter()
        .map(|e| (tasks[e.index].id.clone(), e.verdict))
        .collect();
    assert_eq!(rest["X"], Verdict::Queued { resume: None });
    assert!(
        matches!(&rest["T2"], Verdict::Blocked { waits_for, .. } if waits_for == &["T1".to_string()])
    );
}

/// Random task lists: any statuses, priorities, dependencies (some unknown, some cyclic) and
/// random knowledge about them.
fn arb_case() -> impl Strategy<Value = (Vec<Task>, Known, usize)> {
    (1usize..12).prop_flat_map(|n| {
        let tasks = proptest::collection::vec(
            (
                prop_oneof![Just(Todo), Just(InProgress), Just(Done), Just(Blocked)],
                0u8..3,
                proptest::collection::vec(0..n + 1, 0..3),
            ),
            n,
        );
        let knowledge = proptest::collection::vec(0u8..8, n);
        (tasks, knowledge, 0usize..4).prop_map(move |(specs, knowledge, slots)| {
            let tasks: Vec<Task> = specs
                .into_iter()
                .enumerate()
                .map(|(i, (status, priority, deps))| {
                    let deps: Vec<String> = deps.iter().map(|d| format!("T{d}")).collect();
                    let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                    task(&format!("T{i}"), status, priority, &deps)
                })
                .collect();
            let mut known = Known::default();
            for (i, k) in knowledge.into_iter().enumerate() {
                let id = format!("T{i}");
                let run = format!("r{i}");
                match k {
                    0 => known.running.insert(id, run),
                    1 => known.succeeded.insert(id, run),
                    2 => known.settled.insert(id, run),
                    3 => known.unfinished.insert(id, run),
                    4 => known.elsewhere.insert(id, run),
                    _ => None,
                };
            }
            (tasks, known, slots)
        })
    })
}

/// Whether every dependency of `task` is done in the source or succeeded.
fn dependencies_done(tasks: &[Task], known: &Known, task: &Task) -> bool {
    task.depends_on.iter().all(|d| {
        known.succeeded.contains_key(d)
            || tasks.iter().find(|t| &t.id == d).is_some_and(|t| {
                t.status == Done
                    && !known.running.contains_key(d)
                    && !known.elsewhere.contains_key(d)
            })
    })
}

/// The schedule by its definition: re-plan every round (quadratic; the reference for
/// [`crate::schedule::simulate`]).
fn schedule_by_replanning(
    tasks: &[Task],
    known: &Known,
    parallel: usize,
    limit: Option<usize>,
) -> Schedule {
    let parallel = parallel.max(1);
    let mut known = known.clone();
    let mut runs: Vec<Scheduled> = Vec::new();
    let mut scheduled: BTreeSet<String> = BTreeSet::new();
    let mut round = 0;
    loop {
        let left = limit.map_or(parallel, |l| l.saturating_sub(runs.len()).min(parallel));
        if left == 0 {
            break;
        }
        round += 1;
        let starts: Vec<(usize, Option<String>)> = plan(tasks, &known, left)
            .starts()
            .map(|(i, r)| (i, r.map(str::to_string)))
            .collect();
        if starts.is_empty() {
            break;
        }
        for (index, resume) in starts {
            let task = &tasks[index];
            let after = task
                .depends_on
                .iter()
                .filter(|d| scheduled.contains(*d))
                .cloned()
                .collect();
            runs.push(Scheduled {
                index,
                round,
                resume,
                after,
            });
            scheduled.insert(task.id.clone());
            known.succeeded.insert(task.id.clone(), String::new());
        }
    }
    for id in &scheduled {
        known.succeeded.remove(id);
        known.running.insert(id.clone(), String::new());
    }
    let rest = plan(tasks, &known, 0)
        .entries
        .into_iter()
        .filter(|e| !scheduled.contains(&tasks[e.index].id))
        .collect();
    Schedule { runs, rest }
}

/// 100,000 chained tasks are scheduled in one pass (re-planning each round never ended).
#[test]
fn a_long_chain_schedules_in_linear_time() {
    let n = 100_000;
    let ids: Vec<String> = (0..n).map(|i| format!("T{i}")).collect();
    let tasks: Vec<Task> = (0..n)
        .map(|i| {
            let deps: Vec<&str> = if i == 0 {
                vec![]
            } else {
                vec![ids[i - 1].as_str()]
            };
            task(&ids[i], Todo, 1, &deps)
        })
        .collect();
    let s = schedule(&tasks, &Known::default(), 1, None);
    assert_eq!(s.runs.len(), n);
    assert_eq!(s.runs[n - 1].round, n);
    assert!(s.rest.is_empty());
}

proptest! {
    /// The fast simulation agrees with re-planning every round.
    #[test]
    fn schedule_matches_replanning((tasks, known, slots) in arb_case(), limit in proptest::option::of(0usize..6)) {
        let fast = schedule(&tasks, &known, slots.max(1), limit);
        let reference = schedule_by_replanning(&tasks, &known, slots.max(1), limit);
        prop_assert_eq!(fast, reference);
    }
    /// Only startable tasks start, never more than the free slots, in readiness order, and an
    /// unfinished run is always resumed rather than replaced.
    #[test]
    fn plans_start_only_what_may_start((tasks, known, slots) in arb_case()) {
        let p = plan(&tasks, &known, slots);
        let indices: HashSet<usize> = p.entries.iter().map(|e| e.index).collect();
        prop_assert_eq!(indices.len(), tasks.len());
        let starts: Vec<(usize, Option<&str>)> = p.starts().collect();
        prop_assert!(starts.len() <= slots);
        for (index, resume) in &starts {
            let t = &tasks[*index];
            prop_assert!(t.status.is_open(), "{} is not open", t.id);
            prop_assert!(!known.running.contains_key(&t.id));
            prop_assert!(!known.elsewhere.contains_key(&t.id));
            prop_assert!(!known.succeeded.contains_key(&t.id));
            prop_assert!(!known.settled.contains_key(&t.id));
            prop_assert!(dependencies_done(&tasks, &known, t), "{} started too early", t.id);
            prop_assert_eq!(*resume, known.unfinished.get(&t.id).map(String::as_str));
        }
        // Starts come before queued tasks, and nothing is queued while a slot is free.
        let first_queued = p.entries.iter().position(|e| matches!(e.verdict, Verdict::Queued { .. }));
        if let Some(q) = first_queued {
            prop_assert_eq!(starts.len(), slots);
            let late_start = p.entries[q..].iter().any(|e| matches!(e.verdict, Verdict::Start { .. }));
            prop_assert!(!late_start, "a task starts after a queued one");
        }
        // A task whose dependency is running waits for it.
        for e in &p.entries {
            if let Verdict::Blocked { waits_for, .. } = &e.verdict {
                for id in waits_for {
                    prop_assert!(known.running.contains_key(id));
                    prop_assert!(tasks[e.index].depends_on.contains(id));
                }
            }
        }
    }

    /// A schedule runs each task at most once, never more than `parallel` per round, each
    /// only after what it depends on, and runs everything that can run.
    #[test]
    fn schedules_respect_dependencies((tasks, known, parallel) in arb_case()) {
        let parallel = parallel.max(1);
        let s = schedule(&tasks, &known, parallel, None);
        let mut finished: BTreeMap<String, usize> = BTreeMap::new();
        let mut per_round: BTreeMap<usize, usize> = BTreeMap::new();
        for run in &s.runs {
            let t = &tasks[run.index];
            prop_assert!(!finished.contains_key(&t.id), "{} scheduled twice", t.id);
            *per_round.entry(run.round).or_default() += 1;
            for dep in &t.depends_on {
                let earlier = finished.get(dep).is_some_and(|&r| r < run.round);
                prop_assert!(
                    earlier || dependencies_done(&tasks, &known, &task(&t.id, Todo, 0, &[dep])),
                    "{} runs before its dependency {}", t.id, dep
                );
            }
            finished.insert(t.id.clone(), run.round);
        }
        prop_assert!(per_round.values().all(|&n| n <= parallel));
        // Nothing left could still start.
        let startable = s.rest.iter().any(|e| matches!(e.verdict, Verdict::Start { .. } | Verdict::Queued { .. }));
        prop_assert!(!startable, "a task left out could still start");
        // The number of runs does not depend on the parallelism (only their rounds do).
        let sequential = schedule(&tasks, &known, 1, None);
        prop_assert_eq!(sequential.runs.len(), s.runs.len());
        let limited = schedule(&tasks, &known, parallel, Some(1));
        prop_assert_eq!(limited.runs.len(), s.runs.len().min(1));
    }
}
