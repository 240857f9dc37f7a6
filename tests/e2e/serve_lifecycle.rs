//! End-to-end: `engine serve` over time. It waits for the process holding the state directory
//! and takes over; a run interrupted by stopping it (SIGTERM or kill -9) is resumed through the
//! next server's API; `--watch` runs the ready tasks as they become ready; "run all ready"
//! answers once the session got going.

use super::serve::Server;
use crate::support::http_client::{get, post_json};
use crate::support::{TestRepo, wait_until};

#[test]
fn with_watch_the_server_runs_ready_tasks_and_the_board_follows() {
    let repo = TestRepo::new();
    repo.write(
        "spec/tasks.md",
        "# Tasks\n\n## Milestone 1: Two\n\n### T-1: First\nP1 | TODO\n\n### T-2: Second\nP1 | TODO\n**Depends on:** [T-1]\n",
    )
    .commit_all("tasks");
    repo.workflow(
        r#"
name: watched
tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }
stages:
  only:
    uses: builtin:gate
    with: { commands: ["true"] }
    permissions: { workspace: read, exec: ["true"] }
"#,
    );
    let process = repo
        .engine()
        .args([
            "serve",
            "workflow.yaml",
            "--listen",
            "127.0.0.1:0",
            "--watch",
            "--interval",
            "200ms",
        ])
        .spawn();
    let server = Server::listening(process);
    let columns = |addr: &str| -> Vec<(String, String)> {
        get(addr, "/api/tasks").json()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_str().unwrap().to_string(),
                    t["column"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    wait_until("both tasks are done", || {
        columns(&server.addr)
            == [
                ("T-1".to_string(), "done".to_string()),
                ("T-2".to_string(), "done".to_string()),
            ]
            || columns(&server.addr)
                == [
                    ("T-2".to_string(), "done".to_string()),
                    ("T-1".to_string(), "done".to_string()),
                ]
    });
    let tasks = get(&server.addr, "/api/tasks").json();
    for task in tasks["tasks"].as_array().unwrap() {
        assert_eq!(task["run"]["status"], "succeeded", "{task}");
    }
    assert_eq!(get(&server.addr, "/api/status").json()["watching"], true);
    let metrics = get(&server.addr, "/metrics").body;
    assert!(
        metrics.lines().any(|l| l == "engine_queue_ready_tasks 0"),
        "{metrics}"
    );
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_run_interrupted_by_stopping_the_server_is_resumed_through_the_api() {
    resumed_after(|server| {
        let (code, stderr) = server.stop();
        assert_eq!(code, 0, "{stderr}");
    });
}

#[test]
fn a_run_of_a_server_killed_with_kill_9_is_resumed_by_the_next_server() {
    resumed_after(|mut server| {
        server.process.kill9();
    });
}

/// Starts a run through the API whose one stage waits, ends the server with `end` while it
/// waits, starts another server, and resumes the run through its API to its success.
fn resumed_after(end: impl FnOnce(Server)) {
    let repo = TestRepo::new();
    let hold = crate::support::Handshake::new();
    repo.workflow(&format!(
        "name: resumable\nstages:\n{}",
        hold.waiting_gate("work")
    ));
    let server = Server::start(&repo, &[]);
    let run_id = server.start_run("Survive a restart");
    crate::support::wait_for_file(&hold.started_file("work"));
    end(server);

    hold.forget("work");
    let server = Server::start(&repo, &[]);
    let addr = server.addr.clone();
    assert_eq!(
        get(&addr, &format!("/api/runs/{run_id}")).json()["status"],
        "interrupted"
    );
    let resumed = post_json(&addr, &format!("/api/runs/{run_id}/resume"), "{}");
    assert_eq!(resumed.status, 202, "{}", resumed.body);
    assert_eq!(resumed.json()["run_id"], run_id.as_str());
    crate::support::wait_for_file(&hold.started_file("work"));
    hold.release();
    wait_until("the resumed run succeeds", || {
        get(&addr, &format!("/api/runs/{run_id}")).json()["status"] == "succeeded"
    });
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn the_server_waits_for_the_process_holding_the_state_directory_then_takes_over() {
    let repo = TestRepo::new();
    let (mut holder, run_id) = repo.holder_waiting_for_approval();
    let mut process = repo
        .engine()
        .args(["serve", "workflow.yaml", "--listen", "127.0.0.1:0"])
        .spawn();
    process.wait_for_stderr("engine serve: waiting for engine process");
    assert!(!process.seen_stderr().contains("listening on"));
    // The holder's run ends (approved from a third terminal); the server takes over.
    repo.run(&["approve", &run_id]).succeeds();
    let (code, _) = holder.wait();
    assert_eq!(code, 0, "{}", holder.seen_stderr());
    let server = Server::listening(process);
    assert_eq!(
        get(&server.addr, &format!("/api/runs/{run_id}")).json()["status"],
        "succeeded"
    );
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn run_all_ready_answers_once_its_first_run_is_recorded() {
    let repo = TestRepo::new();
    let hold = crate::support::Handshake::new();
    repo.write(
        "spec/tasks.md",
        "# Tasks\n\n## Milestone 1: One\n\n### T-1: Only\nP1 | TODO\n",
    )
    .commit_all("tasks");
    repo.workflow(&format!(
        "name: session\ntasks: {{ source: tasks-md, path: spec/tasks.md }}\nstages:\n{}",
        hold.waiting_gate("work")
    ));
    let server = Server::start(&repo, &[]);
    let addr = server.addr.clone();
    let started = post_json(&addr, "/api/sessions", "{}");
    // The session goes on (its stage waits for the go): the answer does not wait for its end.
    assert_eq!(started.status, 202, "{}", started.body);
    let run_id = started.json()["run_id"].as_str().unwrap().to_string();
    assert_eq!(
        get(&addr, &format!("/api/runs/{run_id}")).json()["state"]["task"]["id"],
        "T-1"
    );
    assert!(!hold.dir().join("go").exists());
    hold.release();
    wait_until("the session's run succeeds", || {
        get(&addr, &format!("/api/runs/{run_id}")).json()["status"] == "succeeded"
    });
    // Nothing is ready now: the session ends at once and says so.
    let nothing = post_json(&addr, "/api/sessions", "{}");
    assert_eq!(nothing.status, 200, "{}", nothing.body);
    assert_eq!(nothing.json()["exit"], 0, "{}", nothing.body);
    assert!(nothing.json()["run_id"].is_null(), "{}", nothing.body);
    assert!(nothing.body.contains("0 runs"), "{}", nothing.body);
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}
