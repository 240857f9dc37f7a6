//! Tests of the worktree pool on real repositories: a parked worktree claimed by the next run
//! is indistinguishable from a fresh one (crashes: `pool_crash_tests`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::test_repo::{TestRepo, git};
use crate::{Repo, Retired, WorktreeHolds};

/// `<root>/.engine/worktrees/<name>`.
pub(crate) fn place(t: &TestRepo, name: &str) -> PathBuf {
    t.root.join(".engine/worktrees").join(name)
}

/// The idle worktrees for worktrees made in `<root>/.engine/worktrees`.
pub(crate) fn idle(repo: &Repo, t: &TestRepo) -> Vec<PathBuf> {
    repo.idle_worktrees(&place(t, "any")).unwrap()
}

pub(crate) fn head(t: &TestRepo) -> String {
    git(&t.root, &["rev-parse", "HEAD"]).trim().to_string()
}

/// Adds a worktree at `path` on `branch` from `base`, reusing an idle one when there is one.
pub(crate) fn add(repo: &Repo, path: &Path, branch: &str, base: &str) -> crate::Added {
    let mut holds = WorktreeHolds {
        before_checkout: &mut || {},
        at_claim: &mut || {},
    };
    repo.add_worktree_reusing(path, branch, base, true, &mut holds)
        .unwrap()
}

