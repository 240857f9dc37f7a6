//! Tests of run worktrees on real repositories, above all that the user's checkout is left
//! exactly as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::test_repo::{TestRepo, git};
use crate::{GitError, Repo};

/// Everything of the user's checkout a run must not change.
#[derive(Debug, PartialEq)]
struct CheckoutSnapshot {
    files: BTreeMap<PathBuf, Vec<u8>>,
    index: Vec<u8>,
    head: Vec<u8>,
    status: String,
    staged_diff: String,
    unstaged_diff: String,
}

fn snapshot(root: &Path, skip: &[&str]) -> CheckoutSnapshot {
    let mut files = BTreeMap::new();
    collect_files(root, root, skip, &mut files);
    CheckoutSnapshot {
        files,
        index: std::fs::read(root.join(".git/index")).unwrap(),
        head: std::fs::read(root.join(".git/HEAD")).unwrap(),
        status: git(root, &["status", "--porcelain", "--untracked-files=all"]),
        staged_diff: git(root, &["diff", "--cached"]),
        unstaged_diff: git(root, &["diff"]),
    }
}

fn collect_files(root: &Path, dir: &Path, skip: &[&str], out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        if rel == Path::new(".git") || skip.iter().any(|s| rel == Path::new(s)) {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, skip, out);
        } else {
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
}

/// A repository with a modified tracked file, a staged change and untracked files.
fn dirty_repo() -> TestRepo {
    let t = TestRepo::new("main");
    std::fs::write(t.root.join("a.txt"), "alpha, edited but not staged\n").unwrap();
    std::fs::write(t.root.join("b.txt"), "beta, staged\n").unwrap();
    git(&t.root, &["add", "b.txt"]);
    std::fs::write(t.root.join("c.txt"), "untracked\n").unwrap();
    std::fs::create_dir_all(t.root.join("notes")).unwrap();
    std::fs::write(t.root.join("notes/todo.md"), "untracked dir\n").unwrap();
    t
}

#[test]
fn worktree_outside_leaves_dirty_checkout_identical() {
    let t = dirty_repo();
    let repo = Repo::discover(&t.root).unwrap();
    let before = snapshot(&t.root, &[]);
    assert!(before.status.contains(" M a.txt"), "{}", before.status);
    assert!(before.status.contains("M  b.txt"), "{}", before.status);
    assert!(before.status.contains("?? c.txt"), "{}", before.status);

    let base = repo.rev_parse("main").unwrap();
    let wt = t.root.parent().unwrap().join("worktrees/run-1");
    repo.add_worktree(&wt, "engine/run-1", &base).unwrap();

    assert_eq!(snapshot(&t.root, &[]), before);
    assert_eq!(repo.current_branch().unwrap().as_deref(), Some("main"));
    // The worktree holds the base commit, not the user's uncommitted edits.
    assert_eq!(
        std::fs::read_to_string(wt.join("a.txt")).unwrap(),
        "alpha\n"
    );
    assert_eq!(std::fs::read_to_string(wt.join("b.txt")).unwrap(), "beta\n");
    assert!(!wt.join("c.txt").exists());
    assert_eq!(repo.head_of(&wt).unwrap(), base);
    assert_eq!(repo.status_porcelain(&wt).unwrap(), "");
    let linked = Repo::discover(&wt).unwrap();
    assert_eq!(
        linked.current_branch().unwrap().as_deref(),
        Some("engine/run-1")
    );

    // Work in the worktree does not leak into the user's checkout either.
    std::fs::write(wt.join("a.txt"), "changed by the run\n").unwrap();
    git(&wt, &["commit", "--quiet", "-am", "run work"]);
    assert_eq!(snapshot(&t.root, &[]), before);

    repo.remove_worktree(&wt, false).unwrap();
    assert!(!wt.exists());
    assert_eq!(snapshot(&t.root, &[]), before);
    assert!(
        repo.branch_exists("engine/run-1").unwrap(),
        "branch is kept"
    );
}

#[test]
fn worktree_inside_excluded_state_dir_leaves_checkout_identical() {
    let t = dirty_repo();
    let repo = Repo::discover(&t.root).unwrap();
    repo.ensure_excluded(".engine/").unwrap();
    let before = snapshot(&t.root, &[".engine"]);

    let base = repo.rev_parse("HEAD").unwrap();
    let wt = t.root.join(".engine/worktrees/run-2");
    repo.add_worktree(&wt, "engine/run-2", &base).unwrap();
    assert_eq!(snapshot(&t.root, &[".engine"]), before);
    assert!(!before.status.contains(".engine"));
    assert_eq!(repo.head_of(&wt).unwrap(), base);
}

