//! How many git commands a merge runs: each one is a process spawn in the sandbox, so the
//! common case asks git only what it must (one `rev-parse` for every commit and tree, no
//! reconciling `log` when the base has not moved, no identity probe when git has one).

use serde_json::json;

use super::fixture::{Repo, commit, config, git, merge};

/// Merges the run's branch with the stage configured by `with`, as a first attempt: what the
/// stage reported and the git commands it ran, in order.
fn merged(repo: &Repo, with: serde_json::Value) -> (engine_stage_sdk::Success, Vec<String>) {
    let runner = repo.runner();
    let ok = merge(&runner, &config(with), &repo.facts()).unwrap();
    (ok, runner.git_commands())
}

/// The user's checkout on another branch: the base is checked out nowhere.
fn base_checked_out_nowhere(repo: &Repo) {
    git(&repo.user, &["checkout", "-q", "-b", "elsewhere"]);
}

#[test]
fn a_first_attempt_squash_runs_five_git_commands() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    commit(&repo.run, "b.txt", "b\n", "second");
    base_checked_out_nowhere(&repo);
    let (ok, commands) = merged(&repo, json!({}));
    assert_eq!(ok.outputs["merged"], json!(true));
    assert_eq!(
        commands,
        [
            "rev-parse",
            "merge-tree",
            "commit-tree",
            "worktree",
            "update-ref"
        ]
    );
    assert_eq!(git(&repo.user, &["show", "main:b.txt"]), "b");
}

#[test]
fn a_first_attempt_merge_runs_five_git_commands() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    base_checked_out_nowhere(&repo);
    let (_, commands) = merged(&repo, json!({"strategy": "merge"}));
    assert_eq!(
        commands,
        [
            "rev-parse",
            "merge-tree",
            "commit-tree",
            "worktree",
            "update-ref"
        ]
    );
}

#[test]
fn a_clean_checkout_of_the_base_adds_a_status_and_a_read_tree() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    let (ok, commands) = merged(&repo, json!({}));
    assert_eq!(ok.outputs["checkout_synced"], json!(true));
    assert_eq!(
        commands,
        [
            "rev-parse",
            "merge-tree",
            "commit-tree",
            "worktree",
            "status",
            "update-ref",
            "read-tree"
        ]
    );
    assert!(repo.user.join("a.txt").exists());
}

#[test]
fn changes_in_the_checkout_are_compared_with_the_merged_files() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    // As the task file's status written back in the user's checkout.
    std::fs::write(repo.user.join("README"), "TASK-1 | DONE\n").unwrap();
    let (ok, commands) = merged(&repo, json!({}));
    assert_eq!(ok.outputs["checkout_synced"], json!(true));
    assert_eq!(
        commands,
        [
            "rev-parse",
            "merge-tree",
            "commit-tree",
            "worktree",
            "status",
            "diff-tree",
            "update-ref",
            "read-tree"
        ]
    );
}

#[test]
fn a_merged_file_only_touched_in_the_checkout_is_refreshed_and_synced() {
    let repo = Repo::new();
    commit(&repo.run, "shared.txt", "one\nTWO\nthree\n", "run changes");
    // Same content, new stat data: read-tree refuses until the index is refreshed.
    let file = std::fs::File::options()
        .append(true)
        .open(repo.user.join("shared.txt"))
        .unwrap();
    file.set_modified(std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
    drop(file);
    let (ok, all) = merged(&repo, json!({}));
    assert_eq!(ok.outputs["checkout_synced"], json!(true));
    assert_eq!(ok.outputs["warnings"], json!([]));
    assert_eq!(
        all[all.len() - 3..],
        ["read-tree", "update-index", "read-tree"]
    );
    assert_eq!(
        std::fs::read_to_string(repo.user.join("shared.txt")).unwrap(),
        "one\nTWO\nthree\n"
    );
    assert_eq!(git(&repo.user, &["status", "--porcelain"]), "");
}

#[test]
fn a_first_attempt_ff_only_asks_ancestry_once_each_way() {
    let repo = Repo::new();
    let head = commit(&repo.run, "a.txt", "a\n", "first");
    base_checked_out_nowhere(&repo);
    let (_, commands) = merged(&repo, json!({"strategy": "ff-only"}));
    assert_eq!(repo.main(), head);
    assert_eq!(
        commands,
        [
            "rev-parse",
            "merge-base",
            "merge-base",
            "rev-list",
            "worktree",
            "update-ref"
        ]
    );
}

#[test]
fn rebase_knows_each_parent_tree_without_asking() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    commit(&repo.run, "b.txt", "b\n", "second");
    commit(&repo.user, "other.txt", "o\n", "meanwhile on main");
    base_checked_out_nowhere(&repo);
    let (_, commands) = merged(&repo, json!({"strategy": "rebase"}));
    assert_eq!(
        commands,
        [
            "rev-parse",
            "log",
            "merge-base",
            "rev-list",
            "rev-list",
            "merge-tree",
            "show",
            "commit-tree",
            "merge-tree",
            "show",
            "commit-tree",
            "worktree",
            "update-ref"
        ]
    );
}

#[test]
fn a_base_that_moved_since_the_run_started_is_searched_for_the_runs_merge() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    commit(&repo.user, "other.txt", "o\n", "meanwhile on main");
    base_checked_out_nowhere(&repo);
    let (ok, commands) = merged(&repo, json!({}));
    assert_eq!(ok.outputs["reconciled"], json!(false));
    assert_eq!(
        commands,
        [
            "rev-parse",
            "log",
            "merge-tree",
            "commit-tree",
            "worktree",
            "update-ref"
        ]
    );
}

#[test]
fn an_interrupted_attempt_that_merged_is_found_without_merging_again() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    base_checked_out_nowhere(&repo);
    let (first, _) = merged(&repo, json!({}));
    let mut facts = repo.facts();
    facts.interrupted = true;
    let runner = repo.runner();
    let again = merge(&runner, &config(json!({})), &facts).unwrap();
    assert_eq!(again.outputs["reconciled"], json!(true));
    assert_eq!(again.outputs["merged_sha"], first.outputs["merged_sha"]);
    assert_eq!(
        runner.git_commands(),
        ["rev-parse", "log", "rev-parse", "worktree"]
    );
}

#[test]
fn a_missing_base_or_base_commit_is_named_as_before() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    let mut facts = repo.facts();
    facts.base_branch = "nope".into();
    let err = merge(&repo.runner(), &config(json!({})), &facts).unwrap_err();
    assert_eq!(err.message, "`refs/heads/nope` does not name a commit");
    assert!(!err.retryable);

    let mut facts = repo.facts();
    let unknown = "0123456789012345678901234567890123456789";
    facts.base_commit = unknown.into();
    let err = merge(&repo.runner(), &config(json!({})), &facts).unwrap_err();
    assert!(
        err.message.starts_with(&format!(
            "`git rev-parse {unknown}^{{tree}}` failed (exit 128)"
        )),
        "{}",
        err.message
    );
    assert_eq!(repo.main(), repo.base_commit, "nothing moved");
}
