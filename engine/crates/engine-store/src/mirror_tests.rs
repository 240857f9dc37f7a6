//! The read-only run mirrors: written on every store write, replaced atomically, read without
//! the lock, unreadable ones reported, prefixes resolved like the store does.

use crate::mirror::FORMAT;
use crate::test_data::{event, file_names as names, meta, state};
use crate::{SledStore, StateDir, Store, StoreError, mirror_dir, read_mirror, read_mirrors};

#[test]
fn every_store_write_updates_the_mirror() {
    let tmp = tempfile::tempdir().unwrap();
    let state_dir = StateDir::open_locked(tmp.path(), "engine run").unwrap();
    let store = state_dir.store();

    store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
    let mirrored = read_mirror(tmp.path(), "01A").unwrap();
    assert_eq!(mirrored.record, store.load("01A").unwrap().unwrap());
    assert!(mirrored.events.is_empty());

    for seq in 1..=3 {
        store
            .commit("01A", &event(seq), &state("01A", seq))
            .unwrap();
        let mirrored = read_mirror(tmp.path(), "01A").unwrap();
        assert_eq!(mirrored.record.state, state("01A", seq));
        assert_eq!(mirrored.events, store.events("01A").unwrap());
    }

    let mut updated = meta("01A");
    updated.worktree = None;
    store.update_meta(&updated).unwrap();
    assert_eq!(read_mirror(tmp.path(), "01A").unwrap().record.meta, updated);

    // Five writes, five versions; only the last is left in the directory, and no temporary
    // files.
    assert_eq!(names(&mirror_dir(tmp.path())), vec!["01A.5.json"]);
    let text = std::fs::read_to_string(mirror_dir(tmp.path()).join("01A.5.json")).unwrap();
    assert!(
        text.starts_with(&format!("{{\"format\":{FORMAT},\"seq\":3,")),
        "{text}"
    );
}

#[test]
fn a_plain_store_writes_no_mirror() {
    let tmp = tempfile::tempdir().unwrap();
    let store = SledStore::open(&tmp.path().join("db")).unwrap();
    store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
    assert!(!mirror_dir(tmp.path()).exists());
    assert_eq!(store.refresh_mirrors().unwrap(), 0);
}

#[test]
fn readers_never_see_a_half_written_mirror() {
    let tmp = tempfile::tempdir().unwrap();
    let state_dir = StateDir::open_locked(tmp.path(), "engine run").unwrap();
    let store = state_dir.store().clone();
    store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
    let dir = tmp.path().to_path_buf();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut reads = 0u32;
            let mut last_seq = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                let run = read_mirror(&dir, "01A").expect("every read sees a whole mirror");
                assert!(run.record.state.seq >= last_seq, "went backwards");
                assert_eq!(run.events.len() as u64, run.record.state.seq);
                last_seq = run.record.state.seq;
                reads += 1;
            }
            reads
        })
    };
    for seq in 1..=150 {
        store
            .commit("01A", &event(seq), &state("01A", seq))
            .unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(
        read_mirror(tmp.path(), "01A").unwrap().record.state.seq,
        150
    );
}

#[test]
fn a_mirror_that_cannot_be_written_does_not_fail_the_commit() {
    let tmp = tempfile::tempdir().unwrap();
    // A file where the mirror directory should be.
    std::fs::write(tmp.path().join("mirror"), "in the way").unwrap();
    let state_dir = StateDir::open_locked(tmp.path(), "engine run").unwrap();
    let store = state_dir.store();
    store.create_run(&meta("01A"), &state("01A", 0)).unwrap();
    store.commit("01A", &event(1), &state("01A", 1)).unwrap();
    assert_eq!(store.load("01A").unwrap().unwrap().state.seq, 1);
    assert!(matches!(
        read_mirrors(tmp.path()),
        Err(StoreError::Io { .. })
    ));
}

#[test]
fn a_corrupt_or_partial_mirror_is_skipped_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let state_dir = StateDir::open_locked(tmp.path(), "engine run").unwrap();
        for id in ["01A", "01B", "01C"] {
            state_dir
                .store()
                .create_run(&meta(id), &state(id, 0))
                .unwrap();
        }
    }
    let dir = mirror_dir(tmp.path());
    // A write cut short, and a file from a newer engine.
    let whole = std::fs::read(dir.join("01B.1.json")).unwrap();
    std::fs::write(dir.join("01B.1.json"), &whole[..whole.len() / 2]).unwrap();
    std::fs::write(dir.join("01C.1.json"), "{\"format\":7,\"seq\":0}").unwrap();

    let listing = read_mirrors(tmp.path()).unwrap();
    let ids: Vec<_> = listing
        .runs
        .iter()
        .map(|r| r.meta.run_id.as_str())
        .collect();
    assert_eq!(ids, vec!["01A"]);
    let problems: Vec<_> = listing
        .problems
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("01C.1.json"), "{problems:?}");
    assert!(
        problems[0].contains("mirror format 7; this engine reads format 1"),
        "{problems:?}"
    );
    assert!(problems[1].contains("01B.1.json"), "{problems:?}");
    assert!(
        problems[1].contains("unreadable run mirror"),
        "{problems:?}"
    );

    match read_mirror(tmp.path(), "01B") {
        Err(StoreError::CorruptMirror { path, .. }) => assert_eq!(path, dir.join("01B.1.json")),
        other => panic!("expected CorruptMirror, got {other:?}"),
    }
    // A mirror holding another run is refused too.
    std::fs::copy(dir.join("01A.1.json"), dir.join("01D.1.json")).unwrap();
    let err = read_mirror(tmp.path(), "01D").unwrap_err();
    assert!(err.to_string().contains("holds run 01A"), "{err}");
}

