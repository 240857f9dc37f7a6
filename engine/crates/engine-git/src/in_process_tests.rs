//! What engine reads from git's files instead of starting git: the answers equal git's own,
//! and the number of git processes a run's worktree costs stays what it is.

use std::path::Path;

use crate::command::starts_on_this_thread;
use crate::test_repo::{TestRepo, git};
use crate::worktree_list::parse_worktree_list;
use crate::{Repo, WorktreeEntry};

/// How many git processes `f` starts on this thread.
#[track_caller]
fn starts<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = starts_on_this_thread();
    let value = f();
    (value, starts_on_this_thread() - before)
}

/// What `git worktree list` itself says.
fn listed_by_git(root: &Path) -> Vec<WorktreeEntry> {
    parse_worktree_list(&git(root, &["worktree", "list", "--porcelain", "-z"]))
}

fn sorted(mut entries: Vec<WorktreeEntry>) -> Vec<WorktreeEntry> {
    entries[1..].sort_by(|a, b| a.path.cmp(&b.path));
    entries
}

#[test]
fn the_worktree_list_is_git_s_own_without_starting_git() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let parent = t.root.parent().unwrap();
    let a = parent.join("wt-a");
    let b = parent.join("wt-b");
    repo.add_worktree(&a, "engine/a", "main").unwrap();
    repo.add_worktree(&b, "engine/b", "main").unwrap();
    // A detached one, a packed branch, and one whose directory is gone.
    let c = parent.join("wt-c");
    git(
        &t.root,
        &["worktree", "add", "--detach", c.to_str().unwrap(), "main"],
    );
    git(&t.root, &["pack-refs", "--all"]);
    std::fs::remove_dir_all(&b).unwrap();

    let (listed, count) = starts(|| repo.worktrees().unwrap());
    assert_eq!(count, 0, "listing started git");
    let expected = listed_by_git(&t.root);
    assert_eq!(sorted(listed), sorted(expected));
}

#[test]
fn refs_and_heads_are_read_without_starting_git_and_agree_with_git() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let wt = t.root.parent().unwrap().join("wt-refs");
    repo.add_worktree(&wt, "engine/refs", "main").unwrap();
    std::fs::write(wt.join("new.txt"), "x\n").unwrap();
    let made = repo
        .commit_all(&wt, "a change", None, None)
        .unwrap()
        .unwrap();
    git(&t.root, &["branch", "side"]);
    git(&t.root, &["pack-refs", "--all"]);

    let (answers, count) = starts(|| {
        (
            repo.head_of(&wt).unwrap(),
            repo.head_of(&t.root).unwrap(),
            repo.rev_parse("main").unwrap(),
            repo.rev_parse("main^{commit}").unwrap(),
            repo.rev_parse("refs/heads/engine/refs").unwrap(),
            repo.branch_exists("side").unwrap(),
            repo.branch_exists("nope").unwrap(),
            repo.current_branch().unwrap(),
            repo.default_base_branch().unwrap(),
            repo.branch_commit("engine/refs").unwrap(),
            repo.branch_commit("nope").unwrap(),
        )
    });
    assert_eq!(count, 0, "reading refs started git");
    let main = git(&t.root, &["rev-parse", "main"]).trim().to_string();
    assert_eq!(answers.0, made);
    assert_eq!(answers.1, main);
    assert_eq!(answers.2, main);
    assert_eq!(answers.3, main);
    assert_eq!(answers.4, made);
    assert!(answers.5);
    assert!(!answers.6);
    assert_eq!(answers.7.as_deref(), Some("main"));
    assert_eq!(answers.8, "main");
    assert_eq!(answers.9.as_deref(), Some(made.as_str()));
    assert_eq!(answers.10, None);
}

#[test]
fn what_only_git_can_answer_is_still_asked() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    git(&t.root, &["tag", "-a", "-m", "release", "v1"]);
    let (id, count) = starts(|| repo.rev_parse("v1^{commit}").unwrap());
    assert_eq!(count, 1);
    assert_eq!(id, git(&t.root, &["rev-parse", "main"]).trim());
    let (missing, count) = starts(|| repo.rev_parse("no-such-branch"));
    assert_eq!(count, 1);
    assert!(matches!(missing, Err(crate::GitError::UnknownRevision(_))));
}

