//! One sandbox per attempt for the programs a stage runs (`exec`): the commands of an attempt
//! run in one resident bubblewrap sandbox (one PID namespace), a fresh one per attempt; nothing
//! a command starts (background or `setsid` children) outlives it; exit codes, signals, output
//! tails and timeouts are reported exactly as with one sandbox per command
//! (`ENGINE_EXEC_RESIDENT=0`); a command that kills or stops the sandbox's server fails
//! without hanging and leaves nothing behind; a `kill -9` of the engine mid-command leaves no
//! process.

use std::path::Path;

use serde_json::Value;

use crate::support::TestRepo;
use crate::support::process::{assert_no_process_named, assert_no_process_under};

/// A marker unique to this test process: `sleep <marker>` is the leftover to look for.
fn marker(n: u32) -> String {
    format!("{}.{n}", 70000 + std::process::id() % 9000)
}

/// A gate stage `id` running `commands` (JSON list), one attempt, with `out` writable.
fn gate_stage(id: &str, needs: &str, commands: &str) -> String {
    format!(
        "  {id}:\n    uses: builtin:gate\n    {needs}\n    with: {{ stop_on_failure: false, \
         output_tail_lines: 3, commands: {commands} }}\n    permissions: {{ workspace: read, \
         exec: [sh] }}\n    retry: {{ max_attempts: 1 }}\n"
    )
}

fn workflow(out: &Path, stages: &str) -> String {
    format!(
        "name: resident\nsandbox:\n  write: [{}]\nstages:\n{stages}",
        out.display()
    )
}

/// A `sh -c` command as gate JSON.
fn sh(script: &str) -> String {
    serde_json::to_string(&["sh", "-c", script]).unwrap()
}

/// `engine run workflow.yaml` with resident sandboxes on, whatever the environment says.
fn resident_run(repo: &TestRepo) -> crate::support::EngineOutput<'_> {
    repo.engine()
        .args(["run", "workflow.yaml"])
        .env("ENGINE_EXEC_RESIDENT", "1")
        .run()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs the workflow `with_resident` or with one sandbox per command; returns the PID
/// namespaces the commands wrote to `out/ns` and what the second command saw running.
fn run_namespaces(with_resident: bool) -> (Vec<String>, String) {
    let repo = TestRepo::new();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().display();
    let marker = marker(u32::from(with_resident));
    let first = format!(
        "[{}, {}]",
        sh(&format!(
            "readlink /proc/self/ns/pid >> {o}/ns; sleep {marker} & \
             setsid sh -c 'exec sleep {marker}' </dev/null >/dev/null 2>&1 & echo started"
        )),
        // Lists every process it can see (its own command line does not carry the marker).
        sh(&format!(
            "readlink /proc/self/ns/pid >> {o}/ns; \
             for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done > {o}/seen"
        )),
    );
    let second = format!("[{}]", sh(&format!("readlink /proc/self/ns/pid >> {o}/ns")));
    repo.workflow(&workflow(
        out.path(),
        &(gate_stage("first", "", &first) + &gate_stage("second", "needs: [first]", &second)),
    ));
    repo.engine()
        .args(["run", "workflow.yaml"])
        .env(
            "ENGINE_EXEC_RESIDENT",
            if with_resident { "1" } else { "0" },
        )
        .run()
        .succeeds();
    // The run has ended: nothing of its attempts may run on.
    assert_no_process_named(&marker);
    assert_no_process_under(repo.path());
    let seen = std::fs::read_to_string(out.path().join("seen")).unwrap();
    assert!(
        !seen.contains(&marker),
        "a background child of the first command outlived it:\n{seen}"
    );
    (lines(&out.path().join("ns")), seen)
}

#[test]
fn an_attempts_commands_share_one_sandbox_and_nothing_a_command_started_outlives_it() {
    let (ns, seen) = run_namespaces(true);
    assert_eq!(ns.len(), 3, "{ns:?}");
    assert_eq!(
        ns[0], ns[1],
        "two commands of one attempt share a PID namespace"
    );
    assert_ne!(ns[1], ns[2], "the next attempt gets a sandbox of its own");
    // Inside: bubblewrap (init), the engine's server and the listing shell with its `tr`.
    assert!(
        seen.lines().any(|l| l.contains("__engine-resident-exec")),
        "{seen}"
    );
}

#[test]
fn with_resident_sandboxes_off_every_command_gets_its_own() {
    let (ns, seen) = run_namespaces(false);
    assert_eq!(ns.len(), 3, "{ns:?}");
    assert_ne!(ns[0], ns[1]);
    assert_ne!(ns[1], ns[2]);
    assert!(!seen.contains("__engine-resident-exec"), "{seen}");
}

