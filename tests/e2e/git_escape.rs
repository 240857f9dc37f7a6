//! End-to-end: what a stage writes into its worktree never redirects or pollutes the host's git.
//! A stage that rewrites `/workspace/.git` to name the user's repository (or another one) does
//! not get engine's commit there: the user's branch, HEAD, index and files stay byte for byte,
//! the other repository is untouched, and the commit lands on the run branch. And what a
//! `workspace: read` stage's programs leave behind is not committed by a later write stage.

use std::path::{Path, PathBuf};

use crate::support::{TestRepo, Workflow, uses_fixture};

/// Every file under `root` (but `.git` and engine's state directory), as bytes.
fn files(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path == root.join(".git") || path == root.join(".engine") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The refs (loose and packed), HEAD, index and config of a repository, as bytes, leaving out
/// the refs of run branches (`refs/heads/engine/...`).
fn git_state(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let git = root.join(".git");
    let mut out = Vec::new();
    let mut stack = vec![git.join("refs")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path == git.join("refs/heads/engine") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    for f in ["HEAD", "index", "config", "packed-refs", "ORIG_HEAD"] {
        if let Ok(bytes) = std::fs::read(git.join(f)) {
            out.push((git.join(f), bytes));
        }
    }
    out.sort();
    out
}

/// Runs a workflow whose first stage rewrites the worktree's `.git` file to `gitdir: <target>`,
/// and whose second writes `feature.txt`; checks the user's repository and `other` were not
/// touched and the work landed on the run branch.
#[track_caller]
fn hijack_is_contained(repo: &TestRepo, target: &Path, other: Option<&TestRepo>) {
    Workflow::named("hijack")
        .stage(
            "hijack",
            &format!(
                "{}\nwith: {{ path: .git, contents: \"gitdir: {}\\n\" }}\npermissions: {{ workspace: write }}",
                uses_fixture("fixture_write"),
                target.display()
            ),
        )
        .stage(
            "work",
            &format!(
                "{}\nneeds: [hijack]\nwith: {{ write: feature.txt }}\npermissions: {{ workspace: write }}",
                uses_fixture("fixture_echo")
            ),
        )
        .write(repo);
    repo.redact(target, "[TARGET]");
    // Engine's state directory exists (and is excluded) before we take the picture.
    repo.run(&["runs"]).succeeds();
    let files_before = files(repo.path());
    let git_before = git_state(repo.path());
    let status_before = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    let other_before = other.map(|o| (git_state(o.path()), files(o.path())));

    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Escape")
        .run();
    let run_id = r.run_id();
    // Whatever the exit code, the user's repository is exactly as it was.
    assert_eq!(
        git_state(repo.path()),
        git_before,
        "the user's refs, HEAD or index changed\nstderr: {}",
        r.stderr()
    );
    assert_eq!(files(repo.path()), files_before, "the user's files changed");
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        status_before
    );
    if let Some(other) = other {
        assert_eq!(
            Some((git_state(other.path()), files(other.path()))),
            other_before,
            "the other repository changed"
        );
    }
    // The run succeeded, with its commits on its own branch, and said what happened (a
    // warning naming the stage).
    r.succeeds();
    insta::assert_snapshot!("hijack_warned", r.stderr_normalised());
    let report = r.report();
    let branch = &report.meta.branch;
    let feature = repo.git(&["show", &format!("{branch}:feature.txt")]);
    assert!(feature.contains(&format!("{run_id}/work/1")), "{feature}");
    let commits = &report.stage("work").history[0].commits;
    assert_eq!(commits.len(), 1, "{:#}", report.raw);
    assert_eq!(repo.git(&["rev-parse", branch]).trim(), commits[0]);
    // The branch holds the work and nothing of the user's (no `.git`, no `.engine`).
    let tree = repo.git(&["ls-tree", "-r", "--name-only", branch]);
    assert_eq!(
        tree.lines().collect::<Vec<_>>(),
        ["README.md", "feature.txt", "src/lib.txt"]
    );
}

#[test]
fn a_stage_pointing_the_worktree_at_the_users_repository_changes_nothing_there() {
    let repo = TestRepo::new();
    // The user has work in progress: staged, unstaged and untracked.
    repo.write("README.md", "# demo, edited\n");
    repo.write("staged.txt", "staged\n");
    repo.git(&["add", "staged.txt"]);
    repo.write("notes/untracked.txt", "mine\n");
    let target = repo.path().canonicalize().unwrap().join(".git");
    hijack_is_contained(&repo, &target, None);
}

#[test]
fn a_stage_pointing_the_worktree_at_another_repository_changes_nothing_there() {
    let repo = TestRepo::new();
    let other = TestRepo::new();
    other.write("other.txt", "other's work in progress\n");
    let target = other.path().canonicalize().unwrap().join(".git");
    hijack_is_contained(&repo, &target, Some(&other));
}

#[test]
fn what_a_read_only_gate_leaves_behind_is_not_merged() {
    let repo = TestRepo::new();
    repo.git(&["checkout", "-q", "-b", "elsewhere"]);
    repo.workflow(&format!(
        r#"name: leftovers
stages:
  check:
    uses: builtin:gate
    with: {{ commands: ["sh -c 'echo report > leftover.txt && echo changed > src/lib.txt'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
  work:
    {echo}
    needs: [check]
    with: {{ write: feature.txt }}
    permissions: {{ workspace: write }}
  merge:
    uses: builtin:merge
    needs: [work]
    with: {{ strategy: squash }}
    permissions: {{ workspace: read, exec: [git] }}
    retry: {{ max_attempts: 1 }}
"#,
        echo = crate::support::fixture_uses("fixture_echo"),
    ));
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add the feature")
        .run();
    r.succeeds();
    let run_id = r.run_id();
    let tree = repo.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert_eq!(
        tree.lines().collect::<Vec<_>>(),
        ["README.md", "feature.txt", "src/lib.txt"],
        "main holds what the gate left behind"
    );
    assert_eq!(repo.git(&["show", "main:src/lib.txt"]), "hello\n");
    assert!(
        repo.git(&["show", "main:feature.txt"])
            .contains(&format!("{run_id}/work/1"))
    );
    // The work stage's commit holds only its own change.
    let commit = r.report().stage("work").history[0].commits[0].clone();
    let changed = repo.git(&["show", "--format=", "--name-only", &commit]);
    assert_eq!(changed.trim(), "feature.txt");
}
