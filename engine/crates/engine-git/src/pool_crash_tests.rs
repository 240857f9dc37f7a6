//! Tests of the worktree pool: a park or a claim cut short (a panic in its hold point stands
//! for the kill) loses nothing and the next worktree made there is correct.

use std::panic::AssertUnwindSafe;

use crate::WorktreeHolds;
use crate::pool_tests::{add, dirty, files, head, idle, place, set_up};
use crate::test_repo::git;

/// Runs `f`, which panics in its hold (a crash at that point, as far as the files go).
fn crash_in(f: impl FnOnce()) {
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    assert!(result.is_err(), "the hold was never reached");
}

#[test]
fn a_park_cut_short_leaves_a_usable_idle_worktree() {
    let (t, repo) = set_up();
    let base = head(&t);
    let first = place(&t, "R1");
    add(&repo, &first, "engine/one", &base);
    dirty(&first);
    crash_in(|| {
        let _ = repo.retire_run_worktree(&first, 2, &mut || panic!("killed while parking"));
    });
    // Moved into the pool; its registration is still there, naming a place that is gone.
    assert!(!first.exists());
    assert_eq!(idle(&repo, &t).len(), 1);
    assert!(t.root.join(".git/worktrees/R1").exists());
    let second = place(&t, "R2");
    let added = add(&repo, &second, "engine/two", &base);
    assert!(added.reused.is_some());
    assert_eq!(files(&second), [".gitignore", "a.txt", "b.txt"]);
    assert_eq!(repo.status_porcelain(&second).unwrap(), "");
    // The stale registration was pruned; the first run's branch, and its work, are kept and
    // checked out nowhere.
    assert!(!t.root.join(".git/worktrees/R1").exists());
    assert_eq!(repo.worktrees().unwrap().len(), 2);
    let tip = git(&t.root, &["rev-parse", "engine/one"]);
    repo.delete_branch_at("engine/one", tip.trim()).unwrap();
}

#[test]
fn a_claim_cut_short_is_cleared_and_the_run_made_again() {
    let (t, repo) = set_up();
    let base = head(&t);
    let first = place(&t, "R1");
    add(&repo, &first, "engine/one", &base);
    dirty(&first);
    repo.retire_run_worktree(&first, 2, &mut || {}).unwrap();
    let second = place(&t, "R2");
    crash_in(|| {
        let mut holds = WorktreeHolds {
            before_checkout: &mut || {},
            at_claim: &mut || panic!("killed while claiming"),
        };
        let _ = repo.add_worktree_reusing(&second, "engine/two", &base, true, &mut holds);
    });
    // Moved to the run's place with the first run's files still in it.
    assert!(second.join(".envrc").exists());
    // The run is taken up again: what the claim left goes, the worktree is made anew.
    let added = add(&repo, &second, "engine/two", &base);
    assert_eq!(added.reused, None);
    assert!(
        added.repairs.iter().any(|r| r.contains("being claimed")),
        "{:?}",
        added.repairs
    );
    assert_eq!(files(&second), [".gitignore", "a.txt", "b.txt"]);
    assert_eq!(repo.status_porcelain(&second).unwrap(), "");
    assert_eq!(repo.worktrees().unwrap().len(), 2);
    // `engine gc`'s way out works as well: removing the run's worktree.
    crash_in(|| {
        repo.retire_run_worktree(&second, 2, &mut || {}).unwrap();
        let mut holds = WorktreeHolds {
            before_checkout: &mut || {},
            at_claim: &mut || panic!("killed while claiming"),
        };
        let _ = repo.add_worktree_reusing(&place(&t, "R3"), "engine/3", &base, true, &mut holds);
    });
    assert!(repo.remove_run_worktree(&place(&t, "R3")).unwrap());
    crate::wait_for_removals();
    assert!(!place(&t, "R3").exists());
    assert_eq!(repo.worktrees().unwrap().len(), 1);
}
