//! Taking the lock rewrites only the mirrors that may be behind (see [`crate::mirror_refresh`]):
//! none after a clean exit, exactly the runs a crash (or a failed write) left pending, and every
//! mirror when a store that does not mirror wrote or the machine restarted.

use std::path::Path;
use std::sync::atomic::Ordering;

use crate::test_data::{event, file_names as names, meta, state};
use crate::{SledStore, StateDir, Store, mirror_dir, read_mirror, read_mirrors};

/// How often the store's mirror writer listed its directory or read a mirror's head so far.
fn mirror_reads(state_dir: &StateDir) -> usize {
    state_dir
        .store()
        .mirror
        .as_ref()
        .unwrap()
        .reads
        .load(Ordering::Relaxed)
}

/// The runs whose mirror the store holds as pending.
fn pending(store: &SledStore) -> Vec<String> {
    store
        .mirror_status
        .iter()
        .map(Result::unwrap)
        .filter(|(_, entry)| entry.first() == Some(&b'P'))
        .map(|(key, _)| String::from_utf8(key.to_vec()).unwrap())
        .collect()
}

/// Three runs, 01A to 01C, each with one event, stored through a state directory.
fn three_runs(dir: &Path) {
    let state_dir = StateDir::open_locked(dir, "engine run").unwrap();
    for id in ["01A", "01B", "01C"] {
        let store = state_dir.store();
        store.create_run(&meta(id), &state(id, 0)).unwrap();
        store.commit(id, &event(1), &state(id, 1)).unwrap();
    }
    assert!(pending(state_dir.store()).is_empty());
}

/// Runs `writes` on the store of a state directory whose mirrors cannot be written, as when the
/// process dies after a commit and before its mirror write (the database has the write, the
/// mirror does not), then puts the mirror directory back.
fn with_mirror_writes_lost(dir: &Path, writes: impl FnOnce(&SledStore)) {
    let mirrors = mirror_dir(dir);
    let aside = dir.join("mirror.aside");
    std::fs::rename(&mirrors, &aside).unwrap();
    std::fs::write(&mirrors, "in the way").unwrap();
    {
        let state_dir = StateDir::open_locked(dir, "engine run").unwrap();
        writes(state_dir.store());
    }
    std::fs::remove_file(&mirrors).unwrap();
    std::fs::rename(&aside, &mirrors).unwrap();
}

#[test]
fn a_clean_reopen_reads_no_mirror() {
    let tmp = tempfile::tempdir().unwrap();
    three_runs(tmp.path());
    let state_dir = StateDir::open_locked(tmp.path(), "engine runs").unwrap();
    assert_eq!(mirror_reads(&state_dir), 0);
    assert_eq!(state_dir.store().refresh_mirrors().unwrap(), 0);
    assert_eq!(
        read_mirrors(tmp.path()).unwrap().runs,
        state_dir.store().list().unwrap()
    );
}

#[test]
fn a_write_whose_mirror_was_lost_is_rewritten_alone_at_the_next_open() {
    let tmp = tempfile::tempdir().unwrap();
    three_runs(tmp.path());
    let dir = mirror_dir(tmp.path());
    assert_eq!(names(&dir), vec!["01A.2.json", "01B.2.json", "01C.2.json"]);
    with_mirror_writes_lost(tmp.path(), |store| {
        store.commit("01B", &event(2), &state("01B", 2)).unwrap();
        assert_eq!(pending(store), vec!["01B"]);
    });
    // The pending entry survived the "crash"; the mirror is behind.
    assert_eq!(read_mirror(tmp.path(), "01B").unwrap().record.state.seq, 1);

    let state_dir = StateDir::open_locked(tmp.path(), "engine runs").unwrap();
    // One listing of the directory, no other mirror looked at, only 01B rewritten.
    assert_eq!(mirror_reads(&state_dir), 1);
    assert_eq!(names(&dir), vec!["01A.2.json", "01B.3.json", "01C.2.json"]);
    let mirrored = read_mirror(tmp.path(), "01B").unwrap();
    assert_eq!(mirrored.record.state, state("01B", 2));
    assert_eq!(mirrored.events, state_dir.store().events("01B").unwrap());
    assert!(pending(state_dir.store()).is_empty());
}