#[test]
fn add_worktree_is_idempotent_and_detects_conflicts() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let first = repo.rev_parse("HEAD").unwrap();
    t.commit_file("c.txt", "gamma\n");
    let wt = t.root.parent().unwrap().join("wt");
    repo.add_worktree(&wt, "engine/a", &first).unwrap();
    std::fs::write(wt.join("work.txt"), "in progress\n").unwrap();

    // Resume: same path and branch is fine, and touches nothing.
    repo.add_worktree(&wt, "engine/a", &first).unwrap();
    assert_eq!(
        std::fs::read_to_string(wt.join("work.txt")).unwrap(),
        "in progress\n"
    );
    assert_eq!(repo.head_of(&wt).unwrap(), first);

    // The same path on another branch is a conflict.
    let err = repo.add_worktree(&wt, "engine/b", &first).unwrap_err();
    assert!(matches!(err, GitError::WorktreeConflict { .. }), "{err}");
    assert!(err.to_string().contains("engine/a"), "{err}");

    // A branch checked out elsewhere cannot get a second worktree.
    let other = t.root.parent().unwrap().join("other");
    let err = repo.add_worktree(&other, "engine/a", &first).unwrap_err();
    assert!(matches!(err, GitError::WorktreeConflict { .. }), "{err}");

    // A foreign non-empty directory is never taken over.
    let foreign = t.root.parent().unwrap().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "mine").unwrap();
    let err = repo.add_worktree(&foreign, "engine/c", &first).unwrap_err();
    assert!(matches!(err, GitError::WorktreeConflict { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(foreign.join("keep.txt")).unwrap(),
        "mine"
    );
    assert!(!repo.branch_exists("engine/c").unwrap());
}

#[test]
fn removed_worktree_is_reattached_to_its_branch() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = t.root.parent().unwrap().join("wt");
    repo.add_worktree(&wt, "engine/r", &base).unwrap();
    std::fs::write(wt.join("new.txt"), "work\n").unwrap();
    git(&wt, &["add", "new.txt"]);
    git(&wt, &["commit", "--quiet", "-m", "work"]);
    let work = repo.head_of(&wt).unwrap();
    assert_ne!(work, base);

    // The directory vanishes without `git worktree remove` (e.g. deleted by hand).
    std::fs::remove_dir_all(&wt).unwrap();
    repo.add_worktree(&wt, "engine/r", &base).unwrap();
    assert_eq!(repo.head_of(&wt).unwrap(), work, "branch was not moved");
    assert_eq!(
        std::fs::read_to_string(wt.join("new.txt")).unwrap(),
        "work\n"
    );
}

#[test]
fn remove_worktree_force_and_refusals() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = t.root.parent().unwrap().join("wt");
    repo.add_worktree(&wt, "engine/f", &base).unwrap();
    std::fs::write(wt.join("a.txt"), "modified\n").unwrap();
    std::fs::write(wt.join("untracked.txt"), "x\n").unwrap();
    let status = repo.status_porcelain(&wt).unwrap();
    assert!(status.contains(" M a.txt"), "{status}");
    assert!(status.contains("?? untracked.txt"), "{status}");

    let err = repo.remove_worktree(&wt, false).unwrap_err();
    assert!(matches!(err, GitError::Failed { .. }), "{err}");
    assert!(err.to_string().contains("git worktree remove"), "{err}");
    assert!(wt.exists());
    repo.remove_worktree(&wt, true).unwrap();
    assert!(!wt.exists());
    assert_eq!(repo.worktrees().unwrap().len(), 1);
    // Already gone: fine.
    repo.remove_worktree(&wt, false).unwrap();

    // Never the main worktree, never a foreign directory.
    let err = repo.remove_worktree(&t.root, true).unwrap_err();
    assert!(matches!(err, GitError::WorktreeConflict { .. }), "{err}");
    assert!(t.root.join("a.txt").exists());
    let foreign = t.root.parent().unwrap().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    let err = repo.remove_worktree(&foreign, true).unwrap_err();
    assert!(matches!(err, GitError::WorktreeConflict { .. }), "{err}");
    assert!(foreign.exists());
}

/// The run worktree path tests of half-made worktrees use, like engine's
/// `<state>/worktrees/<run-id>`.
fn run_path(t: &TestRepo, run: &str) -> PathBuf {
    t.root.join(".engine/worktrees").join(run)
}

/// The administrative directory git made for the worktree at `path`.
fn admin_of(t: &TestRepo, path: &Path) -> PathBuf {
    let name = path.file_name().unwrap();
    let admin = t.root.join(".git/worktrees").join(name);
    assert!(admin.is_dir(), "{}", admin.display());
    admin
}

