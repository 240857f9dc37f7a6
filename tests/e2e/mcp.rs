//! End-to-end: `engine mcp`, the MCP server on stdin/stdout, spoken to line by line as an MCP
//! client would (JSON-RPC): it initializes, lists its tools, answers reads with the HTTP API's
//! documents, turns every failure into a tool error naming the CLI's message and exit code, runs
//! the CLI's own commands (a run started through it waits for its approval and is approved
//! through it), prints nothing on stdout but protocol messages, and exits 0 when the client
//! closes stdin.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::support::process::PATIENCE;
use crate::support::{GATED, QUICK, TestRepo, Workflow, wait_until};

/// The tools a client finds (helper tests and the docs name them).
const TOOLS: &[&str] = &[
    "status",
    "tasks",
    "next_ready_tasks",
    "task",
    "runs",
    "run",
    "logs",
    "costs",
    "diff",
    "start_run",
    "run_all_ready",
    "cancel_run",
    "approve",
    "reject",
    "retry",
    "pause",
    "unpause",
];

/// A running `engine mcp` and the lines it printed on stdout.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    next_id: u64,
}

impl Client {
    /// Starts `engine mcp workflow.yaml` in `repo` and initializes the session.
    #[track_caller]
    fn start(repo: &TestRepo) -> Client {
        let mut command = repo.engine().args(["mcp", "workflow.yaml"]);
        let child = command
            .command_mut()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("engine mcp starts");
        let mut client = Client::attach(child);
        let init = client.request(
            "initialize",
            &json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "e2e", "version": "1"}
            }),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "engine", "{init}");
        assert!(
            init["result"]["capabilities"]["tools"].is_object(),
            "{init}"
        );
        client.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        client
    }

    fn attach(mut child: Child) -> Client {
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            lines,
            stdout: Vec::new(),
            next_id: 1,
        }
    }

    #[track_caller]
    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{message}").expect("engine mcp reads its stdin");
        stdin.flush().unwrap();
    }

    /// Sends request `method` and waits for its response.
    #[track_caller]
    fn request(&mut self, method: &str, params: &Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "no answer to {method} ({e}); stdout so far:\n{}",
                    self.stdout.join("\n")
                )
            });
            self.stdout.push(line.clone());
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON-RPC line on stdout ({e}): {line:?}"));
            if message["id"] == id {
                return message;
            }
        }
    }

    /// Calls tool `name`; returns its result (`content`, `structuredContent`, `isError`).
    #[track_caller]
    fn call(&mut self, name: &str, arguments: &Value) -> Value {
        let answer = self.request("tools/call", &json!({"name": name, "arguments": arguments}));
        assert!(answer.get("error").is_none(), "a protocol error: {answer}");
        answer["result"].clone()
    }

    /// Calls tool `name` and expects a successful answer; returns its JSON document.
    #[track_caller]
    fn ok(&mut self, name: &str, arguments: &Value) -> Value {
        let result = self.call(name, arguments);
        assert_eq!(result["isError"], false, "{name}: {result}");
        document(&result)
    }

    /// Calls tool `name` and expects a tool error; returns `{"error", "code", ...}`.
    #[track_caller]
    fn fails(&mut self, name: &str, arguments: &Value) -> Value {
        let result = self.call(name, arguments);
        assert_eq!(result["isError"], true, "{name}: {result}");
        let error = document(&result);
        assert_eq!(error, result["structuredContent"], "{result}");
        error
    }

    /// Closes stdin; returns the exit code, every stdout line and stderr.
    #[track_caller]
    fn close(mut self) -> (i32, Vec<String>, String) {
        drop(self.stdin.take());
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            err.read_to_string(&mut stderr).unwrap();
        }
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            self.stdout.push(line);
        }
        (status.code().unwrap_or(-1), self.stdout.clone(), stderr)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON document in a tool result's text content.
