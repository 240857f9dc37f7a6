//! End-to-end: `engine serve`. The server holds the state directory; runs started through its
//! JSON API (the dashboard's controls) go on in it and stream their agent output live over
//! SSE, with metrics scraped on the way; a run from another terminal goes on in it too;
//! approvals, rejections, cancel and pause are the CLI's own commands. Security:
//! `serve_security.rs`; starting, stopping, watching and resuming: `serve_lifecycle.rs`.

use crate::support::agent::ScriptedAgent;
use crate::support::http_client::{Events, get, post_json, request};
use crate::support::{GATED, Spawned, TestRepo, Workflow, wait_until};

/// A running `engine serve` and its address.
pub(crate) struct Server {
    pub(crate) process: Spawned,
    pub(crate) addr: String,
}

impl Server {
    /// Starts `engine serve workflow.yaml --listen 127.0.0.1:0` in `repo` (with `env`).
    #[track_caller]
    pub(crate) fn start(repo: &TestRepo, env: &[(&str, &str)]) -> Server {
        let mut command = repo
            .engine()
            .args(["serve", "workflow.yaml", "--listen", "127.0.0.1:0"]);
        for (k, v) in env {
            command = command.env(k, v);
        }
        Server::listening(command.spawn())
    }

    /// The server `process` once it says where it listens.
    #[track_caller]
    pub(crate) fn listening(mut process: Spawned) -> Server {
        process.wait_for_stderr("listening on http://");
        let addr = process
            .seen_stderr()
            .split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .to_string();
        Server { process, addr }
    }

    /// `POST /api/runs` for `task`: the run id (the run goes on).
    #[track_caller]
    pub(crate) fn start_run(&self, task: &str) -> String {
        let body = serde_json::json!({ "task": task }).to_string();
        let started = post_json(&self.addr, "/api/runs", &body);
        assert_eq!(started.status, 202, "{}", started.body);
        started.json()["run_id"].as_str().unwrap().to_string()
    }

    /// SIGTERM, then its exit code (0: it stopped as asked).
    #[track_caller]
    pub(crate) fn stop(mut self) -> (i32, String) {
        self.process.terminate();
        let (code, _) = self.process.wait();
        (code, self.process.seen_stderr().to_string())
    }
}

/// An agent that says it starts, waits for `go` in its scratch directory, writes a file and
/// completes; with a gate after it.
fn waiting_agent() -> (ScriptedAgent, String) {
    let agent = ScriptedAgent::new("- []\n");
    let go = agent.scratch().join("go");
    let script = format!(
        r#"
- - say: "Starting on the greeting"
  - tool: {{name: Read, input: {{file_path: README.md}}, output: "text"}}
  - run: "while [ ! -e {go} ]; do sleep 0.05; done"
  - write: {{path: greet.txt, content: "hello\n"}}
  - cost: 0.25
  - say: "Done. <promise>COMPLETE</promise>"
"#,
        go = go.display()
    );
    std::fs::write(agent.script_path(), script).unwrap();
    (agent, go.display().to_string())
}

fn agent_workflow(agent: &ScriptedAgent) -> Workflow {
    Workflow::named("served")
        .top("models: { smart: model-smart }")
        .agents(agent, "")
        .stage(
            "execute",
            "uses: builtin:agent\nwith: { backend: claude, model: smart, completion: promise }\n\
             permissions: { workspace: write, agent: true }",
        )
        .stage(
            "test",
            "uses: builtin:gate\nneeds: [execute]\nwith: { commands: [\"test -f greet.txt\"] }\n\
             permissions: { workspace: read, exec: [test] }",
        )
}

