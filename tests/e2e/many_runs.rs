//! End-to-end: many runs per repository. The engine process holding the state directory serves
//! a control socket; an `engine run` from another terminal goes on in it, streaming its output
//! and exit code back; a run submitted there survives a kill -9 of the holder (its terminal
//! takes it over); Ctrl-C in a submitting terminal detaches; the holder waits for submitted
//! runs before it exits; `concurrency:` groups take turns; the socket refuses what is not a
//! request.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;

use crate::support::{GATED, Handshake, Spawned, TestRepo, assert_no_process_under, wait_until};

/// A workflow whose one stage announces `name` through `hold` and waits for its go; with
/// `concurrency`, that line is added.
fn held(hold: &Handshake, name: &str, concurrency: &str) -> String {
    format!(
        r#"
name: held-{name}
{concurrency}
stages:
  work:
    uses: builtin:gate
    with: {{ commands: ["sh -c '{wait}'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    {grant}
"#,
        wait = hold.announce_and_wait(name),
        grant = hold.grant(),
    )
}

/// Submits `engine run b.yaml` (one stage waiting for `hold`'s go) for `task` to the holder,
/// and waits until its stage runs; returns the submitting engine and the run id.
#[track_caller]
fn submitted_and_running(repo: &TestRepo, hold: &Handshake, task: &str) -> (Spawned, String) {
    repo.write("b.yaml", &held(hold, "b", ""));
    let mut submitted = repo.engine().args(["run", "b.yaml"]).task(task).spawn();
    let run_id = submitted.read_run_id();
    submitted.wait_for_file(&hold.started_file("b"));
    (submitted, run_id)
}

/// Two runs of one concurrency group (`lane`, limit 1), each waiting for `hold`'s go: the first
/// (this process holds the state directory) is running, the second (submitted) waits for its
/// turn. Returns both with their run ids.
fn two_runs_of_one_lane(repo: &TestRepo, hold: &Handshake) -> [(Spawned, String); 2] {
    let lane = "concurrency: { group: lane, limit: 1 }";
    repo.write("a.yaml", &held(hold, "a", lane));
    repo.write("b.yaml", &held(hold, "b", lane));
    let mut first = repo.engine().args(["run", "a.yaml"]).task("First").spawn();
    let first_run = first.read_run_id();
    first.wait_for_file(&hold.started_file("a"));
    let mut second = repo.engine().args(["run", "b.yaml"]).task("Second").spawn();
    let second_run = second.read_run_id();
    second.wait_for_stderr(&format!(
        "run {second_run} waits for a turn of concurrency group lane (1 run at once)"
    ));
    [(first, first_run), (second, second_run)]
}

#[test]
fn two_terminals_run_at_once_while_a_third_waits_for_approval() {
    let repo = TestRepo::new();
    let (mut holder, gated_run) = repo.holder_waiting_for_approval();
    let hold = Handshake::new();
    repo.write("b.yaml", &held(&hold, "b", ""));
    repo.write("c.yaml", &held(&hold, "c", ""));

    let mut second = repo.engine().args(["run", "b.yaml"]).task("Second").spawn();
    let second_run = second.read_run_id();
    let mut third = repo
        .engine()
        .args(["run", "c.yaml", "--json"])
        .task("Third")
        .spawn();
    // Both stages run at the same time: each waits for the go until both announced.
    second.wait_for_file(&hold.started_file("b"));
    third.wait_for_file(&hold.started_file("c"));
    // The second terminal sees its run's progress, streamed from the holder.
    second.wait_for_stderr("▶ work (attempt 1)");
    hold.release();

    let (code, _) = second.wait();
    assert_eq!(code, 0, "{}", second.seen_stderr());
    insta::assert_snapshot!("submitted_run_output", repo.normalise(second.seen_stderr()));
    // --json: one document on stdout, nothing on stderr, as if the run went on here.
    let (code, _) = third.wait();
    assert_eq!(code, 0, "{}", third.seen_stderr());
    let stdout = third.rest_of_stdout();
    let document: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{stdout}"));
    assert_eq!(document["status"], "succeeded");
    assert_eq!(third.seen_stderr(), "");
    let third_run = document["run_id"].as_str().unwrap_or_default().to_string();

    // The first run still waits; its answer ends it and its process.
    repo.run(&["approve", &gated_run]).succeeds();
    let (code, _) = holder.wait();
    assert_eq!(code, 0, "{}", holder.seen_stderr());
    for run in [&gated_run, &second_run, &third_run] {
        assert_eq!(repo.report(run).status(), "succeeded");
    }
    // Two runs' worktrees never met: each had its own branch.
    assert_ne!(
        repo.report(&second_run).meta.branch,
        repo.report(&third_run).meta.branch
    );
    assert!(!repo.path().join(".engine/control.sock").exists());
    assert_no_process_under(repo.path());
}

#[test]
fn a_run_submitted_to_a_holder_killed_with_sigkill_is_taken_over_by_its_terminal() {
    let repo = TestRepo::new();
    let (mut holder, gated_run) = repo.holder_waiting_for_approval();
    let hold = Handshake::new();
    let (mut submitted, run_id) = submitted_and_running(&repo, &hold, "Survive");

    // The machine's other terminal dies; the submitting terminal takes its run over.
    hold.forget("b");
    holder.kill9();
    submitted.wait_for_stderr(&format!("stopped driving run {run_id}"));
    submitted.wait_for_file(&hold.started_file("b"));
    hold.release();
    let (code, _) = submitted.wait();
    assert_eq!(code, 0, "{}", submitted.seen_stderr());
    let report = repo.report(&run_id);
    assert_eq!(report.status(), "succeeded");
    assert_eq!(report.outcomes()["work"], ["interrupted", "succeeded"]);
    // The holder's own run is where the kill left it, resumable.
    assert_eq!(repo.report(&gated_run).status(), "running");
    repo.run(&["approve", &gated_run]).succeeds();
    repo.run(&["resume", &gated_run]).succeeds();
    assert_no_process_under(repo.path());
}

#[test]
fn ctrl_c_detaches_a_submitting_terminal_and_the_holder_waits_for_the_run() {
    let repo = TestRepo::new();
    let (mut holder, gated_run) = repo.holder_waiting_for_approval();
    let hold = Handshake::new();
    let (mut submitted, run_id) = submitted_and_running(&repo, &hold, "Detach");

    crate::support::process::signal(submitted.pid(), libc::SIGINT);
    let (code, _) = submitted.wait();
    assert_eq!(code, 4, "{}", submitted.seen_stderr());
    assert_eq!(
        repo.normalise(submitted.seen_stderr().lines().last().unwrap_or_default())
            .replace(&holder.pid().to_string(), "[PID]"),
        "detached: run [RUN-1] goes on in engine process [PID]; follow it with `engine logs -f \
         [RUN-1]`, stop it with `engine cancel [RUN-1]`"
    );

    // The holder's own run ends; the process stays for the submitted run.
    repo.run(&["approve", &gated_run]).succeeds();
    holder.wait_for_stderr(&format!(
        "note: 1 command submitted from other terminals still runs here (run {run_id})"
    ));
    hold.release();
    let (code, _) = holder.wait();
    assert_eq!(code, 0, "{}", holder.seen_stderr());
    assert_eq!(repo.report(&run_id).status(), "succeeded");
    assert_eq!(repo.report(&gated_run).status(), "succeeded");
}

#[test]
fn runs_of_one_concurrency_group_take_turns() {
    let repo = TestRepo::new();
    let hold = Handshake::new();
    let [(mut first, first_run), (mut second, second_run)] = two_runs_of_one_lane(&repo, &hold);
    // It cannot start before the first run ends, which needs the go.
    assert!(!hold.started_file("b").exists());
    hold.release();
    for engine in [&mut first, &mut second] {
        let (code, _) = engine.wait();
        assert_eq!(code, 0, "{}", engine.seen_stderr());
    }
    let ended = repo.report(&first_run).stage("work").history[0].ended_at_ms;
    let started = repo.report(&second_run).stage("work").history[0].started_at_ms;
    assert!(
        ended.is_some_and(|ended| ended <= started),
        "{ended:?} > {started}"
    );
}

#[test]
fn the_control_socket_is_owner_only_and_refuses_what_is_not_a_request() {
    let repo = TestRepo::new();
    let (mut holder, gated_run) = repo.holder_waiting_for_approval();
    let socket = repo.path().join(".engine/control.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    for (request, refusal) in [
        ("garbage\n", "the request could not be read"),
        (
            "{\"version\":999,\"colour\":false,\"request\":{\"command\":\"resume\",\"run\":\"x\",\"json\":false}}\n",
            "control protocol",
        ),
    ] {
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = String::new();
        BufReader::new(&stream).read_line(&mut reply).unwrap();
        assert!(
            reply.contains("\"refused\"") && reply.contains(refusal),
            "{reply}"
        );
    }
    // A client that connects and goes away without a word changes nothing.
    drop(UnixStream::connect(&socket).unwrap());

    // The holder is unharmed: a resume of its own run is refused (it drives it), and its
    // run still takes an answer.
    repo.run(&["resume", &gated_run])
        .exits(2)
        .stderr_has("is being driven by engine process");
    repo.run(&["approve", &gated_run]).succeeds();
    let (code, _) = holder.wait();
    assert_eq!(code, 0, "{}", holder.seen_stderr());
    wait_until("the socket to be removed", || !socket.exists());
}

/// A workflow over spec/tasks.md whose one stage waits for `hold`'s go (announcing the task
/// id), writing statuses back.
fn queue_held(hold: &Handshake) -> String {
    format!(
        r#"
name: queue
tasks: {{ source: tasks-md, path: spec/tasks.md, permissions: {{ workspace: write }} }}
stages:
  work:
    uses: builtin:gate
    with: {{ commands: ["sh -c '{wait}'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    {grant}
"#,
        wait = hold.announce_and_wait("{{ task.id }}"),
        grant = hold.grant(),
    )
}

#[test]
fn a_session_submitted_to_the_holder_works_through_the_tasks_and_ctrl_c_stops_it() {
    let repo = TestRepo::new();
    repo.write(
        "spec/tasks.md",
        "# Tasks\n\n### TASK-1: One\nP1 | TODO\n\n### TASK-2: Two\nP1 | TODO\n",
    )
    .commit_all("tasks");
    let (mut holder, gated_run) = repo.holder_waiting_for_approval();
    let hold = Handshake::new();
    repo.write("queue.yaml", &queue_held(&hold));

    // `--all` from another terminal: the session runs in the holder, its lines stream here.
    let mut session = repo.engine().args(["run", "queue.yaml", "--all"]).spawn();
    session.wait_for_file(&hold.started_file("TASK-1"));
    session.wait_for_stderr("[TASK-1] ▶ work (attempt 1)");
    // Ctrl-C here stops the session's run at its last stored transition, as it would locally.
    crate::support::process::signal(session.pid(), libc::SIGINT);
    let (code, _) = session.wait();
    assert_eq!(code, 4, "{}", session.seen_stderr());
    assert!(
        session.seen_stderr().contains("interrupted"),
        "{}",
        session.seen_stderr()
    );
    // The holder is unaffected: its run still waits for its answer.
    assert_eq!(repo.report(&gated_run).status(), "running");

    // The same command again resumes the interrupted run first, then the next task.
    hold.release();
    let again = repo.run(&["run", "queue.yaml", "--all"]);
    again.succeeds();
    again
        .stderr_has("TASK-1 starts")
        .stderr_has("TASK-2 starts");
    let tasks = repo.read("spec/tasks.md");
    assert_eq!(tasks.matches("P1 | DONE").count(), 2, "{tasks}");
    // Two runs in all: the interrupted one went on.
    let queue_runs = repo
        .runs()
        .iter()
        .filter(|run| run["workflow"] == "queue")
        .count();
    assert_eq!(queue_runs, 2, "{:#?}", repo.runs());

    repo.run(&["approve", &gated_run]).succeeds();
    let (code, _) = holder.wait();
    assert_eq!(code, 0, "{}", holder.seen_stderr());
}

#[test]
fn ctrl_c_in_the_holder_hands_a_run_waiting_for_its_turn_back_to_its_terminal() {
    let repo = TestRepo::new();
    let hold = Handshake::new();
    let [(mut first, first_run), (mut second, second_run)] = two_runs_of_one_lane(&repo, &hold);

    // The holder's terminal stops: its run stops, and the waiting run goes back to its own
    // terminal, which holds the state directory next and runs it.
    crate::support::process::signal(first.pid(), libc::SIGINT);
    let (code, _) = first.wait();
    assert_eq!(code, 4, "{}", first.seen_stderr());
    second.wait_for_stderr(&format!("stopped driving run {second_run}"));
    second.wait_for_file(&hold.started_file("b"));
    hold.release();
    let (code, _) = second.wait();
    assert_eq!(code, 0, "{}", second.seen_stderr());
    assert_eq!(repo.report(&second_run).status(), "succeeded");
    assert_eq!(repo.report(&first_run).status(), "running");
    repo.run(&["resume", &first_run]).succeeds();
}

#[test]
fn stages_cannot_reach_the_control_socket() {
    let repo = TestRepo::new();
    // The state directory is hidden from every confined process, its socket with it: a stage
    // (or an agent) cannot submit runs with permissions of its own choosing.
    let socket = repo.path().join(".engine/control.sock");
    repo.workflow(&format!(
        r#"
name: probe
stages:
  probe:
    uses: builtin:gate
    with: {{ commands: ["sh -c 'test ! -e {} && test ! -e ../../control.sock'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
"#,
        socket.display()
    ));
    let mut engine = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Probe")
        .spawn();
    let run_id = engine.read_run_id();
    let (code, _) = engine.wait();
    assert_eq!(code, 0, "{}", engine.seen_stderr());
    assert_eq!(repo.report(&run_id).outcomes()["probe"], ["succeeded"]);
}

#[test]
fn runs_and_show_ask_the_holder_which_runs_it_drives() {
    let repo = TestRepo::new();
    repo.write("killed.yaml", GATED);
    // A run whose engine was killed: nobody drives it.
    let mut killed = repo
        .engine()
        .args(["run", "killed.yaml"])
        .task("Killed")
        .hold("after:1")
        .spawn();
    let killed_run = killed.read_run_id();
    killed.wait_for_stderr("holding after storing transition 1");
    killed.kill9();

    // Another run holds the state directory now; it tells which runs it drives.
    let (mut holder, gated_run) = repo.holder_waiting_for_approval();
    let runs = repo.run(&["runs", "--json"]);
    runs.succeeds();
    let status_of = |run: &str| {
        runs.json()
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["run_id"] == run).cloned())
            .map(|row| row["status"].clone())
    };
    assert_eq!(status_of(&killed_run), Some("interrupted".into()));
    assert_eq!(status_of(&gated_run), Some("running".into()));
    repo.run(&["show", &killed_run])
        .succeeds()
        .stdout_has("interrupted (no engine process drives it");

    // A request for a run the holder does not drive is carried out by the holder on the
    // stored run (no waiting for a driver that is not there); one for its own run goes to its
    // driver.
    repo.run(&["pause", &killed_run])
        .succeeds()
        .stdout_is("run [RUN-1] paused: no new attempt starts until `engine unpause [RUN-1]`\n");
    repo.run(&["cancel", &killed_run, "--reason", "not needed"])
        .succeeds()
        .stdout_has(&format!("run {killed_run} cancelled"));
    assert_eq!(repo.report(&killed_run).status(), "cancelled");
    repo.run(&["pause", &gated_run])
        .succeeds()
        .stdout_has(&format!("pause requested; engine process {}", holder.pid()));
    repo.run(&["unpause", &gated_run]).succeeds();

    repo.run(&["approve", &gated_run]).succeeds();
    let (code, _) = holder.wait();
    assert_eq!(code, 0, "{}", holder.seen_stderr());
}

#[test]
fn a_submitting_terminal_is_told_when_the_holder_sees_other_values_for_what_the_run_reads() {
    let repo = TestRepo::new();
    repo.workflow(GATED);
    let mut holder = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Ship it")
        .env("CORPUS_TOKEN", "holder-value")
        .spawn();
    let gated_run = holder.read_run_id();
    holder.wait_for_stderr("reject:");
    repo.write(
        "secret.yaml",
        r#"
name: secret
stages:
  use:
    uses: builtin:gate
    with: { commands: ["true"] }
    permissions: { workspace: read, exec: ["true"] }
    secrets: [CORPUS_TOKEN]
"#,
    );
    let submitted = repo
        .engine()
        .args(["run", "secret.yaml"])
        .task("Secret")
        .env("CORPUS_TOKEN", "terminal-value")
        .run();
    submitted.succeeds();
    submitted
        .stderr_has(&format!(
            "warning: this goes on in engine process {}, whose environment differs from this \
             terminal's in CORPUS_TOKEN: the runs use that process's values",
            holder.pid()
        ))
        .never_prints("holder-value")
        .never_prints("terminal-value");
    // The same values: no warning.
    repo.engine()
        .args(["run", "secret.yaml"])
        .task("Same")
        .env("CORPUS_TOKEN", "holder-value")
        .run()
        .succeeds()
        .never_prints("environment differs");

    repo.run(&["approve", &gated_run]).succeeds();
    let (code, _) = holder.wait();
    assert_eq!(code, 0, "{}", holder.seen_stderr());
}
