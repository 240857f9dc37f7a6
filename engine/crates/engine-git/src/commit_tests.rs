//! Tests of commits on run branches, on real repositories: identities, empty changes,
//! `.gitignore`, commits the agent made itself, and the user's checkout left byte for byte.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::test_repo::{TestRepo, git};
use crate::{GitError, Identity, Repo};

/// A repository with a run worktree on `engine/run` at `<tmp>/wt`.
fn with_worktree() -> (TestRepo, Repo, PathBuf, String) {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = t.root.parent().unwrap().join("wt");
    repo.add_worktree(&wt, "engine/run", &base).unwrap();
    (t, repo, wt, base)
}

fn who(name: &str, email: &str) -> Identity {
    Identity {
        name: name.into(),
        email: email.into(),
    }
}

/// Every file of the checkout (but `.git`), the index and HEAD, as bytes.
fn checkout_bytes(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path == root.join(".git") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    for f in ["index", "HEAD"] {
        let path = root.join(".git").join(f);
        out.push((path.clone(), std::fs::read(&path).unwrap()));
    }
    out.sort();
    out
}

#[test]
fn commits_with_the_given_author_and_committer() {
    let (_t, repo, wt, base) = with_worktree();
    std::fs::write(wt.join("a.txt"), "changed\n").unwrap();
    std::fs::write(wt.join("new.txt"), "new\n").unwrap();
    let author = who("Ada Author", "ada@example.invalid");
    let committer = who("Engine Bot", "engine@example.invalid");
    let sha = repo
        .commit_all(
            &wt,
            "Add things\n\nEngine-Run: 01ABC\n",
            Some(&author),
            Some(&committer),
        )
        .unwrap()
        .expect("a commit");
    assert_eq!(sha, repo.head_of(&wt).unwrap());
    assert_eq!(sha, repo.rev_parse("engine/run").unwrap());
    let log = git(&wt, &["log", "-1", "--format=%an%n%ae%n%cn%n%ce%n%B"]);
    assert_eq!(
        log,
        "Ada Author\nada@example.invalid\nEngine Bot\nengine@example.invalid\n\
         Add things\n\nEngine-Run: 01ABC\n\n"
    );
    assert_eq!(git(&wt, &["rev-parse", "HEAD~1"]).trim(), base);
    assert_eq!(
        repo.status_porcelain(&wt).unwrap(),
        "",
        "everything committed"
    );
    let files = git(&wt, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files, "a.txt\nnew.txt\n");
}

#[test]
fn without_identities_git_config_decides() {
    let (_t, repo, wt, _) = with_worktree();
    std::fs::write(wt.join("x.txt"), "x\n").unwrap();
    let committer = who("Engine Bot", "engine@example.invalid");
    repo.commit_all(&wt, "x", None, Some(&committer))
        .unwrap()
        .unwrap();
    let log = git(&wt, &["log", "-1", "--format=%an%n%ae%n%cn%n%ce"]);
    assert_eq!(
        log,
        "Engine Test\nengine-test@example.invalid\nEngine Bot\nengine@example.invalid\n"
    );
}

#[test]
fn nothing_to_commit_is_none_and_ignored_files_stay_out() {
    let (_t, repo, wt, base) = with_worktree();
    assert_eq!(repo.commit_all(&wt, "nothing", None, None).unwrap(), None);
    std::fs::write(wt.join(".gitignore"), "target/\n*.log\n").unwrap();
    std::fs::create_dir_all(wt.join("target")).unwrap();
    std::fs::write(wt.join("target/out.bin"), "bin").unwrap();
    std::fs::write(wt.join("run.log"), "log").unwrap();
    let sha = repo.commit_all(&wt, "ignore", None, None).unwrap().unwrap();
    let files = git(&wt, &["show", "--name-only", "--format=", &sha]);
    assert_eq!(files, ".gitignore\n");
    // Only ignored files changed since: nothing to commit, HEAD unchanged.
    std::fs::write(wt.join("run.log"), "more log").unwrap();
    assert_eq!(repo.commit_all(&wt, "again", None, None).unwrap(), None);
    assert_eq!(repo.head_of(&wt).unwrap(), sha);
    assert_eq!(repo.commits_between(&wt, &base, &sha).unwrap(), vec![sha]);
}

#[test]
fn deletions_and_message_lines_starting_with_hash_are_committed() {
    let (_t, repo, wt, _) = with_worktree();
    std::fs::remove_file(wt.join("b.txt")).unwrap();
    let sha = repo
        .commit_all(&wt, "#42 remove b\n# kept\n", None, None)
        .unwrap()
        .unwrap();
    assert_eq!(
        git(&wt, &["log", "-1", "--format=%B", &sha]),
        "#42 remove b\n# kept\n\n"
    );
    assert_eq!(
        git(&wt, &["show", "--name-status", "--format=", &sha]),
        "D\tb.txt\n"
    );
}

