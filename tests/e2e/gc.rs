//! `engine gc` on a real repository: it removes the worktrees finished runs kept and the
//! leftovers of crashes, never touches an unfinished (resumable) run, refuses to run beside a
//! running engine, and with `--branches` deletes only run branches whose work is in the base.

use std::path::{Path, PathBuf};

use crate::support::TestRepo;
use crate::support::repo::git_in;

/// Two stages, so a run can be held after its first transition; nothing is written.
const KEEP_ALWAYS: &str = r#"
name: gc-demo
git: { keep_worktree: always }
defaults:
  retry: { max_attempts: 1 }
stages:
  a:
    uses: builtin:gate
    with: { commands: [["test", "-f", "README.md"]] }
    permissions: { workspace: read, exec: [test] }
  b:
    uses: builtin:gate
    needs: [a]
    with: { commands: [["test", "-f", "README.md"]] }
    permissions: { workspace: read, exec: [test] }
"#;

/// Fails in its only stage; the worktree is kept (the default: on failure).
const FAILING: &str = r#"
name: gc-failing
defaults:
  retry: { max_attempts: 1 }
stages:
  only:
    uses: builtin:gate
    with: { commands: [["test", "-f", "missing.txt"]] }
    permissions: { workspace: read, exec: [test] }
"#;

/// The run's worktree, as recorded.
#[track_caller]
fn worktree_of(repo: &TestRepo, run_id: &str) -> Option<PathBuf> {
    repo.report(run_id).meta.worktree
}

/// The run's branch.
#[track_caller]
fn branch_of(repo: &TestRepo, run_id: &str) -> String {
    repo.report(run_id).meta.branch
}

/// Whether git lists `path` as a worktree.
fn registered(repo: &TestRepo, path: &Path) -> bool {
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    list.lines().any(|l| {
        l.strip_prefix("worktree ")
            .is_some_and(|p| Path::new(p) == path || Path::new(p) == canonical)
    })
}

/// Whether the branch exists.
fn branch_exists(repo: &TestRepo, branch: &str) -> bool {
    !repo.git(&["branch", "--list", branch]).trim().is_empty()
}

/// Starts a run of `workflow`, holds it after its first stored transition, kills it with
/// SIGKILL; returns the run id.
#[track_caller]
fn start_and_kill(repo: &TestRepo, workflow: &str) -> String {
    let mut engine = repo
        .engine()
        .args(["run", workflow])
        .task("Unfinished")
        .hold("after:1")
        .spawn();
    engine.wait_for_stderr("holding after storing transition 1");
    // While it runs, gc refuses: the state directory is locked.
    repo.run(&["gc"]).exits(5);
    let stdout = engine.kill9();
    stdout.lines().next().unwrap_or_default().trim().to_string()
}

#[test]
fn gc_removes_finished_runs_leftovers_and_never_an_unfinished_run() {
    let repo = TestRepo::new();
    repo.write("notes.txt", "the user's untracked notes\n");
    repo.workflow(KEEP_ALWAYS);
    repo.write("failing.yaml", FAILING);

    let done = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Finished")
        .run();
    done.succeeds();
    let done_id = done.run_id();
    let failed = repo
        .engine()
        .args(["run", "failing.yaml"])
        .task("Fails")
        .run();
    failed.exits(1);
    let failed_id = failed.run_id();
    let unfinished_id = start_and_kill(&repo, "workflow.yaml");
    assert_eq!(unfinished_id.len(), 26);

    let done_wt = worktree_of(&repo, &done_id).expect("kept: keep_worktree always");
    let failed_wt = worktree_of(&repo, &failed_id).expect("kept on failure");
    let unfinished_wt = worktree_of(&repo, &unfinished_id).unwrap();
    for wt in [&done_wt, &failed_wt, &unfinished_wt] {
        assert!(wt.is_dir(), "{} exists before gc", wt.display());
    }
    std::fs::write(unfinished_wt.join("work-in-progress.txt"), "keep me\n").unwrap();
    // Leftovers of crashes between creating a worktree and recording the run: a registered
    // worktree and a bare directory under <state>/worktrees/, both of no run.
    let worktrees = repo.path().join(".engine/worktrees");
    let orphan = worktrees.join("01ORPHANORPHANORPHANORPHAN");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "engine/orphan",
        orphan.to_str().unwrap(),
    ]);
    let plain = worktrees.join("01PLAINPLAINPLAINPLAINPLAI");
    std::fs::create_dir_all(plain.join("half")).unwrap();
    let status_before = repo.git(&["status", "--porcelain"]);

    // --dry-run changes nothing and lists exactly what would go.
    let dry = repo.run(&["gc", "--dry-run", "--json"]);
    dry.succeeds();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&dry.stdout()).unwrap();
    let mut listed: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String)> = [&done_wt, &failed_wt, &orphan, &plain]
        .iter()
        .map(|p| ("would_remove".to_string(), p.display().to_string()))
        .collect();
    expected.sort();
    assert_eq!(listed, expected, "{}", dry.stdout());
    for wt in [&done_wt, &failed_wt, &unfinished_wt, &orphan, &plain] {
        assert!(wt.is_dir(), "dry run removed {}", wt.display());
    }

    let gc = repo.run(&["gc"]);
    gc.succeeds();
    // What it removed, by run.
    insta::assert_snapshot!("gc_removed", gc.stdout_normalised());
    for gone in [&done_wt, &failed_wt, &orphan, &plain] {
        assert!(!gone.exists(), "{} still exists", gone.display());
        assert!(
            !registered(&repo, gone),
            "{} still registered",
            gone.display()
        );
    }
    assert_eq!(worktree_of(&repo, &done_id), None, "record updated");
    assert_eq!(worktree_of(&repo, &failed_id), None);
    // The unfinished run is untouched, down to its uncommitted file.
    assert!(registered(&repo, &unfinished_wt));
    assert_eq!(
        std::fs::read_to_string(unfinished_wt.join("work-in-progress.txt")).unwrap(),
        "keep me\n"
    );
    assert_eq!(
        worktree_of(&repo, &unfinished_id),
        Some(unfinished_wt.clone())
    );
    // Branches are kept without --branches; the user's checkout is as it was.
    assert!(branch_exists(&repo, &branch_of(&repo, &done_id)));
    assert!(branch_exists(&repo, "engine/orphan"));
    assert_eq!(repo.git(&["status", "--porcelain"]), status_before);
    assert_eq!(repo.read("notes.txt"), "the user's untracked notes\n");

    // Nothing left: a second gc reports nothing.
    repo.run(&["gc", "--json"]).succeeds().stdout_is("[]\n");

    // The unfinished run still resumes and finishes in its worktree.
    repo.run(&["resume", &unfinished_id]).succeeds();
    assert_eq!(repo.report(&unfinished_id).status(), "succeeded");
}

