//! [`crate::schedule`]'s simulation in O(n log n): readiness is decided once, then each
//! scheduled task releases its dependents, and the ready tasks wait in a heap keyed like the
//! readiness order. Re-planning every round (what the definition says) is quadratic: 100,000
//! chained tasks are 100,000 rounds. `queue_tests` checks both agree.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use crate::model::{Task, TaskStatus};
use crate::queue::{Known, Schedule, Scheduled, plan};
use crate::readiness::{Blocker, readiness};

/// See [`crate::schedule`].
pub(crate) fn simulate(
    tasks: &[Task],
    known: &Known,
    parallel: usize,
    limit: Option<usize>,
) -> Schedule {
    let parallel = parallel.max(1);
    let effective = crate::queue::effective_tasks(tasks, known);
    // Whether plan() would start the task once it is ready (its own verdict comes first).
    let may_start = |index: usize| {
        let task = &tasks[index];
        let id = &task.id;
        !known.running.contains_key(id)
            && !known.elsewhere.contains_key(id)
            && task.status != TaskStatus::Done
            && !known.succeeded.contains_key(id)
            && !known.settled.contains_key(id)
    };
    let key = |index: usize| {
        let task = &effective[index];
        Reverse((task.rank(), task.status != TaskStatus::InProgress, index))
    };
    let verdict = readiness(&effective);
    let mut heap = BinaryHeap::new();
    // For each task waiting only on dependencies: how many are not scheduled yet.
    let mut waiting: Vec<usize> = vec![0; tasks.len()];
    let mut dependents: HashMap<&str, Vec<usize>> = HashMap::new();
    for entry in &verdict.order {
        if entry.ready {
            if may_start(entry.index) {
                heap.push(key(entry.index));
            }
            continue;
        }
        let only_dependencies = effective[entry.index].status.is_open()
            && !entry.blocked_by.is_empty()
            && entry
                .blocked_by
                .iter()
                .all(|b| matches!(b, Blocker::Dependency { .. }));
        if !only_dependencies || !may_start(entry.index) {
            continue;
        }
        for blocker in &entry.blocked_by {
            if let Blocker::Dependency { id, .. } = blocker {
                waiting[entry.index] += 1;
                dependents.entry(id.as_str()).or_default().push(entry.index);
            }
        }
    }
    let mut runs: Vec<Scheduled> = Vec::new();
    let mut scheduled: BTreeSet<String> = BTreeSet::new();
    let mut round = 0;
    loop {
        let left = limit.map_or(parallel, |l| l.saturating_sub(runs.len()).min(parallel));
        if left == 0 {
            break;
        }
        let mut starts = Vec::new();
        while starts.len() < left {
            let Some(Reverse((_, _, index))) = heap.pop() else {
                break;
            };
            // A duplicate id already scheduled counts as succeeded: never started twice.
            if !scheduled.contains(&tasks[index].id) && !starts.contains(&index) {
                starts.push(index);
            }
        }
        if starts.is_empty() {
            break;
        }
        round += 1;
        let mut released = Vec::new();
        for index in starts {
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
                resume: known.unfinished.get(&task.id).cloned(),
                after,
            });
            if scheduled.insert(task.id.clone())
                && let Some(waiters) = dependents.get(task.id.as_str())
            {
                released.extend(waiters.iter().copied());
            }
        }
        for index in released {
            waiting[index] = waiting[index].saturating_sub(1);
            if waiting[index] == 0 {
                heap.push(key(index));
            }
        }
    }
    let mut known = known.clone();
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
