//! The [`Store`] contract, checked on both backends, plus sled-only durability and corruption.

use crate::test_data::{event, meta, state};
use crate::{MemoryStore, SledStore, Store, StoreError};

/// Runs `check` on a fresh store of each backend.
fn on_both(check: impl Fn(&dyn Store)) {
    check(&MemoryStore::new());
    let tmp = tempfile::tempdir().unwrap();
    check(&SledStore::open(&tmp.path().join("db")).unwrap());
}

/// Creates run `id` and commits events 1..=n.
fn run_with_events(store: &dyn Store, id: &str, n: u64) {
    store.create_run(&meta(id), &state(id, 0)).unwrap();
    for seq in 1..=n {
        store.commit(id, &event(seq), &state(id, seq)).unwrap();
    }
}

#[test]
fn commit_and_load_round_trip() {
    on_both(|store| {
        assert!(store.load("01A").unwrap().is_none());
        store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
        let loaded = store.load("01A").unwrap().unwrap();
        assert_eq!(loaded.meta, meta("01A"));
        assert_eq!(loaded.state, state("01A", 0));
        assert!(store.events("01A").unwrap().is_empty());
        for seq in 1..=3 {
            store
                .commit("01A", &event(seq), &state("01A", seq))
                .unwrap();
            assert_eq!(store.load("01A").unwrap().unwrap().state, state("01A", seq));
        }
        assert_eq!(
            store.events("01A").unwrap(),
            vec![(1, event(1)), (2, event(2)), (3, event(3))]
        );
    });
}

#[test]
fn create_twice_is_refused() {
    on_both(|store| {
        store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
        store.commit("01A", &event(1), &state("01A", 1)).unwrap();
        let err = store
            .create_run(&meta("01A"), &state("01A", 0))
            .unwrap_err();
        assert!(
            matches!(err, StoreError::AlreadyExists(ref id) if id == "01A"),
            "{err}"
        );
        assert_eq!(
            store.load("01A").unwrap().unwrap().state.seq,
            1,
            "not reset"
        );
    });
}

#[test]
fn seq_conflicts_are_rejected_without_effect() {
    on_both(|store| {
        run_with_events(store, "01A", 2);
        for bad_seq in [2, 1, 4, 0, u64::MAX] {
            match store.commit("01A", &event(99), &state("01A", bad_seq)) {
                Err(StoreError::SeqConflict {
                    run_id,
                    stored,
                    got,
                }) => {
                    assert_eq!((run_id.as_str(), stored, got), ("01A", 2, bad_seq));
                }
                other => panic!("seq {bad_seq}: expected SeqConflict, got {other:?}"),
            }
        }
        assert_eq!(store.load("01A").unwrap().unwrap().state, state("01A", 2));
        assert_eq!(store.events("01A").unwrap().len(), 2);
    });
}

#[test]
fn commit_to_unknown_or_wrong_run_is_refused() {
    on_both(|store| {
        assert!(matches!(
            store.commit("01Z", &event(1), &state("01Z", 1)),
            Err(StoreError::NotFound(_))
        ));
        run_with_events(store, "01A", 0);
        assert!(matches!(
            store.commit("01A", &event(1), &state("01B", 1)),
            Err(StoreError::WrongRun { .. })
        ));
        assert!(matches!(
            store.create_run(&meta("01C"), &state("01D", 0)),
            Err(StoreError::WrongRun { .. })
        ));
        assert!(matches!(
            store.create_run(&meta("a/b"), &state("a/b", 0)),
            Err(StoreError::InvalidRunId(_))
        ));
        assert!(store.events("01Z").unwrap().is_empty());
    });
}

#[test]
fn events_come_back_in_order_and_per_run() {
    on_both(|store| {
        // 300 crosses the 255/256 boundary where little-endian keys would misorder.
        run_with_events(store, "r1", 300);
        run_with_events(store, "r10", 3);
        let events = store.events("r1").unwrap();
        assert_eq!(events.len(), 300);
        for (index, (seq, stored)) in events.iter().enumerate() {
            let expected = index as u64 + 1;
            assert_eq!(*seq, expected);
            assert_eq!(*stored, event(expected));
        }
        assert_eq!(store.events("r10").unwrap().len(), 3);
    });
}

#[test]
fn list_is_newest_first() {
    on_both(|store| {
        for id in ["01B", "01D", "01A", "01C"] {
            run_with_events(store, id, 1);
        }
        let ids: Vec<_> = store
            .list()
            .unwrap()
            .into_iter()
            .map(|r| r.meta.run_id)
            .collect();
        assert_eq!(ids, ["01D", "01C", "01B", "01A"]);
        let first = &store.list().unwrap()[0];
        assert_eq!(first.state, state("01D", 1));
    });
}

