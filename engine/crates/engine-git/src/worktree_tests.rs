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
