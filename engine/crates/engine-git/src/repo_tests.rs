//! Tests of repository discovery, refs, branches and excludes on real repositories.

use std::path::Path;

use crate::test_repo::{TestRepo, configure, git};
use crate::{GitError, Repo};

#[test]
fn discovers_from_root_subdir_and_file() {
    let t = TestRepo::new("main");
    std::fs::create_dir_all(t.root.join("sub/deeper")).unwrap();
    for start in [
        t.root.clone(),
        t.root.join("sub/deeper"),
        t.root.join("a.txt"),
    ] {
        let repo = Repo::discover(&start).unwrap();
        assert_eq!(repo.root(), t.root.as_path(), "from {}", start.display());
    }
}

#[test]
fn not_a_repo_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    match Repo::discover(dir.path()) {
        Err(GitError::NotARepo(path)) => assert_eq!(path, dir.path()),
        other => panic!("expected NotARepo, got {other:?}"),
    }
    let missing = dir.path().join("missing");
    assert!(matches!(
        Repo::discover(&missing),
        Err(GitError::NotARepo(_))
    ));
}

#[test]
fn common_dir_is_shared_by_linked_worktrees() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let common = repo.git_common_dir().unwrap();
    assert_eq!(common.canonicalize().unwrap(), t.root.join(".git"));
    let wt = t.root.parent().unwrap().join("wt");
    let head = repo.rev_parse("HEAD").unwrap();
    repo.add_worktree(&wt, "engine/wt", &head).unwrap();
    let linked = Repo::discover(&wt).unwrap();
    assert_eq!(
        linked.root().canonicalize().unwrap(),
        wt.canonicalize().unwrap()
    );
    assert_eq!(
        linked.git_common_dir().unwrap().canonicalize().unwrap(),
        t.root.join(".git")
    );
}

#[test]
fn is_tracked_checks_the_index() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    std::fs::create_dir_all(t.root.join("dir/inner")).unwrap();
    std::fs::write(t.root.join("dir/inner/f.txt"), "x").unwrap();
    std::fs::write(t.root.join("untracked.txt"), "x").unwrap();
    std::fs::create_dir_all(t.root.join(".engine")).unwrap();
    std::fs::write(t.root.join(".engine/state"), "x").unwrap();
    assert!(repo.is_tracked(Path::new("a.txt")).unwrap());
    assert!(!repo.is_tracked(Path::new("untracked.txt")).unwrap());
    assert!(!repo.is_tracked(Path::new("dir")).unwrap());
    assert!(!repo.is_tracked(Path::new(".engine")).unwrap());
    assert!(
        !repo.is_tracked(Path::new("*.txt")).unwrap(),
        "pathspec is literal"
    );
    git(&t.root, &["add", "dir/inner/f.txt"]);
    assert!(repo.is_tracked(Path::new("dir")).unwrap(), "staged counts");
    assert!(repo.is_tracked(Path::new("dir/inner")).unwrap());
    git(&t.root, &["add", "-f", ".engine/state"]);
    assert!(repo.is_tracked(Path::new(".engine")).unwrap());
}

#[test]
fn ensure_excluded_is_idempotent_and_hides_state_dir() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    std::fs::create_dir_all(t.root.join(".engine")).unwrap();
    std::fs::write(t.root.join(".engine/db"), "x").unwrap();
    let before = git(&t.root, &["status", "--porcelain"]);
    assert!(before.contains(".engine/"), "{before}");

    // An exclude file without a trailing newline must not get the pattern glued to its line.
    let exclude = t.root.join(".git/info/exclude");
    std::fs::write(&exclude, "# user line\n*.tmp").unwrap();
    repo.ensure_excluded(".engine/").unwrap();
    repo.ensure_excluded(".engine/").unwrap();
    let text = std::fs::read_to_string(&exclude).unwrap();
    assert_eq!(text, "# user line\n*.tmp\n.engine/\n");

    let after = git(&t.root, &["status", "--porcelain"]);
    assert!(!after.contains(".engine"), "{after}");
    assert!(!t.root.join(".gitignore").exists());
    assert!(matches!(
        repo.ensure_excluded("a\nb"),
        Err(GitError::InvalidArgument { .. })
    ));
}