/// The gate's record of each failed command, durations removed.
fn failures(repo: &TestRepo, resident: &str, out: &Path) -> Value {
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .env("ENGINE_EXEC_RESIDENT", resident)
        .run();
    r.exits(1);
    assert_eq!(
        std::fs::read_to_string(out.join("after")).unwrap(),
        "alive\n",
        "the command after a timeout ran"
    );
    std::fs::remove_file(out.join("after")).unwrap();
    // The output streamed to the stage's log as it came (the observer).
    let logs = repo.run(&["logs", &r.run_id(), "--stage", "g"]);
    logs.stdout_has("out   1\n")
        .stdout_has("err-tail")
        .stdout_has("before");
    let report = r.report();
    let failure = report.stage("g").failure();
    let mut list = failure.detail["failures"].clone();
    for entry in list.as_array_mut().expect("a list of failed commands") {
        entry.as_object_mut().unwrap().remove("duration_ms");
    }
    list
}

#[test]
fn exit_codes_signals_tails_and_timeouts_are_reported_as_with_one_sandbox_per_command() {
    let repo = TestRepo::new();
    let out = tempfile::tempdir().unwrap();
    let marker = marker(3);
    let commands = format!(
        "[{}, {}, {{ run: {}, timeout: \"1s\" }}, {}]",
        sh("kill -TERM $$"),
        sh("seq 1 300000; echo err-tail >&2; exit 3"),
        sh(&format!("echo before; sleep {marker}")),
        sh(&format!("echo alive > {}/after", out.path().display())),
    );
    repo.workflow(&workflow(out.path(), &gate_stage("g", "", &commands)));
    let resident = failures(&repo, "1", out.path());
    assert_no_process_named(&marker);
    let per_command = failures(&repo, "0", out.path());
    assert_no_process_named(&marker);
    assert_eq!(resident, per_command);
    let expected = serde_json::json!([
        { "command": "sh -c 'kill -TERM $$'", "exit_code": 143, "signal": null, "tail": "",
          "timed_out": false },
        { "command": "sh -c 'seq 1 300000; echo err-tail >&2; exit 3'", "exit_code": 3,
          "signal": null, "tail": "299999\n300000\nerr-tail", "timed_out": false },
        { "command": format!("sh -c 'echo before; sleep {marker}'"), "exit_code": null,
          "signal": 9, "tail": "before", "timed_out": true },
    ]);
    assert_eq!(resident, expected);
}

#[test]
fn a_command_that_stops_the_server_times_out_and_the_next_command_gets_a_fresh_sandbox() {
    let repo = TestRepo::new();
    let out = tempfile::tempdir().unwrap();
    let marker = marker(4);
    let commands = format!(
        "[{{ run: {}, timeout: \"2s\" }}, {}]",
        sh(&format!("sleep {marker} & kill -STOP $PPID")),
        sh(&format!("echo alive > {}/after", out.path().display())),
    );
    repo.workflow(&workflow(out.path(), &gate_stage("g", "", &commands)));
    let r = resident_run(&repo);
    r.exits(1);
    assert_no_process_named(&marker);
    assert_no_process_under(repo.path());
    let report = r.report();
    let failure = report.stage("g").failure();
    assert!(
        failure.message.contains("timed out after 2s"),
        "{}",
        failure.message
    );
    let detail = &failure.detail;
    assert_eq!(detail["timed_out"], true, "{detail}");
    assert_eq!(detail["commands"][1]["exit_code"], 0, "{detail}");
    assert_eq!(
        std::fs::read_to_string(out.path().join("after")).unwrap(),
        "alive\n"
    );
}

#[test]
fn a_command_that_kills_the_server_or_everything_it_sees_fails_and_leaves_nothing() {
    for (n, script) in [
        (5, "kill -KILL $PPID; sleep {m}"),
        (6, "kill -9 -1; sleep {m}"),
    ] {
        let repo = TestRepo::new();
        let out = tempfile::tempdir().unwrap();
        let marker = marker(n);
        let commands = format!("[{}]", sh(&script.replace("{m}", &marker)));
        repo.workflow(&workflow(out.path(), &gate_stage("g", "", &commands)));
        let r = resident_run(&repo);
        r.exits(1);
        assert_no_process_named(&marker);
        assert_no_process_under(repo.path());
        let message = r.report().stage("g").failure().message.clone();
        assert!(
            message.contains("stopped with its sandbox")
                && message.contains("did the command kill it?"),
            "{script}: {message}"
        );
    }
}

#[test]
fn a_kill_9_of_the_engine_mid_command_leaves_no_process_of_the_sandbox() {
    let repo = TestRepo::new();
    let out = tempfile::tempdir().unwrap();
    let marker = marker(7);
    let ready = out.path().join("ready");
    // The first command leaves nothing; the second starts a daemon and works for long.
    let commands = format!(
        "[{}, {}]",
        sh("true"),
        sh(&format!(
            "setsid sh -c 'exec sleep {marker}' </dev/null >/dev/null 2>&1 & \
             touch {}; exec sleep {marker}",
            ready.display()
        )),
    );
    repo.workflow(&workflow(out.path(), &gate_stage("g", "", &commands)));
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .env("ENGINE_EXEC_RESIDENT", "1")
        .spawn();
    engine.wait_for_file(&ready);
    engine.kill9();
    assert_no_process_named(&marker);
    assert_no_process_under(repo.path());
}
