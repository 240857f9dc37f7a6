//! The tools called directly on a temporary repository: what they list, what they answer, and
//! that every failure is a tool error with the CLI's message and exit code.

use std::path::Path;
use std::sync::Arc;

use engine_core::{RunState, Task};
use engine_store::{StateDir, Store};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use serde_json::{Value, json};

use super::params::{LogsParams, ReadyParams, RejectParams, RunParams, RunsParams, TaskParams};
use super::tools::{find_task, ready_tasks, tailed};
use super::*;
use crate::board::Access;
use crate::project::Project;

const WORKFLOW: &str = "name: wf\nstages:\n  only:\n    uses: builtin:gate\n    with: { commands: [\"sh -c true\"] }\n    permissions: { workspace: read, exec: [sh] }\n";

/// A git repository with `workflow.yaml`, one stored run (`01RUN...`), and a server on it.
struct Fixture {
    _dir: tempfile::TempDir,
    server: EngineMcp,
}

const RUN_ID: &str = "01JRUNAAAAAAAAAAAAAAAAAAAA";

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(git.success());
    let workflow_file = root.join("workflow.yaml");
    std::fs::write(&workflow_file, WORKFLOW).unwrap();
    let state = root.join(".engine");
    store_a_run(&state, &workflow_file);
    let project = Project {
        repo: engine_git::Repo::discover(&root).unwrap(),
        state_dir: state.clone(),
    };
    let board = crate::board::Board {
        access: Access::Shared(state),
        workflow_file,
        repo_root: root,
    };
    let console = Arc::new(Console::Terminal(Arc::new(project)));
    let server = EngineMcp::new(board, console, crate::project::host().unwrap());
    Fixture { _dir: dir, server }
}

/// Stores one run of the workflow for task `T-1`; the state directory is free afterwards.
fn store_a_run(state: &Path, workflow_file: &Path) {
    let loaded = engine_workflow::load_file(workflow_file).unwrap();
    let state_dir = StateDir::open_locked(state, "test").unwrap();
    let meta = engine_store::RunMeta {
        workflow_file: workflow_file.to_path_buf(),
        ..crate::test_fixtures::run_meta(RUN_ID, "engine/t-1")
    };
    let task = Task {
        id: "T-1".into(),
        title: "First".into(),
        ..Task::default()
    };
    let fresh = RunState::new(RUN_ID, task, &loaded.workflow);
    state_dir.store().create_run(&meta, &fresh).unwrap();
}

/// The JSON document of a result's text content.
fn text_json(result: &CallToolResult) -> Value {
    let text = result.content[0].as_text().unwrap().text.clone();
    serde_json::from_str(&text).unwrap()
}

/// `{"error", "code"}` of a tool error.
#[track_caller]
fn tool_error(result: &CallToolResult) -> Value {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    let error = text_json(result);
    assert_eq!(result.structured_content.as_ref(), Some(&error));
    error
}

#[test]
fn the_tools_are_listed_with_descriptions_schemas_and_hints() {
    let f = fixture();
    let names = f.server.tool_names();
    let reads = [
        "status",
        "tasks",
        "next_ready_tasks",
        "task",
        "runs",
        "run",
        "logs",
        "costs",
        "diff",
    ];
    let writes = [
        "start_run",
        "run_all_ready",
        "cancel_run",
        "approve",
        "reject",
        "retry",
        "pause",
        "unpause",
    ];
    for name in reads.into_iter().chain(writes) {
        assert!(names.iter().any(|n| n == name), "no tool {name}: {names:?}");
        let tool = f.server.get_tool(name).unwrap();
        assert!(tool.description.as_deref().is_some_and(|d| d.len() > 20));
        assert_eq!(tool.input_schema.get("type"), Some(&json!("object")));
        let hints = tool.annotations.unwrap();
        assert_eq!(hints.read_only_hint, Some(reads.contains(&name)), "{name}");
        let destroys = ["cancel_run", "reject"].contains(&name);
        assert_eq!(
            hints.destructive_hint.unwrap_or(false),
            destroys,
            "{name}: {hints:?}"
        );
    }
    let reject = f.server.get_tool("reject").unwrap();
    let required = reject.input_schema.get("required").unwrap();
    assert!(
        required.as_array().unwrap().contains(&json!("reason")),
        "{required}"
    );
    assert!(required.as_array().unwrap().contains(&json!("run")));
    let runs = f.server.get_tool("runs").unwrap();
    assert!(
        runs.input_schema["properties"]["status"]["description"]
            .as_str()
            .unwrap()
            .contains("needs_attention")
    );
}

#[tokio::test]
async fn reads_answer_the_api_documents() {
    let f = fixture();
    let runs = f.server.runs(Parameters(RunsParams::default())).await;
    assert_eq!(runs.is_error, Some(false), "{runs:?}");
    let rows = text_json(&runs);
    assert_eq!(rows[0]["run_id"], RUN_ID, "{rows}");
    // An array is text only; an object is also structured content.
    assert!(runs.structured_content.is_none());

    let run = f
        .server
        .run(Parameters(RunParams {
            run: RUN_ID[..8].to_string(),
        }))
        .await;
    assert_eq!(text_json(&run)["meta"]["run_id"], RUN_ID);
    assert_eq!(run.structured_content, Some(text_json(&run)));

    let status = f.server.status().await;
    assert_eq!(text_json(&status)["workflow"]["name"], "wf");
    let logs = f
        .server
        .logs(Parameters(LogsParams {
            run: RUN_ID.into(),
            stage: None,
            attempt: None,
            tail: None,
        }))
        .await;
    assert_eq!(text_json(&logs)["lines"], json!([]));
    // No task source: an empty board, and no such task.
    let ready = f
        .server
        .next_ready_tasks(Parameters(ReadyParams::default()))
        .await;
    assert_eq!(text_json(&ready)["tasks"], json!([]));
    let task = f
        .server
        .task(Parameters(TaskParams { id: "T-9".into() }))
        .await;
    let error = tool_error(&task);
    assert_eq!(error["code"], 2);
    assert!(error["error"].as_str().unwrap().contains("no task \"T-9\""));
}

