//! Crash safety: kill -9 the real binary at several points of a multi-stage run, resume, and
//! check that the run completes, each stage succeeded exactly once, attempt numbers only went
//! up, and no transition was lost (the stored event log replays to the stored state).

mod support;

use std::io::BufReader;

use support::{TestRepo, kill9, outcomes, wait_for_line};

const THREE_STAGES: &str = r#"
name: crashy
git: { keep_worktree: always }
defaults:
  retry: { max_attempts: 2, initial_interval: 100ms }
stages:
  a:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo a >> a.log'"] }
    permissions: { workspace: read, exec: [sh] }
  b:
    uses: builtin:gate
    needs: [a]
    with: { commands: ["sh -c 'sleep 1; echo b >> b.log'"] }
    permissions: { workspace: read, exec: [sh] }
  c:
    uses: builtin:gate
    needs: [b]
    with: { commands: ["sh -c 'test -f a.log && test -f b.log'"] }
    permissions: { workspace: read, exec: [sh] }
"#;

/// Starts a run, waits for `marker` on its stderr, kills it with SIGKILL; returns the run id.
fn start_and_kill(repo: &TestRepo, args: &[&str], env: &[(&str, &str)], marker: &str) -> String {
    let mut child = repo.spawn(args, env);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let found = wait_for_line(&mut stderr, marker, &mut seen);
    kill9(&mut child);
    assert!(found, "never saw {marker:?}; stderr so far:\n{seen}");
    // Nothing the killed attempt started (a program, its children) outlives the engine.
    support::assert_no_process_under(repo.path());
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    stdout.lines().next().unwrap_or_default().trim().to_string()
}

/// The checks every crash scenario ends with.
fn assert_completed_exactly_once(repo: &TestRepo, run_id: &str) -> serde_json::Value {
    let show = repo.show(run_id);
    assert_eq!(show["state"]["status"]["status"], "succeeded", "{show}");
    for (stage, list) in outcomes(&show) {
        let succeeded = list.iter().filter(|o| *o == "succeeded").count();
        assert_eq!(
            succeeded, 1,
            "stage {stage} succeeded {succeeded} times: {list:?}"
        );
        assert_eq!(list.last().map(String::as_str), Some("succeeded"));
    }
    for (stage, st) in show["state"]["stages"].as_object().unwrap() {
        let attempts: Vec<u64> = st["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["attempt"].as_u64().unwrap())
            .collect();
        assert!(
            attempts.windows(2).all(|w| w[0] < w[1]),
            "attempts of {stage} did not only go up: {attempts:?}"
        );
        assert_eq!(st["attempts"].as_u64().unwrap(), *attempts.last().unwrap());
    }
    // No transition lost: the event log is gap-free and replays to exactly the stored state.
    let events = show["events"].as_array().unwrap();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"].as_u64().unwrap(), i as u64 + 1, "gap in event log");
    }
    let source = show["meta"]["workflow_source"].as_str().unwrap();
    let loaded =
        engine_workflow::load_str("workflow.yaml", repo.path(), source).expect("stored workflow");
    let task: engine_core::Task = serde_json::from_value(show["state"]["task"].clone()).unwrap();
    let mut state = engine_core::RunState::new(run_id, task, &loaded.workflow);
    for e in events {
        let event: engine_core::Event = serde_json::from_value(e["event"].clone()).unwrap();
        state = engine_core::step(&loaded.workflow, &state, &event)
            .expect("every stored event was accepted")
            .state;
    }
    let stored: engine_core::RunState = serde_json::from_value(show["state"].clone()).unwrap();
    assert_eq!(state, stored, "replayed state differs from the snapshot");
    show
}

fn resume(repo: &TestRepo, run_id: &str) {
    let r = repo.run(&["resume", run_id]);
    assert_eq!(r.code(), 0, "resume failed: {}", r.stderr());
    support::assert_no_process_under(repo.path());
}