#[test]
fn a_run_worktree_costs_two_git_starts_to_make_and_none_to_remove() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let wt = t.root.parent().unwrap().join("wt-cost");
    let (made, count) = starts(|| repo.add_worktree(&wt, "engine/cost", "main"));
    made.unwrap();
    assert_eq!(count, 2, "worktree add and the checkout");
    assert!(
        !repo.worktree_git_dir(&wt).unwrap().join("locked").exists(),
        "the creation lock was lifted"
    );
    std::fs::create_dir_all(wt.join("target/deep")).unwrap();
    std::fs::write(wt.join("target/deep/leftover.txt"), "x\n").unwrap();
    let (removed, count) = starts(|| repo.remove_run_worktree(&wt));
    assert!(removed.unwrap());
    assert_eq!(count, 0, "renamed aside and unregistered without git");
    assert!(!wt.exists());
    assert_eq!(listed_by_git(&t.root).len(), 1, "git no longer lists it");
    git(&t.root, &["worktree", "prune"]);
    assert_eq!(
        std::fs::read_dir(t.root.join(".git/worktrees")).map_or(0, Iterator::count),
        0,
        "no registration left for git to prune"
    );
    crate::wait_for_removals();
    let left: Vec<_> = std::fs::read_dir(t.root.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        [std::ffi::OsString::from("repo")],
        "the files are deleted"
    );
    // The branch is kept, and free to be checked out again.
    repo.add_worktree(&wt, "engine/cost", "main").unwrap();
}

#[test]
fn a_removal_cut_short_is_finished_by_the_next_worktree_made_there() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let parent = t.root.parent().unwrap().join("worktrees");
    let wt = parent.join("R1");
    repo.add_worktree(&wt, "engine/r1", "main").unwrap();
    // What a kill -9 right after the rename leaves: the directory aside, the registration.
    let aside = parent.join(".R1.engine-removing");
    std::fs::rename(&wt, &aside).unwrap();
    assert!(repo.remove_run_worktree(&wt).is_ok_and(|removed| !removed));
    repo.add_worktree(&parent.join("R2"), "engine/r2", "main")
        .unwrap();
    crate::wait_for_removals();
    assert!(!aside.exists(), "the leftover was swept");
    let listed = listed_by_git(&t.root);
    assert_eq!(listed.len(), 2, "{listed:?}");
}

#[test]
fn a_locked_worktree_is_left_to_git_which_refuses_it() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let wt = t.root.parent().unwrap().join("wt-locked-rm");
    repo.add_worktree(&wt, "engine/lockedrm", "main").unwrap();
    git(&t.root, &["worktree", "lock", wt.to_str().unwrap()]);
    let (removed, count) = starts(|| repo.remove_run_worktree(&wt));
    assert!(removed.is_err());
    assert!(count >= 1);
    assert!(wt.join("a.txt").exists());
}

#[test]
fn prune_starts_git_only_when_a_registration_is_stale() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let wt = t.root.parent().unwrap().join("wt-prune");
    repo.add_worktree(&wt, "engine/prune", "main").unwrap();
    let ((), count) = starts(|| repo.prune_worktrees().unwrap());
    assert_eq!(count, 0);
    std::fs::remove_dir_all(&wt).unwrap();
    let ((), count) = starts(|| repo.prune_worktrees().unwrap());
    assert_eq!(count, 1);
    assert_eq!(
        listed_by_git(&t.root).len(),
        1,
        "the stale registration is gone"
    );
    // A locked registration is kept by git: no process for it either.
    let locked = t.root.parent().unwrap().join("wt-locked");
    repo.add_worktree(&locked, "engine/locked", "main").unwrap();
    git(&t.root, &["worktree", "lock", locked.to_str().unwrap()]);
    std::fs::remove_dir_all(&locked).unwrap();
    let ((), count) = starts(|| repo.prune_worktrees().unwrap());
    assert_eq!(count, 0);
    assert_eq!(listed_by_git(&t.root).len(), 2);
}

#[test]
fn a_worktree_that_cannot_be_renamed_aside_is_removed_by_git() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let parent = t.root.parent().unwrap().join("worktrees");
    let wt = parent.join("R9");
    repo.add_worktree(&wt, "engine/r9", "main").unwrap();
    // A file (not engine's) where the directory would be renamed to.
    let aside = parent.join(".R9.engine-removing");
    std::fs::write(&aside, "not engine's").unwrap();
    let (removed, count) = starts(|| repo.remove_run_worktree(&wt));
    assert!(removed.unwrap());
    assert_eq!(count, 1, "`git worktree remove` did it");
    assert!(!wt.exists());
    assert_eq!(listed_by_git(&t.root).len(), 1);
    assert_eq!(std::fs::read_to_string(&aside).unwrap(), "not engine's");
}

#[test]
fn a_registration_rewritten_to_name_the_users_checkout_never_gets_it_removed() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let wt = t.root.parent().unwrap().join("worktrees").join("R7");
    repo.add_worktree(&wt, "engine/r7", "main").unwrap();
    // What a stage that can write its worktree's admin directory could do.
    let admin = repo.worktree_git_dir(&wt).unwrap();
    std::fs::write(
        admin.join("gitdir"),
        format!("{}\n", t.root.join(".git").display()),
    )
    .unwrap();
    let _ = repo.remove_run_worktree(&wt);
    let _ = repo.remove_run_worktree(&t.root);
    crate::wait_for_removals();
    assert!(
        t.root.join("a.txt").exists(),
        "the user's checkout was touched"
    );
    assert!(t.root.join(".git/HEAD").exists());
    assert_eq!(git(&t.root, &["status", "--porcelain"]), "");
}