#[test]
fn agent_commits_are_listed_with_engine_commits_oldest_first() {
    let (_t, repo, wt, base) = with_worktree();
    std::fs::write(wt.join("agent.txt"), "by the agent\n").unwrap();
    git(&wt, &["add", "agent.txt"]);
    git(&wt, &["commit", "--quiet", "-m", "agent's own commit"]);
    let agent_sha = repo.head_of(&wt).unwrap();
    // The agent committed everything: nothing left for engine.
    assert_eq!(repo.commit_all(&wt, "engine", None, None).unwrap(), None);
    std::fs::write(wt.join("more.txt"), "left over\n").unwrap();
    let engine_sha = repo.commit_all(&wt, "engine", None, None).unwrap().unwrap();
    assert_eq!(
        repo.commits_between(&wt, &base, "engine/run").unwrap(),
        vec![agent_sha.clone(), engine_sha.clone()]
    );
    assert!(
        repo.commits_between(&wt, "engine/run", &base)
            .unwrap()
            .is_empty()
    );
    assert!(repo.is_ancestor(&base, &engine_sha).unwrap());
    assert!(repo.is_ancestor(&agent_sha, "engine/run").unwrap());
    assert!(!repo.is_ancestor(&engine_sha, "main").unwrap());
    assert!(repo.is_ancestor("main", "main").unwrap());
    assert!(repo.is_ancestor("no-such-rev", "main").is_err());
    assert!(matches!(
        repo.commits_between(&wt, "--all", "main"),
        Err(GitError::InvalidArgument { .. })
    ));
}

#[test]
fn the_users_checkout_and_index_are_untouched_byte_for_byte() {
    let t = TestRepo::new("main");
    // A dirty user checkout: unstaged edit, staged new file, untracked file.
    std::fs::write(t.root.join("a.txt"), "user edit\n").unwrap();
    std::fs::write(t.root.join("staged.txt"), "staged\n").unwrap();
    git(&t.root, &["add", "staged.txt"]);
    std::fs::write(t.root.join("untracked.txt"), "mine\n").unwrap();
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = t.root.parent().unwrap().join("wt");
    repo.add_worktree(&wt, "engine/run", &base).unwrap();
    let before = checkout_bytes(&t.root);
    let status_before = git(&t.root, &["status", "--porcelain"]);

    std::fs::write(wt.join("b.txt"), "run edit\n").unwrap();
    std::fs::write(wt.join("run.txt"), "run\n").unwrap();
    repo.commit_all(&wt, "run", None, None).unwrap().unwrap();

    assert_eq!(checkout_bytes(&t.root), before);
    assert_eq!(git(&t.root, &["status", "--porcelain"]), status_before);
    assert_eq!(repo.rev_parse("main").unwrap(), base, "main did not move");
    // Committing in the user's checkout is refused, and refusing changes nothing.
    assert!(matches!(
        repo.commit_all(&t.root, "no", None, None),
        Err(GitError::WorktreeConflict { .. })
    ));
    assert_eq!(checkout_bytes(&t.root), before);
}

#[test]
fn bad_messages_and_identities_are_refused() {
    let (_t, repo, wt, _) = with_worktree();
    std::fs::write(wt.join("x.txt"), "x\n").unwrap();
    assert!(matches!(
        repo.commit_all(&wt, " \n", None, None),
        Err(GitError::InvalidArgument { .. })
    ));
    for bad in [
        who("", "a@b"),
        who("A", ""),
        who("A <x>", "a@b"),
        who("A\nB", "a@b"),
    ] {
        assert!(matches!(
            repo.commit_all(&wt, "m", Some(&bad), None),
            Err(GitError::InvalidArgument { .. })
        ));
    }
    assert_eq!(
        repo.status_porcelain(&wt).unwrap(),
        "?? x.txt\n",
        "nothing staged"
    );
}

