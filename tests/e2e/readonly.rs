//! End-to-end: the read-only commands (`runs`, `show`, with or without `--json`) keep working
//! while another engine process holds the state directory, reading the JSON mirror it keeps
//! of every run; everything that writes still gets exit code 5 naming the holder.

use crate::support::{EngineOutput, GATED, QUICK, RunReport, TestRepo};

const SLOW: &str = r#"
name: slow
stages:
  slow:
    uses: builtin:gate
    with: { commands: ["sleep 30"] }
    permissions: { workspace: read, exec: [sleep] }
"#;

/// Parses stdout of a successful command as JSON, or fails with both streams.
#[track_caller]
fn json(run: &EngineOutput) -> serde_json::Value {
    run.succeeds();
    run.json()
}

/// The current mirror file of `run_id` (`.engine/mirror/<run_id>.<version>.json`).
fn mirror_file(repo: &TestRepo, run_id: &str) -> std::path::PathBuf {
    let dir = repo.path().join(".engine/mirror");
    let prefix = format!("{run_id}.");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with(&prefix) && p.extension().is_some_and(|e| e == "json")
        })
        .collect();
    assert_eq!(files.len(), 1, "one mirror of {run_id}: {files:?}");
    files.remove(0)
}

/// Asserts `run` succeeded and said (in one note naming the holder) it read the live run's
/// mirror.
#[track_caller]
fn assert_from_mirror(repo: &TestRepo, run: &EngineOutput, holder_pid: u32) {
    run.succeeds();
    let stderr = run.stderr().replace(&holder_pid.to_string(), "[PID]");
    insta::assert_snapshot!("note_reading_the_mirror", repo.normalise(&stderr));
}

#[test]
fn runs_and_show_work_while_a_run_waits_for_approval() {
    let repo = TestRepo::new();
    // An earlier, finished run.
    repo.workflow(QUICK);
    let earlier = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Earlier")
        .run();
    earlier.succeeds();
    let earlier = earlier.run_id();

    repo.workflow(GATED);
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Ship it")
        .spawn();
    let run_id = engine.read_run_id();
    engine.wait_for_stderr("reject:");
    let pid = engine.pid();

    // `engine runs`: both runs, the live one as it stands now.
    let runs = repo.run(&["runs"]);
    assert_from_mirror(&repo, &runs, pid);
    insta::assert_snapshot!("runs_while_waiting", runs.stdout_normalised());

    let runs_json = repo.run(&["runs", "--json"]);
    assert_from_mirror(&repo, &runs_json, pid);
    let rows = json(&runs_json);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["run_id"], run_id.as_str(), "newest first");
    assert_eq!(rows[0]["status"], "running");
    assert_eq!(rows[0]["task"], "Ship it");
    assert_eq!(rows[1]["run_id"], earlier.as_str());
    assert_eq!(rows[1]["status"], "succeeded");

    // `engine show`: the stage waiting for approval (and how to answer), by a prefix of the
    // id.
    let show = repo.run(&["show", &run_id[..20]]);
    assert_from_mirror(&repo, &show, pid);
    insta::assert_snapshot!("show_while_waiting", show.stdout_normalised());

    let live = repo.run(&["show", &run_id, "--json"]);
    assert_from_mirror(&repo, &live, pid);
    let live = RunReport::parse(&live.stdout());
    assert_eq!(live.status(), "running");
    assert_eq!(live.stage("ship").phase(), "awaiting_approval");
    assert_eq!(live.stage("build").phase(), "succeeded");
    assert_eq!(live.meta.run_id, run_id);

    // An unknown run is still an unknown run (exit 2).
    repo.run(&["show", "ZZZZ"]).exits(2);

    // Commands that need the state directory to themselves still wait their turn: exit 5,
    // naming the holder.
    repo.run(&["gc"]).exits(5).stderr_has(&pid.to_string());

    // An unreadable mirror (here: the earlier run's, cut short) is reported and left out.
    let mirror = mirror_file(&repo, &earlier);
    std::fs::write(&mirror, "{\"format\":1,\"seq\":3,\"meta\":{").unwrap();
    let runs = repo.run(&["runs", "--json"]);
    runs.succeeds();
    // It warns of the unreadable mirror, naming the run (the holder's pid aside).
    insta::assert_snapshot!(
        "unreadable_mirror",
        repo.normalise(&runs.stderr().replace(&pid.to_string(), "[PID]"))
    );
    assert_eq!(json(&runs).as_array().unwrap().len(), 1);

    // Finish the run; the store is readable directly again, and the same shape comes back.
    repo.run(&["approve", &run_id]).succeeds();
    let (code, _) = engine.wait();
    assert_eq!(code, 0);

    let after = repo.run(&["show", &run_id, "--json"]);
    after.succeeds().stderr_is("");
    let after = RunReport::parse(&after.stdout());
    assert_eq!(after.status(), "succeeded");
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&live.raw), keys(&after.raw));
    // The live events are exactly the first events of the finished run.
    assert!(!live.events.is_empty());
    assert_eq!(live.events[..], after.events[..live.events.len()]);
    assert_eq!(live.events.len() as u64, live.state.seq);

    // Opening the state directory repaired the earlier run's mirror.
    let runs = repo.run(&["runs", "--json"]);
    runs.stderr_is("");
    assert_eq!(json(&runs).as_array().unwrap().len(), 2);
    let text = std::fs::read_to_string(mirror_file(&repo, &earlier)).unwrap();
    assert!(text.contains("\"succeeded\""), "{text}");
}

#[test]
fn show_sees_a_running_stage_and_cancel_still_reaches_the_engine() {
    let repo = TestRepo::new();
    repo.workflow(SLOW);
    let mut engine = repo.engine().args(["run", "workflow.yaml"]).spawn();
    let run_id = engine.read_run_id();
    engine.wait_for_stderr("▶ slow");

    // The attempt is committed before the stage starts, so the mirror already shows it.
    let live = repo.run(&["show", &run_id, "--json"]);
    assert_from_mirror(&repo, &live, engine.pid());
    let live = RunReport::parse(&live.stdout());
    let slow = live.stage("slow");
    assert_eq!(slow.phase(), "running", "{:#}", live.raw);
    assert_eq!(slow.outcomes(), ["running"]);
    let text = repo.run(&["show", &run_id]);
    insta::assert_snapshot!("show_while_running", text.stdout_normalised());

    repo.run(&["cancel", &run_id]).succeeds();
    let (code, _) = engine.wait();
    assert_eq!(code, 3);
    assert_eq!(repo.runs()[0]["status"], "cancelled");
}