#[test]
fn a_meta_update_whose_mirror_was_lost_is_rewritten_though_its_seq_did_not_change() {
    let tmp = tempfile::tempdir().unwrap();
    three_runs(tmp.path());
    let mut updated = meta("01A");
    updated.worktree = None;
    with_mirror_writes_lost(tmp.path(), |store| store.update_meta(&updated).unwrap());
    let state_dir = StateDir::open_locked(tmp.path(), "engine runs").unwrap();
    assert_eq!(read_mirror(tmp.path(), "01A").unwrap().record.meta, updated);
    assert_eq!(
        read_mirrors(tmp.path()).unwrap().runs,
        state_dir.store().list().unwrap()
    );
}

#[test]
fn a_crash_inside_a_mirror_write_leaves_no_stray() {
    let tmp = tempfile::tempdir().unwrap();
    three_runs(tmp.path());
    let dir = mirror_dir(tmp.path());
    with_mirror_writes_lost(tmp.path(), |store| {
        store.commit("01B", &event(2), &state("01B", 2)).unwrap();
    });
    // What a process killed inside 01B's mirror write leaves: a temporary file and the
    // previous version next to the new one.
    std::fs::write(dir.join(".01B.999999999.0.tmp"), "partial").unwrap();
    std::fs::write(dir.join("01B.1.json"), "{}").unwrap();
    let _state_dir = StateDir::open_locked(tmp.path(), "engine runs").unwrap();
    assert_eq!(names(&dir), vec!["01A.2.json", "01B.3.json", "01C.2.json"]);
}

#[test]
fn a_restart_of_the_machine_checks_every_mirror() {
    let tmp = tempfile::tempdir().unwrap();
    three_runs(tmp.path());
    let dir = mirror_dir(tmp.path());
    {
        // The mark as another boot left it.
        let store = SledStore::open(&tmp.path().join("db")).unwrap();
        store
            .mirror_status
            .insert(&b"\0in_line"[..], &b"another-boot"[..])
            .unwrap();
        store.flush().unwrap();
    }
    // A power loss emptied a mirror that was never written to disk.
    std::fs::write(dir.join("01C.2.json"), "").unwrap();
    let state_dir = StateDir::open_locked(tmp.path(), "engine runs").unwrap();
    let listing = read_mirrors(tmp.path()).unwrap();
    assert!(listing.problems.is_empty(), "{:?}", listing.problems);
    assert_eq!(listing.runs, state_dir.store().list().unwrap());
    drop(state_dir);
    // Marked for this boot again: the next open reads nothing.
    let state_dir = StateDir::open_locked(tmp.path(), "engine runs").unwrap();
    assert_eq!(mirror_reads(&state_dir), 0);
}

#[test]
fn a_mirror_cut_short_or_removed_is_rewritten_at_the_next_open() {
    let tmp = tempfile::tempdir().unwrap();
    three_runs(tmp.path());
    let dir = mirror_dir(tmp.path());
    std::fs::write(dir.join("01A.2.json"), "{\"format\":1,\"seq\":1,\"meta\":{").unwrap();
    std::fs::remove_file(dir.join("01C.2.json")).unwrap();
    let state_dir = StateDir::open_locked(tmp.path(), "engine runs").unwrap();
    assert_eq!(names(&dir), vec!["01A.3.json", "01B.2.json", "01C.1.json"]);
    let listing = read_mirrors(tmp.path()).unwrap();
    assert!(listing.problems.is_empty(), "{:?}", listing.problems);
    assert_eq!(listing.runs, state_dir.store().list().unwrap());
}
