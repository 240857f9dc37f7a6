//! `engine gc` on a real repository: it removes the worktrees finished runs kept and the
//! leftovers of crashes, never touches an unfinished (resumable) run, refuses to run beside a
//! running engine, and with `--branches` deletes only run branches whose work is in the base.

mod support;

use std::io::BufReader;
use std::path::{Path, PathBuf};

use support::{TestRepo, kill9, wait_for_line};

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

fn worktree_of(repo: &TestRepo, run_id: &str) -> Option<PathBuf> {
    repo.show(run_id)["meta"]["worktree"]
        .as_str()
        .map(PathBuf::from)
}

fn branch_of(repo: &TestRepo, run_id: &str) -> String {
    repo.show(run_id)["meta"]["branch"]
        .as_str()
        .unwrap()
        .to_string()
}

fn registered(repo: &TestRepo, path: &Path) -> bool {
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    list.lines().any(|l| {
        l.strip_prefix("worktree ")
            .is_some_and(|p| Path::new(p) == path || Path::new(p) == canonical)
    })
}

fn branch_exists(repo: &TestRepo, branch: &str) -> bool {
    !repo.git(&["branch", "--list", branch]).trim().is_empty()
}

/// Starts a run, holds it after its first stored transition, kills it with SIGKILL.
fn start_and_kill(repo: &TestRepo, workflow: &Path) -> String {
    let mut child = repo.spawn(
        &["run", workflow.to_str().unwrap(), "--task", "Unfinished"],
        &[("ENGINE_DEBUG_HOLD", "after:1")],
    );
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let found = wait_for_line(&mut stderr, "holding after storing transition 1", &mut seen);
    // While it runs, gc refuses: the state directory is locked.
    let busy = repo.run(&["gc"]);
    kill9(&mut child);
    assert!(found, "never held; stderr:\n{seen}");
    assert_eq!(
        busy.code(),
        5,
        "gc beside a running engine: {}",
        busy.stderr()
    );
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    stdout.lines().next().unwrap_or_default().trim().to_string()
}

#[test]
fn gc_removes_finished_runs_leftovers_and_never_an_unfinished_run() {
    let repo = TestRepo::new();
    repo.write("notes.txt", "the user's untracked notes\n");
    let wf = repo.workflow(KEEP_ALWAYS);
    repo.write("failing.yaml", FAILING);
    let failing_wf = repo.path().join("failing.yaml");

    let done = repo.run(&["run", wf.to_str().unwrap(), "--task", "Finished"]);
    assert_eq!(done.code(), 0, "{}", done.stderr());
    let done_id = done.run_id();
    let failed = repo.run(&["run", failing_wf.to_str().unwrap(), "--task", "Fails"]);
    assert_eq!(failed.code(), 1, "{}", failed.stderr());
    let failed_id = failed.run_id();
    let unfinished_id = start_and_kill(&repo, &wf);
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
    assert_eq!(dry.code(), 0, "{}", dry.stderr());
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
    assert_eq!(gc.code(), 0, "{}", gc.stderr());
    assert!(gc.stdout().contains(&done_id), "{}", gc.stdout());
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
    let again = repo.run(&["gc", "--json"]);
    assert_eq!(again.code(), 0, "{}", again.stderr());
    assert_eq!(again.stdout().trim(), "[]");

    // The unfinished run still resumes and finishes in its worktree.
    let resumed = repo.run(&["resume", &unfinished_id]);
    assert_eq!(resumed.code(), 0, "resume after gc: {}", resumed.stderr());
    assert_eq!(
        repo.show(&unfinished_id)["state"]["status"]["status"],
        "succeeded"
    );
}

#[test]
fn gc_branches_deletes_only_merged_branches_of_finished_runs() {
    let repo = TestRepo::new();
    let wf = repo.workflow(KEEP_ALWAYS);
    let merged = repo.run(&["run", wf.to_str().unwrap(), "--task", "Merged"]);
    assert_eq!(merged.code(), 0, "{}", merged.stderr());
    let merged_branch = branch_of(&repo, &merged.run_id());
    let unmerged = repo.run(&["run", wf.to_str().unwrap(), "--task", "Unmerged"]);
    assert_eq!(unmerged.code(), 0, "{}", unmerged.stderr());
    let unmerged_id = unmerged.run_id();
    let unmerged_branch = branch_of(&repo, &unmerged_id);
    // Work on the second run's branch that main does not have.
    let wt = worktree_of(&repo, &unmerged_id).unwrap();
    std::fs::write(wt.join("feature.txt"), "feature\n").unwrap();
    let in_wt = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(&wt)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    in_wt(&["add", "feature.txt"]);
    in_wt(&["commit", "-q", "-m", "feature"]);
    let unfinished_id = start_and_kill(&repo, &wf);
    let unfinished_branch = branch_of(&repo, &unfinished_id);

    let dry = repo.run(&["gc", "--branches", "--dry-run", "--json"]);
    assert_eq!(dry.code(), 0, "{}", dry.stderr());
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
    assert_eq!(gc.code(), 0, "{}\n{}", gc.stdout(), gc.stderr());
    assert!(!branch_exists(&repo, &merged_branch));
    assert!(branch_exists(&repo, &unmerged_branch), "unmerged work kept");
    assert!(
        branch_exists(&repo, &unfinished_branch),
        "unfinished run kept"
    );
    assert!(
        gc.stdout().contains("not merged into main"),
        "{}",
        gc.stdout()
    );

    // Once main has the work (squash-merged), its branch goes too.
    repo.git(&["merge", "-q", "--squash", &unmerged_branch]);
    repo.git(&["commit", "-q", "-m", "squash"]);
    let gc = repo.run(&["gc", "--branches", "--json"]);
    assert_eq!(gc.code(), 0, "{}", gc.stderr());
    assert!(!branch_exists(&repo, &unmerged_branch));
    assert!(branch_exists(&repo, &unfinished_branch));
}
