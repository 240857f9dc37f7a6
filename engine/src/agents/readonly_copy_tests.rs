use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use super::*;

fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A repository with a base commit, a later commit, an uncommitted change, an untracked file,
/// an ignored file and a committed link pointing outside; returns (tmp, root, base, outside).
fn repo() -> (tempfile::TempDir, PathBuf, String, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("precious.txt"), "keep me\n").unwrap();
    git_out(&root, &["init", "--quiet", "-b", "main"]);
    git_out(&root, &["config", "user.name", "T"]);
    git_out(&root, &["config", "user.email", "t@example.invalid"]);
    git_out(&root, &["config", "commit.gpgsign", "false"]);
    std::fs::write(root.join("a.txt"), "alpha\n").unwrap();
    std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
    symlink(&outside, root.join("escape")).unwrap();
    git_out(&root, &["add", "-A"]);
    git_out(&root, &["commit", "--quiet", "-m", "base"]);
    let base = git_out(&root, &["rev-parse", "HEAD"]).trim().to_string();
    std::fs::write(root.join("b.txt"), "beta\n").unwrap();
    git_out(&root, &["add", "b.txt"]);
    git_out(&root, &["commit", "--quiet", "-m", "change"]);
    std::fs::write(root.join("a.txt"), "alpha, edited\n").unwrap();
    std::fs::write(root.join("new.txt"), "untracked\n").unwrap();
    std::fs::create_dir_all(root.join("target")).unwrap();
    std::fs::write(root.join("target/big.bin"), "ignored\n").unwrap();
    (tmp, root, base, outside)
}

fn make_copy(root: &Path, run_dir: &Path, name: &str) -> ReadOnlyCopy {
    let repo = Repo::discover(root).unwrap();
    let tree = repo.snapshot_tree(root).unwrap();
    let head = repo.head_of(root).unwrap();
    ReadOnlyCopy::create(&repo, run_dir, name, &head, &tree).unwrap()
}

#[test]
fn a_copy_holds_the_worktree_as_it_is_and_its_history() {
    let (tmp, root, base, _) = repo();
    let run_dir = tmp.path().join("state/runs/r1");
    let copy = make_copy(&root, &run_dir, "review.1.1");
    let dir = copy.path().to_path_buf();
    assert!(dir.starts_with(run_dir.join(READONLY_DIR).join(instance())));
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
    assert_eq!(read("a.txt"), "alpha, edited\n");
    assert_eq!(read("b.txt"), "beta\n");
    assert_eq!(read("new.txt"), "untracked\n");
    assert!(!dir.join("target").exists(), "ignored files are not copied");
    assert!(
        std::fs::symlink_metadata(dir.join("escape"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "a link is copied as a link"
    );
    // The reviewer's commands work in the copy.
    let names = git_out(&dir, &["diff", "--name-only", &format!("{base}...HEAD")]);
    assert_eq!(names.trim(), "b.txt");
    assert_eq!(
        git_out(&dir, &["rev-parse", "HEAD"]),
        git_out(&root, &["rev-parse", "HEAD"])
    );
    assert!(git_out(&dir, &["status", "--porcelain"]).contains(" M a.txt"));
    // What an agent does there stays there.
    std::fs::write(dir.join("a.txt"), "hacked\n").unwrap();
    std::fs::write(dir.join("dropped.txt"), "x\n").unwrap();
    copy.remove().unwrap();
    assert!(!dir.exists());
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "alpha, edited\n"
    );
    assert!(!root.join("dropped.txt").exists());
}

#[test]
fn removal_never_follows_links_an_agent_left() {
    let (tmp, root, _, outside) = repo();
    let run_dir = tmp.path().join("state/runs/r1");
    let copy = make_copy(&root, &run_dir, "review.1.2");
    let dir = copy.path().to_path_buf();
    // A hostile agent: links to the outside, an unreadable directory, and the copy itself
    // swapped for a link.
    symlink(&outside, dir.join("more")).unwrap();
    symlink(outside.join("precious.txt"), dir.join("file-link")).unwrap();
    std::fs::create_dir_all(dir.join("locked/inner")).unwrap();
    std::fs::write(dir.join("locked/inner/f"), "x").unwrap();
    std::fs::set_permissions(dir.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    drop(copy);
    assert!(!dir.exists(), "the copy is removed when dropped");
    assert_eq!(
        std::fs::read_to_string(outside.join("precious.txt")).unwrap(),
        "keep me\n"
    );

    let copy = make_copy(&root, &run_dir, "review.1.3");
    let dir = copy.path().to_path_buf();
    std::fs::rename(&dir, dir.with_extension("moved")).unwrap();
    symlink(&outside, &dir).unwrap();
    copy.remove().unwrap();
    assert!(std::fs::symlink_metadata(&dir).is_err(), "the link is gone");
    assert_eq!(
        std::fs::read_to_string(outside.join("precious.txt")).unwrap(),
        "keep me\n",
        "what it pointed to is untouched"
    );
}

#[test]
fn leftovers_of_dead_processes_are_swept_and_ours_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let dead = runs.join("r1").join(READONLY_DIR).join("1-dead");
    let ours = runs.join("r2").join(READONLY_DIR).join(instance());
    std::fs::create_dir_all(dead.join("review.1.1/src")).unwrap();
    std::fs::create_dir_all(ours.join("review.2.1")).unwrap();
    std::fs::create_dir_all(runs.join("r3")).unwrap();
    sweep_leftovers(&runs);
    assert!(!dead.exists());
    assert!(ours.join("review.2.1").exists());
}

#[test]
fn a_copy_of_a_bad_tree_fails_and_leaves_nothing() {
    let (tmp, root, _, _) = repo();
    let run_dir = tmp.path().join("state/runs/r1");
    let repo = Repo::discover(&root).unwrap();
    let head = repo.head_of(&root).unwrap();
    let err = ReadOnlyCopy::create(&repo, &run_dir, "x.1.1", &head, "0123abcd").unwrap_err();
    assert!(matches!(err, ReadOnlyCopyError::Git { .. }), "{err}");
    assert!(
        !run_dir
            .join(READONLY_DIR)
            .join(instance())
            .join("x.1.1")
            .exists()
    );
}