#[test]
fn prefixes_resolve_like_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let state_dir = StateDir::open_locked(tmp.path(), "engine run").unwrap();
    for id in ["01AB", "01AC", "01ACX", "02"] {
        state_dir
            .store()
            .create_run(&meta(id), &state(id, 0))
            .unwrap();
    }
    // Stray files are not runs.
    let dir = mirror_dir(tmp.path());
    std::fs::write(dir.join(".01AD.1.2.tmp"), "partial").unwrap();
    std::fs::write(dir.join("notes.txt"), "x").unwrap();
    std::fs::write(dir.join("bad id.1.json"), "{}").unwrap();
    std::fs::write(dir.join("01AD.json"), "{}").unwrap();

    let read = |prefix: &str| read_mirror(tmp.path(), prefix).map(|r| r.record.meta.run_id);
    assert_eq!(read("02").unwrap(), "02");
    assert_eq!(read("01AB").unwrap(), "01AB");
    // An exact match wins over longer ids.
    assert_eq!(read("01AC").unwrap(), "01AC");
    match read("01A") {
        Err(StoreError::Ambiguous { prefix, matches }) => {
            assert_eq!(prefix, "01A");
            assert_eq!(matches, vec!["01ACX", "01AC", "01AB"]);
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
    assert!(matches!(read("01AD"), Err(StoreError::NotFound(p)) if p == "01AD"));
    assert!(matches!(read(""), Err(StoreError::NotFound(_))));
    assert!(matches!(read("../x"), Err(StoreError::NotFound(_))));
    // The same answers as the store gives.
    for prefix in ["02", "01AB", "01AC", "01A", "9"] {
        assert_eq!(
            read(prefix).map_err(|e| e.to_string()),
            state_dir
                .store()
                .resolve_id(prefix)
                .map_err(|e| e.to_string())
        );
    }

    let listing = read_mirrors(tmp.path()).unwrap();
    let ids: Vec<_> = listing
        .runs
        .iter()
        .map(|r| r.meta.run_id.as_str())
        .collect();
    assert_eq!(ids, vec!["02", "01ACX", "01AC", "01AB"], "newest first");
    assert!(listing.problems.is_empty(), "{:?}", listing.problems);
    assert_eq!(
        listing.runs,
        state_dir.store().list().unwrap(),
        "same as the store"
    );
}

#[test]
fn no_mirror_directory_reads_as_no_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let listing = read_mirrors(tmp.path()).unwrap();
    assert!(listing.runs.is_empty() && listing.problems.is_empty());
    assert!(matches!(
        read_mirror(tmp.path(), "01A"),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn taking_the_lock_brings_missing_stale_and_stray_mirrors_in_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = mirror_dir(tmp.path());
    {
        // Runs stored before mirrors existed.
        let store = SledStore::open(&tmp.path().join("db")).unwrap();
        for id in ["01A", "01B"] {
            store.create_run(&meta(id), &state(id, 0)).unwrap();
            store.commit(id, &event(1), &state(id, 1)).unwrap();
        }
    }
    {
        let state_dir = StateDir::open_locked(tmp.path(), "engine runs").unwrap();
        assert_eq!(names(&dir), vec!["01A.1.json", "01B.1.json"]);
        assert_eq!(
            read_mirrors(tmp.path()).unwrap().runs,
            state_dir.store().list().unwrap()
        );
        // Nothing to do the second time.
        assert_eq!(state_dir.store().refresh_mirrors().unwrap(), 0);
    }
    // A mirror left behind (e.g. the write after the last commit was lost), an unreadable one,
    // one of a run the store does not know, a superseded version that was not removed, and a
    // temporary file of a dead process.
    {
        let store = SledStore::open(&tmp.path().join("db")).unwrap();
        store.commit("01A", &event(2), &state("01A", 2)).unwrap();
    }
    std::fs::write(dir.join("01B.1.json"), "{\"format\":1,\"se").unwrap();
    std::fs::write(dir.join("01Z.3.json"), "{}").unwrap();
    std::fs::write(dir.join("01B.0.json"), "{}").unwrap();
    std::fs::write(dir.join(".01A.999999999.0.tmp"), "partial").unwrap();
    let state_dir = StateDir::open_locked(tmp.path(), "engine run").unwrap();
    assert_eq!(names(&dir), vec!["01A.2.json", "01B.2.json"]);
    let listing = read_mirrors(tmp.path()).unwrap();
    assert!(listing.problems.is_empty(), "{:?}", listing.problems);
    assert_eq!(listing.runs, state_dir.store().list().unwrap());
    assert_eq!(listing.runs[1].state.seq, 2);
}
