//! Guarantees that need a second process: an acknowledged commit survives kill -9, the state
//! directory's lock excludes other processes and is released by the kernel when its holder dies,
//! and opening a store touches few pages (counted in a process that does nothing else).
//!
//! The child process is this test binary itself, re-executed to run only `child_entry` (an
//! ignored entry point) with `ENGINE_STORE_TEST_CHILD` telling it what to do.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use engine_core::{Event, RunState, RunStatus, StageState, Task};
use engine_store::{RunMeta, SledStore, StateDir, Store, StoreError, lock_holder};
use engine_testkit::entry_point;

/// Set in the child: `commit <db dir>`, `lock <state dir>` or `footprint <db dir>`.
const CHILD_ENV: &str = "ENGINE_STORE_TEST_CHILD";
const RUN_ID: &str = "01JCRASHTEST";
const CHILD_HOLDER: &str = "engine run child.yaml";

fn meta() -> RunMeta {
    RunMeta {
        run_id: RUN_ID.to_string(),
        workflow_file: PathBuf::from("/repo/workflow.yaml"),
        workflow_name: "crash".to_string(),
        workflow_source: "name: crash\n".to_string(),
        created_at_ms: 1,
        repo_root: PathBuf::from("/repo"),
        worktree: None,
        branch: "engine/crash".to_string(),
        base_branch: "main".to_string(),
        base_commit: "0".repeat(40),
        task_source: None,
    }
}

/// The state after `seq` events: a pure function of `seq`, so the parent can check it.
fn state_at(seq: u64) -> RunState {
    let mut stage = StageState::new();
    stage.attempts = u32::try_from(seq).unwrap_or(u32::MAX);
    stage.summary = Some(format!("after event {seq}"));
    RunState {
        run_id: RUN_ID.to_string(),
        task: Task::default(),
        status: RunStatus::Running,
        stages: BTreeMap::from([("work".to_string(), stage)]),
        seq,
        started_at_ms: Some(1),
        finished_at_ms: None,
        finally: BTreeMap::default(),
        paused_at_ms: None,
        deadline_ms: None,
    }
}

fn event_at(seq: u64) -> Event {
    Event::RetryDue {
        stage: "work".to_string(),
        attempt: u32::try_from(seq).unwrap_or(u32::MAX),
        at_ms: seq,
    }
}

/// What the child does, selected by `CHILD_ENV`: the child half of the tests below.
#[test]
#[ignore = "entry point of the tests of this file, which run it in a child process"]
fn child_entry() {
    let task = entry_point::input(CHILD_ENV).unwrap();
    let task = task.to_str().unwrap();
    let (what, dir) = task.split_once(' ').unwrap();
    let mut out = std::io::stdout().lock();
    match what {
        "commit" => {
            let store = SledStore::open(Path::new(dir)).unwrap();
            store.create_run(&meta(), &state_at(0)).unwrap();
            // Far more than the parent waits for: it kills us mid-stream.
            for seq in 1..=1_000_000 {
                store
                    .commit(RUN_ID, &event_at(seq), &state_at(seq))
                    .unwrap();
                writeln!(out, "ACK {seq}").unwrap();
                out.flush().unwrap();
            }
        }
        "lock" => {
            let _state_dir = StateDir::open_locked(Path::new(dir), CHILD_HOLDER).unwrap();
            writeln!(out, "LOCKED").unwrap();
            out.flush().unwrap();
            // Hold the lock until killed (bounded, in case the parent vanished).
            std::thread::sleep(std::time::Duration::from_mins(2));
        }
        "footprint" => {
            let before = minor_faults();
            let store = SledStore::open(Path::new(dir)).unwrap();
            store.create_run(&meta(), &state_at(0)).unwrap();
            let faults = minor_faults() - before;
            writeln!(out, "FAULTS {faults}").unwrap();
            out.flush().unwrap();
        }
        other => panic!("unknown child task {other}"),
    }
}

/// Pages this process has touched so far (minor page faults).
fn minor_faults() -> i64 {
    // SAFETY: getrusage writes one `rusage` into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to that struct.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut usage) };
    assert_eq!(
        rc,
        0,
        "getrusage failed: {}",
        std::io::Error::last_os_error()
    );
    usage.ru_minflt
}

