//! A worktree registered in-process is the one `git worktree add --no-checkout --lock -b`
//! makes: same files, and git works in it; what is not plain is still left to git.

use std::path::Path;

use crate::command::starts_on_this_thread;
use crate::register::Registered;
use crate::test_repo::{TestRepo, git};
use crate::worktree::CREATING_REASON;
use crate::{GitError, Repo};

/// The files of an administrative directory, with `name` in their text replaced by `NAME`;
/// a directory as `(directory)`. Without `logs`: git's reflog entries are not written.
fn admin_files(admin: &Path, name: &str) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(admin)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| !path.ends_with("logs"))
        .map(|path| {
            let text = if path.is_dir() {
                "(directory)".to_string()
            } else {
                std::fs::read_to_string(&path).unwrap()
            };
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                text.trim_end().replace(name, "NAME"),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_registration_is_the_one_git_writes() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let dir = t.root.parent().unwrap();
    git(
        &t.root,
        &[
            "worktree",
            "add",
            "--no-checkout",
            "--lock",
            "--reason",
            CREATING_REASON,
            "--no-track",
            "-b",
            "engine/by-git",
            dir.join("by-git").to_str().unwrap(),
            &base,
        ],
    );
    let _turn = repo.worktree_turn().unwrap();
    let before = starts_on_this_thread();
    let done = repo
        .register_worktree(
            &dir.join("by-engine"),
            "engine/by-engine",
            &base,
            true,
            CREATING_REASON,
        )
        .unwrap();
    assert_eq!(done, Registered::Done);
    assert_eq!(starts_on_this_thread(), before, "git was started");
    let admin = t.root.join(".git/worktrees");
    assert_eq!(
        admin_files(&admin.join("by-engine"), "by-engine"),
        admin_files(&admin.join("by-git"), "by-git"),
    );
    for name in ["by-git", "by-engine"] {
        assert_eq!(
            std::fs::read_to_string(dir.join(name).join(".git")).unwrap(),
            format!("gitdir: {}\n", admin.join(name).display())
        );
        assert_eq!(
            git(
                &t.root,
                &["rev-parse", &format!("refs/heads/engine/{name}")]
            )
            .trim(),
            base
        );
    }
    let listed = git(&t.root, &["worktree", "list", "--porcelain"]);
    let of = |name: &str| {
        listed
            .split("\n\n")
            .find(|e| e.contains(&format!("/{name}\n")))
            .unwrap()
            .replace(name, "NAME")
    };
    assert_eq!(of("by-engine"), of("by-git"));
}

#[test]
fn a_worktree_made_in_process_costs_one_git_start_and_works_for_git() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    // In a directory that does not exist yet, as a state directory's first worktree.
    let wt = t.root.parent().unwrap().join("state/worktrees/wt");
    let before = starts_on_this_thread();
    repo.add_worktree(&wt, "engine/plain", &base).unwrap();
    assert_eq!(starts_on_this_thread() - before, 1, "only the checkout");
    assert_eq!(git(&wt, &["status", "--porcelain"]), "");
    assert_eq!(
        git(&wt, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/engine/plain"
    );
    std::fs::write(wt.join("new.txt"), "new\n").unwrap();
    let made = repo
        .commit_all(&wt, "a change", None, None)
        .unwrap()
        .unwrap();
    assert_eq!(git(&t.root, &["rev-parse", "engine/plain"]).trim(), made);
    git(&t.root, &["fsck", "--no-progress"]);
    git(
        &t.root,
        &["worktree", "remove", "--force", wt.to_str().unwrap()],
    );
    assert!(!wt.exists());
}

#[test]
fn a_packed_base_commit_is_found_in_its_pack_index() {
    let t = TestRepo::new("main");
    git(&t.root, &["gc", "--quiet"]);
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let loose = t
        .root
        .join(".git/objects")
        .join(&base[..2])
        .join(&base[2..]);
    assert!(!loose.exists(), "the commit is packed");
    let wt = t.root.parent().unwrap().join("wt");
    let before = starts_on_this_thread();
    repo.add_worktree(&wt, "engine/packed", &base).unwrap();
    assert_eq!(starts_on_this_thread() - before, 1, "only the checkout");
    assert_eq!(git(&wt, &["status", "--porcelain"]), "");
}

#[test]
fn what_is_not_plain_is_left_to_git() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let dir = t.root.parent().unwrap();
    let turn = repo.worktree_turn().unwrap();
    let ask = |path: &str, branch: &str, commit: &str| {
        repo.register_worktree(&dir.join(path), branch, commit, true, CREATING_REASON)
            .unwrap()
    };
    // A name git accepts but the plain set does not; an id of no object; not an id.
    assert_eq!(ask("w1", "engine/caf\u{e9}", &base), Registered::AskGit);
    assert_eq!(ask("w2", "engine/x", &"1".repeat(40)), Registered::AskGit);
    assert_eq!(ask("w3", "engine/x", "main"), Registered::AskGit);
    assert_eq!(ask("w4", "engine/x..y", &base), Registered::AskGit);
    // A lock held on the branch.
    let lock = t.root.join(".git/refs/heads/engine/held.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    std::fs::write(&lock, "").unwrap();
    assert_eq!(ask("w5", "engine/held", &base), Registered::AskGit);
    // A branch named like a directory of branches.
    assert_eq!(ask("w6", "engine", &base), Registered::AskGit);
    // A branch that exists, packed (no loose file to find).
    git(&t.root, &["branch", "engine/packed", &base]);
    git(&t.root, &["pack-refs", "--all"]);
    assert_eq!(ask("w7", "engine/packed", &base), Registered::AskGit);
    git(&t.root, &["branch", "-D", "engine/packed"]);
    // Nothing was left behind by any of them.
    assert!(
        std::fs::read_dir(t.root.join(".git/worktrees")).map_or(0, Iterator::count) == 0,
        "a registration was left"
    );
    for path in ["w1", "w2", "w3", "w4", "w5", "w6", "w7"] {
        assert!(!dir.join(path).exists());
    }
    assert_eq!(
        git(&t.root, &["for-each-ref", "--format=%(refname)"]).trim(),
        "refs/heads/main"
    );
    drop(turn);
    // Through the public entry, git then gives its own answer.
    let err = repo
        .add_worktree(&dir.join("w2"), "engine/x", &"1".repeat(40))
        .unwrap_err();
    assert!(matches!(err, GitError::Failed { .. }), "{err:?}");
}

#[test]
fn a_registration_cut_short_after_the_branch_is_repaired_and_the_branch_attached() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = t.root.parent().unwrap().join("wt");
    // What a kill right after the branch was written leaves: the locked registration, the
    // branch, nothing else.
    let admin = t.root.join(".git/worktrees/wt");
    std::fs::create_dir_all(&admin).unwrap();
    std::fs::write(admin.join("locked"), CREATING_REASON).unwrap();
    git(&t.root, &["branch", "engine/cut", &base]);
    let repairs = repo
        .add_worktree_with(&wt, "engine/cut", &base, &mut || {})
        .unwrap();
    assert_eq!(repairs.len(), 1, "{repairs:?}");
    assert_eq!(git(&wt, &["status", "--porcelain"]), "");
    assert_eq!(git(&wt, &["rev-parse", "HEAD"]).trim(), base);
    assert!(!admin.join("locked").exists());
}

