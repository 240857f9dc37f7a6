//! The merge on a machine without a git identity falls back to the engine's own.

use serde_json::json;

use super::fixture::{Repo, commit, config, git, merge};

fn no_identity(repo: &Repo) -> (super::fixture::TestRunner, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let mut runner = repo.runner();
    runner.no_identity_home = Some(home.path().to_path_buf());
    // The premise: git really cannot name a committer here.
    let out = std::process::Command::new("git")
        .args(["var", "GIT_COMMITTER_IDENT"])
        .current_dir(&repo.run)
        .env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("EMAIL")
        .env_remove("GIT_CONFIG_GLOBAL")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "this machine gives git an identity without configuration: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    (runner, home)
}

#[test]
fn squash_without_a_git_identity_commits_as_the_engine() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    let (runner, _home) = no_identity(&repo);
    let ok = merge(&runner, &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(ok.outputs["merged"], json!(true));
    assert_eq!(
        git(
            &repo.user,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"]
        ),
        "engine <engine@localhost>|engine <engine@localhost>"
    );
}

#[test]
fn rebase_without_a_git_identity_keeps_authors_and_commits_as_the_engine() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    commit(&repo.user, "other.txt", "o\n", "meanwhile on main");
    let (runner, _home) = no_identity(&repo);
    merge(
        &runner,
        &config(json!({"strategy": "rebase"})),
        &repo.facts(),
    )
    .unwrap();
    assert_eq!(
        git(
            &repo.user,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"]
        ),
        "Tester <tester@example.com>|engine <engine@localhost>"
    );
}

#[test]
fn a_configured_identity_wins_over_the_fallback() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    merge(&repo.runner(), &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(
        git(&repo.user, &["log", "-1", "--format=%an|%cn", "main"]),
        "Tester|Engine"
    );
}

#[test]
fn git_is_asked_about_identities_only_after_commit_tree_fails_for_want_of_one() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    git(&repo.user, &["checkout", "-q", "-b", "elsewhere"]);
    let (runner, _home) = no_identity(&repo);
    merge(&runner, &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(
        runner.git_commands(),
        [
            "rev-parse",
            "merge-tree",
            "commit-tree",
            "var",
            "var",
            "commit-tree",
            "worktree",
            "update-ref"
        ]
    );
    assert_eq!(
        git(&repo.user, &["log", "-1", "--format=%an|%cn", "main"]),
        "engine|engine"
    );
}

#[test]
fn a_configured_identity_costs_no_identity_probe() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    let runner = repo.runner();
    merge(&runner, &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(runner.called("git var"), 0);
    assert_eq!(runner.called("git commit-tree"), 1);
}

#[test]
fn the_repositorys_identity_wins_on_a_machine_without_one() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    let (runner, _home) = no_identity(&repo);
    git(&repo.user, &["config", "user.name", "Local"]);
    git(&repo.user, &["config", "user.email", "local@example.com"]);
    merge(&runner, &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(
        git(
            &repo.user,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"]
        ),
        "Local <local@example.com>|Local <local@example.com>"
    );
    assert_eq!(runner.called("git var"), 0);
}

#[test]
fn an_author_from_the_environment_wins_and_only_the_committer_falls_back() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    let (mut runner, _home) = no_identity(&repo);
    runner.env = vec![
        ("GIT_AUTHOR_NAME".into(), "Ann".into()),
        ("GIT_AUTHOR_EMAIL".into(), "ann@example.com".into()),
    ];
    merge(&runner, &config(json!({})), &repo.facts()).unwrap();
    assert_eq!(
        git(
            &repo.user,
            &["log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"]
        ),
        "Ann <ann@example.com>|engine <engine@localhost>"
    );
}

#[test]
fn rebase_without_a_git_identity_asks_once_for_all_its_commits() {
    let repo = Repo::new();
    commit(&repo.run, "a.txt", "a\n", "first");
    commit(&repo.run, "b.txt", "b\n", "second");
    commit(&repo.user, "other.txt", "o\n", "meanwhile on main");
    let (runner, _home) = no_identity(&repo);
    merge(
        &runner,
        &config(json!({"strategy": "rebase"})),
        &repo.facts(),
    )
    .unwrap();
    assert_eq!(runner.called("git var"), 1, "the committer only, once");
    assert_eq!(runner.called("git commit-tree"), 3);
    assert_eq!(
        git(&repo.user, &["log", "-2", "--format=%an|%cn", "main"]),
        "Tester|engine\nTester|engine"
    );
}
