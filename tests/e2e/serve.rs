//! End-to-end: `engine serve`. The server holds the state directory; runs started through its
//! JSON API (the dashboard's controls) go on in it and stream their agent output live over
//! SSE; a run from another terminal goes on in it too; approvals, rejections, cancel and pause
//! are the CLI's own commands; the security checks (token, Host, cross-site requests) refuse
//! what they must; no secret value reaches a response.

use crate::support::agent::ScriptedAgent;
use crate::support::http_client::{Events, get, post_json, request};
use crate::support::{GATED, Spawned, TestRepo, Workflow, wait_until};

/// A running `engine serve` and its address.
struct Server {
    process: Spawned,
    addr: String,
}

impl Server {
    /// Starts `engine serve workflow.yaml --listen 127.0.0.1:0` in `repo` (with `env`).
    #[track_caller]
    fn start(repo: &TestRepo, env: &[(&str, &str)]) -> Server {
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
    fn listening(mut process: Spawned) -> Server {
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

    /// SIGTERM, then its exit code (0: it stopped as asked).
    #[track_caller]
    fn stop(mut self) -> (i32, String) {
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
    let started = post_json(&addr, "/api/runs", r#"{"task": "Ship it"}"#);
    assert_eq!(started.status, 202, "{}", started.body);
    let run_id = started.json()["run_id"].as_str().unwrap().to_string();
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
    let started = post_json(&addr, "/api/runs", r#"{"task": "Add a greeting"}"#);
    let run_id = started.json()["run_id"].as_str().unwrap().to_string();
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

#[test]
fn the_server_refuses_what_it_must() {
    let repo = TestRepo::new();
    repo.workflow(GATED);
    // A public address without a token, or with a short one: refused before listening.
    repo.run(&["serve", "workflow.yaml", "--listen", "0.0.0.0:0"])
        .exits(2)
        .stderr_has("not a loopback address: set a token");
    repo.engine()
        .args(["serve", "workflow.yaml", "--listen", "0.0.0.0:0"])
        .env("ENGINE_SERVE_TOKEN", "short")
        .run()
        .exits(2)
        .stderr_has("use at least 16");

    let token = "0123456789abcdef0123";
    let server = Server::start(&repo, &[("ENGINE_SERVE_TOKEN", token)]);
    let addr = server.addr.clone();
    let bearer = format!("Bearer {token}");
    assert_eq!(get(&addr, "/api/status").status, 401);
    assert_eq!(get(&addr, "/metrics").status, 401);
    let wrong = request(
        &addr,
        "GET",
        "/api/status",
        &[("Authorization", "Bearer 0123456789abcdef0124")],
        None,
    );
    assert_eq!(wrong.status, 401);
    let ok = request(
        &addr,
        "GET",
        "/api/status",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(!ok.body.contains(token), "the token is echoed");
    // The page shell loads without the token, with a strict content security policy.
    let page = get(&addr, "/");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    // `/?token=` sets the cookie and sends the browser on to `/`.
    let login = get(&addr, &format!("/?token={token}"));
    assert_eq!(login.status, 303);
    let cookie = login.header("set-cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    assert_eq!(
        request(&addr, "GET", "/api/runs", &[("Cookie", &pair)], None).status,
        200
    );
    assert_eq!(get(&addr, "/?token=wrongwrongwrongwrong").status, 401);

    // Another site's page cannot start a run, even with the cookie (DNS rebinding and CSRF).
    let body = r#"{"task": "Ship it"}"#;
    let json = ("Content-Type", "application/json");
    for headers in [
        vec![
            json,
            ("Cookie", pair.as_str()),
            ("Origin", "http://evil.example"),
        ],
        vec![
            json,
            ("Cookie", pair.as_str()),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        vec![
            json,
            ("Authorization", bearer.as_str()),
            ("Host", "evil.example"),
        ],
    ] {
        let refused = request(&addr, "POST", "/api/runs", &headers, Some(body));
        assert_eq!(refused.status, 403, "{headers:?}: {}", refused.body);
    }
    let runs = request(
        &addr,
        "GET",
        "/api/runs",
        &[("Authorization", &bearer)],
        None,
    )
    .json();
    assert_eq!(
        runs,
        serde_json::json!([]),
        "a refused request started a run"
    );
    let same = request(
        &addr,
        "POST",
        "/api/runs",
        &[
            json,
            ("Cookie", pair.as_str()),
            ("Origin", &format!("http://{addr}")),
        ],
        Some(body),
    );
    assert_eq!(same.status, 202, "{}", same.body);
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn no_secret_value_reaches_a_response() {
    let repo = TestRepo::new();
    let secret = "s3cr3t-value-that-must-not-leak";
    repo.workflow(
        r#"
name: secretive
stages:
  check:
    uses: builtin:gate
    secrets: [SERVE_TEST_TOKEN]
    with: { commands: ["sh -c 'echo token is {{ secrets.SERVE_TEST_TOKEN }}'"] }
    permissions: { workspace: read, exec: [sh] }
"#,
    );
    let server = Server::start(&repo, &[("SERVE_TEST_TOKEN", secret)]);
    let addr = server.addr.clone();
    let started = post_json(&addr, "/api/runs", r#"{"task": "Check"}"#);
    let run_id = started.json()["run_id"].as_str().unwrap().to_string();
    let mut events = Events::open(&addr, &format!("/api/runs/{run_id}/events"));
    let mut seen = String::new();
    while let Some(event) = events.next() {
        seen.push_str(&event.data);
        if event.name == "end" {
            break;
        }
    }
    assert!(seen.contains("token is"), "{seen}");
    for path in [
        format!("/api/runs/{run_id}"),
        format!("/api/runs/{run_id}/logs"),
        "/api/runs".to_string(),
        "/api/status".to_string(),
        "/metrics".to_string(),
    ] {
        seen.push_str(&get(&addr, &path).body);
    }
    assert!(!seen.contains(secret), "a secret value leaked:\n{seen}");
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}

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
    let mut process = repo
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
        r#"
name: resumable
stages:
  work:
    uses: builtin:gate
    with: {{ commands: ["sh -c '{wait}'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    {grant}
"#,
        wait = hold.announce_and_wait("work"),
        grant = hold.grant(),
    ));
    let server = Server::start(&repo, &[]);
    let started = post_json(
        &server.addr,
        "/api/runs",
        r#"{"task": "Survive a restart"}"#,
    );
    let run_id = started.json()["run_id"].as_str().unwrap().to_string();
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
    repo.workflow(GATED);
    let mut holder = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Ship it")
        .spawn();
    let run_id = holder.read_run_id();
    holder.wait_for_stderr("reject:");
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
fn the_mcp_tools_are_served_behind_the_same_checks() {
    let repo = TestRepo::new();
    repo.workflow(GATED);
    let token = "0123456789abcdef0123";
    let server = Server::start(&repo, &[("ENGINE_SERVE_TOKEN", token)]);
    let addr = server.addr.clone();
    let bearer = format!("Bearer {token}");
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#;
    let mcp = |extra: &[(&str, &str)]| {
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ];
        headers.extend_from_slice(extra);
        request(&addr, "POST", "/mcp", &headers, Some(initialize))
    };
    assert_eq!(mcp(&[]).status, 401);
    let cross = mcp(&[
        ("Authorization", &bearer),
        ("Origin", "http://evil.example"),
    ]);
    assert_eq!(cross.status, 403, "{}", cross.body);
    let answer = mcp(&[("Authorization", &bearer)]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("serverInfo"), "{}", answer.body);
    assert!(
        answer.header("mcp-session-id").is_some(),
        "{:?}",
        answer.headers
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
        r#"
name: session
tasks: {{ source: tasks-md, path: spec/tasks.md }}
stages:
  work:
    uses: builtin:gate
    with: {{ commands: ["sh -c '{wait}'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    {grant}
"#,
        wait = hold.announce_and_wait("work"),
        grant = hold.grant(),
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
    assert_ne!(nothing.status, 202, "{}", nothing.body);
    let (code, stderr) = server.stop();
    assert_eq!(code, 0, "{stderr}");
}