#[test]
fn a_sparse_checkout_s_patterns_are_left_to_git_to_copy() {
    let t = TestRepo::new("main");
    for dir in ["src", "docs"] {
        std::fs::create_dir_all(t.root.join(dir)).unwrap();
        std::fs::write(t.root.join(dir).join("x.txt"), "x\n").unwrap();
    }
    git(&t.root, &["add", "src", "docs"]);
    git(&t.root, &["commit", "-q", "-m", "src"]);
    git(&t.root, &["sparse-checkout", "set", "src"]);
    let repo = Repo::discover(&t.root).unwrap();
    let base = repo.rev_parse("HEAD").unwrap();
    let wt = t.root.parent().unwrap().join("wt");
    let before = starts_on_this_thread();
    repo.add_worktree(&wt, "engine/sparse", &base).unwrap();
    assert_eq!(
        starts_on_this_thread() - before,
        2,
        "git worktree add, then the checkout"
    );
    // git copied the patterns: `src/` and the top level's files are checked out, `docs/` not.
    assert!(wt.join("src/x.txt").is_file());
    assert!(wt.join("a.txt").is_file(), "cone mode keeps the top level");
    assert!(!wt.join("docs").exists(), "the worktree is not sparse");
    let patterns = git(&wt, &["sparse-checkout", "list"]);
    assert_eq!(patterns.trim(), "src");
}