/// Every file under `dir` (relative paths, sorted), `.git` excluded.
pub(crate) fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".git" {
                continue;
            }
            if path.symlink_metadata().unwrap().is_dir() {
                stack.push(path);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// Leaves in the worktree `wt` everything a hostile run could: changed, staged, untracked
/// and ignored files, a nested repository with a hook, a file the next base deletes.
pub(crate) fn dirty(wt: &Path) {
    std::fs::write(wt.join("a.txt"), "changed by the first run\n").unwrap();
    std::fs::write(wt.join("staged.txt"), "staged\n").unwrap();
    git(wt, &["add", "staged.txt"]);
    std::fs::write(wt.join(".envrc"), "export EVIL=1\n").unwrap();
    std::fs::create_dir_all(wt.join("target/debug")).unwrap();
    std::fs::write(wt.join("target/debug/cache"), "ignored\n").unwrap();
    std::fs::create_dir_all(wt.join("nested/.git/hooks")).unwrap();
    std::fs::write(wt.join("nested/.git/hooks/post-checkout"), "#!/bin/sh\n").unwrap();
    std::fs::write(wt.join("nested/file"), "x\n").unwrap();
}

pub(crate) fn set_up() -> (TestRepo, Repo) {
    let t = TestRepo::new("main");
    std::fs::write(t.root.join(".gitignore"), "target/\n.engine/\n").unwrap();
    git(&t.root, &["add", ".gitignore"]);
    git(&t.root, &["commit", "--quiet", "-m", "ignore"]);
    let repo = Repo::discover(&t.root).unwrap();
    (t, repo)
}

#[test]
fn a_parked_worktree_is_claimed_clean_on_the_new_branch_at_its_base() {
    let (t, repo) = set_up();
    let base1 = head(&t);
    let first = place(&t, "R1");
    assert_eq!(add(&repo, &first, "engine/one", &base1).reused, None);
    let inode = std::fs::metadata(&first).unwrap().ino();
    dirty(&first);
    // A tracked file made executable, one replaced by a directory.
    let mut perms = std::fs::metadata(first.join(".gitignore"))
        .unwrap()
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(first.join(".gitignore"), perms).unwrap();
    std::fs::remove_file(first.join("b.txt")).unwrap();
    std::fs::create_dir_all(first.join("b.txt/inside")).unwrap();

    let parked = repo.retire_run_worktree(&first, 2, &mut || {}).unwrap();
    let Retired::Parked(parked) = parked else {
        panic!("not parked: {parked:?}");
    };
    assert!(
        parked.starts_with(t.root.join(".engine/worktree-pool")),
        "{}",
        parked.display()
    );
    assert!(!first.exists());
    assert_eq!(idle(&repo, &t), vec![parked.clone()]);
    // Registered nowhere: git lists only the user's checkout, the branch can be deleted.
    assert_eq!(repo.worktrees().unwrap().len(), 1);
    assert!(!t.root.join(".git/worktrees/R1").exists());
    let tip = git(&t.root, &["rev-parse", "engine/one"]);
    repo.delete_branch_at("engine/one", tip.trim()).unwrap();

    // The base moves on: a.txt is deleted, c.txt added.
    git(&t.root, &["rm", "--quiet", "a.txt"]);
    t.commit_file("c.txt", "gamma\n");
    let base2 = head(&t);
    let second = place(&t, "R2");
    let pool = parked.parent().unwrap().to_path_buf();
    assert!(
        pool.join("R1.index").is_file(),
        "engine's copy of the index"
    );
    let added = add(&repo, &second, "engine/two", &base2);
    assert_eq!(added.reused, Some(parked.clone()));
    assert!(!pool.join("R1.index").exists());
    assert!(pool.join("R2.index").is_file());
    assert_eq!(std::fs::metadata(&second).unwrap().ino(), inode);
    assert!(!parked.exists());
    assert!(idle(&repo, &t).is_empty());
    assert_eq!(files(&second), [".gitignore", "b.txt", "c.txt"]);
    assert_eq!(
        std::fs::read_to_string(second.join("b.txt")).unwrap(),
        "beta\n"
    );
    let mode = std::fs::metadata(second.join(".gitignore")).unwrap().mode();
    assert_eq!(mode & 0o111, 0, "the mode is the commit's");
    assert_eq!(repo.status_porcelain(&second).unwrap(), "");
    assert_eq!(
        git(&second, &["status", "--porcelain", "--ignored"]),
        "",
        "nothing ignored is left either"
    );
    assert_eq!(
        git(&second, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/engine/two"
    );
    assert_eq!(repo.head_of(&second).unwrap(), base2);
    let admin = repo.worktree_git_dir(&second).unwrap();
    assert!(!admin.join("locked").exists());
    assert_eq!(
        std::fs::read_to_string(second.join(".git")).unwrap().trim(),
        format!("gitdir: {}", admin.display())
    );
    let entry = repo.worktree_at(&second).unwrap().unwrap();
    assert_eq!(entry.branch.as_deref(), Some("engine/two"));
    // It commits like a fresh one, and is removed like one.
    std::fs::write(second.join("d.txt"), "delta\n").unwrap();
    git(&second, &["add", "d.txt"]);
    git(&second, &["commit", "--quiet", "-m", "d"]);
    let files_in_commit = git(&t.root, &["ls-tree", "-r", "--name-only", "engine/two"]);
    assert_eq!(files_in_commit, ".gitignore\nb.txt\nc.txt\nd.txt\n");
    assert_eq!(
        repo.retire_run_worktree(&second, 0, &mut || {}).unwrap(),
        Retired::Removed(true)
    );
    crate::wait_for_removals();
    assert_eq!(repo.worktrees().unwrap().len(), 1);
    assert!(!pool.join("R2.index").exists());
}

#[test]
fn a_change_hidden_from_the_stat_data_is_still_undone() {
    let (t, repo) = set_up();
    // The user's configuration would trust size and mtime alone.
    git(&t.root, &["config", "core.trustctime", "false"]);
    let base = head(&t);
    let first = place(&t, "R1");
    add(&repo, &first, "engine/one", &base);
    // An hour old (not racily clean), and engine's copy of the index says so.
    let file = first.join("a.txt");
    let set_mtime = |mtime| {
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    };
    let mtime = std::time::SystemTime::now() - std::time::Duration::from_hours(1);
    set_mtime(mtime);
    git(&first, &["update-index", "-q", "--refresh"]);
    let admin = repo.worktree_git_dir(&first).unwrap();
    let pool = repo.pool_dir_for(&first).unwrap().unwrap();
    crate::pool_index::save(&pool, &first, &admin);
    // Same size, mtime set back: only the change time tells.
    std::fs::write(&file, "ALPHA\n").unwrap();
    set_mtime(mtime);
    assert_eq!(
        git(&first, &["status", "--porcelain"]),
        "",
        "hidden from git"
    );
    // A symbolic link in place of a tracked file: removed itself, its target left alone.
    let outside = t.root.parent().unwrap().join("outside.txt");
    std::fs::write(&outside, "not the run's\n").unwrap();
    std::fs::remove_file(first.join("b.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, first.join("b.txt")).unwrap();
    repo.retire_run_worktree(&first, 2, &mut || {}).unwrap();
    let second = place(&t, "R2");
    let before = crate::command::starts_on_this_thread();
    assert!(add(&repo, &second, "engine/two", &base).reused.is_some());
    assert_eq!(
        crate::command::starts_on_this_thread() - before,
        2,
        "reset and clean: registered and the touched files deleted without git"
    );
    assert_eq!(
        std::fs::read_to_string(second.join("a.txt")).unwrap(),
        "alpha\n"
    );
    assert!(
        !second
            .join("b.txt")
            .symlink_metadata()
            .unwrap()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(second.join("b.txt")).unwrap(),
        "beta\n"
    );
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "not the run's\n"
    );
    assert_eq!(git(&second, &["status", "--porcelain", "--ignored"]), "");
}

#[test]
fn an_existing_branch_is_taken_as_it_is() {
    let (t, repo) = set_up();
    let base = head(&t);
    let first = place(&t, "R1");
    add(&repo, &first, "engine/one", &base);
    std::fs::write(first.join("e.txt"), "epsilon\n").unwrap();
    git(&first, &["add", "e.txt"]);
    git(&first, &["commit", "--quiet", "-m", "e"]);
    let tip = repo.head_of(&first).unwrap();
    assert!(matches!(
        repo.retire_run_worktree(&first, 2, &mut || {}).unwrap(),
        Retired::Parked(_)
    ));
    // The run is taken up again: its branch exists and is not moved back to the base.
    let added = add(&repo, &first, "engine/one", &base);
    assert!(added.reused.is_some());
    assert_eq!(repo.head_of(&first).unwrap(), tip);
    assert!(first.join("e.txt").exists());
    assert_eq!(repo.status_porcelain(&first).unwrap(), "");
}

#[test]
fn the_pool_holds_at_most_its_capacity_and_zero_parks_nothing() {
    let (t, repo) = set_up();
    let base = head(&t);
    for (i, capacity) in [(1, 1), (2, 1), (3, 0)] {
        let wt = place(&t, &format!("R{i}"));
        // Checked out anew each time: the pool is not claimed from here.
        repo.add_worktree(&wt, &format!("engine/{i}"), &base)
            .unwrap();
        let retired = repo.retire_run_worktree(&wt, capacity, &mut || {}).unwrap();
        match i {
            1 => assert!(matches!(retired, Retired::Parked(_)), "{retired:?}"),
            _ => assert_eq!(retired, Retired::Removed(true)),
        }
        assert!(!wt.exists());
    }
    crate::wait_for_removals();
    assert_eq!(idle(&repo, &t).len(), 1);
    assert_eq!(repo.drain_pool(&place(&t, "any")).unwrap(), 1);
    crate::wait_for_removals();
    assert!(idle(&repo, &t).is_empty());
    assert_eq!(repo.worktrees().unwrap().len(), 1);
}

#[test]
fn worktrees_made_elsewhere_are_never_pooled() {
    let (t, repo) = set_up();
    let base = head(&t);
    let wt = t.root.join("elsewhere/R1");
    repo.add_worktree(&wt, "engine/one", &base).unwrap();
    assert_eq!(repo.pool_dir_for(&wt).unwrap(), None);
    assert_eq!(
        repo.retire_run_worktree(&wt, 2, &mut || {}).unwrap(),
        Retired::Removed(true)
    );
}

#[test]
fn without_reuse_the_pool_is_left_alone() {
    let (t, repo) = set_up();
    let base = head(&t);
    let first = place(&t, "R1");
    add(&repo, &first, "engine/one", &base);
    repo.retire_run_worktree(&first, 2, &mut || {}).unwrap();
    let mut holds = WorktreeHolds {
        before_checkout: &mut || {},
        at_claim: &mut || {},
    };
    let added = repo
        .add_worktree_reusing(&place(&t, "R2"), "engine/two", &base, false, &mut holds)
        .unwrap();
    assert_eq!(added.reused, None);
    assert_eq!(idle(&repo, &t).len(), 1);
}

#[test]
fn each_repository_has_its_own_pool() {
    let (t, repo) = set_up();
    let other = TestRepo::new("main");
    let other_repo = Repo::discover(&other.root).unwrap();
    // The other repository's worktrees are made in the same state directory.
    let theirs = place(&t, "THEIRS");
    other_repo
        .add_worktree(&theirs, "engine/theirs", &head(&other))
        .unwrap();
    assert!(matches!(
        other_repo
            .retire_run_worktree(&theirs, 2, &mut || {})
            .unwrap(),
        Retired::Parked(_)
    ));
    assert_ne!(
        repo.pool_dir_for(&theirs).unwrap(),
        other_repo.pool_dir_for(&theirs).unwrap()
    );
    assert!(idle(&repo, &t).is_empty());
    let added = add(&repo, &place(&t, "R1"), "engine/one", &head(&t));
    assert_eq!(added.reused, None);
    assert_eq!(other_repo.idle_worktrees(&theirs).unwrap().len(), 1);
}

#[test]
fn what_cannot_be_cleaned_is_moved_aside_and_checked_out_anew() {
    let (t, repo) = set_up();
    let base = head(&t);
    let first = place(&t, "R1");
    add(&repo, &first, "engine/one", &base);
    // The earlier run's index says a.txt is staged with other content, and its directory
    // holds a `.git` directory where the file was.
    std::fs::write(first.join("a.txt"), "staged\n").unwrap();
    git(&first, &["add", "a.txt"]);
    repo.retire_run_worktree(&first, 2, &mut || {}).unwrap();
    let parked = idle(&repo, &t).pop().unwrap();
    std::fs::remove_file(parked.join(".git")).unwrap();
    std::fs::create_dir_all(parked.join(".git/hooks")).unwrap();
    let second = place(&t, "R2");
    let added = add(&repo, &second, "engine/two", &base);
    assert!(added.reused.is_some());
    assert!(second.join(".git").is_file());
    assert_eq!(
        std::fs::read_to_string(second.join("a.txt")).unwrap(),
        "alpha\n"
    );
    assert_eq!(repo.status_porcelain(&second).unwrap(), "");
}

#[test]
fn a_worktree_the_user_locked_is_neither_parked_nor_removed() {
    let (t, repo) = set_up();
    let base = head(&t);
    let first = place(&t, "R1");
    add(&repo, &first, "engine/one", &base);
    git(&t.root, &["worktree", "lock", first.to_str().unwrap()]);
    assert!(repo.retire_run_worktree(&first, 2, &mut || {}).is_err());
    assert!(first.join("a.txt").exists());
    assert!(idle(&repo, &t).is_empty());
}
