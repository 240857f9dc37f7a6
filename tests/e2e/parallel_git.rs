//! `--all --parallel 4` many times over, in the repository shape of scripts/bench-tasks.sh
//! (independent tasks in a spec-runner tasks.md, a write-granted stage writing a file of its
//! own, `builtin:merge` squashing into main, statuses written back, the user's checkout on a
//! side branch; the work stage is a gate running `mktemp`, as the queue tests do, rather than the
//! scripted agent: git sees exactly the same): the runs' worktree operations (`git worktree add`, `list`,
//! `prune`, `remove`) and the merge stage's `git worktree list` never break each other. Every
//! session ends with every task done and merged once, and `git worktree list`, `git fsck` and
//! `git gc` clean.

use crate::support::TestRepo;
use std::fmt::Write as _;

/// Sessions of `--all --parallel 4`.
const SESSIONS: usize = 10;
/// Tasks per session.
const TASKS: usize = 12;

/// A fresh repository with [`TASKS`] independent tasks, the user's checkout on `wip`.
fn bench_repo() -> TestRepo {
    let repo = TestRepo::new();
    let mut tasks = String::from("# Tasks\n");
    for i in 1..=TASKS {
        let _ = write!(tasks, "\n### TASK-{i}: Trivial task {i}\nP1 | TODO\n");
    }
    repo.write("spec/tasks.md", &tasks).commit_all("tasks");
    repo.git(&["checkout", "-q", "-b", "wip"]);
    // Each run writes a file of its own, so every run has a change to commit and merge.
    repo.workflow(
        r#"name: bench
tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }
stages:
  execute:
    uses: builtin:gate
    with: { commands: ["sh -c 'mktemp ./done-XXXXXXXX > /dev/null'"] }
    permissions: { workspace: write, exec: [sh] }
  merge:
    uses: builtin:merge
    needs: [execute]
    permissions: { workspace: read, exec: [git] }
"#,
    );
    repo
}

#[test]
fn all_parallel_4_again_and_again_never_breaks_git() {
    for session in 1..=SESSIONS {
        let repo = bench_repo();
        let r = repo.run(&["run", "workflow.yaml", "--all", "--parallel", "4"]);
        assert_eq!(r.code(), 0, "session {session} failed:\n{}", r.context());
        let tasks = repo.read("spec/tasks.md");
        let done = tasks.matches("P1 | DONE").count();
        assert_eq!(done, TASKS, "session {session}:\n{tasks}\n{}", r.stderr());
        let merged = repo.git(&["log", "main", "--format=%H", "--grep=Engine-Run:"]);
        assert_eq!(merged.lines().count(), TASKS, "session {session}");
        let list = repo.git(&["worktree", "list", "--porcelain"]);
        assert_eq!(
            list.matches("worktree ").count(),
            1,
            "session {session}: worktrees left: {list}"
        );
        assert!(
            !list.contains("prunable") && !list.contains("locked"),
            "{list}"
        );
        repo.git(&["fsck", "--no-progress"]);
        repo.git(&["gc", "--quiet"]);
        assert_eq!(
            repo.git(&["branch", "--show-current"]).trim(),
            "wip",
            "the user's checkout stays where it was"
        );
    }
}
