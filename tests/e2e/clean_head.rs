//! A read-only stage right after engine's commit of a write-granted stage starts from that
//! commit instead of a snapshot of the worktree (the worktree holds exactly its files), and
//! what the read-only stage leaves behind is still removed before the next write-granted stage
//! and never merged. With a commit hook (which may change files after they were staged), the
//! snapshot is taken as before.

use crate::support::{EngineOutput, TestRepo};
use std::path::Path;

/// Write, read-only (leaving files behind), write, merge.
fn workflow(repo: &TestRepo) {
    repo.workflow(&format!(
        r#"name: clean-head
stages:
  first:
    {echo}
    with: {{ write: first.txt }}
    permissions: {{ workspace: write }}
  check:
    uses: builtin:gate
    needs: [first]
    with: {{ commands: ["sh -c 'echo report > leftover.txt && echo changed > README.md'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
  second:
    {echo}
    needs: [check]
    with: {{ write: second.txt }}
    permissions: {{ workspace: write }}
  merge:
    uses: builtin:merge
    needs: [second]
    with: {{ strategy: squash }}
    permissions: {{ workspace: read, exec: [git] }}
    retry: {{ max_attempts: 1 }}
"#,
        echo = crate::support::fixture_uses("fixture_echo"),
    ));
}

/// A `git` first on PATH that logs each subcommand to `log` (when it can: inside a sandbox it
/// cannot) and runs the real git.
fn logging_git(dir: &Path, log: &Path) {
    let real = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let script = format!(
        "#!/bin/sh\n{{ echo \"$*\" >> '{}'; }} 2>/dev/null\nexec '{}' \"$@\"\n",
        log.display(),
        real.trim()
    );
    let git = dir.join("git");
    std::fs::write(&git, script).unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&git)
        .status()
        .unwrap();
}

/// Runs the workflow for `task` with git logged: the run (succeeded) and the git commands.
fn run_logged<'r>(repo: &'r TestRepo, task: &str) -> (EngineOutput<'r>, String) {
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("git.log");
    logging_git(bin.path(), &log);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task(task)
        .path_first(bin.path())
        .run();
    r.succeeds();
    (r, std::fs::read_to_string(&log).unwrap())
}

/// How many worktree snapshots (`git write-tree`, or `git diff-index --cached` of one) the logged
/// commands hold.
fn snapshots(logged: &str) -> usize {
    // A snapshot written as a tree, or compared with one directly (after an agent session).
    logged
        .lines()
        .filter(|line| line.ends_with("write-tree") || line.contains("diff-index --cached"))
        .count()
}

/// Runs the workflow with git logged; the number of worktree snapshots engine took.
fn run_and_count_snapshots(repo: &TestRepo) -> usize {
    let (r, logged) = run_logged(repo, "Two changes");
    // What the read-only stage left is in neither commit nor in main.
    let tree = repo.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert_eq!(
        tree.lines().collect::<Vec<_>>(),
        ["README.md", "first.txt", "second.txt", "src/lib.txt"],
    );
    assert_eq!(
        repo.git(&["show", "main:README.md"]),
        repo.git(&["show", "elsewhere:README.md"])
    );
    let commit = r.report().stage("second").history[0].commits[0].clone();
    let changed = repo.git(&["show", "--format=", "--name-only", &commit]);
    assert_eq!(changed.trim(), "second.txt");
    snapshots(&logged)
}

#[test]
fn a_read_only_stage_after_engines_commit_starts_from_it() {
    let repo = TestRepo::new();
    repo.git(&["checkout", "-q", "-b", "elsewhere"]);
    workflow(&repo);
    // Only the restore before `second` looks at the worktree (twice: what differs, then that
    // nothing does any more); `check` and `merge` start from the commits of `first` and
    // `second`.
    assert_eq!(run_and_count_snapshots(&repo), 2);
}

#[test]
fn with_a_commit_hook_read_only_stages_start_from_a_snapshot() {
    let repo = TestRepo::new();
    repo.git(&["checkout", "-q", "-b", "elsewhere"]);
    let hook = repo.path().join(".git/hooks/post-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&hook)
        .status()
        .unwrap();
    workflow(&repo);
    // The restore's two, and one on entry of each read-only stage.
    assert_eq!(run_and_count_snapshots(&repo), 4);
}

#[test]
fn an_agent_on_a_fresh_worktree_is_measured_against_the_base_commit() {
    use crate::support::Workflow;
    use crate::support::agent::ScriptedAgent;
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        r#"
- - write: {path: src/greet.txt, content: "hello\n"}
  - say: "Done."
"#,
    );
    Workflow::named("fresh-agent")
        .agents(&agent, "")
        .stage(
            "execute",
            "uses: builtin:agent\nwith: { backend: claude }\npermissions: { workspace: write, agent: true }",
        )
        .stage(
            "merge",
            "uses: builtin:merge\nneeds: [execute]\npermissions: { workspace: read, exec: [git] }",
        )
        .write(&repo);
    let (r, logged) = run_logged(&repo, "Greet");
    let report = r.report();
    assert_eq!(
        report.stage("execute").outputs["files_changed"],
        serde_json::json!(["src/greet.txt"])
    );
    // One snapshot: after the session. Before it, the worktree was the base commit's checkout;
    // the merge stage starts from engine's commit.
    assert_eq!(snapshots(&logged), 1);
    // Without hooks, `git commit` itself says whether there was anything to commit.
    assert!(!logged.contains("diff --cached"), "{logged}");
}