#[track_caller]
fn document(result: &Value) -> Value {
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{result}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Every line is a JSON-RPC 2.0 message.
#[track_caller]
fn all_protocol(lines: &[String]) {
    assert!(!lines.is_empty());
    for line in lines {
        let message: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout has a line that is not JSON ({e}): {line:?}"));
        assert_eq!(message["jsonrpc"], "2.0", "{line}");
    }
}

#[test]
fn the_tools_read_the_runs_and_a_failure_is_a_tool_error_with_the_cli_exit_code() {
    let repo = TestRepo::new();
    repo.workflow(QUICK);
    let run = repo.run(&["run", "workflow.yaml", "--task", "Say hi"]);
    run.succeeds();
    let run_id = run.run_id();
    let mut client = Client::start(&repo);

    let listed = client.request("tools/list", &json!({}));
    let tools = listed["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for tool in TOOLS {
        assert!(names.contains(tool), "no tool {tool}: {names:?}");
    }
    let runs_tool = tools.iter().find(|t| t["name"] == "runs").unwrap();
    assert_eq!(runs_tool["annotations"]["readOnlyHint"], true);
    assert!(runs_tool["inputSchema"]["properties"]["status"].is_object());

    let status = client.ok("status", &json!({}));
    assert_eq!(status["runs"]["succeeded"], 1, "{status}");
    assert_eq!(status["workflow"]["name"], "quick");

    let runs = client.ok("runs", &json!({}));
    assert_eq!(runs[0]["run_id"], run_id.as_str(), "{runs}");
    assert_eq!(runs[0]["status"], "succeeded");
    let none = client.ok("runs", &json!({"status": "failed"}));
    assert_eq!(none, json!([]));

    let detail = client.ok("run", &json!({"run": &run_id[..12]}));
    assert_eq!(detail["meta"]["run_id"], run_id.as_str());
    assert_eq!(detail["stages"][0]["id"], "only");
    let logs = client.ok("logs", &json!({"run": run_id, "tail": 1}));
    assert_eq!(logs["lines"].as_array().unwrap().len(), 1, "{logs}");

    let diff = client.ok("diff", &json!({"run": run_id}));
    assert_eq!(diff["run_id"], run_id.as_str(), "{diff}");
    assert_eq!(diff["diff"], "", "the gate changed nothing: {diff}");
    let unknown = client.fails("run", &json!({"run": "nope"}));
    assert_eq!(unknown["code"], 2, "{unknown}");
    assert!(
        unknown["error"].as_str().unwrap().contains("nope"),
        "{unknown}"
    );
    let bad = client.fails("runs", &json!({"status": "bogus"}));
    assert_eq!(bad["code"], 2);
    assert!(
        bad["error"].as_str().unwrap().contains("no such status"),
        "{bad}"
    );
    let unreasoned = client.fails("reject", &json!({"run": run_id}));
    assert_eq!(unreasoned["code"], 2);
    assert!(
        unreasoned["error"]
            .as_str()
            .unwrap()
            .contains("needs a reason"),
        "{unreasoned}"
    );
    // A run that waits for no approval cannot be approved: the CLI's refusal, as a tool error.
    let refused = client.fails("approve", &json!({"run": run_id}));
    assert_eq!(refused["code"], 2, "{refused}");
    let ready = client.ok("next_ready_tasks", &json!({}));
    assert_eq!(ready["tasks"], json!([]), "{ready}");

    let (code, stdout, stderr) = client.close();
    assert_eq!(code, 0, "stderr:\n{stderr}");
    all_protocol(&stdout);
}

#[test]
fn a_run_started_through_mcp_waits_for_approval_and_is_approved_through_mcp() {
    let repo = TestRepo::new();
    repo.workflow(GATED);
    let mut client = Client::start(&repo);

    let started = client.ok("start_run", &json!({"task": "Build and ship"}));
    let run_id = started["run_id"].as_str().unwrap().to_string();
    assert_eq!(run_id.len(), 26, "{started}");
    assert!(started["exit"].is_null(), "it goes on: {started}");

    let mut waiting = Value::Null;
    wait_until("the run to wait for its approval", || {
        waiting = client.ok("run", &json!({"run": run_id}));
        waiting["stages"][1]["awaiting_approval"] == true
    });
    // The build's output went to the run's log, not to the protocol stream.
    let logs = client.ok("logs", &json!({"run": run_id, "stage": "build"}));
    assert!(logs.to_string().contains("build"), "{logs}");

    let unreasoned = client.fails("reject", &json!({"run": run_id, "reason": "  "}));
    assert_eq!(unreasoned["code"], 2, "{unreasoned}");
    let approved = client.ok("approve", &json!({"run": run_id, "reason": "looks good"}));
    assert_eq!(approved["exit"], 0, "{approved}");

    wait_until("the run to succeed", || {
        client.ok("run", &json!({"run": run_id}))["status"] == "succeeded"
    });
    let (code, stdout, stderr) = client.close();
    assert_eq!(code, 0, "stderr:\n{stderr}");
    all_protocol(&stdout);
    assert_eq!(repo.runs()[0]["status"], "succeeded");
}

#[test]
fn a_client_that_closes_at_once_is_not_an_error_and_a_missing_workflow_is() {
    let repo = TestRepo::new();
    repo.workflow(QUICK);
    let out = repo.engine().args(["mcp", "workflow.yaml"]).run();
    out.exits(0);
    assert_eq!(out.stdout(), "");
    repo.engine().args(["mcp", "nope.yaml"]).run().exits(2);
}

#[test]
fn a_run_going_on_when_the_client_leaves_stops_at_its_last_transition_and_resumes() {
    let repo = TestRepo::new();
    repo.workflow(GATED);
    let mut client = Client::start(&repo);
    let started = client.ok("start_run", &json!({"task": "Build and ship"}));
    let run_id = started["run_id"].as_str().unwrap().to_string();
    wait_until("the run to wait for its approval", || {
        client.ok("run", &json!({"run": run_id}))["stages"][1]["awaiting_approval"] == true
    });
    let (code, stdout, stderr) = client.close();
    assert_eq!(code, 0, "stderr:\n{stderr}");
    all_protocol(&stdout);

    assert_eq!(repo.runs()[0]["status"], "interrupted", "{:?}", repo.runs());
    repo.run(&["approve", &run_id]).succeeds();
    repo.run(&["resume", &run_id]).succeeds();
    assert_eq!(repo.runs()[0]["status"], "succeeded");
}

#[test]
fn the_task_board_tools_show_what_runs_next_and_run_all_ready_runs_it() {
    let repo = TestRepo::new();
    repo.write(
        "spec/tasks.md",
        "# Tasks\n\n## Milestone 1: All\n\n### TASK-1: First\nP1 | TODO\n\n\
         ### TASK-2: After the first\nP1 | TODO\n**Depends on:** [TASK-1]\n\n\
         ### TASK-3: Urgent\nP0 | TODO\n",
    )
    .commit_all("tasks");
    Workflow::named("queue")
        .top("tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }")
        .stage(
            "work",
            "uses: builtin:gate\nwith: { commands: [\"sh -c 'echo {{ task.id }}'\"] }\n\
             permissions: { workspace: read, exec: [sh] }",
        )
        .write(&repo);
    let mut client = Client::start(&repo);

    let ready = client.ok("next_ready_tasks", &json!({"limit": 5}));
    let ids: Vec<&str> = ready["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["TASK-3", "TASK-1"], "{ready}");
    let first = client.ok("next_ready_tasks", &json!({"limit": 1}));
    assert_eq!(first["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(first["ready"], 2);
    let blocked = client.ok("task", &json!({"id": "TASK-2"}));
    assert_eq!(blocked["task"]["column"], "blocked", "{blocked}");
    assert_eq!(blocked["runs"], json!([]));
    let board = client.ok("tasks", &json!({}));
    assert_eq!(board["tasks"].as_array().unwrap().len(), 3, "{board}");

    let session = client.call("run_all_ready", &json!({}));
    assert_eq!(session["isError"], false, "{session}");
    // It answers once its first run is recorded (or, were it that quick, at its end).
    let answered = document(&session);
    assert!(
        answered["run_id"].is_string() || answered["exit"] == 0,
        "{answered}"
    );
    wait_until("every task to have run", || {
        let runs = client.ok("runs", &json!({"status": "succeeded"}));
        runs.as_array().unwrap().len() == 3
    });
    let done = client.ok("task", &json!({"id": "TASK-2"}));
    assert_eq!(done["runs"][0]["status"], "succeeded", "{done}");
    assert_eq!(done["runs"][0]["task_id"], "TASK-2");
    // Nothing is ready any more: the session ends at once, and says so.
    let idle = client.ok("run_all_ready", &json!({}));
    assert_eq!(idle["exit"], 0, "{idle}");
    assert!(!idle["output"].as_array().unwrap().is_empty(), "{idle}");
    let (code, stdout, stderr) = client.close();
    assert_eq!(code, 0, "stderr:\n{stderr}");
    all_protocol(&stdout);
}

#[test]
fn sigterm_ends_the_server_with_exit_0() {
    let repo = TestRepo::new();
    repo.workflow(QUICK);
    let mut client = Client::start(&repo);
    client.ok("status", &json!({}));
    crate::support::process::signal(client.child.id(), libc::SIGTERM);
    let status = client.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}