#[test]
fn killed_inside_a_stage_then_resumed() {
    let repo = TestRepo::new();
    let wf = repo.workflow(THREE_STAGES);
    let run_id = start_and_kill(&repo, &["run", wf.to_str().unwrap()], &[], "▶ b");
    assert_eq!(run_id.len(), 26);
    resume(&repo, &run_id);
    let show = assert_completed_exactly_once(&repo, &run_id);
    let o = outcomes(&show);
    assert_eq!(
        o["a"],
        vec!["succeeded"],
        "a finished before the crash: not rerun"
    );
    assert_eq!(o["b"], vec!["interrupted", "succeeded"]);
    assert_eq!(show["state"]["stages"]["b"]["history"][1]["attempt"], 2);
    // The interrupted attempt's program died with the engine: only the resumed attempt wrote.
    let worktree = std::path::PathBuf::from(show["meta"]["worktree"].as_str().unwrap());
    let b_log = std::fs::read_to_string(worktree.join("b.log")).unwrap();
    assert_eq!(b_log, "b\n", "an orphan of the killed attempt kept running");
}

#[test]
fn killed_between_stages_right_after_a_transition_was_stored() {
    let repo = TestRepo::new();
    let wf = repo.workflow(THREE_STAGES);
    // Transition 2 is "a succeeded"; the kill lands after it is stored, before b starts.
    let run_id = start_and_kill(
        &repo,
        &["run", wf.to_str().unwrap()],
        &[("ENGINE_DEBUG_HOLD", "after:2")],
        "holding after storing transition 2",
    );
    resume(&repo, &run_id);
    let o = outcomes(&assert_completed_exactly_once(&repo, &run_id));
    assert_eq!(
        o["a"],
        vec!["succeeded"],
        "a's stored success is never re-run"
    );
    // The stored transition also assigned b its attempt 1; whether it was launched before the
    // kill cannot be known, so it counts as interrupted and b runs again as attempt 2.
    assert_eq!(o["b"], vec!["interrupted", "succeeded"]);
}

#[test]
fn killed_after_a_stage_finished_but_before_its_result_was_stored() {
    let repo = TestRepo::new();
    let wf = repo.workflow(THREE_STAGES);
    let run_id = start_and_kill(
        &repo,
        &["run", wf.to_str().unwrap()],
        &[("ENGINE_DEBUG_HOLD", "before:2")],
        "holding before storing transition 2",
    );
    resume(&repo, &run_id);
    let o = outcomes(&assert_completed_exactly_once(&repo, &run_id));
    // The result was never acknowledged, so the attempt counts as interrupted and runs again
    // (at-least-once), with a higher attempt number.
    assert_eq!(o["a"], vec!["interrupted", "succeeded"]);
}

#[test]
fn killed_again_while_resuming() {
    let repo = TestRepo::new();
    let wf = repo.workflow(THREE_STAGES);
    let run_id = start_and_kill(&repo, &["run", wf.to_str().unwrap()], &[], "▶ b");
    // The resume itself is killed inside b's second attempt.
    let again = start_and_kill(&repo, &["resume", &run_id], &[], "▶ b (attempt 2)");
    assert!(again.is_empty(), "resume prints no run id on stdout");
    resume(&repo, &run_id);
    let o = outcomes(&assert_completed_exactly_once(&repo, &run_id));
    assert_eq!(o["b"], vec!["interrupted", "interrupted", "succeeded"]);
}

#[test]
fn sigterm_stops_cleanly_with_exit_4_and_the_run_resumes() {
    let repo = TestRepo::new();
    let wf = repo.workflow(THREE_STAGES);
    let mut child = repo.spawn(&["run", wf.to_str().unwrap()], &[]);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    assert!(wait_for_line(&mut stderr, "▶ b", &mut seen), "{seen}");
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(4), "{seen}{rest}");
    assert!(
        rest.contains("engine resume"),
        "tells how to continue: {rest}"
    );
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    let run_id = stdout.trim().to_string();
    let show = repo.show(&run_id);
    assert_eq!(
        show["state"]["status"]["status"], "running",
        "left resumable"
    );
    resume(&repo, &run_id);
    let o = outcomes(&assert_completed_exactly_once(&repo, &run_id));
    assert_eq!(o["b"], vec!["interrupted", "succeeded"]);
}