/// Starts this test binary as a child doing `task`.
fn spawn_child(task: &str) -> (Child, BufReader<ChildStdout>) {
    let mut child = entry_point::command(module_path!(), "child_entry")
        .unwrap()
        .arg("--nocapture")
        .env(CHILD_ENV, task)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

/// Reads the child's stdout until `marker` has been seen `count` times (the test harness may
/// print its own text on the same line before it); returns what follows the last one.
fn read_markers(stdout: &mut BufReader<ChildStdout>, marker: &str, count: usize) -> String {
    let mut seen = 0;
    let mut line = String::new();
    loop {
        line.clear();
        let n = stdout.read_line(&mut line).unwrap();
        assert!(n > 0, "child exited after {seen} `{marker}` lines");
        if let Some(at) = line.find(marker) {
            seen += 1;
            if seen == count {
                return line[at + marker.len()..].trim_end().to_string();
            }
        }
    }
}

fn kill_9(child: &mut Child) {
    signal_9(libc::pid_t::try_from(child.id()).unwrap());
    let status = child.wait().unwrap();
    assert!(!status.success());
}

/// Sends SIGKILL to `pid` (a negative pid names a process group).
fn signal_9(pid: libc::pid_t) {
    // SAFETY: sending a signal to our own child process.
    let rc = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(rc, 0, "kill failed: {}", std::io::Error::last_os_error());
}

#[test]
fn acknowledged_commits_survive_kill_9() {
    const ACKED: usize = 150;
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let (mut child, mut stdout) = spawn_child(&format!("commit {}", db.display()));
    let last = read_markers(&mut stdout, "ACK ", ACKED);
    kill_9(&mut child);
    let acked: u64 = last.parse().unwrap();
    assert_eq!(acked, ACKED as u64);

    let store = SledStore::open(&db).unwrap();
    let record = store.load(RUN_ID).unwrap().expect("run was acknowledged");
    let events = store.events(RUN_ID).unwrap();
    let stored_seq = record.state.seq;
    assert!(
        stored_seq >= acked,
        "acknowledged seq {acked} lost: snapshot at {stored_seq}"
    );
    // Snapshot and log agree: exactly the events 1..=seq, and the snapshot is the state after
    // the last of them (commit is atomic).
    assert_eq!(events.len() as u64, stored_seq);
    for (index, (seq, stored)) in events.iter().enumerate() {
        assert_eq!(*seq, index as u64 + 1);
        assert_eq!(*stored, event_at(*seq));
    }
    assert_eq!(record.state, state_at(stored_seq));
    // And the run continues from there.
    store
        .commit(RUN_ID, &event_at(stored_seq + 1), &state_at(stored_seq + 1))
        .unwrap();
}

#[test]
fn lock_excludes_other_processes_and_dies_with_its_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".engine");
    let (mut child, mut stdout) = spawn_child(&format!("lock {}", dir.display()));
    read_markers(&mut stdout, "LOCKED", 1);

    match StateDir::open_locked(&dir, "engine show") {
        Err(err @ StoreError::Busy { .. }) => {
            let StoreError::Busy { pid, holder, .. } = &err else {
                unreachable!()
            };
            assert_eq!(*pid, child.id());
            assert_eq!(holder, CHILD_HOLDER);
            let message = err.to_string();
            assert!(message.contains(&child.id().to_string()), "{message}");
            assert!(message.contains(CHILD_HOLDER), "{message}");
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    assert_eq!(
        lock_holder(&dir),
        Some((child.id(), CHILD_HOLDER.to_string()))
    );
    // Control requests still work while the child holds the lock.
    engine_store::request_cancel(&dir, RUN_ID, "stop").unwrap();

    kill_9(&mut child);
    assert_eq!(lock_holder(&dir), None, "the kernel released the lock");
    let state_dir = StateDir::open_locked(&dir, "engine resume").unwrap();
    assert_eq!(
        engine_store::take_cancel_requests(state_dir.path()).unwrap(),
        vec![(RUN_ID.to_string(), "stop".to_string())]
    );
}

#[test]
fn flock_utility_holder_is_detected() {
    let flock = Path::new("/usr/bin/flock");
    if !flock.exists() {
        eprintln!("skipping: /usr/bin/flock not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let lock = tmp.path().join("lock");
    // `-o`: only flock itself holds the lock, not the shell it runs, so once flock is reaped
    // the lock is free. Its own process group, so the shell and sleep die with it.
    let mut child = Command::new(flock)
        .process_group(0)
        .arg("-o")
        .arg(&lock)
        .args(["-c", "echo held; exec sleep 120"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "held");
    assert!(matches!(
        StateDir::open_locked(tmp.path(), "engine run"),
        Err(StoreError::Busy { .. })
    ));
    signal_9(-libc::pid_t::try_from(child.id()).unwrap());
    child.wait().unwrap();
    StateDir::open_locked(tmp.path(), "engine run").unwrap();
}

/// Opening a store and writing a run touches a few hundred pages, not the 4,352 (17 MiB) of
/// zeros sled writes into its 34 metric histograms unless they are allocated zeroed
/// (`miri_optimizations` in the root Cargo.toml). In a debug build every `engine` command that
/// opened the state directory paid that (release builds get the histograms as zeroed pages
/// either way). Counted in a fresh child process, where nothing else runs: page faults are a
/// count, not a timing.
#[test]
fn opening_a_store_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut stdout) = spawn_child(&format!("footprint {}", dir.path().display()));
    let faults: u64 = read_markers(&mut stdout, "FAULTS ", 1).parse().unwrap();
    assert!(child.wait().unwrap().success());
    // 4 MiB of pages: sled's own buffers and the run, with room to spare; the histograms alone
    // are 17 MiB.
    assert!(faults < 1_024, "opening a store touched {faults} pages");
}