#[test]
fn prefixes_resolve_uniquely() {
    on_both(|store| {
        for id in ["01HAAA", "01HAAB", "01HBCC", "01H"] {
            run_with_events(store, id, 0);
        }
        assert_eq!(store.resolve_id("01HB").unwrap(), "01HBCC");
        assert_eq!(store.resolve_id("01HAAB").unwrap(), "01HAAB");
        assert_eq!(store.resolve_id("01H").unwrap(), "01H", "exact match wins");
        match store.resolve_id("01HA") {
            Err(StoreError::Ambiguous { prefix, matches }) => {
                assert_eq!(prefix, "01HA");
                assert_eq!(matches, ["01HAAB", "01HAAA"]);
            }
            other => panic!("expected Ambiguous, got {other:?}"),
        }
        assert!(matches!(
            store.resolve_id("02"),
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(store.resolve_id(""), Err(StoreError::NotFound(_))));
    });
}

#[test]
fn meta_updates_replace_facts() {
    on_both(|store| {
        run_with_events(store, "01A", 1);
        let mut cleaned = meta("01A");
        cleaned.worktree = None;
        store.update_meta(&cleaned).unwrap();
        let loaded = store.load("01A").unwrap().unwrap();
        assert_eq!(loaded.meta, cleaned);
        assert_eq!(loaded.state, state("01A", 1), "state untouched");
        assert!(matches!(
            store.update_meta(&meta("01Z")),
            Err(StoreError::NotFound(_))
        ));
    });
}

#[test]
fn lazy_meta_updates_are_seen_at_once_and_refuse_unknown_runs() {
    on_both(|store| {
        run_with_events(store, "01A", 1);
        let mut cleaned = meta("01A");
        cleaned.worktree = None;
        store.update_meta_lazily(&cleaned).unwrap();
        assert_eq!(store.load("01A").unwrap().unwrap().meta, cleaned);
        let summary = store.summaries().unwrap();
        assert_eq!(summary.len(), 1);
        assert!(matches!(
            store.update_meta_lazily(&meta("01Z")),
            Err(StoreError::NotFound(_))
        ));
    });
}

#[test]
fn a_lazy_meta_update_is_kept_by_the_next_durable_write() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cleaned = meta("01A");
    cleaned.worktree = None;
    {
        let store = SledStore::open(tmp.path()).unwrap();
        run_with_events(&store, "01A", 1);
        store.update_meta_lazily(&cleaned).unwrap();
        store.commit("01A", &event(2), &state("01A", 2)).unwrap();
    }
    let store = SledStore::open(tmp.path()).unwrap();
    assert_eq!(store.load("01A").unwrap().unwrap().meta, cleaned);
}

#[test]
fn memory_and_sled_give_identical_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let sled_store = SledStore::open(tmp.path()).unwrap();
    let memory = MemoryStore::new();
    let script = |store: &dyn Store| -> Vec<String> {
        let mut log = Vec::new();
        let mut record = |label: &str, result: String| log.push(format!("{label}: {result}"));
        for id in ["01B", "01A", "01B"] {
            record(
                "create",
                format!(
                    "{:?}",
                    store
                        .create_run(&meta(id), &state(id, 0))
                        .map_err(|e| e.to_string())
                ),
            );
        }
        for (id, seq) in [
            ("01A", 1),
            ("01A", 2),
            ("01A", 2),
            ("01B", 1),
            ("01B", 3),
            ("01C", 1),
        ] {
            let result = store.commit(id, &event(seq), &state(id, seq));
            record("commit", format!("{:?}", result.map_err(|e| e.to_string())));
        }
        for prefix in ["01", "01A", "01C", ""] {
            record(
                "resolve",
                format!("{:?}", store.resolve_id(prefix).map_err(|e| e.to_string())),
            );
        }
        record(
            "list",
            format!("{:?}", store.list().map_err(|e| e.to_string())),
        );
        record(
            "events",
            format!("{:?}", store.events("01A").map_err(|e| e.to_string())),
        );
        record(
            "load",
            format!("{:?}", store.load("01B").map_err(|e| e.to_string())),
        );
        log
    };
    assert_eq!(script(&memory), script(&sled_store));
}

#[test]
fn sled_data_survives_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(tmp.path()).unwrap();
        run_with_events(&store, "01A", 5);
        let mut cleaned = meta("01A");
        cleaned.worktree = None;
        store.update_meta(&cleaned).unwrap();
    }
    let store = SledStore::open(tmp.path()).unwrap();
    let loaded = store.load("01A").unwrap().unwrap();
    assert_eq!(loaded.state, state("01A", 5));
    assert_eq!(loaded.meta.worktree, None);
    assert_eq!(store.events("01A").unwrap().len(), 5);
    store.commit("01A", &event(6), &state("01A", 6)).unwrap();
    assert!(matches!(
        store.commit("01A", &event(6), &state("01A", 6)),
        Err(StoreError::SeqConflict { .. })
    ));
}

#[test]
fn sled_keeps_large_snapshots_across_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let mut big = state("01A", 1);
    let output = "x".repeat(400 * 1024);
    big.stages.get_mut("build").unwrap().outputs = Some(serde_json::json!({ "log": output }));
    {
        let store = SledStore::open(tmp.path()).unwrap();
        store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
        store.commit("01A", &event(1), &big).unwrap();
    }
    let store = SledStore::open(tmp.path()).unwrap();
    assert_eq!(store.load("01A").unwrap().unwrap().state, big);
}
