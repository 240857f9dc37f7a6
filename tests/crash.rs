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
