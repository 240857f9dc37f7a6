//! Each strategy on real repositories, conflicts, reconciliation and nothing-to-merge.

use serde_json::json;

use super::fixture::{BRANCH, Repo, commit, config, count, git, merge};

#[test]
fn squash_lands_one_commit_with_trailers_and_syncs_the_clean_checkout() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    commit(&repo.run, "b.txt", "b\n", "second");
    let old = repo.main();
    let runner = repo.runner();
    let ok = merge(&runner, &config(json!({})), &repo.facts()).unwrap();
    let new = repo.main();
    assert_eq!(ok.outputs["merged_sha"], json!(new));
    assert_eq!(ok.outputs["previous_base"], json!(old));
    assert_eq!(ok.outputs["merged"], json!(true));
    assert_eq!(ok.outputs["reconciled"], json!(false));
    assert_eq!(ok.outputs["checkout_synced"], json!(true));
    assert_eq!(
        ok.summary,
        format!("squash-merged {BRANCH} into main as {}", &new[..7])
    );
    assert_eq!(git(&repo.user, &["rev-parse", "main^"]), old);
    assert_eq!(
        git(&repo.user, &["log", "-1", "--format=%P", "main"]),
        old,
        "one parent"
    );
    let message = git(&repo.user, &["log", "-1", "--format=%B", "main"]);
    assert_eq!(
        message,
        "Add the feature\n\nIt does things.\n\nEngine-Run: run-1\nEngine-Task: t1"
    );
    // The user's checkout shows the merged files and nothing to commit.
    assert_eq!(
        std::fs::read_to_string(repo.user.join("a.txt")).unwrap(),
        "a\n"
    );
    assert_eq!(git(&repo.user, &["status", "--porcelain"]), "");
}

#[test]
fn merge_strategy_makes_a_two_parent_commit_with_the_configured_message() {
    let repo = Repo::new();
    let head = commit(&repo.run, "a.txt", "a\n", "first");
    commit(&repo.user, "other.txt", "o\n", "meanwhile on main");
    let old = repo.main();
    let ok = merge(
        &repo.runner(),
        &config(json!({"strategy": "merge", "message": "Merge it"})),
        &repo.facts(),
    )
    .unwrap();
    let parents = git(&repo.user, &["log", "-1", "--format=%P", "main"]);
    assert_eq!(parents, format!("{old} {head}"));
    assert!(
        git(&repo.user, &["log", "-1", "--format=%B", "main"])
            .starts_with("Merge it\n\nEngine-Run: run-1")
    );
    assert_eq!(
        ok.summary,
        format!("merged {BRANCH} into main as {}", &repo.main()[..7])
    );
    assert!(repo.user.join("a.txt").exists() && repo.user.join("other.txt").exists());
}

#[test]
fn rebase_replays_each_commit_keeping_author_and_marking_the_run() {
    let repo = Repo::new();
    std::fs::write(repo.run.join("a.txt"), "a\n").unwrap();
    git(&repo.run, &["add", "a.txt"]);
    git(
        &repo.run,
        &[
            "-c",
            "user.name=x",
            "commit",
            "-q",
            "--author=Ann <ann@x>",
            "--date=1700000000 +0100",
            "-m",
            "first",
        ],
    );
    commit(&repo.run, "b.txt", "b\n", "second");
    commit(&repo.user, "other.txt", "o\n", "meanwhile on main");
    let old = repo.main();
    let ok = merge(
        &repo.runner(),
        &config(json!({"strategy": "rebase"})),
        &repo.facts(),
    )
    .unwrap();
    assert_eq!(count(&repo.user, &format!("{old}..main")), 2);
    assert_eq!(git(&repo.user, &["rev-list", "--merges", "main"]), "");
    let first = git(
        &repo.user,
        &[
            "log",
            "-1",
            "--format=%an <%ae> %ad%n%B",
            "--date=raw",
            "main^",
        ],
    );
    assert_eq!(
        first,
        "Ann <ann@x> 1700000000 +0100\nfirst\n\nEngine-Run: run-1"
    );
    assert_eq!(ok.outputs["commits"].as_array().unwrap().len(), 2);
    assert_eq!(ok.outputs["commits"][1], json!(repo.main()));
    assert!(
        ok.summary
            .starts_with(&format!("rebased {BRANCH} onto main (2 commits)"))
    );
}

#[test]
fn rebase_refuses_merge_commits() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    commit(&repo.user, "other.txt", "o\n", "on main");
    git(&repo.run, &["merge", "-q", "--no-edit", "main"]);
    let old = repo.main();
    let err = merge(
        &repo.runner(),
        &config(json!({"strategy": "rebase"})),
        &repo.facts(),
    )
    .unwrap_err();
    assert!(!err.retryable);
    assert!(
        err.message
            .starts_with("rebase cannot replay merge commits"),
        "{}",
        err.message
    );
    assert_eq!(repo.main(), old);
}

