//! Tests of [`super::SledStore`] that reach into its trees.

use super::*;
use crate::test_data::{event, meta, state};

fn store_with_run(tmp: &tempfile::TempDir) -> SledStore {
    let store = SledStore::open(tmp.path()).unwrap();
    store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
    store.commit("01A", &event(1), &state("01A", 1)).unwrap();
    store
}

fn assert_corrupt(result: Result<impl std::fmt::Debug, StoreError>, want_key: &str) {
    match result {
        Err(err @ StoreError::Corrupt { .. }) => {
            let StoreError::Corrupt { run_id, key, .. } = &err else {
                unreachable!()
            };
            assert_eq!(run_id, "01A");
            assert_eq!(key, want_key);
            let message = err.to_string();
            assert!(
                message.contains("01A") && message.contains(want_key),
                "{message}"
            );
        }
        other => panic!("expected Corrupt at {want_key}, got {other:?}"),
    }
}

#[test]
fn corrupt_snapshot_is_an_error_naming_run_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_run(&tmp);
    store.snapshots.insert("01A", &b"{not json"[..]).unwrap();
    assert_corrupt(store.load("01A"), "snapshots/01A");
    assert_corrupt(store.list(), "snapshots/01A");
    assert_corrupt(
        store.commit("01A", &event(2), &state("01A", 2)),
        "snapshots/01A",
    );
}

#[test]
fn corrupt_event_is_an_error_naming_run_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_run(&tmp);
    store
        .events
        .insert(event_key("01A", 1), &b"\xff\xfe"[..])
        .unwrap();
    assert_corrupt(store.events("01A"), "events/01A/1");
}

#[test]
fn malformed_event_key_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_run(&tmp);
    store.events.insert(&b"01A\0\x01"[..], &b"{}"[..]).unwrap();
    assert!(matches!(
        store.events("01A"),
        Err(StoreError::Corrupt { ref run_id, .. }) if run_id == "01A"
    ));
}

#[test]
fn corrupt_or_mismatched_meta_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_run(&tmp);
    let other = serde_json::to_vec(&meta("01B")).unwrap();
    store.meta.insert("01A", other).unwrap();
    assert_corrupt(store.load("01A"), "meta/01A");
    store.meta.insert("01A", &b"[]"[..]).unwrap();
    assert_corrupt(store.list(), "meta/01A");
}

#[test]
fn missing_snapshot_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_with_run(&tmp);
    store.snapshots.remove("01A").unwrap();
    assert_corrupt(store.load("01A"), "snapshots/01A");
}

#[test]
fn a_second_open_of_the_same_database_fails_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let _first = SledStore::open(tmp.path()).unwrap();
    // sled locks its database file; a second open is an error, not a panic.
    match SledStore::open(tmp.path()) {
        Err(err @ StoreError::Sled { .. }) => {
            assert!(err.to_string().contains("opening the database"), "{err}");
        }
        other => panic!("expected a sled error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn newest_first_reads_only_the_runs_taken() {
    let tmp = tempfile::tempdir().unwrap();
    let store = SledStore::open(tmp.path()).unwrap();
    assert_eq!(store.latest_id().unwrap(), None);
    for id in ["01A", "01B", "01C"] {
        store.create_run(&meta(id), &state(id, 0)).unwrap();
    }
    // The oldest run cannot be read: taking the two newest never reads it.
    store.snapshots.insert("01A", &b"{not json"[..]).unwrap();
    let newest: Vec<String> = store
        .newest_first()
        .take(2)
        .map(|r| r.unwrap().meta.run_id)
        .collect();
    assert_eq!(newest, vec!["01C", "01B"]);
    assert_eq!(store.latest_id().unwrap().as_deref(), Some("01C"));
    assert_corrupt(store.list(), "snapshots/01A");
}
