//! The spend index and the runs' summaries agree with a full read of every run: after random
//! transitions, after reopening, and when rebuilt for a database written without them.

use engine_core::{AttemptOutcome, AttemptRecord, RunState, RunStatus, Spend};

use crate::spend_index::DAY_MS;
use crate::store::spend_on_day_of;
use crate::test_data::{event, meta, state};
use crate::{RunSummary, SledStore, Store, TaskLink};

/// A small deterministic generator (no dependency for tests).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// Day 20,000 (2024-10-04) at `hour`.
fn at(day: u64, hour: u64) -> u64 {
    (20_000 + day) * DAY_MS + hour * 3_600_000
}

/// `state` with one more attempt record in a random stage, or (sometimes) its last record
/// ended on another day, or (rarely) its history cleared.
fn mutate(mut state: RunState, rng: &mut Lcg) -> RunState {
    let stage = ["build", "test", "review"][usize::try_from(rng.next(3)).unwrap()];
    let history = &mut state.stages.entry(stage.to_string()).or_default().history;
    match rng.next(10) {
        0 => history.clear(),
        1 | 2 if !history.is_empty() => {
            let last = history.len() - 1;
            history[last].ended_at_ms = Some(at(rng.next(4), rng.next(24)));
        }
        _ => history.push(AttemptRecord {
            attempt: u32::try_from(history.len()).unwrap() + 1,
            started_at_ms: at(rng.next(4), rng.next(24)),
            ended_at_ms: (rng.next(3) > 0).then(|| at(rng.next(4), rng.next(24))),
            outcome: AttemptOutcome::Running,
            spend: Spend {
                cost_usd: rng.next(1000) as f64 / 7.0,
                cost_known: rng.next(5) > 0,
                input_tokens: rng.next(10_000),
                output_tokens: rng.next(10_000),
                cache_read_tokens: 0,
                cache_write_tokens: rng.next(3),
                cost_estimated: rng.next(4) == 0,
            },
            commits: vec![],
        }),
    }
    state.seq += 1;
    state
}

/// The index and the summaries agree with what every run's record says.
fn assert_agrees(store: &SledStore) {
    for day in 19_999..20_005 {
        let scanned = spend_on_day_of(store.list().unwrap(), day);
        assert_eq!(store.spend_on_day(day).unwrap(), scanned, "day {day}");
    }
    let summaries: Vec<RunSummary> = store.list().unwrap().iter().map(RunSummary::of).collect();
    assert_eq!(store.summaries().unwrap(), summaries);
}

#[test]
fn the_spend_index_and_summaries_agree_with_every_run_after_random_transitions_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Lcg(16);
    {
        let store = SledStore::open(tmp.path()).unwrap();
        // Summaries read once, before the writes: the writes keep them up to date.
        assert!(store.summaries().unwrap().is_empty());
        let mut runs: Vec<RunState> = Vec::new();
        for step in 0..300 {
            if runs.is_empty() || rng.next(8) == 0 {
                let run_id = format!("01RUN{:03}", runs.len());
                let initial = state(&run_id, 0);
                store.create_run(&meta(&run_id), &initial).unwrap();
                runs.push(initial);
                continue;
            }
            let i = usize::try_from(rng.next(runs.len() as u64)).unwrap();
            let mut next = mutate(runs[i].clone(), &mut rng);
            if rng.next(6) == 0 {
                next.status = RunStatus::Succeeded;
                next.task.id = format!("T-{step}");
            }
            store.commit(&next.run_id, &event(next.seq), &next).unwrap();
            runs[i] = next;
            if rng.next(10) == 0 {
                let mut m = meta(&runs[i].run_id);
                m.task_source = Some(TaskLink {
                    source: "builtin:tasks-md".into(),
                    written_back: Some("done".into()),
                });
                store.update_meta(&m).unwrap();
            }
            if step % 50 == 0 {
                assert_agrees(&store);
            }
        }
        assert_agrees(&store);
        assert!(
            (19_999..20_005).any(|day| store.spend_on_day(day).unwrap().len() > 1),
            "the random runs spent on shared days"
        );
    }
    let reopened = SledStore::open(tmp.path()).unwrap();
    assert_agrees(&reopened);
}

#[test]
fn a_database_written_without_the_index_is_indexed_when_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = Lcg(7);
    {
        let store = SledStore::open(tmp.path()).unwrap();
        for n in 0..5 {
            let run_id = format!("01OLD{n}");
            let mut current = state(&run_id, 0);
            store.create_run(&meta(&run_id), &current).unwrap();
            for _ in 0..6 {
                current = mutate(current, &mut rng);
                store
                    .commit(&run_id, &event(current.seq), &current)
                    .unwrap();
            }
        }
        // As an engine from before the index left it (or a crash while it was built): no
        // trees, no mark.
        for tree in ["day_spend", "spend_days", "index_info"] {
            assert!(store.db.drop_tree(tree).unwrap());
        }
        store.db.flush().unwrap();
    }
    let store = SledStore::open(tmp.path()).unwrap();
    assert!(store.spend_index_ready);
    assert!((19_999..20_005).any(|day| !store.spend_on_day(day).unwrap().is_empty()));
    assert_agrees(&store);
}

#[test]
fn a_broken_snapshot_leaves_the_day_read_from_every_run_which_reports_it() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(tmp.path()).unwrap();
        store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
        store.snapshots.insert("01A", &b"{not json"[..]).unwrap();
        assert!(store.db.drop_tree("index_info").unwrap());
        store.db.flush().unwrap();
    }
    let store = SledStore::open(tmp.path()).unwrap();
    assert!(!store.spend_index_ready);
    assert!(matches!(
        store.spend_on_day(20_000),
        Err(crate::StoreError::Corrupt { .. })
    ));
}

#[test]
fn every_write_changes_the_generation() {
    let tmp = tempfile::tempdir().unwrap();
    let store = SledStore::open(tmp.path()).unwrap();
    let clone = store.clone();
    let mut seen = vec![store.generation()];
    store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
    seen.push(clone.generation());
    store.commit("01A", &event(1), &state("01A", 1)).unwrap();
    seen.push(clone.generation());
    store.update_meta(&meta("01A")).unwrap();
    seen.push(clone.generation());
    // A refused write changes nothing.
    assert!(store.commit("01A", &event(1), &state("01A", 1)).is_err());
    seen.push(clone.generation());
    assert_eq!(seen, [0, 1, 2, 3, 3]);
}