#[test]
fn ensure_excluded_creates_missing_info_dir() {
    let t = TestRepo::new("main");
    std::fs::remove_dir_all(t.root.join(".git/info")).ok();
    let repo = Repo::discover(&t.root).unwrap();
    repo.ensure_excluded(".engine/").unwrap();
    let text = std::fs::read_to_string(t.root.join(".git/info/exclude")).unwrap();
    assert_eq!(text, ".engine/\n");
}

#[test]
fn current_branch_and_detached_head() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    assert_eq!(repo.current_branch().unwrap().as_deref(), Some("main"));
    git(&t.root, &["switch", "--quiet", "--detach"]);
    assert_eq!(repo.current_branch().unwrap(), None);
}

#[test]
fn base_branch_without_origin() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    assert_eq!(repo.default_base_branch().unwrap(), "main");
    // main wins over the checked-out branch.
    git(&t.root, &["switch", "--quiet", "-c", "feature"]);
    assert_eq!(repo.default_base_branch().unwrap(), "main");
    git(&t.root, &["switch", "--quiet", "--detach"]);
    assert_eq!(repo.default_base_branch().unwrap(), "main");

    let t = TestRepo::new("master");
    let repo = Repo::discover(&t.root).unwrap();
    git(&t.root, &["switch", "--quiet", "--detach"]);
    assert_eq!(repo.default_base_branch().unwrap(), "master");

    let t = TestRepo::new("master");
    let repo = Repo::discover(&t.root).unwrap();
    git(&t.root, &["switch", "--quiet", "-c", "feature"]);
    assert_eq!(repo.default_base_branch().unwrap(), "master");

    // Neither main nor master: the checked-out branch, as a last resort.
    let t = TestRepo::new("dev");
    let repo = Repo::discover(&t.root).unwrap();
    assert_eq!(repo.default_base_branch().unwrap(), "dev");
    git(&t.root, &["switch", "--quiet", "--detach"]);
    assert!(matches!(
        repo.default_base_branch(),
        Err(GitError::NoBaseBranch { .. })
    ));
}

#[test]
fn base_branch_follows_origin_head() {
    let t = TestRepo::new("main");
    git(&t.root, &["branch", "trunk"]);
    let parent = t.root.parent().unwrap();
    let bare = parent.join("origin.git");
    git(
        parent,
        &[
            "clone",
            "--quiet",
            "--bare",
            t.root.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    git(&bare, &["symbolic-ref", "HEAD", "refs/heads/trunk"]);
    let clone = parent.join("clone");
    git(
        parent,
        &[
            "clone",
            "--quiet",
            bare.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    configure(&clone);
    git(&clone, &["switch", "--quiet", "-c", "feature"]);
    let repo = Repo::discover(&clone).unwrap();
    assert_eq!(repo.current_branch().unwrap().as_deref(), Some("feature"));
    assert_eq!(repo.default_base_branch().unwrap(), "trunk");

    // origin/HEAD names a branch that has no local counterpart, and there is no main or
    // master: fall back to the checked-out branch.
    git(&clone, &["branch", "-D", "trunk"]);
    assert_eq!(repo.default_base_branch().unwrap(), "feature");
}

#[test]
fn rev_parse_resolves_and_rejects() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    let head = repo.rev_parse("HEAD").unwrap();
    assert_eq!(head.len(), 40);
    assert!(head.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(repo.rev_parse("main").unwrap(), head);
    assert_eq!(repo.rev_parse(&head[..10]).unwrap(), head);
    match repo.rev_parse("no-such-branch") {
        Err(GitError::UnknownRevision(rev)) => assert_eq!(rev, "no-such-branch"),
        other => panic!("expected UnknownRevision, got {other:?}"),
    }
    assert!(matches!(
        repo.rev_parse("--all"),
        Err(GitError::InvalidArgument { .. })
    ));
}

#[test]
fn unique_branch_names_get_numbered() {
    let t = TestRepo::new("main");
    let repo = Repo::discover(&t.root).unwrap();
    assert!(repo.branch_exists("main").unwrap());
    assert!(!repo.branch_exists("engine/x").unwrap());
    assert_eq!(repo.unique_branch_name("engine/x").unwrap(), "engine/x");
    git(&t.root, &["branch", "engine/x"]);
    git(&t.root, &["branch", "engine/x-2"]);
    assert!(repo.branch_exists("engine/x").unwrap());
    assert_eq!(repo.unique_branch_name("engine/x").unwrap(), "engine/x-3");
}
