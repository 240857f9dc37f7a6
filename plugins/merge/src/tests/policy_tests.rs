//! The checked-out base, compare-and-swap against a moving base, and push.

use std::cell::Cell;

use serde_json::json;

use super::fixture::{Repo, commit, config, git, merge};

#[test]
fn dirty_checkout_of_the_base_stops_the_merge_and_is_left_byte_for_byte() {
    let repo = Repo::new();
    commit(&repo.run, "README", "from the run\n", "run");
    std::fs::write(repo.user.join("README"), "my unsaved work\n").unwrap();
    std::fs::write(repo.user.join("notes.tmp"), "untracked\n").unwrap();
    let old = repo.main();
    let runner = repo.runner();
    let err = merge(&runner, &config(json!({})), &repo.facts()).unwrap_err();
    assert!(err.retryable);
    let user = repo.user.to_str().unwrap();
    assert!(
        err.message.starts_with(&format!(
            "main is checked out at {user} with uncommitted changes to tracked files the merge \
             changes"
        )),
        "{}",
        err.message
    );
    assert!(err.message.contains("commit or stash"));
    assert_eq!(err.detail["changes"], json!([" M README"]));
    assert_eq!(repo.main(), old);
    assert_eq!(runner.called("git update-ref"), 0);
    assert_eq!(
        std::fs::read_to_string(repo.user.join("README")).unwrap(),
        "my unsaved work\n"
    );
    assert_eq!(
        std::fs::read_to_string(repo.user.join("notes.tmp")).unwrap(),
        "untracked\n"
    );
}

#[test]
fn uncommitted_changes_the_merge_does_not_touch_are_carried_along() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    // E.g. a task file whose status the engine wrote in the user's checkout.
    std::fs::write(repo.user.join("README"), "my unsaved work\n").unwrap();
    std::fs::write(repo.user.join("notes.tmp"), "untracked\n").unwrap();
    let ok = merge(&repo.runner(), &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(ok.outputs["checkout_synced"], json!(true));
    assert!(repo.user.join("a.txt").exists());
    assert_eq!(
        std::fs::read_to_string(repo.user.join("README")).unwrap(),
        "my unsaved work\n"
    );
    assert_eq!(
        git(
            &repo.user,
            &["status", "--porcelain", "--untracked-files=no"]
        ),
        "M README"
    );
    assert_eq!(
        std::fs::read_to_string(repo.user.join("notes.tmp")).unwrap(),
        "untracked\n"
    );
}

#[test]
fn untracked_file_in_the_way_is_kept_and_reported_as_a_warning() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "from the run\n", "run");
    std::fs::write(repo.user.join("a.txt"), "the user's own\n").unwrap();
    let ok = merge(&repo.runner(), &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(ok.outputs["merged"], json!(true));
    assert_eq!(ok.outputs["checkout_synced"], json!(false));
    let warnings = ok.outputs["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    let warning = warnings[0].as_str().unwrap();
    assert!(warning.contains("left as you had them: a.txt"), "{warning}");
    assert!(
        ok.summary.contains(warning),
        "the summary says it: {}",
        ok.summary
    );
    assert_eq!(
        std::fs::read_to_string(repo.user.join("a.txt")).unwrap(),
        "the user's own\n"
    );
    assert_eq!(git(&repo.user, &["show", "main:a.txt"]), "from the run");
    // Nothing staged: the user's file shows as their change against the merged one.
    assert_eq!(git(&repo.user, &["diff", "--cached", "--name-only"]), "");
    assert_eq!(git(&repo.user, &["status", "--porcelain"]), "M a.txt");
}

#[test]
fn base_not_checked_out_anywhere_gives_null_sync() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    git(&repo.user, &["checkout", "-q", "-b", "elsewhere"]);
    let ok = merge(&repo.runner(), &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(ok.outputs["checkout_synced"], json!(null));
    assert_eq!(git(&repo.user, &["show", "main:a.txt"]), "a");
    assert!(
        !repo.user.join("a.txt").exists(),
        "the other branch's checkout is not touched"
    );
}

#[test]
fn base_moving_between_prepare_and_update_is_a_retryable_cas_failure() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    git(&repo.user, &["checkout", "-q", "-b", "elsewhere"]);
    let mut runner = repo.runner();
    let user = repo.user.clone();
    let moved = Cell::new(false);
    runner.before = Some(Box::new(move |program, args| {
        if program == "git"
            && args.first().map(String::as_str) == Some("update-ref")
            && !moved.get()
        {
            moved.set(true);
            git(&user, &["commit", "-q", "--allow-empty", "-m", "racer"]);
            git(&user, &["branch", "-f", "main", "elsewhere"]);
        }
    }));
    let err = merge(&runner, &config(json!({})), &repo.facts()).unwrap_err();
    assert!(err.retryable);
    assert_eq!(err.message, "base moved during the merge");
    let racer = git(&repo.user, &["rev-parse", "elsewhere"]);
    assert_eq!(repo.main(), racer, "the racer's commit is not overwritten");
    assert_eq!(err.detail["found"], json!(racer));

    let ok = merge(&repo.runner(), &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(git(&repo.user, &["rev-parse", "main^"]), racer);
    assert_eq!(ok.outputs["previous_base"], json!(racer));
}

#[test]
fn push_sends_the_merge_once_and_never_forces() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    let cfg = config(json!({"push": true}));
    let ok = merge(&repo.runner(), &cfg, &repo.facts()).unwrap();
    assert_eq!(ok.outputs["pushed"], json!(true));
    assert!(ok.summary.ends_with(", pushed"));
    assert_eq!(git(&repo.origin, &["rev-parse", "main"]), repo.main());

    // A retry after a crash: already merged and already pushed.
    let runner = repo.runner();
    let again = merge(&runner, &cfg, &repo.facts()).unwrap();
    assert_eq!(again.outputs["reconciled"], json!(true));
    assert_eq!(again.outputs["pushed"], json!(true));
    assert_eq!(runner.called("git push"), 0);
}

