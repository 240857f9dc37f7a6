//! Tests of run cleanup on real repositories: removing run worktrees (keeping their branches),
//! finding the owner of a leftover worktree, and deleting only branches whose work is merged.

use crate::test_repo::{TestRepo, git};
use crate::{GitError, Repo};

fn setup() -> (TestRepo, Repo, String) {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    (t, repo, base)
}

#[test]
fn removes_a_dirty_run_worktree_and_keeps_its_branch() {
    let (t, repo, base) = setup();
    let wt = t.root.join(".engine/worktrees/run1");
    repo.add_worktree(&wt, "engine/run1", &base).unwrap();
    std::fs::write(wt.join("a.txt"), "modified\n").unwrap();
    std::fs::write(wt.join("untracked.txt"), "new\n").unwrap();
    std::fs::write(wt.join("b.txt"), "to commit\n").unwrap();
    git(&wt, &["commit", "--quiet", "-am", "work"]);
    let tip = repo.head_of(&wt).unwrap();
    assert!(repo.worktree_at(&wt).unwrap().is_some());

    assert!(repo.remove_run_worktree(&wt).unwrap());
    assert!(!wt.exists());
    assert!(repo.worktree_at(&wt).unwrap().is_none());
    assert_eq!(repo.rev_parse("engine/run1").unwrap(), tip, "branch kept");
    // Already gone: Ok(false), and a relative path works too.
    assert!(!repo.remove_run_worktree(&wt).unwrap());
    assert!(
        !repo
            .remove_run_worktree(std::path::Path::new(".engine/worktrees/run1"))
            .unwrap()
    );
    // The user's checkout is untouched.
    assert_eq!(
        std::fs::read_to_string(t.root.join("a.txt")).unwrap(),
        "alpha\n"
    );
}

#[test]
fn a_registered_worktree_whose_directory_vanished_is_forgotten() {
    let (t, repo, base) = setup();
    let wt = t.root.parent().unwrap().join("wt");
    repo.add_worktree(&wt, "engine/gone", &base).unwrap();
    std::fs::remove_dir_all(&wt).unwrap();
    assert!(repo.worktree_at(&wt).unwrap().unwrap().prunable);
    assert!(!repo.remove_run_worktree(&wt).unwrap());
    assert!(repo.worktree_at(&wt).unwrap().is_none());
    assert!(repo.branch_exists("engine/gone").unwrap());
}

#[test]
fn refuses_the_main_worktree_and_foreign_directories() {
    let (t, repo, _) = setup();
    assert!(matches!(
        repo.remove_run_worktree(&t.root),
        Err(GitError::WorktreeConflict { .. })
    ));
    let plain = t.root.parent().unwrap().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::write(plain.join("keep.txt"), "mine").unwrap();
    assert!(matches!(
        repo.remove_run_worktree(&plain),
        Err(GitError::WorktreeConflict { .. })
    ));
    assert!(plain.join("keep.txt").exists());
    assert!(t.root.join("a.txt").exists());
}

#[test]
fn owner_of_worktree_finds_the_main_repository() {
    let (t, repo, base) = setup();
    let wt = t.root.join(".engine/worktrees/run1");
    repo.add_worktree(&wt, "engine/run1", &base).unwrap();
    let owner = Repo::owner_of_worktree(&wt).unwrap().expect("an owner");
    assert_eq!(owner.root(), t.root.as_path());
    // Not the top of a linked worktree: a subdirectory, a plain directory inside the main
    // checkout, the main checkout itself.
    std::fs::create_dir_all(wt.join("sub")).unwrap();
    assert!(Repo::owner_of_worktree(&wt.join("sub")).unwrap().is_none());
    let plain = t.root.join(".engine/worktrees/plain");
    std::fs::create_dir_all(&plain).unwrap();
    assert!(Repo::owner_of_worktree(&plain).unwrap().is_none());
    assert!(Repo::owner_of_worktree(&t.root).unwrap().is_none());
    // A worktree whose administrative files are gone is not owned by anyone.
    let admin = git(&wt, &["rev-parse", "--git-dir"]);
    std::fs::remove_dir_all(admin.trim()).unwrap();
    assert!(Repo::owner_of_worktree(&wt).unwrap().is_none());
}

