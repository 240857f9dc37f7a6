//! Crash safety: kill -9 the real binary at several points of a multi-stage run, resume, and
//! check that the run completes, each stage succeeded exactly once, attempt numbers only went
//! up, and no transition was lost (the stored event log replays to the stored state).
//!
//! A kill lands where it must without sleeping: inside a stage through a [`Handshake`] (the
//! stage's program announces itself and waits for the test's go), between transitions and at
//! named points through the driver's hold points (`ENGINE_DEBUG_HOLD`).

use std::path::PathBuf;

use crate::support::{Handshake, RunReport, TestRepo, assert_no_process_under};

/// `a`, then `b` (which announces itself as `b` and waits for the go), then `c` checking both
/// ran in the worktree.
fn three_stages(handshake: &Handshake) -> String {
    format!(
        r#"
name: crashy
git: {{ keep_worktree: always }}
defaults:
  retry: {{ max_attempts: 2, initial_interval: 100ms }}
stages:
  a:
    uses: builtin:gate
    with: {{ commands: ["sh -c 'echo a >> a.log'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
  b:
    uses: builtin:gate
    needs: [a]
    with: {{ commands: ["sh -c '{wait} && echo b >> b.log'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    {grant}
  c:
    uses: builtin:gate
    needs: [b]
    with: {{ commands: ["sh -c 'test -f a.log && test -f b.log'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
"#,
        wait = handshake.announce_and_wait("b"),
        grant = handshake.grant(),
    )
}

/// Starts `engine ARGS` (holding at `hold`, if any), waits for `marker` on its stderr, kills it
/// with SIGKILL; returns what it printed on stdout (the run id, for `engine run`).
#[track_caller]
fn start_and_kill(repo: &TestRepo, args: &[&str], hold: Option<&str>, marker: &str) -> String {
    let mut engine = repo.engine().args(args);
    if let Some(point) = hold {
        engine = engine.hold(point);
    }
    let mut engine = engine.spawn();
    engine.wait_for_stderr(marker);
    let stdout = engine.kill9();
    // Nothing the killed attempt started (a program, its children) outlives the engine.
    assert_no_process_under(repo.path());
    stdout.lines().next().unwrap_or_default().trim().to_string()
}

/// Starts `engine ARGS`, waits until the stage's program announced `name` through `handshake`,
/// kills the engine with SIGKILL; returns what it printed on stdout.
#[track_caller]
fn kill_inside(repo: &TestRepo, args: &[&str], handshake: &Handshake, name: &str) -> String {
    let mut engine = repo.engine().args(args).spawn();
    engine.wait_for_file(&handshake.started_file(name));
    let stdout = engine.kill9();
    assert_no_process_under(repo.path());
    stdout.lines().next().unwrap_or_default().trim().to_string()
}

/// The checks every crash scenario ends with.
#[track_caller]
fn assert_completed_exactly_once(repo: &TestRepo, run_id: &str) -> RunReport {
    let report = repo.report(run_id);
    assert_eq!(report.status(), "succeeded", "{:#}", report.raw);
    for (id, stage) in &report.state.stages {
        let list = stage.outcomes();
        let succeeded = list.iter().filter(|o| *o == "succeeded").count();
        assert_eq!(
            succeeded, 1,
            "stage {id} succeeded {succeeded} times: {list:?}"
        );
        assert_eq!(list.last().map(String::as_str), Some("succeeded"));
        let attempts: Vec<u32> = stage.history.iter().map(|r| r.number).collect();
        assert!(
            attempts.windows(2).all(|w| w[0] < w[1]),
            "attempts of {id} did not only go up: {attempts:?}"
        );
        assert_eq!(Some(&stage.attempts), attempts.last());
    }
    report.assert_log_replays(repo.path());
    report
}

/// `engine resume RUN` succeeds and leaves no process behind.
#[track_caller]
fn resume(repo: &TestRepo, run_id: &str) {
    repo.run(&["resume", run_id]).succeeds();
    assert_no_process_under(repo.path());
}

#[test]
fn killed_inside_a_stage_then_resumed() {
    let repo = TestRepo::new();
    let handshake = Handshake::new();
    repo.workflow(&three_stages(&handshake));
    let run_id = kill_inside(&repo, &["run", "workflow.yaml"], &handshake, "b");
    assert_eq!(run_id.len(), 26);
    // Were the killed attempt's program alive, it would now write b.log.
    handshake.release();
    resume(&repo, &run_id);
    let report = assert_completed_exactly_once(&repo, &run_id);
    let o = report.outcomes();
    assert_eq!(
        o["a"],
        ["succeeded"],
        "a finished before the crash: not rerun"
    );
    assert_eq!(o["b"], ["interrupted", "succeeded"]);
    assert_eq!(report.stage("b").history[1].number, 2);
    // The interrupted attempt's program died with the engine: only the resumed attempt wrote.
    let b_log = std::fs::read_to_string(report.worktree().join("b.log")).unwrap();
    assert_eq!(b_log, "b\n", "an orphan of the killed attempt kept running");
}

#[test]
fn killed_between_stages_right_after_a_transition_was_stored() {
    let repo = TestRepo::new();
    let handshake = Handshake::new();
    handshake.release();
    repo.workflow(&three_stages(&handshake));
    // Transition 2 is "a succeeded"; the kill lands after it is stored, before b starts.
    let run_id = start_and_kill(
        &repo,
        &["run", "workflow.yaml"],
        Some("after:2"),
        "holding after storing transition 2",
    );
    resume(&repo, &run_id);
    let o = assert_completed_exactly_once(&repo, &run_id).outcomes();
    assert_eq!(o["a"], ["succeeded"], "a's stored success is never re-run");
    // The stored transition also assigned b its attempt 1; whether it was launched before the
    // kill cannot be known, so it counts as interrupted and b runs again as attempt 2.
    assert_eq!(o["b"], ["interrupted", "succeeded"]);
}

#[test]
fn killed_after_a_stage_finished_but_before_its_result_was_stored() {
    let repo = TestRepo::new();
    let handshake = Handshake::new();
    handshake.release();
    repo.workflow(&three_stages(&handshake));
    let run_id = start_and_kill(
        &repo,
        &["run", "workflow.yaml"],
        Some("before:2"),
        "holding before storing transition 2",
    );
    resume(&repo, &run_id);
    let o = assert_completed_exactly_once(&repo, &run_id).outcomes();
    // The result was never acknowledged, so the attempt counts as interrupted and runs again
    // (at-least-once), with a higher attempt number.
    assert_eq!(o["a"], ["interrupted", "succeeded"]);
}

#[test]
fn killed_again_while_resuming() {
    let repo = TestRepo::new();
    let handshake = Handshake::new();
    repo.workflow(&three_stages(&handshake));
    let run_id = kill_inside(&repo, &["run", "workflow.yaml"], &handshake, "b");
    // The resume itself is killed inside b's second attempt.
    handshake.forget("b");
    let again = kill_inside(&repo, &["resume", &run_id], &handshake, "b");
    assert!(again.is_empty(), "resume prints no run id on stdout");
    handshake.release();
    resume(&repo, &run_id);
    let o = assert_completed_exactly_once(&repo, &run_id).outcomes();
    assert_eq!(o["b"], ["interrupted", "interrupted", "succeeded"]);
}

#[test]
fn sigterm_stops_cleanly_with_exit_4_and_the_run_resumes() {
    let repo = TestRepo::new();
    let handshake = Handshake::new();
    repo.redact(handshake.dir(), "[HANDSHAKE]");
    repo.workflow(&three_stages(&handshake));
    let mut engine = repo.engine().args(["run", "workflow.yaml"]).spawn();
    engine.wait_for_file(&handshake.started_file("b"));
    engine.terminate();
    let (code, _) = engine.wait();
    assert_eq!(code, 4, "{}", engine.seen_stderr());
    // It tells how to continue.
    insta::assert_snapshot!("stopped_by_sigterm", repo.normalise(engine.seen_stderr()));
    let run_id = engine.rest_of_stdout().trim().to_string();
    assert_eq!(repo.report(&run_id).status(), "running", "left resumable");
    handshake.release();
    resume(&repo, &run_id);
    let o = assert_completed_exactly_once(&repo, &run_id).outcomes();
    assert_eq!(o["b"], ["interrupted", "succeeded"]);
}

/// A stage that writes (and so is committed after) and needs the checkout complete (it
/// announces itself as `work` and waits for the go), then one that reads.
/// `git.keep_worktree` is the default: removed when the run succeeds.
fn worktree_stages(handshake: &Handshake) -> String {
    format!(
        r#"
name: worktrees
stages:
  work:
    uses: builtin:gate
    with: {{ commands: ["sh -c 'test -f README.md && test -f src/lib.txt && {wait} && echo done > work.txt'"] }}
    permissions: {{ workspace: write, exec: [sh] }}
    retry: {{ max_attempts: 1 }}
    {grant}
  check:
    uses: builtin:gate
    needs: [work]
    with: {{ commands: ["sh -c 'test -f work.txt && test -f README.md'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    retry: {{ max_attempts: 1 }}
"#,
        wait = handshake.announce_and_wait("work"),
        grant = handshake.grant(),
    )
}

/// A handshake whose go is given: the stages run straight through.
fn released() -> Handshake {
    let handshake = Handshake::new();
    handshake.release();
    handshake
}

/// The only stored run (a kill before `engine run` printed its id).
#[track_caller]
fn only_run(repo: &TestRepo) -> String {
    let ids = repo.run_ids();
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

/// The run's worktree and branch, as recorded.
#[track_caller]
fn worktree_and_branch(repo: &TestRepo, run_id: &str) -> (PathBuf, String) {
    let worktree = repo.path().join(".engine/worktrees").join(run_id);
    (worktree, repo.report(run_id).meta.branch)
}

/// A succeeded run of [`worktree_stages`]: its branch holds the base files and `work.txt`
/// (nothing deleted by a commit from a half-checked-out worktree), its worktree is gone, and
/// the user's `git worktree list` and `git gc` work.
#[track_caller]
fn assert_clean_success(repo: &TestRepo, run_id: &str, branch: &str) {
    assert_completed_exactly_once(repo, run_id);
    let files = repo.git(&["ls-tree", "-r", "--name-only", branch]);
    for file in ["README.md", "src/lib.txt", "work.txt"] {
        assert!(files.lines().any(|l| l == file), "{file} missing: {files}");
    }
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    assert!(!list.contains(run_id), "worktree left behind: {list}");
    assert!(!repo.path().join(".engine/worktrees").join(run_id).exists());
    assert!(!repo.path().join(".git/worktrees").join(run_id).exists());
    repo.git(&["gc", "--quiet"]);
}

#[test]
fn killed_between_registering_the_worktree_and_checking_it_out() {
    let repo = TestRepo::new();
    let handshake = released();
    repo.workflow(&worktree_stages(&handshake));
    start_and_kill(
        &repo,
        &["run", "workflow.yaml"],
        Some("at:worktree-checkout"),
        "holding at worktree-checkout",
    );
    let run_id = only_run(&repo);
    let (worktree, branch) = worktree_and_branch(&repo, &run_id);
    // What the kill left: registered on its branch, but no files.
    let list = repo.git(&["worktree", "list", "--porcelain"]);
    assert!(
        list.contains(&format!("branch refs/heads/{branch}")),
        "{list}"
    );
    assert!(!worktree.join("README.md").exists());

    let r = repo.run(&["resume", &run_id]);
    r.succeeds();
    // It says it repaired the half-made worktree.
    insta::assert_snapshot!("resume_repairs_a_half_made_worktree", r.stderr_normalised());
    assert_clean_success(&repo, &run_id, &branch);
}

/// What a `git worktree add` killed part-way leaves, written over a run whose worktree was not
/// created yet (engine held at `worktree-add`, then killed): `how` picks the moment.
fn leave_half_made_worktree(repo: &TestRepo, worktree: &std::path::Path, branch: &str, how: &str) {
    let path = worktree.to_str().unwrap();
    repo.git(&[
        "worktree",
        "add",
        "--no-checkout",
        "--no-track",
        "-b",
        branch,
        path,
        "HEAD",
    ]);
    let admin = repo
        .path()
        .join(".git/worktrees")
        .join(worktree.file_name().unwrap());
    std::fs::write(admin.join("locked"), "initializing").unwrap();
    match how {
        // Before HEAD was written: listed as a detached HEAD (the run was wedged for good).
        "no-head" => std::fs::remove_file(admin.join("HEAD")).unwrap(),
        // Between creating `commondir` and writing it: every `git worktree` command fails.
        "empty-commondir" => {
            std::fs::remove_file(admin.join("HEAD")).unwrap();
            std::fs::write(admin.join("commondir"), "").unwrap();
        }
        // Inside the checkout (`git reset --hard`): the index lock held, files half there.
        "mid-checkout" => {
            std::fs::write(admin.join("index.lock"), "").unwrap();
            std::fs::write(worktree.join("README.md"), "# demo\n").unwrap();
        }
        other => panic!("{other}"),
    }
}

#[test]
fn killed_inside_git_worktree_add_then_resumed() {
    for how in ["no-head", "empty-commondir", "mid-checkout"] {
        let repo = TestRepo::new();
        let handshake = released();
        repo.workflow(&worktree_stages(&handshake));
        start_and_kill(
            &repo,
            &["run", "workflow.yaml"],
            Some("at:worktree-add"),
            "holding at worktree-add",
        );
        let run_id = only_run(&repo);
        let (worktree, branch) = worktree_and_branch(&repo, &run_id);
        assert!(
            !worktree.exists(),
            "{how}: held before the worktree is created"
        );
        leave_half_made_worktree(&repo, &worktree, &branch, how);

        let r = repo.run(&["resume", &run_id]);
        assert_eq!(r.code(), 0, "{how}: {}", r.context());
        assert_clean_success(&repo, &run_id, &branch);
    }
}

#[test]
fn killed_inside_git_worktree_add_then_all_resumes_it() {
    let repo = TestRepo::new();
    repo.write(
        "spec/tasks.md",
        "# Tasks\n\n### TASK-1: Only task\nP1 | TODO\n",
    )
    .commit_all("tasks");
    let handshake = released();
    repo.workflow(&worktree_stages(&handshake).replace(
        "name: worktrees\n",
        "name: worktrees\ntasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }\n",
    ));
    start_and_kill(
        &repo,
        &["run", "workflow.yaml", "--all"],
        Some("at:worktree-add"),
        "holding at worktree-add",
    );
    let run_id = only_run(&repo);
    let (worktree, branch) = worktree_and_branch(&repo, &run_id);
    leave_half_made_worktree(&repo, &worktree, &branch, "no-head");

    repo.run(&["run", "workflow.yaml", "--all"]).succeeds();
    assert_eq!(
        repo.run_ids(),
        vec![run_id.clone()],
        "resumed, not started again"
    );
    assert_clean_success(&repo, &run_id, &branch);
}

#[test]
fn a_stale_index_lock_does_not_fail_the_resumed_run() {
    let repo = TestRepo::new();
    let handshake = Handshake::new();
    repo.workflow(&worktree_stages(&handshake));
    let run_id = kill_inside(&repo, &["run", "workflow.yaml"], &handshake, "work");
    let (_, branch) = worktree_and_branch(&repo, &run_id);
    // As a `git add -A` killed with the engine leaves it.
    let lock = repo
        .path()
        .join(".git/worktrees")
        .join(&run_id)
        .join("index.lock");
    std::fs::write(&lock, "").unwrap();

    handshake.release();
    let r = repo.run(&["resume", &run_id]);
    r.succeeds();
    // It warns of the stale lock it removed.
    insta::assert_snapshot!("resume_removes_a_stale_git_lock", r.stderr_normalised());
    assert!(!lock.exists());
    let o = repo.report(&run_id).outcomes();
    assert_eq!(o["work"], ["interrupted", "succeeded"]);
    assert_clean_success(&repo, &run_id, &branch);
}

#[test]
fn killed_after_the_run_succeeded_before_its_worktree_was_removed() {
    // `engine resume` of the ended run removes the worktree it left.
    let repo = TestRepo::new();
    let handshake = released();
    repo.workflow(&worktree_stages(&handshake));
    let hold = Some("at:worktree-remove");
    let marker = "holding at worktree-remove";
    let run_id = start_and_kill(&repo, &["run", "workflow.yaml"], hold, marker);
    let (worktree, branch) = worktree_and_branch(&repo, &run_id);
    assert!(
        worktree.join("work.txt").exists(),
        "left behind by the kill"
    );
    let r = repo.run(&["resume", &run_id]);
    r.succeeds();
    // It says the run already ended and that it removed the worktree.
    insta::assert_snapshot!("resume_of_an_ended_run", r.stderr_normalised());
    assert_eq!(repo.report(&run_id).meta.worktree, None);
    assert_clean_success(&repo, &run_id, &branch);

    // The next `engine run` in the repository does the same for a run nobody resumes.
    let repo = TestRepo::new();
    repo.workflow(&worktree_stages(&handshake));
    let first = start_and_kill(&repo, &["run", "workflow.yaml"], hold, marker);
    let (worktree, branch) = worktree_and_branch(&repo, &first);
    assert!(worktree.exists());
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("another")
        .run();
    r.succeeds();
    // It names the run whose worktree it removed.
    insta::assert_snapshot!(
        "next_run_removes_an_ended_runs_worktree",
        r.stderr_normalised()
    );
    assert_clean_success(&repo, &first, &branch);

    // A failed run's worktree is kept (`keep_worktree: on_failure`), crash or not.
    let repo = TestRepo::new();
    repo.workflow(&worktree_stages(&handshake).replace("test -f work.txt", "false"));
    let failed = start_and_kill(&repo, &["run", "workflow.yaml"], hold, marker);
    let (worktree, _) = worktree_and_branch(&repo, &failed);
    let r = repo.run(&["resume", &failed]);
    assert_ne!(r.code(), 0, "{}", r.context());
    assert!(worktree.join("work.txt").exists(), "kept for inspection");
}

/// Tasks from `spec/tasks.md` (status written back in the user's checkout, on `main`): `work`
/// writes `work.txt`, `merge` squashes it into `main`.
const MERGING_TASKS: &str = r#"
name: landing
tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }
stages:
  work:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo done > work.txt'"] }
    permissions: { workspace: write, exec: [sh] }
  merge:
    uses: builtin:merge
    needs: [work]
    permissions: { workspace: read, exec: [git] }
    retry: { max_attempts: 1 }
"#;

#[test]
fn killed_between_the_merges_ref_update_and_the_checkout_sync() {
    let repo = TestRepo::new();
    repo.write(
        "spec/tasks.md",
        "# Tasks\n\n### TASK-1: Only task\nP1 | TODO\n",
    )
    .commit_all("tasks");
    repo.workflow(MERGING_TASKS);
    let before = repo.git(&["rev-parse", "main"]);
    start_and_kill(
        &repo,
        &["run", "workflow.yaml", "--all"],
        Some("at:merge-checkout-sync"),
        "holding at merge-checkout-sync",
    );
    let run_id = only_run(&repo);
    // What the kill left: main moved, the user's index and files not, the task file's status
    // written: the merged file shows as a staged deletion (`git commit -a` would revert it).
    assert_ne!(
        repo.git(&["rev-parse", "main"]),
        before,
        "the ref had moved"
    );
    let status = repo.git(&["status", "--porcelain"]);
    assert!(status.contains("D  work.txt"), "{status}");
    assert!(status.contains(" M spec/tasks.md"), "{status}");

    repo.run(&["run", "workflow.yaml", "--all"]).succeeds();
    assert_eq!(
        repo.run_ids(),
        vec![run_id.clone()],
        "resumed, not started again"
    );
    let report = assert_completed_exactly_once(&repo, &run_id);
    let merge = report.stage("merge");
    assert_eq!(merge.outcomes(), ["interrupted", "succeeded"]);
    assert_eq!(merge.outputs["reconciled"], true, "{}", merge.outputs);
    assert_eq!(merge.outputs["checkout_synced"], true, "{}", merge.outputs);
    // The checkout is on the merge: nothing staged, the merged file there, the task done.
    assert_eq!(repo.git(&["diff", "--cached", "--name-only"]), "");
    repo.assert_file("work.txt", "done\n");
    repo.assert_file(
        "spec/tasks.md",
        "# Tasks\n\n### TASK-1: Only task\nP1 | DONE\n",
    );
    let status = repo.git(&["status", "--porcelain", "--untracked-files=no"]);
    assert_eq!(status.trim_end(), " M spec/tasks.md", "{status}");
    assert_eq!(repo.merges_of(&run_id), 1, "merged exactly once");
}