#[test]
fn gc_branches_deletes_only_merged_branches_of_finished_runs() {
    let repo = TestRepo::new();
    repo.workflow(KEEP_ALWAYS);
    let merged = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Merged")
        .run();
    merged.succeeds();
    let merged_branch = branch_of(&repo, &merged.run_id());
    let unmerged = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Unmerged")
        .run();
    unmerged.succeeds();
    let unmerged_id = unmerged.run_id();
    let unmerged_branch = branch_of(&repo, &unmerged_id);
    // Work on the second run's branch that main does not have.
    let wt = worktree_of(&repo, &unmerged_id).unwrap();
    std::fs::write(wt.join("feature.txt"), "feature\n").unwrap();
    git_in(&wt, &["add", "feature.txt"]);
    git_in(&wt, &["commit", "-q", "-m", "feature"]);
    let unfinished_id = start_and_kill(&repo, "workflow.yaml");
    let unfinished_branch = branch_of(&repo, &unfinished_id);

    let dry = repo.run(&["gc", "--branches", "--dry-run", "--json"]);
    dry.succeeds();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&dry.stdout()).unwrap();
    let branch_action = |branch: &str| {
        rows.iter()
            .find(|r| r["kind"] == "branch" && r["branch"] == branch)
            .map(|r| r["action"].as_str().unwrap().to_string())
    };
    assert_eq!(
        branch_action(&merged_branch).as_deref(),
        Some("would_delete")
    );
    assert_eq!(branch_action(&unmerged_branch).as_deref(), Some("kept"));
    assert_eq!(branch_action(&unfinished_branch), None);
    assert!(
        branch_exists(&repo, &merged_branch),
        "dry run deleted a branch"
    );

    let gc = repo.run(&["gc", "--branches"]);
    gc.succeeds();
    assert!(!branch_exists(&repo, &merged_branch));
    assert!(branch_exists(&repo, &unmerged_branch), "unmerged work kept");
    assert!(
        branch_exists(&repo, &unfinished_branch),
        "unfinished run kept"
    );
    // What it deleted, and why it kept the unmerged branch.
    insta::assert_snapshot!("gc_branches", gc.stdout_normalised());

    // Once main has the work (squash-merged), its branch goes too.
    repo.git(&["merge", "-q", "--squash", &unmerged_branch]);
    repo.git(&["commit", "-q", "-m", "squash"]);
    repo.run(&["gc", "--branches", "--json"]).succeeds();
    assert!(!branch_exists(&repo, &unmerged_branch));
    assert!(branch_exists(&repo, &unfinished_branch));
}

/// What a kill -9 just after a run's worktree was removed leaves when the record of the removal
/// (written without an fsync, `Store::update_meta_lazily`) is lost: a finished run that still
/// names a worktree that is gone. `engine gc` forgets it, and `engine retry` of such a run makes
/// the worktree again.
#[test]
fn a_record_of_a_worktree_that_is_gone_is_forgotten_by_gc_and_remade_by_retry() {
    let repo = TestRepo::new();
    repo.write("failing.yaml", FAILING);
    let failed = repo
        .engine()
        .args(["run", "failing.yaml"])
        .task("Fails")
        .run();
    failed.exits(1);
    let run_id = failed.run_id();
    let worktree = worktree_of(&repo, &run_id).expect("kept on failure");
    // The removal happened; its record did not reach the disk.
    repo.git(&["worktree", "remove", "--force", worktree.to_str().unwrap()]);
    assert!(!worktree.exists());
    assert_eq!(worktree_of(&repo, &run_id), Some(worktree.clone()));

    // retry puts the worktree back where the record says and runs the stage in it (it fails
    // again: the file it wants is still missing).
    repo.run(&["retry", &run_id]).exits(1);
    assert!(worktree.is_dir(), "retry made the worktree again");
    assert!(registered(&repo, &worktree));

    // Gone again behind engine's back: gc forgets the record and touches nothing else.
    repo.git(&["worktree", "remove", "--force", worktree.to_str().unwrap()]);
    let gc = repo.run(&["gc", "--json"]);
    gc.succeeds();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&gc.stdout()).unwrap();
    assert_eq!(rows.len(), 1, "{}", gc.stdout());
    assert_eq!(rows[0]["action"], "forgotten", "{}", gc.stdout());
    assert_eq!(rows[0]["kind"], "stale-record", "{}", gc.stdout());
    assert_eq!(rows[0]["run_id"], run_id.as_str(), "{}", gc.stdout());
    assert_eq!(worktree_of(&repo, &run_id), None, "record updated");
    repo.run(&["gc", "--json"]).succeeds().stdout_is("[]\n");
}
