//! The worktree turn across processes: engine processes in one repository never run their
//! worktree operations at the same time, so none sees another's worktree half-made.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use crate::Repo;
use crate::test_repo::{TestRepo, git};
use crate::turn::LOCK_FILE;

/// Set in the environment of the worker processes [`worker`] runs in.
const WORKER_REPO: &str = "ENGINE_GIT_TURN_WORKER_REPO";
/// Which worker this is (names its worktrees and branches).
const WORKER_ID: &str = "ENGINE_GIT_TURN_WORKER_ID";
/// Worktrees each worker creates and removes.
const ROUNDS: usize = 12;

#[test]
fn worktree_operations_wait_while_another_process_holds_the_turn() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    // Another process's turn: its own open file description of the lock file, locked.
    let other = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(t.root.join(".git").join(LOCK_FILE))
        .unwrap();
    other.lock().unwrap();

    let wt = t.root.join(".engine/worktrees/01WAITS");
    let (done_tx, done_rx) = mpsc::channel();
    let worker = {
        let (repo, wt, base) = (repo.clone(), wt.clone(), base.clone());
        std::thread::spawn(move || {
            let added = repo.add_worktree(&wt, "engine/waits", &base);
            let listed = repo.worktrees().map(|list| list.len());
            let _ = done_tx.send(());
            (added, listed)
        })
    };
    // Nothing happens while the other process holds the turn (however long it is waited for).
    assert!(
        done_rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "the worktree was added during another process's turn"
    );
    assert!(!wt.exists());
    other.unlock().unwrap();
    let (added, listed) = worker.join().unwrap();
    added.unwrap();
    assert_eq!(listed.unwrap(), 2);
    assert!(wt.join("a.txt").exists());
}

#[test]
fn engine_processes_adding_and_removing_worktrees_at_once_never_break_each_other() {
    let t = TestRepo::new("main");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|id| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "turn_tests::worker",
                    "--ignored",
                    "--test-threads=1",
                ])
                .env(WORKER_REPO, &t.root)
                .env(WORKER_ID, format!("p{id}"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a worker failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = git(&t.root, &["worktree", "list", "--porcelain"]);
    assert_eq!(list.matches("worktree ").count(), 1, "{list}");
    git(&t.root, &["fsck", "--no-progress"]);
    git(&t.root, &["gc", "--quiet"]);
}

/// One engine process's share of the test above: adds, lists and removes worktrees in a loop.
/// Runs only when started by it (ignored otherwise).
#[test]
#[ignore = "a worker process of engine_processes_adding_and_removing_worktrees_at_once"]
fn worker() {
    let (Some(root), Some(id)) = (std::env::var_os(WORKER_REPO), std::env::var_os(WORKER_ID))
    else {
        return;
    };
    let id = id.to_string_lossy().into_owned();
    let repo = Repo::discover(Path::new(&root)).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    for round in 0..ROUNDS {
        let name = format!("{id}-{round}");
        let wt: PathBuf = repo.root().join(".engine/worktrees").join(&name);
        let branch = format!("engine/{name}");
        repo.add_worktree(&wt, &branch, &base)
            .unwrap_or_else(|e| panic!("add {name}: {e}"));
        assert!(wt.join("a.txt").exists(), "{name}: checked out");
        repo.worktrees()
            .unwrap_or_else(|e| panic!("list after {name}: {e}"));
        repo.remove_run_worktree(&wt)
            .unwrap_or_else(|e| panic!("remove {name}: {e}"));
        repo.delete_branch(&branch, true)
            .unwrap_or_else(|e| panic!("delete {branch}: {e}"));
    }
}

#[test]
fn listing_clears_a_registration_a_killed_engine_left_with_an_empty_commondir() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let wt = t.root.join(".engine/worktrees/01KILLED");
    git(
        &t.root,
        &[
            "worktree",
            "add",
            "--no-checkout",
            "--lock",
            "--reason",
            crate::worktree::CREATING_REASON,
            "-b",
            "engine/k",
            wt.to_str().unwrap(),
            "HEAD",
        ],
    );
    let admin = t.root.join(".git/worktrees/01KILLED");
    std::fs::write(admin.join("commondir"), "").unwrap();
    let broken = crate::command::run_git(&t.root, &["worktree", "list"]).unwrap();
    assert!(!broken.status.success(), "git itself fails on it");
    // `engine gc`, a resume, a new run: whatever lists the worktrees first repairs it.
    let list = repo.worktrees().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(!admin.exists());
    git(&t.root, &["worktree", "list"]);
    git(&t.root, &["gc", "--quiet"]);

    // One engine did not make (git's own `initializing` lock) is not engine's to remove.
    let other = t.root.join(".engine/worktrees/01OTHER");
    git(
        &t.root,
        &[
            "worktree",
            "add",
            "--no-checkout",
            "-b",
            "engine/o",
            other.to_str().unwrap(),
        ],
    );
    let admin = t.root.join(".git/worktrees/01OTHER");
    std::fs::write(admin.join("locked"), "initializing").unwrap();
    std::fs::write(admin.join("commondir"), "").unwrap();
    assert!(repo.worktrees().is_err());
    assert!(admin.exists());
}