#[tokio::test]
async fn every_failure_is_a_tool_error_with_the_cli_message_and_exit_code() {
    let f = fixture();
    let unknown = f
        .server
        .run(Parameters(RunParams { run: "nope".into() }))
        .await;
    let error = tool_error(&unknown);
    assert_eq!(error["code"], 2);
    assert!(error["error"].as_str().unwrap().contains("nope"), "{error}");

    let bad = f
        .server
        .runs(Parameters(RunsParams {
            status: Some("bogus".into()),
            ..RunsParams::default()
        }))
        .await;
    let error = tool_error(&bad);
    assert_eq!(error["code"], 2);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("no such status (valid: pending"),
        "{error}"
    );

    let unreasoned = f
        .server
        .reject(Parameters(RejectParams {
            run: RUN_ID.into(),
            reason: " ".into(),
        }))
        .await;
    let error = tool_error(&unreasoned);
    assert_eq!(error["code"], 2);
    assert!(error["error"].as_str().unwrap().contains("needs a reason"));
    // The rejection was refused before it reached the run.
    let (record, _) = f.server.board.record(RUN_ID).unwrap();
    assert!(record.state.finished_at_ms.is_none());

    let costs = f
        .server
        .costs(Parameters(super::params::CostsParams {
            by: Some("colour".into()),
            since: None,
        }))
        .await;
    assert_eq!(tool_error(&costs)["code"], 2);
}

#[test]
fn a_command_answers_its_run_or_its_failure() {
    let going = Performed {
        run_id: Some("01R".into()),
        output: vec!["run 01R".into()],
        exit: None,
        error: None,
    };
    let answer = performed(&going);
    assert_eq!(answer.is_error, Some(false));
    assert_eq!(text_json(&answer)["run_id"], "01R");

    let failed = Performed {
        run_id: None,
        output: vec![],
        exit: Some(2),
        error: Some(("error: no run \"x\"".into(), 2)),
    };
    let error = tool_error(&performed(&failed));
    assert_eq!(error["error"], "no run \"x\"");
    assert_eq!(error["code"], 2);

    let nothing = Performed {
        run_id: None,
        output: vec!["no task is ready".into(), String::new()],
        exit: Some(crate::exit::NO_TASK),
        error: None,
    };
    let error = tool_error(&performed(&nothing));
    assert_eq!(error["error"], "no task is ready");
    assert_eq!(error["code"], crate::exit::NO_TASK);
}

#[test]
fn the_ready_column_the_task_and_the_tail_are_picked_from_the_documents() {
    let board = json!({"source": "tasks.md", "tasks": [
        {"id": "A", "column": "done"},
        {"id": "B", "column": "ready"},
        {"id": "C", "column": "in_progress"},
        {"id": "D", "column": "ready"},
        {"id": "E", "column": "ready"},
    ]});
    let ready = ready_tasks(&board, 2);
    assert_eq!(ready["ready"], 3);
    let ids: Vec<&str> = ready["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["B", "D"]);
    assert_eq!(find_task(&board, "C").unwrap()["column"], "in_progress");
    assert!(find_task(&board, "Z").is_none());

    let logs = json!({"run_id": "R", "lines": [1, 2, 3, 4]});
    let cut = tailed(logs.clone(), 3);
    assert_eq!(cut["lines"], json!([2, 3, 4]));
    assert_eq!(cut["left_out"], 1);
    assert_eq!(cut["total_lines"], 4);
    assert_eq!(tailed(logs.clone(), 0)["lines"], json!([1, 2, 3, 4]));
    assert_eq!(tailed(logs, 10)["left_out"], 0);
}

/// Sends one HTTP/1.1 request to `addr` (closing the connection after it); returns the
/// response's head and body.
async fn http_post(addr: std::net::SocketAddr, headers: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nConnection: close\r\n{headers}\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn the_http_service_nests_in_axum_and_serves_the_same_tools() {
    let f = fixture();
    let service = http_service_for(f.server.clone());
    let cancel = service.config.cancellation_token.clone();
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let init = http_post(
        addr,
        "",
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
    )
    .await;
    assert!(init.starts_with("HTTP/1.1 200"), "{init}");
    assert!(init.contains(r#""name":"engine""#), "{init}");
    let session = init
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("mcp-session-id")
                .then(|| value.trim().to_string())
        })
        .unwrap();
    let header = format!("Mcp-Session-Id: {session}\r\nMcp-Protocol-Version: 2025-06-18\r\n");
    let initialized = http_post(
        addr,
        &header,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    )
    .await;
    assert!(initialized.starts_with("HTTP/1.1 202"), "{initialized}");
    let call = http_post(
        addr,
        &header,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run","arguments":{"run":"nope"}}}"#,
    )
    .await;
    assert!(call.contains(r#""isError":true"#), "{call}");
    assert!(call.contains(r#"\"code\":2"#), "{call}");
    cancel.cancel();
    server.abort();
}