#[test]
fn ff_only_moves_the_base_or_refuses_when_it_moved() {
    let repo = Repo::new();
    let head = commit(&repo.run, "a.txt", "a\n", "first");
    let ok = merge(
        &repo.runner(),
        &config(json!({"strategy": "ff-only"})),
        &repo.facts(),
    )
    .unwrap();
    assert_eq!(repo.main(), head);
    assert_eq!(
        ok.summary,
        format!("fast-forwarded main to {BRANCH} at {}", &head[..7])
    );

    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    let moved = commit(&repo.user, "other.txt", "o\n", "on main");
    let err = merge(
        &repo.runner(),
        &config(json!({"strategy": "ff-only"})),
        &repo.facts(),
    )
    .unwrap_err();
    assert!(!err.retryable);
    assert_eq!(
        err.message,
        "not a fast-forward: main moved; use squash/merge/rebase"
    );
    assert_eq!(repo.main(), moved);
}

#[test]
fn conflict_is_fatal_lists_the_files_and_leaves_everything_untouched() {
    for strategy in ["squash", "merge", "rebase"] {
        let repo = Repo::new();
        commit(&repo.run, "shared.txt", "one\nTWO-run\nthree\n", "run edit");
        let moved = commit(
            &repo.user,
            "shared.txt",
            "one\nTWO-main\nthree\n",
            "main edit",
        );
        let runner = repo.runner();
        let err = merge(
            &runner,
            &config(json!({"strategy": strategy})),
            &repo.facts(),
        )
        .unwrap_err();
        assert!(!err.retryable, "{strategy}");
        assert_eq!(
            err.message, "merge conflict with main in 1 file(s): shared.txt",
            "{strategy}"
        );
        assert_eq!(err.detail["conflicts"], json!(["shared.txt"]));
        assert_eq!(err.detail["base"], json!(moved));
        assert_eq!(repo.main(), moved);
        assert_eq!(git(&repo.user, &["status", "--porcelain"]), "");
        assert_eq!(git(&repo.run, &["status", "--porcelain"]), "");
        assert_eq!(runner.called("git update-ref"), 0);
    }
}

#[test]
fn a_second_attempt_reconciles_instead_of_merging_twice() {
    for strategy in ["squash", "merge", "rebase", "ff-only"] {
        let repo = Repo::new();
        commit(&repo.run, "a.txt", "a\n", "first");
        commit(&repo.run, "b.txt", "b\n", "second");
        let cfg = config(json!({"strategy": strategy}));
        let first = merge(&repo.runner(), &cfg, &repo.facts()).unwrap();
        let after_first = repo.main();
        // Someone commits on main after the merge: the run's merge is no longer the tip.
        commit(&repo.user, "later.txt", "l\n", "later");
        let mut facts = repo.facts();
        facts.interrupted = true;
        let runner = repo.runner();
        let second = merge(&runner, &cfg, &facts).unwrap();
        assert_eq!(second.outputs["reconciled"], json!(true), "{strategy}");
        assert_eq!(second.outputs["merged"], json!(true));
        assert_eq!(
            second.outputs["merged_sha"], first.outputs["merged_sha"],
            "{strategy}"
        );
        assert_eq!(
            git(&repo.user, &["rev-parse", "main^"]),
            after_first,
            "{strategy}"
        );
        assert_eq!(runner.called("git update-ref"), 0);
        assert_eq!(runner.called("git commit-tree"), 0);
        if strategy == "rebase" {
            assert_eq!(second.outputs["commits"], first.outputs["commits"]);
        }
    }
}

#[test]
fn reconcile_matches_the_exact_run_id_only() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    let mut other = repo.facts();
    other.run_id = "run-10".into();
    // A different run's squash of the same change is already on main.
    merge(&repo.runner(), &config(json!({})), &other).unwrap();
    commit(&repo.run, "c.txt", "c\n", "more");
    let ok = merge(&repo.runner(), &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(ok.outputs["reconciled"], json!(false));
    assert_eq!(ok.outputs["merged"], json!(true));
    assert!(repo.user.join("c.txt").exists());
}

#[test]
fn nothing_to_merge_succeeds_without_touching_the_base() {
    let repo = Repo::new();
    let old = repo.main();
    let runner = repo.runner();
    let ok = merge(&runner, &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(ok.outputs["merged"], json!(false));
    assert_eq!(
        ok.summary,
        format!("nothing to merge: {BRANCH} has no changes against main")
    );
    assert_eq!(repo.main(), old);
    // A change that main already has (same content) is nothing to merge either.
    commit(&repo.run, "a.txt", "a\n", "run");
    commit(&repo.user, "a.txt", "a\n", "main did the same");
    let ok = merge(&repo.runner(), &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(ok.outputs["merged"], json!(false));
}