#[test]
fn push_rejected_because_the_remote_moved_is_retryable_and_keeps_both() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    // Someone else pushes to origin's main.
    let other = repo.origin.parent().unwrap().join("other");
    git(
        repo.origin.parent().unwrap(),
        &["clone", "-q", repo.origin.to_str().unwrap(), "other"],
    );
    commit(&other, "x.txt", "x\n", "theirs");
    git(&other, &["push", "-q", "origin", "main"]);
    let theirs = git(&other, &["rev-parse", "HEAD"]);
    let err = merge(
        &repo.runner(),
        &config(json!({"push": true})),
        &repo.facts(),
    )
    .unwrap_err();
    assert!(err.retryable);
    assert!(
        err.message.contains("the push to origin was rejected"),
        "{}",
        err.message
    );
    assert!(err.message.starts_with("merged locally into main as "));
    assert_eq!(git(&repo.origin, &["rev-parse", "main"]), theirs);
    assert_eq!(
        git(&repo.user, &["show", "main:a.txt"]),
        "a",
        "the local merge stays"
    );
}

#[test]
fn a_checkout_left_behind_by_a_crash_is_synced_when_reconciling() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "run");
    let old = repo.main();
    merge(&repo.runner(), &config(json!({})), &repo.facts()).unwrap();
    let new = repo.main();
    // As if the engine died after update-ref and before the checkout's sync.
    git(&repo.user, &["read-tree", "-m", "-u", &new, &old]);
    assert!(!repo.user.join("a.txt").exists());
    std::fs::write(repo.user.join("notes.tmp"), "untracked\n").unwrap();
    let mut facts = repo.facts();
    facts.interrupted = true;
    let ok = merge(&repo.runner(), &config(json!({})), &facts).unwrap();
    assert_eq!(ok.outputs["reconciled"], json!(true));
    assert_eq!(ok.outputs["checkout_synced"], json!(true));
    assert_eq!(repo.main(), new);
    assert!(repo.user.join("a.txt").exists());
    assert_eq!(
        git(
            &repo.user,
            &["status", "--porcelain", "--untracked-files=no"]
        ),
        ""
    );
    assert_eq!(
        std::fs::read_to_string(repo.user.join("notes.tmp")).unwrap(),
        "untracked\n"
    );

    // The user's own staged work on a file the merge does not change stays staged.
    git(&repo.user, &["read-tree", "-m", "-u", &new, &old]);
    std::fs::write(repo.user.join("README"), "mine\n").unwrap();
    git(&repo.user, &["add", "README"]);
    let ok = merge(&repo.runner(), &config(json!({})), &facts).unwrap();
    assert_eq!(ok.outputs["checkout_synced"], json!(true));
    assert_eq!(
        std::fs::read_to_string(repo.user.join("README")).unwrap(),
        "mine\n"
    );
    assert_eq!(
        git(&repo.user, &["diff", "--cached", "--name-only"]),
        "README"
    );
    assert!(repo.user.join("a.txt").exists());
}