/// What `git worktree add` has done when it is killed right before its checkout: registered
/// on the branch, still locked as `initializing`, no index, no files.
fn killed_before_checkout(t: &TestRepo, path: &Path, branch: &str) -> PathBuf {
    let path_text = path.to_str().unwrap();
    git(
        &t.root,
        &[
            "worktree",
            "add",
            "--no-checkout",
            "--no-track",
            "-b",
            branch,
            path_text,
            "HEAD",
        ],
    );
    let admin = admin_of(t, path);
    std::fs::write(admin.join("locked"), "initializing").unwrap();
    admin
}

/// A resumed add finds a complete, clean checkout of the base on the branch, and git's own
/// worktree commands work again.
fn assert_recreated(t: &TestRepo, repo: &Repo, path: &Path, branch: &str, base: &str) {
    assert_eq!(
        std::fs::read_to_string(path.join("a.txt")).unwrap(),
        "alpha\n"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("b.txt")).unwrap(),
        "beta\n"
    );
    assert_eq!(repo.head_of(path).unwrap(), base);
    assert_eq!(
        repo.status_porcelain(path).unwrap(),
        "",
        "nothing staged or deleted"
    );
    let entry = repo.worktree_at(path).unwrap().expect("registered");
    assert_eq!(entry.branch.as_deref(), Some(branch));
    git(&t.root, &["worktree", "list", "--porcelain"]);
    git(&t.root, &["gc", "--quiet"]);
    let admin = admin_of(t, path);
    assert!(!admin.join("locked").exists(), "no longer locked");
    assert!(!admin.join("index.lock").exists());
}

#[test]
fn a_worktree_add_killed_before_its_checkout_is_recreated_with_its_files() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = run_path(&t, "01RUNBEFORECHECKOUT");
    killed_before_checkout(&t, &wt, "engine/t-1");
    // Before the repair this looked like a finished worktree on its branch: the run went on in
    // an empty directory, and its first commit would have deleted every file.
    let repairs = repo
        .add_worktree_with(&wt, "engine/t-1", &base, &mut || {})
        .unwrap();
    assert!(!repairs.is_empty(), "the repair is reported");
    assert!(repairs[0].contains("half-made"), "{repairs:?}");
    assert_recreated(&t, &repo, &wt, "engine/t-1", &base);
}

#[test]
fn a_worktree_add_killed_during_its_checkout_is_recreated() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = run_path(&t, "01RUNDURINGCHECKOUT");
    let admin = killed_before_checkout(&t, &wt, "engine/t-2");
    // Killed inside `git reset --hard`: the index lock is held, half the files are there.
    std::fs::write(admin.join("index.lock"), "").unwrap();
    std::fs::write(wt.join("a.txt"), "alpha\n").unwrap();
    repo.add_worktree(&wt, "engine/t-2", &base).unwrap();
    assert_recreated(&t, &repo, &wt, "engine/t-2", &base);
}

#[test]
fn a_worktree_add_killed_before_head_was_written_is_recreated() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = run_path(&t, "01RUNNOHEAD");
    let admin = killed_before_checkout(&t, &wt, "engine/t-3");
    std::fs::remove_file(admin.join("HEAD")).unwrap();
    // This is the "detached HEAD" git lists, which used to wedge the run for good.
    let listed = repo.worktree_at(&wt).unwrap().unwrap();
    assert_eq!(listed.branch, None);
    repo.add_worktree(&wt, "engine/t-3", &base).unwrap();
    assert_recreated(&t, &repo, &wt, "engine/t-3", &base);
}

#[test]
fn an_empty_commondir_no_longer_breaks_the_repository() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = run_path(&t, "01RUNEMPTYCOMMONDIR");
    let admin = killed_before_checkout(&t, &wt, "engine/t-4");
    std::fs::remove_file(admin.join("HEAD")).unwrap();
    std::fs::write(admin.join("commondir"), "").unwrap();
    // Killed between creating `commondir` and writing it: every `git worktree` command and
    // `git gc` of the user's repository fail.
    assert!(repo.worktrees().is_err());
    repo.add_worktree(&wt, "engine/t-4", &base).unwrap();
    assert_recreated(&t, &repo, &wt, "engine/t-4", &base);
}

