//! End-to-end: the read-only commands (`runs`, `show`, with or without `--json`) keep working
//! while another engine process holds the state directory, reading the JSON mirror it keeps
//! of every run; everything that writes still gets exit code 5 naming the holder.

mod support;

use std::io::{BufRead, BufReader};

use support::{TestRepo, wait_for_line};

const GATED: &str = r#"
name: gated
stages:
  build:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo build'"] }
    permissions: { workspace: read, exec: [sh] }
  ship:
    uses: builtin:approval
    needs: [build]
    with: { message: "Check the build output, then approve." }
"#;

const SLOW: &str = r#"
name: slow
stages:
  slow:
    uses: builtin:gate
    with: { commands: ["sleep 30"] }
    permissions: { workspace: read, exec: [sleep] }
"#;

const QUICK: &str = r#"
name: quick
stages:
  only:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo hi'"] }
    permissions: { workspace: read, exec: [sh] }
"#;

/// Parses stdout as JSON, or fails with both streams.
fn json(run: &support::Run) -> serde_json::Value {
    assert_eq!(run.code(), 0, "stderr: {}", run.stderr());
    serde_json::from_str(&run.stdout())
        .unwrap_or_else(|e| panic!("{e}: {}\nstderr: {}", run.stdout(), run.stderr()))
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
            name.starts_with(&prefix) && name.ends_with(".json")
        })
        .collect();
    assert_eq!(files.len(), 1, "one mirror of {run_id}: {files:?}");
    files.remove(0)
}

/// Asserts `run` succeeded and said it read the live run's mirror.
fn assert_from_mirror(run: &support::Run, holder_pid: u32) {
    assert_eq!(run.code(), 0, "stderr: {}", run.stderr());
    let notes: Vec<_> = run
        .stderr()
        .lines()
        .filter(|l| l.starts_with("note:"))
        .map(str::to_string)
        .collect();
    assert_eq!(notes.len(), 1, "one note line: {}", run.stderr());
    assert!(
        notes[0].contains(&format!("process {holder_pid} (engine run"))
            && notes[0].contains("live run's mirror"),
        "{}",
        notes[0]
    );
}