#[test]
fn a_failing_hook_fails_the_commit() {
    let (t, repo, wt, _) = with_worktree();
    let hook = t.root.join(".git/hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, "#!/bin/sh\necho 'hook says no' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(wt.join("x.txt"), "x\n").unwrap();
    let err = repo.commit_all(&wt, "m", None, None).unwrap_err();
    assert!(err.to_string().contains("hook says no"), "{err}");
}

#[test]
fn delete_branch_refuses_checked_out_branches() {
    let (_t, repo, wt, _) = with_worktree();
    assert!(matches!(
        repo.delete_branch("engine/run", true),
        Err(GitError::WorktreeConflict { .. })
    ));
    assert!(matches!(
        repo.delete_branch("main", true),
        Err(GitError::WorktreeConflict { .. })
    ));
    std::fs::write(wt.join("x.txt"), "x\n").unwrap();
    repo.commit_all(&wt, "unmerged work", None, None).unwrap();
    repo.remove_run_worktree(&wt).unwrap();
    // Not merged into HEAD (main): `-d` refuses, `-D` deletes.
    assert!(repo.delete_branch("engine/run", false).is_err());
    assert!(repo.branch_exists("engine/run").unwrap());
    repo.delete_branch("engine/run", true).unwrap();
    assert!(!repo.branch_exists("engine/run").unwrap());
}

/// Every ref and the HEAD, index and config of `git_dir`, as bytes (packed or loose).
fn repository_bytes(git_dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![git_dir.join("refs")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    for f in ["index", "HEAD", "config", "packed-refs", "logs/HEAD"] {
        let path = git_dir.join(f);
        if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out.sort();
    out
}

#[test]
fn a_rewritten_dot_git_file_does_not_redirect_the_commit() {
    let (t, repo, wt, base) = with_worktree();
    let other = TestRepo::new("main");
    for target in [t.root.join(".git"), other.root.join(".git")] {
        let user_before = checkout_bytes(&t.root);
        let user_repo_before = repository_bytes(&t.root.join(".git"));
        let other_before = repository_bytes(&other.root.join(".git"));
        let tip = repo.head_of(&wt).unwrap();
        // What a stage with write access to the worktree can do.
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", target.display())).unwrap();
        std::fs::write(wt.join("stage.txt"), target.display().to_string()).unwrap();
        let sha = repo
            .commit_all(&wt, "stage work", None, None)
            .unwrap()
            .expect("a commit");
        assert_eq!(repo.head_of(&wt).unwrap(), sha);
        assert_eq!(git(&t.root, &["rev-parse", "engine/run"]).trim(), sha);
        assert_eq!(git(&t.root, &["rev-parse", &format!("{sha}^")]).trim(), tip);
        assert_eq!(git(&t.root, &["rev-parse", "main"]).trim(), base);
        assert_eq!(
            repo.commits_between(&wt, &tip, &sha).unwrap(),
            vec![sha.clone()]
        );
        assert!(repo.status_porcelain(&wt).unwrap().is_empty());
        // The user's checkout (files, index, HEAD) and every ref, and the other repository, as
        // they were: except for the run branch's own ref.
        assert_eq!(checkout_bytes(&t.root), user_before);
        let run_ref = t.root.join(".git/refs/heads/engine/run");
        let without_run = |v: Vec<(PathBuf, Vec<u8>)>| -> Vec<(PathBuf, Vec<u8>)> {
            v.into_iter().filter(|(p, _)| *p != run_ref).collect()
        };
        assert_eq!(
            without_run(repository_bytes(&t.root.join(".git"))),
            without_run(user_repo_before)
        );
        assert_eq!(repository_bytes(&other.root.join(".git")), other_before);
        // The check puts the file back and says what it found.
        let found = repo.check_worktree_link(&wt).unwrap().expect("tampered");
        assert!(found.contains(&target.display().to_string()), "{found}");
        assert_eq!(repo.check_worktree_link(&wt).unwrap(), None);
        assert_eq!(git(&wt, &["rev-parse", "HEAD"]).trim(), sha);
    }
}

#[test]
fn a_dot_git_replaced_by_a_directory_or_removed_is_restored() {
    let (_t, repo, wt, _base) = with_worktree();
    let admin = repo.worktree_git_dir(&wt).unwrap();
    assert!(admin.ends_with("worktrees/wt"), "{}", admin.display());
    assert_eq!(repo.check_worktree_link(&wt).unwrap(), None);
    std::fs::remove_file(wt.join(".git")).unwrap();
    std::fs::create_dir_all(wt.join(".git/refs")).unwrap();
    assert_eq!(
        repo.check_worktree_link(&wt).unwrap().as_deref(),
        Some("a directory")
    );
    std::fs::remove_file(wt.join(".git")).unwrap();
    // Even with the file gone, git in the worktree uses the run's own metadata.
    assert_eq!(repo.status_porcelain(&wt).unwrap(), "");
    assert_eq!(
        repo.check_worktree_link(&wt).unwrap().as_deref(),
        Some("nothing")
    );
    let text = std::fs::read_to_string(wt.join(".git")).unwrap();
    assert_eq!(text, format!("gitdir: {}\n", admin.display()));
    // The user's checkout is not a linked worktree: nothing to check there.
    assert!(repo.check_worktree_link(repo.root()).is_err());
}

#[test]
fn a_worktree_whose_metadata_is_gone_is_refused_rather_than_discovered() {
    let (t, repo, wt, base) = with_worktree();
    assert_eq!(repo.head_of(&wt).unwrap(), base);
    // The admin directory disappears (a prune after the `.git` file was removed) while the
    // directory stays: git's own discovery would find the user's repository above it, or the
    // `.git` file a stage wrote.
    std::fs::remove_dir_all(repo.worktree_git_dir(&wt).unwrap()).unwrap();
    std::fs::write(
        wt.join(".git"),
        format!("gitdir: {}\n", t.root.join(".git").display()),
    )
    .unwrap();
    std::fs::write(wt.join("x.txt"), "x\n").unwrap();
    let err = repo.commit_all(&wt, "nope", None, None).unwrap_err();
    assert!(err.to_string().contains("git metadata"), "{err}");
    assert_eq!(git(&t.root, &["rev-parse", "main"]).trim(), base);
}

#[test]
fn restoring_a_snapshot_removes_leftovers_and_puts_back_changes() {
    let (_t, repo, wt, _base) = with_worktree();
    std::fs::write(wt.join("pending.txt"), "write stage's work\n").unwrap();
    let before = repo.snapshot_tree(&wt).unwrap();
    let index = std::fs::read(repo.worktree_git_dir(&wt).unwrap().join("index")).unwrap();
    // What a read-only stage's programs leave behind.
    std::fs::write(wt.join("leftover.txt"), "report\n").unwrap();
    std::fs::create_dir_all(wt.join("out/deep")).unwrap();
    std::fs::write(wt.join("out/deep/x.log"), "log\n").unwrap();
    std::fs::write(wt.join("a.txt"), "edited\n").unwrap();
    std::fs::remove_file(wt.join("b.txt")).unwrap();
    std::fs::write(wt.join("pending.txt"), "clobbered\n").unwrap();
    let mut restored = repo.restore_snapshot(&wt, &before).unwrap();
    restored.sort();
    assert_eq!(
        restored,
        vec![
            "a.txt",
            "b.txt",
            "leftover.txt",
            "out/deep/x.log",
            "pending.txt"
        ]
    );
    assert!(!wt.join("leftover.txt").exists());
    assert!(!wt.join("out").exists());
    assert_eq!(
        std::fs::read_to_string(wt.join("a.txt")).unwrap(),
        "alpha\n"
    );
    assert_eq!(std::fs::read_to_string(wt.join("b.txt")).unwrap(), "beta\n");
    assert_eq!(
        std::fs::read_to_string(wt.join("pending.txt")).unwrap(),
        "write stage's work\n"
    );
    assert_eq!(repo.snapshot_tree(&wt).unwrap(), before);
    assert_eq!(
        std::fs::read(repo.worktree_git_dir(&wt).unwrap().join("index")).unwrap(),
        index,
        "the worktree's index was touched"
    );
    assert!(repo.restore_snapshot(&wt, &before).unwrap().is_empty());
    let sha = repo.commit_all(&wt, "work", None, None).unwrap().unwrap();
    let files = git(&wt, &["ls-tree", "-r", "--name-only", &sha]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        ["a.txt", "b.txt", "pending.txt"]
    );
}

#[test]
fn with_a_commit_hook_nothing_to_commit_never_runs_it_and_a_failing_hook_is_an_error() {
    let (t, repo, wt, _base) = with_worktree();
    let hooks = t.root.join(".git/hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let ran = t.root.parent().unwrap().join("hook-ran");
    let hook = hooks.join("pre-commit");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\necho ran >> '{}'\nexit 0\n", ran.display()),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(repo.commit_may_run_hooks(&wt));
    // Nothing staged: git is asked first, so the hook does not run.
    assert_eq!(repo.commit_all(&wt, "nothing", None, None).unwrap(), None);
    assert!(!ran.exists(), "the pre-commit hook ran for an empty commit");
    std::fs::write(wt.join("new.txt"), "x\n").unwrap();
    assert!(repo.commit_all(&wt, "new", None, None).unwrap().is_some());
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran\n");
    // A hook that refuses (exit 1, like "nothing to commit") fails the commit.
    std::fs::write(&hook, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::write(wt.join("other.txt"), "y\n").unwrap();
    assert!(repo.commit_all(&wt, "refused", None, None).is_err());
}
