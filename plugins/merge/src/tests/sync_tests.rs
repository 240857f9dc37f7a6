//! The checkout of the base after a crash between the ref update and its sync (HEAD on the new
//! commit, index and files still at the old one), and `git worktree list` failing for a moment.

use std::cell::Cell;
use std::path::Path;

use serde_json::json;

use super::fixture::{Repo, commit, config, git, merge};

/// Merges a run that adds `a.txt` and changes `shared.txt`, then puts the user's checkout back
/// where a kill -9 right after `git update-ref` leaves it. Returns (old, new).
fn merged_then_killed_before_the_sync(repo: &Repo) -> (String, String) {
    commit(&repo.run, "a.txt", "a\n", "run adds");
    commit(&repo.run, "shared.txt", "one\nTWO\nthree\n", "run changes");
    let old = repo.main();
    merge(&repo.runner(), &config(json!({})), &repo.facts()).unwrap();
    let new = repo.main();
    git(&repo.user, &["read-tree", "-m", "-u", &new, &old]);
    // What the user sees meanwhile: the merged files as staged deletions and reversions.
    let staged = git(&repo.user, &["diff", "--cached", "--name-status"]);
    assert!(staged.contains("D\ta.txt"), "{staged}");
    (old, new)
}

fn resume(repo: &Repo) -> engine_stage_sdk::Success {
    let mut facts = repo.facts();
    facts.interrupted = true;
    merge(&repo.runner(), &config(json!({})), &facts).unwrap()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn unstaged_changes_elsewhere_are_carried_along_when_the_sync_is_rolled_forward() {
    let repo = Repo::new();
    merged_then_killed_before_the_sync(&repo);
    // As the task file's status written back in the user's checkout always is.
    std::fs::write(repo.user.join("README"), "TASK-1 | DONE\n").unwrap();
    std::fs::write(repo.user.join("notes.tmp"), "untracked\n").unwrap();

    let ok = resume(&repo);
    assert_eq!(ok.outputs["reconciled"], json!(true));
    assert_eq!(
        ok.outputs["checkout_synced"],
        json!(true),
        "{:?}",
        ok.outputs
    );
    assert_eq!(ok.outputs["warnings"], json!([]));
    assert_eq!(git(&repo.user, &["diff", "--cached", "--name-only"]), "");
    assert_eq!(
        git(
            &repo.user,
            &["status", "--porcelain", "--untracked-files=no"]
        ),
        "M README"
    );
    assert_eq!(read(&repo.user, "README"), "TASK-1 | DONE\n");
    assert_eq!(read(&repo.user, "a.txt"), "a\n");
    assert_eq!(read(&repo.user, "shared.txt"), "one\nTWO\nthree\n");
    assert_eq!(read(&repo.user, "notes.tmp"), "untracked\n");
}

#[test]
fn a_change_of_the_users_to_a_merged_file_is_kept_and_named_never_staged_as_a_reversion() {
    let repo = Repo::new();
    commit(&repo.run, "b.txt", "b\n", "run adds another");
    merged_then_killed_before_the_sync(&repo);
    // While the engine was down the user edited a file the merge changes, created one where
    // the merge adds one, and edited an unrelated one.
    std::fs::write(repo.user.join("shared.txt"), "one\nmine\nthree\n").unwrap();
    std::fs::write(repo.user.join("a.txt"), "my own a\n").unwrap();
    std::fs::write(repo.user.join("README"), "edited\n").unwrap();

    let ok = resume(&repo);
    assert_eq!(ok.outputs["reconciled"], json!(true));
    assert_eq!(ok.outputs["checkout_synced"], json!(false));
    let warning = ok.outputs["warnings"][0].as_str().unwrap().to_string();
    assert!(
        warning.contains("left as you had them: a.txt, shared.txt"),
        "{warning}"
    );
    assert!(ok.summary.contains(&warning), "{}", ok.summary);
    // Nothing staged: `git commit -a` would commit the user's edits, never undo the merge.
    assert_eq!(git(&repo.user, &["diff", "--cached", "--name-only"]), "");
    assert_eq!(read(&repo.user, "shared.txt"), "one\nmine\nthree\n");
    assert_eq!(read(&repo.user, "a.txt"), "my own a\n");
    assert_eq!(read(&repo.user, "README"), "edited\n");
    assert_eq!(
        read(&repo.user, "b.txt"),
        "b\n",
        "the rest was brought over"
    );
    let status = git(&repo.user, &["status", "--porcelain"]);
    assert_eq!(status, "M README\n M a.txt\n M shared.txt", "{status}");

    // The user's own staged work on a merged file is left staged as it was.
    let repo = Repo::new();
    merged_then_killed_before_the_sync(&repo);
    std::fs::write(repo.user.join("shared.txt"), "staged by me\n").unwrap();
    git(&repo.user, &["add", "shared.txt"]);
    let ok = resume(&repo);
    assert!(
        ok.outputs["warnings"][0]
            .as_str()
            .unwrap()
            .contains("left as you had them: shared.txt")
    );
    assert_eq!(git(&repo.user, &["show", ":shared.txt"]), "staged by me");
    assert_eq!(read(&repo.user, "a.txt"), "a\n");
    let staged = git(&repo.user, &["diff", "--cached", "--name-only"]);
    assert_eq!(staged, "shared.txt", "no staged deletion of a.txt");
}

#[test]
fn a_worktree_list_failing_for_a_moment_is_tried_again() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    let mut runner = repo.runner();
    // Another run's `git worktree add` half-way: its registration's commondir is empty.
    let broken = repo.user.join(".git/worktrees/half");
    let calls = Cell::new(0);
    let dir = broken.clone();
    runner.before = Some(Box::new(move |program, args| {
        if program != "git" || args.first().map(String::as_str) != Some("worktree") {
            return;
        }
        calls.set(calls.get() + 1);
        if calls.get() == 1 {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("gitdir"), "/nowhere/half/.git\n").unwrap();
            std::fs::write(dir.join("commondir"), "").unwrap();
        } else {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }));
    let ok = merge(&runner, &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(runner.called("git worktree list"), 2);
    // Tried again at once: nothing is slept on (`sleep` is not granted to the merge stage).
    assert!(runner.slept.borrow().is_empty());
    assert_eq!(ok.outputs["merged"], json!(true));
    assert_eq!(ok.outputs["checkout_synced"], json!(true));
    assert!(!broken.exists());
}