#[test]
fn runs_and_show_work_while_a_run_waits_for_approval() {
    let repo = TestRepo::new();
    // An earlier, finished run.
    let wf = repo.workflow(QUICK);
    let earlier = repo.run(&["run", wf.to_str().unwrap(), "--task", "Earlier"]);
    assert_eq!(earlier.code(), 0, "{}", earlier.stderr());
    let earlier = earlier.run_id();

    let wf = repo.workflow(GATED);
    let mut child = repo.spawn(&["run", wf.to_str().unwrap(), "--task", "Ship it"], &[]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut run_id = String::new();
    stdout.read_line(&mut run_id).unwrap();
    let run_id = run_id.trim().to_string();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    assert!(wait_for_line(&mut stderr, "reject:", &mut seen), "{seen}");
    let pid = child.id();

    // `engine runs`: both runs, the live one as it stands now.
    let runs = repo.run(&["runs"]);
    assert_from_mirror(&runs, pid);
    let table = runs.stdout();
    let live_row = table.lines().find(|l| l.starts_with(&run_id)).unwrap_or("");
    assert!(
        live_row.contains("running") && live_row.contains("Ship it"),
        "{table}"
    );
    assert!(table.contains(&earlier), "{table}");

    let runs_json = repo.run(&["runs", "--json"]);
    assert_from_mirror(&runs_json, pid);
    let rows = json(&runs_json);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["run_id"], run_id.as_str(), "newest first");
    assert_eq!(rows[0]["status"], "running");
    assert_eq!(rows[0]["task"], "Ship it");
    assert_eq!(rows[1]["run_id"], earlier.as_str());
    assert_eq!(rows[1]["status"], "succeeded");

    // `engine show`: the stage waiting for approval, by a prefix of the id.
    let show = repo.run(&["show", &run_id[..20]]);
    assert_from_mirror(&show, pid);
    let text = show.stdout();
    assert!(
        text.contains(&format!("run       {run_id}  running")),
        "{text}"
    );
    let ship = text.lines().find(|l| l.starts_with("ship")).unwrap_or("");
    assert!(ship.contains("waiting"), "{text}");
    assert!(
        text.contains(&format!("engine approve {run_id} --stage ship")),
        "{text}"
    );

    let live = repo.run(&["show", &run_id, "--json"]);
    assert_from_mirror(&live, pid);
    let live = json(&live);
    assert_eq!(live["state"]["status"]["status"], "running");
    assert_eq!(
        live["state"]["stages"]["ship"]["phase"]["phase"],
        "awaiting_approval"
    );
    assert_eq!(
        live["state"]["stages"]["build"]["phase"]["phase"],
        "succeeded"
    );
    assert_eq!(live["meta"]["run_id"], run_id.as_str());

    // An unknown run is still an unknown run (exit 2).
    let unknown = repo.run(&["show", "ZZZZ"]);
    assert_eq!(unknown.code(), 2, "{}", unknown.stderr());

    // Writers still wait their turn: exit 5, naming the holder.
    let second = repo.run(&["run", wf.to_str().unwrap(), "--task", "Another"]);
    assert_eq!(second.code(), 5, "stderr: {}", second.stderr());
    assert!(
        second.stderr().contains(&pid.to_string()),
        "{}",
        second.stderr()
    );
    let gc = repo.run(&["gc"]);
    assert_eq!(gc.code(), 5, "stderr: {}", gc.stderr());

    // An unreadable mirror (here: the earlier run's, cut short) is reported and left out.
    let mirror = mirror_file(&repo, &earlier);
    std::fs::write(&mirror, "{\"format\":1,\"seq\":3,\"meta\":{").unwrap();
    let runs = repo.run(&["runs", "--json"]);
    assert_eq!(runs.code(), 0, "{}", runs.stderr());
    assert!(
        runs.stderr().contains("warning: unreadable run mirror")
            && runs.stderr().contains(&earlier),
        "{}",
        runs.stderr()
    );
    assert_eq!(json(&runs).as_array().unwrap().len(), 1);

    // Finish the run; the store is readable directly again, and the same shape comes back.
    let approve = repo.run(&["approve", &run_id]);
    assert_eq!(approve.code(), 0, "{}", approve.stderr());
    assert_eq!(child.wait().unwrap().code(), Some(0));

    let after = repo.run(&["show", &run_id, "--json"]);
    assert!(!after.stderr().contains("note:"), "{}", after.stderr());
    let after = json(&after);
    assert_eq!(after["state"]["status"]["status"], "succeeded");
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&live), keys(&after));
    // The live events are exactly the first events of the finished run.
    let live_events = live["events"].as_array().unwrap();
    let all_events = after["events"].as_array().unwrap();
    assert!(!live_events.is_empty());
    assert_eq!(live_events[..], all_events[..live_events.len()]);
    assert_eq!(
        live_events.len() as u64,
        live["state"]["seq"].as_u64().unwrap()
    );

    // Opening the state directory repaired the earlier run's mirror.
    let runs = repo.run(&["runs", "--json"]);
    assert!(runs.stderr().is_empty(), "{}", runs.stderr());
    assert_eq!(json(&runs).as_array().unwrap().len(), 2);
    let text = std::fs::read_to_string(mirror_file(&repo, &earlier)).unwrap();
    assert!(text.contains("\"succeeded\""), "{text}");
}

#[test]
fn show_sees_a_running_stage_and_cancel_still_reaches_the_engine() {
    let repo = TestRepo::new();
    let wf = repo.workflow(SLOW);
    let mut child = repo.spawn(&["run", wf.to_str().unwrap()], &[]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut run_id = String::new();
    stdout.read_line(&mut run_id).unwrap();
    let run_id = run_id.trim().to_string();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    assert!(wait_for_line(&mut stderr, "▶ slow", &mut seen), "{seen}");

    // The attempt is committed before the stage starts, so the mirror already shows it.
    let live = repo.run(&["show", &run_id, "--json"]);
    assert_from_mirror(&live, child.id());
    let live = json(&live);
    let slow = &live["state"]["stages"]["slow"];
    assert_eq!(slow["phase"]["phase"], "running", "{live}");
    assert_eq!(slow["history"][0]["outcome"]["outcome"], "running");
    let text = repo.run(&["show", &run_id]).stdout();
    let row = text.lines().find(|l| l.starts_with("slow")).unwrap_or("");
    assert!(row.contains("running"), "{text}");

    let cancel = repo.run(&["cancel", &run_id]);
    assert_eq!(cancel.code(), 0, "{}", cancel.stderr());
    assert_eq!(child.wait().unwrap().code(), Some(3));
    let runs = json(&repo.run(&["runs", "--json"]));
    assert_eq!(runs[0]["status"], "cancelled");
}