#[test]
fn a_worktree_add_killed_before_gitdir_was_written_is_recreated() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = run_path(&t, "01RUNNOGITDIR");
    git(&t.root, &["branch", "engine/t-5", "HEAD"]);
    // Only the lock, and a `.git` file naming the registration (the order differs between git
    // versions), are there.
    let admin = t.root.join(".git/worktrees/01RUNNOGITDIR");
    std::fs::create_dir_all(&admin).unwrap();
    std::fs::write(admin.join("locked"), "initializing").unwrap();
    std::fs::create_dir_all(&wt).unwrap();
    std::fs::write(wt.join(".git"), format!("gitdir: {}\n", admin.display())).unwrap();
    repo.add_worktree(&wt, "engine/t-5", &base).unwrap();
    assert_recreated(&t, &repo, &wt, "engine/t-5", &base);
}

#[test]
fn a_kill_between_registration_and_checkout_is_recreated_with_the_branch_kept() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = run_path(&t, "01RUNPAUSED");
    // The pause between the two steps of engine's own add stands in for the kill.
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        repo.add_worktree_with(&wt, "engine/t-6", &base, &mut || panic!("killed"))
    }));
    assert!(killed.is_err());
    let entry = repo.worktree_at(&wt).unwrap().unwrap();
    assert_eq!(entry.branch.as_deref(), Some("engine/t-6"));
    assert!(!wt.join("a.txt").exists(), "not checked out yet");
    let repairs = repo
        .add_worktree_with(&wt, "engine/t-6", &base, &mut || {})
        .unwrap();
    assert!(repairs[0].contains("being created"), "{repairs:?}");
    assert_recreated(&t, &repo, &wt, "engine/t-6", &base);
}

#[test]
fn a_stale_lock_of_the_branch_does_not_stop_the_add() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = run_path(&t, "01RUNREFLOCK");
    std::fs::create_dir_all(t.root.join(".git/refs/heads/engine")).unwrap();
    std::fs::write(t.root.join(".git/refs/heads/engine/t-7.lock"), "").unwrap();
    let repairs = repo
        .add_worktree_with(&wt, "engine/t-7", &base, &mut || {})
        .unwrap();
    assert!(
        repairs.iter().any(|r| r.contains("t-7.lock")),
        "{repairs:?}"
    );
    assert_recreated(&t, &repo, &wt, "engine/t-7", &base);
}

#[test]
fn a_broken_neighbour_is_cleared_and_healthy_worktrees_are_left_alone() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let healthy = run_path(&t, "01RUNHEALTHY");
    repo.add_worktree(&healthy, "engine/h", &base).unwrap();
    std::fs::write(healthy.join("work.txt"), "in progress\n").unwrap();
    // A user's own locked worktree elsewhere is not engine's business.
    let users = t.root.parent().unwrap().join("users-own");
    git(
        &t.root,
        &[
            "worktree",
            "add",
            "--lock",
            "-b",
            "mine",
            users.to_str().unwrap(),
        ],
    );
    let broken = run_path(&t, "01RUNBROKEN");
    let admin = killed_before_checkout(&t, &broken, "engine/b");
    std::fs::write(admin.join("commondir"), "").unwrap();

    let wt = run_path(&t, "01RUNNEXT");
    repo.add_worktree(&wt, "engine/n", &base).unwrap();
    assert_recreated(&t, &repo, &wt, "engine/n", &base);
    assert!(!admin.exists(), "the registration breaking git is gone");
    assert_eq!(
        std::fs::read_to_string(healthy.join("work.txt")).unwrap(),
        "in progress\n"
    );
    assert!(repo.worktree_at(&healthy).unwrap().is_some());
    assert!(repo.worktree_at(&users).unwrap().is_some());
    // The broken neighbour's own resume then recreates it.
    repo.add_worktree(&broken, "engine/b", &base).unwrap();
    assert_recreated(&t, &repo, &broken, "engine/b", &base);
}

#[test]
fn stale_locks_of_a_worktree_are_cleared() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = run_path(&t, "01RUNSTALELOCK");
    repo.add_worktree(&wt, "engine/s", &base).unwrap();
    let admin = admin_of(&t, &wt);
    std::fs::write(admin.join("index.lock"), "").unwrap();
    std::fs::write(t.root.join(".git/refs/heads/engine/s.lock"), "").unwrap();
    std::fs::write(wt.join("new.txt"), "work\n").unwrap();
    let err = repo.commit_all(&wt, "work", None, None).unwrap_err();
    assert!(err.to_string().contains("index.lock"), "{err}");

    let removed = repo.clear_stale_locks(&wt, "engine/s").unwrap();
    assert_eq!(
        removed,
        vec![
            admin.join("index.lock"),
            t.root.join(".git/refs/heads/engine/s.lock")
        ]
    );
    assert!(repo.commit_all(&wt, "work", None, None).unwrap().is_some());
    assert!(repo.clear_stale_locks(&wt, "engine/s").unwrap().is_empty());
}