/// A stage that writes (and so is committed after) and needs the checkout complete, then one
/// that reads. `git.keep_worktree` is the default: removed when the run succeeds.
const WORKTREE_STAGES: &str = r#"
name: worktrees
stages:
  work:
    uses: builtin:gate
    with: { commands: ["sh -c 'test -f README.md && test -f src/lib.txt && sleep 1 && echo done > work.txt'"] }
    permissions: { workspace: write, exec: [sh] }
    retry: { max_attempts: 1 }
  check:
    uses: builtin:gate
    needs: [work]
    with: { commands: ["sh -c 'test -f work.txt && test -f README.md'"] }
    permissions: { workspace: read, exec: [sh] }
    retry: { max_attempts: 1 }
"#;

/// The ids of every stored run, from `engine runs --json`.
fn run_ids(repo: &TestRepo) -> Vec<String> {
    let r = repo.run(&["runs", "--json"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let rows: serde_json::Value = serde_json::from_str(&r.stdout()).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| row["run_id"].as_str().unwrap().to_string())
        .collect()
}

/// The only stored run (a kill before `engine run` printed its id).
fn only_run(repo: &TestRepo) -> String {
    let ids = run_ids(repo);
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

/// The run's worktree and branch, as recorded.
fn worktree_and_branch(repo: &TestRepo, run_id: &str) -> (std::path::PathBuf, String) {
    let show = repo.show(run_id);
    let worktree = repo.path().join(".engine/worktrees").join(run_id);
    (
        worktree,
        show["meta"]["branch"].as_str().unwrap().to_string(),
    )
}

/// A succeeded run of [`WORKTREE_STAGES`]: its branch holds the base files and `work.txt`
/// (nothing deleted by a commit from a half-checked-out worktree), its worktree is gone, and
/// the user's `git worktree list` and `git gc` work.
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
    let wf = repo.workflow(WORKTREE_STAGES);
    start_and_kill(
        &repo,
        &["run", wf.to_str().unwrap()],
        &[("ENGINE_DEBUG_HOLD", "at:worktree-checkout")],
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
    assert_eq!(r.code(), 0, "resume failed: {}", r.stderr());
    assert!(r.stderr().contains("half-made worktree"), "{}", r.stderr());
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
        let wf = repo.workflow(WORKTREE_STAGES);
        start_and_kill(
            &repo,
            &["run", wf.to_str().unwrap()],
            &[("ENGINE_DEBUG_HOLD", "at:worktree-add")],
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
        assert_eq!(r.code(), 0, "{how}: resume failed: {}", r.stderr());
        assert_clean_success(&repo, &run_id, &branch);
    }
}

#[test]
fn killed_inside_git_worktree_add_then_all_resumes_it() {
    let repo = TestRepo::new();
    repo.write(
        "spec/tasks.md",
        "# Tasks\n\n### TASK-1: Only task\nP1 | TODO\n",
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "tasks"]);
    let wf = repo.workflow(&WORKTREE_STAGES.replace(
        "name: worktrees\n",
        "name: worktrees\ntasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }\n",
    ));
    let wf = wf.to_str().unwrap();
    start_and_kill(
        &repo,
        &["run", wf, "--all"],
        &[("ENGINE_DEBUG_HOLD", "at:worktree-add")],
        "holding at worktree-add",
    );
    let run_id = only_run(&repo);
    let (worktree, branch) = worktree_and_branch(&repo, &run_id);
    leave_half_made_worktree(&repo, &worktree, &branch, "no-head");

    let r = repo.run(&["run", wf, "--all"]);
    assert_eq!(r.code(), 0, "--all failed: {}", r.stderr());
    assert_eq!(
        run_ids(&repo),
        vec![run_id.clone()],
        "resumed, not started again"
    );
    assert_clean_success(&repo, &run_id, &branch);
}

#[test]
fn a_stale_index_lock_does_not_fail_the_resumed_run() {
    let repo = TestRepo::new();
    let wf = repo.workflow(WORKTREE_STAGES);
    let run_id = start_and_kill(&repo, &["run", wf.to_str().unwrap()], &[], "▶ work");
    let (_, branch) = worktree_and_branch(&repo, &run_id);
    // As a `git add -A` killed with the engine leaves it.
    let lock = repo
        .path()
        .join(".git/worktrees")
        .join(&run_id)
        .join("index.lock");
    std::fs::write(&lock, "").unwrap();

    let r = repo.run(&["resume", &run_id]);
    assert_eq!(r.code(), 0, "resume failed: {}", r.stderr());
    assert!(
        r.stderr().contains("stale git lock"),
        "warned: {}",
        r.stderr()
    );
    assert!(!lock.exists());
    let o = outcomes(&repo.show(&run_id));
    assert_eq!(o["work"], vec!["interrupted", "succeeded"]);
    assert_clean_success(&repo, &run_id, &branch);
}

#[test]
fn killed_after_the_run_succeeded_before_its_worktree_was_removed() {
    // `engine resume` of the ended run removes the worktree it left.
    let repo = TestRepo::new();
    let wf = repo.workflow(WORKTREE_STAGES);
    let hold = [("ENGINE_DEBUG_HOLD", "at:worktree-remove")];
    let marker = "holding at worktree-remove";
    let run_id = start_and_kill(&repo, &["run", wf.to_str().unwrap()], &hold, marker);
    let (worktree, branch) = worktree_and_branch(&repo, &run_id);
    assert!(
        worktree.join("work.txt").exists(),
        "left behind by the kill"
    );
    let r = repo.run(&["resume", &run_id]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stderr().contains("already ended"), "{}", r.stderr());
    assert!(
        r.stderr().contains("removed the worktree"),
        "{}",
        r.stderr()
    );
    assert_eq!(
        repo.show(&run_id)["meta"]["worktree"],
        serde_json::Value::Null
    );
    assert_clean_success(&repo, &run_id, &branch);

    // The next `engine run` in the repository does the same for a run nobody resumes.
    let repo = TestRepo::new();
    let wf = repo.workflow(WORKTREE_STAGES);
    let first = start_and_kill(&repo, &["run", wf.to_str().unwrap()], &hold, marker);
    let (worktree, branch) = worktree_and_branch(&repo, &first);
    assert!(worktree.exists());
    let r = repo.run(&["run", wf.to_str().unwrap(), "--task", "another"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stderr().contains(&first), "{}", r.stderr());
    assert_clean_success(&repo, &first, &branch);

    // A failed run's worktree is kept (`keep_worktree: on_failure`), crash or not.
    let repo = TestRepo::new();
    let wf = repo.workflow(&WORKTREE_STAGES.replace("test -f work.txt", "false"));
    let failed = start_and_kill(&repo, &["run", wf.to_str().unwrap()], &hold, marker);
    let (worktree, _) = worktree_and_branch(&repo, &failed);
    let r = repo.run(&["resume", &failed]);
    assert_ne!(r.code(), 0, "{}", r.stderr());
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
    );
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "tasks"]);
    let wf = repo.workflow(MERGING_TASKS);
    let wf = wf.to_str().unwrap();
    let before = repo.git(&["rev-parse", "main"]);
    start_and_kill(
        &repo,
        &["run", wf, "--all"],
        &[("ENGINE_DEBUG_HOLD", "at:merge-checkout-sync")],
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

    let r = repo.run(&["run", wf, "--all"]);
    assert_eq!(r.code(), 0, "--all failed: {}", r.stderr());
    assert_eq!(
        run_ids(&repo),
        vec![run_id.clone()],
        "resumed, not started again"
    );
    let show = assert_completed_exactly_once(&repo, &run_id);
    assert_eq!(outcomes(&show)["merge"], vec!["interrupted", "succeeded"]);
    let merge = &show["state"]["stages"]["merge"]["outputs"];
    assert_eq!(merge["reconciled"], true, "{merge}");
    assert_eq!(merge["checkout_synced"], true, "{merge}");
    // The checkout is on the merge: nothing staged, the merged file there, the task done.
    assert_eq!(repo.git(&["diff", "--cached", "--name-only"]), "");
    assert_eq!(repo.read("work.txt"), "done\n");
    assert!(
        repo.read("spec/tasks.md").contains("DONE"),
        "{}",
        repo.read("spec/tasks.md")
    );
    let status = repo.git(&["status", "--porcelain", "--untracked-files=no"]);
    assert_eq!(status.trim_end(), " M spec/tasks.md", "{status}");
    let merged = repo.git(&[
        "log",
        "main",
        "--format=%H",
        &format!("--grep=Engine-Run: {run_id}"),
    ]);
    assert_eq!(merged.lines().count(), 1, "merged exactly once");
}