#[test]
fn merged_work_is_detected_for_merge_fast_forward_and_squash() {
    let (t, repo, base) = setup();
    let wt = t.root.parent().unwrap().join("wt");
    repo.add_worktree(&wt, "engine/run", &base).unwrap();
    // An empty branch is merged.
    assert!(repo.is_merged_into("engine/run", "main").unwrap());
    std::fs::write(wt.join("feature.txt"), "feature\n").unwrap();
    repo.commit_all(&wt, "feature", None, None)
        .unwrap()
        .unwrap();
    std::fs::write(wt.join("feature.txt"), "feature v2\n").unwrap();
    repo.commit_all(&wt, "feature 2", None, None)
        .unwrap()
        .unwrap();
    assert!(!repo.is_merged_into("engine/run", "main").unwrap());

    // The base moved on independently: still not merged.
    t.commit_file("other.txt", "other\n");
    assert!(!repo.is_merged_into("engine/run", "main").unwrap());

    // Squash-merged into main: the content is there, the commits are not.
    git(&t.root, &["merge", "--quiet", "--squash", "engine/run"]);
    git(&t.root, &["commit", "--quiet", "-m", "squash"]);
    assert!(!repo.is_ancestor("engine/run", "main").unwrap());
    assert!(repo.is_merged_into("engine/run", "main").unwrap());

    // A branch with more work after the squash is not merged.
    std::fs::write(wt.join("feature.txt"), "feature v3\n").unwrap();
    repo.commit_all(&wt, "feature 3", None, None)
        .unwrap()
        .unwrap();
    assert!(!repo.is_merged_into("engine/run", "main").unwrap());

    // A real merge makes it an ancestor.
    git(
        &t.root,
        &[
            "merge",
            "--quiet",
            "--no-edit",
            "-X",
            "theirs",
            "engine/run",
        ],
    );
    assert!(repo.is_ancestor("engine/run", "main").unwrap());
    assert!(repo.is_merged_into("engine/run", "main").unwrap());
}

#[test]
fn a_squash_merge_reverted_later_is_not_merged() {
    let (t, repo, base) = setup();
    let wt = t.root.parent().unwrap().join("wt");
    repo.add_worktree(&wt, "engine/run", &base).unwrap();
    std::fs::write(wt.join("feature.txt"), "feature\n").unwrap();
    repo.commit_all(&wt, "feature", None, None)
        .unwrap()
        .unwrap();
    git(&t.root, &["merge", "--quiet", "--squash", "engine/run"]);
    git(&t.root, &["commit", "--quiet", "-m", "squash"]);
    git(&t.root, &["rm", "--quiet", "feature.txt"]);
    git(&t.root, &["commit", "--quiet", "-m", "revert"]);
    assert!(!repo.is_merged_into("engine/run", "main").unwrap());
}

#[test]
fn delete_branch_at_is_a_compare_and_swap() {
    let (t, repo, base) = setup();
    let wt = t.root.parent().unwrap().join("wt");
    repo.add_worktree(&wt, "engine/run", &base).unwrap();
    assert!(matches!(
        repo.delete_branch_at("engine/run", &base),
        Err(GitError::WorktreeConflict { .. })
    ));
    std::fs::write(wt.join("x.txt"), "x\n").unwrap();
    let tip = repo.commit_all(&wt, "x", None, None).unwrap().unwrap();
    repo.remove_run_worktree(&wt).unwrap();
    // The branch moved since `base` was seen: refused, nothing lost.
    assert!(repo.delete_branch_at("engine/run", &base).is_err());
    assert_eq!(repo.rev_parse("engine/run").unwrap(), tip);
    repo.delete_branch_at("engine/run", &tip).unwrap();
    assert!(!repo.branch_exists("engine/run").unwrap());
    assert!(matches!(
        repo.delete_branch_at("-x", &tip),
        Err(GitError::InvalidArgument { .. })
    ));
}

#[test]
fn a_half_made_worktree_is_removed_though_git_locked_it() {
    let (t, repo, _) = setup();
    let wt = t.root.join(".engine/worktrees/run-half");
    git(
        &t.root,
        &[
            "worktree",
            "add",
            "--no-checkout",
            "-b",
            "engine/half",
            wt.to_str().unwrap(),
        ],
    );
    let admin = t.root.join(".git/worktrees/run-half");
    // Killed inside `git worktree add`: git's own lock is still there (so `git worktree
    // remove --force` and `prune` refuse it), and here `commondir` is empty as well.
    std::fs::write(admin.join("locked"), "initializing").unwrap();
    std::fs::write(admin.join("commondir"), "").unwrap();
    assert!(repo.remove_run_worktree(&wt).unwrap());
    assert!(!wt.exists());
    assert!(!admin.exists());
    assert_eq!(repo.worktrees().unwrap().len(), 1);
    assert!(repo.branch_exists("engine/half").unwrap(), "branch kept");
}

#[test]
fn a_worktree_the_user_locked_is_still_refused() {
    let (t, repo, base) = setup();
    let wt = t.root.join(".engine/worktrees/run-locked");
    repo.add_worktree(&wt, "engine/locked", &base).unwrap();
    git(
        &t.root,
        &[
            "worktree",
            "lock",
            "--reason",
            "on a USB disk",
            wt.to_str().unwrap(),
        ],
    );
    assert!(repo.remove_run_worktree(&wt).is_err());
    assert!(wt.join("a.txt").exists());
}