#[test]
fn a_run_started_through_the_api_streams_its_agent_output_live_and_ends() {
    let repo = TestRepo::new();
    let (agent, go) = waiting_agent();
    agent_workflow(&agent).write(&repo);
    let server = Server::start(&repo, &[]);
    let addr = server.addr.clone();

    let started = post_json(&addr, "/api/runs", r#"{"task": "Add a greeting"}"#);
    assert_eq!(started.status, 202, "{}", started.body);
    let run_id = started.json()["run_id"].as_str().unwrap().to_string();
    assert!(!run_id.is_empty());

    let mut events = Events::open(&addr, &format!("/api/runs/{run_id}/events"));
    let first = events.until("state", |_| true);
    assert_eq!(first.json()["meta"]["run_id"], run_id.as_str());
    // The agent's words arrive while it still waits for its go: live, not at the end.
    let said = events.until("log", |e| e.data.contains("Starting on the greeting"));
    assert_eq!(said.json()["stage"], "execute");
    events.until("log", |e| {
        e.json()["level"] == "TOOL" || e.data.contains("Read")
    });
    assert!(!std::path::Path::new(&go).exists());
    let running = get(&addr, &format!("/api/runs/{run_id}")).json();
    assert_eq!(running["status"], "running", "{running}");
    assert_eq!(running["stages"][0]["id"], "execute");
    assert_eq!(running["stages"][0]["phase"], "running");
    let status = get(&addr, "/api/status").json();
    assert_eq!(status["driving"][0], run_id.as_str(), "{status}");
    let scraped = get(&addr, "/metrics").body;
    for line in [
        "engine_runs{status=\"running\"} 1",
        "engine_agent_sessions_active 1",
    ] {
        assert!(
            scraped.lines().any(|l| l == line),
            "no {line:?} in\n{scraped}"
        );
    }

    std::fs::write(&go, "").unwrap();
    let end = events.until("end", |_| true);
    assert_eq!(end.json()["status"], "succeeded");

    let run = get(&addr, &format!("/api/runs/{}", &run_id[..10])).json();
    assert_eq!(run["status"], "succeeded");
    let stages: Vec<&str> = run["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["execute", "test"]);
    assert_eq!(
        run["stages"][0]["attempts"][0]["outcome"]["outcome"], "succeeded",
        "{run}"
    );
    let logs = get(&addr, &format!("/api/runs/{run_id}/logs?stage=execute")).json();
    assert!(
        logs["lines"].as_array().unwrap().iter().any(|l| l["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Starting on the greeting")),
        "{logs}"
    );
    let diff = get(&addr, &format!("/api/runs/{run_id}/diff")).json();
    assert!(diff["diff"].as_str().unwrap().contains("+hello"), "{diff}");
    let rows = get(&addr, "/api/runs?status=succeeded").json();
    assert_eq!(rows[0]["run_id"], run_id.as_str());
    assert_eq!(rows[0]["spend"]["cost_usd"], 0.25);
    let budget = get(&addr, "/api/budget").json();
    assert_eq!(budget["day_spent_usd"], 0.25, "{budget}");
    let metrics = get(&addr, "/metrics");
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        metrics.headers
    );
    for line in [
        "engine_runs{status=\"succeeded\"} 1",
        "engine_stage_attempt_duration_seconds_count{stage=\"execute\",outcome=\"succeeded\"} 1",
        "engine_agent_cost_usd_total{model=\"model-smart\"} 0.25",
        "engine_budget_day_usd_spent 0.25",
        "engine_agent_sessions_active 0",
    ] {
        assert!(
            metrics.body.lines().any(|l| l == line),
            "no {line:?} in\n{}",
            metrics.body
        );
    }
    let bad = get(&addr, "/api/runs?status=sideways");
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.json()["error"].as_str().unwrap().contains("sideways"));
    let unknown = get(&addr, "/api/runs/01NOSUCHRUN");
    assert_eq!(unknown.status, 404, "{}", unknown.body);

    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_run_from_another_terminal_goes_on_in_the_server_and_shows_on_its_event_stream() {
    let repo = TestRepo::new();
    repo.workflow(
        r#"
name: quick
stages:
  build:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo built'"] }
    permissions: { workspace: read, exec: [sh] }
"#,
    );
    let server = Server::start(&repo, &[]);
    let mut events = Events::open(&server.addr, "/api/events");
    let first = events.until("runs", |_| true);
    assert_eq!(first.json(), serde_json::json!([]));

    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("From a terminal")
        .run();
    run.succeeds();
    let run_id = run.run_id();
    let row = events.until("runs", |e| {
        e.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["run_id"] == run_id.as_str() && r["status"] == "succeeded")
    });
    assert!(row.data.contains("From a terminal"));
    // It ran inside the server: the server's process drove it (the terminal submitted it).
    assert!(
        repo.path().join(".engine/control.sock").exists(),
        "the server serves no control socket"
    );
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn approvals_rejections_and_pauses_are_answered_through_the_api() {
    let repo = TestRepo::new();
    repo.workflow(GATED);
    let server = Server::start(&repo, &[]);
    let addr = server.addr.clone();
    let run_id = server.start_run("Ship it");
    let path = |action: &str| format!("/api/runs/{run_id}/{action}");
    wait_until("the approval waits", || {
        get(&addr, &format!("/api/runs/{run_id}")).json()["stages"][1]["awaiting_approval"] == true
    });

    // A form post (not JSON) is refused: a page of another site could send one.
    let form = request(
        &addr,
        "POST",
        &path("approve"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some("reason=x"),
    );
    assert_eq!(form.status, 415, "{}", form.body);
    let no_reason = post_json(&addr, &path("reject"), "{}");
    assert_eq!(no_reason.status, 400, "{}", no_reason.body);
    assert!(
        no_reason.json()["error"]
            .as_str()
            .unwrap()
            .contains("reason")
    );
    let paused = post_json(&addr, &path("pause"), "{}");
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert!(get(&addr, &format!("/api/runs/{run_id}")).json()["state"]["paused_at_ms"].is_u64());
    assert_eq!(post_json(&addr, &path("unpause"), "{}").status, 200);
    let unknown = post_json(&addr, "/api/runs/01NOSUCHRUN/approve", "{}");
    assert_eq!(unknown.status, 400, "{}", unknown.body);

    let approved = post_json(&addr, &path("approve"), r#"{"reason": "looks good"}"#);
    assert_eq!(approved.status, 200, "{}", approved.body);
    wait_until("the run succeeds", || {
        get(&addr, &format!("/api/runs/{run_id}")).json()["status"] == "succeeded"
    });
    let again = post_json(&addr, &path("approve"), "{}");
    assert_ne!(again.status, 200, "{}", again.body);
    assert!(again.json()["error"].is_string());
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn cancel_through_the_api_stops_the_agent() {
    let repo = TestRepo::new();
    let (agent, go) = waiting_agent();
    agent_workflow(&agent).write(&repo);
    let server = Server::start(&repo, &[]);
    let addr = server.addr.clone();
    let run_id = server.start_run("Add a greeting");
    let mut events = Events::open(&addr, &format!("/api/runs/{run_id}/events"));
    events.until("log", |e| e.data.contains("Starting on the greeting"));

    let cancelled = post_json(
        &addr,
        &format!("/api/runs/{run_id}/cancel"),
        r#"{"reason": "changed my mind"}"#,
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let end = events.until("end", |_| true);
    assert_eq!(end.json()["status"], "cancelled");
    assert!(!std::path::Path::new(&go).exists());
    crate::support::assert_no_process_under(agent.dir());
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}
