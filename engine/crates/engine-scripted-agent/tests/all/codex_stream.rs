//! Codex `exec --json` shapes.

use crate::common::Agent;
use serde_json::{Value, json};

fn items(events: &[Value], phase: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|event| event["type"] == phase)
        .map(|event| event["item"].clone())
        .collect()
}

#[test]
fn thread_turn_messages_and_usage() {
    let agent = Agent::new(
        "- - think: planning\n  - say: hello\n  - tokens: {input: 900, output: 40, cached: 300}\n",
    );
    let run = agent.codex("do it");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let events = run.events();
    assert_eq!(events[0]["type"], "thread.started");
    assert_eq!(events[0]["thread_id"].as_str().unwrap().len(), 36);
    assert_eq!(events[1], json!({"type": "turn.started"}));
    let completed = items(&events, "item.completed");
    assert_eq!(completed[0]["type"], "reasoning");
    assert_eq!(completed[1]["type"], "agent_message");
    assert_eq!(completed[1]["text"], "hello");
    assert_ne!(completed[0]["id"], completed[1]["id"]);
    assert_eq!(
        events.last().unwrap(),
        &json!({"type": "turn.completed", "usage": {"input_tokens": 900, "cached_input_tokens": 300, "output_tokens": 40}})
    );
}

#[test]
fn commands_and_file_changes_are_items() {
    let agent = Agent::new(
        r#"
- - run: echo hi; exit 2
  - write: {path: a.txt, content: "x"}
  - write: {path: a.txt, content: "y"}
  - append: {path: a.txt, content: "z"}
  - delete: a.txt
  - tool: {name: Read, input: {file_path: a.txt}, output: data}
  - tool: {name: Bash, input: {command: "cargo test"}, output: failed, error: true}
"#,
    );
    let run = agent.codex("go");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!agent.work_file("a.txt").exists());
    let events = run.events();
    let started = items(&events, "item.started");
    let completed = items(&events, "item.completed");
    assert_eq!(started[0]["type"], "command_execution");
    assert_eq!(started[0]["status"], "in_progress");
    assert_eq!(started[0]["exit_code"], Value::Null);
    assert_eq!(started[0]["command"], "echo hi; exit 2");
    let command = &completed[0];
    assert_eq!(command["id"], started[0]["id"]);
    assert_eq!(command["aggregated_output"], "hi\n");
    assert_eq!(command["exit_code"], 2);
    assert_eq!(command["status"], "failed");
    let kinds: Vec<&Value> = completed[1..5]
        .iter()
        .map(|item| &item["changes"][0]["kind"])
        .collect();
    assert_eq!(
        kinds,
        [
            &json!("add"),
            &json!("update"),
            &json!("update"),
            &json!("delete")
        ]
    );
    for item in &completed[1..5] {
        assert_eq!(item["type"], "file_change");
        assert_eq!(item["status"], "completed");
        assert!(
            item["changes"][0]["path"]
                .as_str()
                .unwrap()
                .ends_with("/a.txt")
        );
    }
    assert_eq!(completed[5]["type"], "mcp_tool_call");
    assert_eq!(completed[5]["tool"], "Read");
    assert_eq!(completed[5]["status"], "completed");
    assert_eq!(completed[6]["type"], "command_execution");
    assert_eq!(completed[6]["command"], "cargo test");
    assert_eq!(completed[6]["status"], "failed");
    assert_eq!(completed[6]["exit_code"], 1);
}

#[test]
fn usage_limit_auth_and_context_overflow_fail_the_turn() {
    let agent = Agent::new(
        "- - usage_limit: {resets_at: \"in 2h\"}\n- - auth_error: true\n- - context_overflow: true\n- - result: {text: nope, is_error: true}\n",
    );
    let limit = agent.codex("a");
    assert_eq!(limit.code, Some(1));
    let error = limit.one("error");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("You've hit your usage limit")
    );
    assert_eq!(
        limit.one("turn.failed")["error"]["message"],
        error["message"]
    );
    assert!(limit.of_type("turn.completed").is_empty());

    let auth = agent.codex("b");
    assert_eq!(auth.code, Some(1));
    assert!(
        auth.one("error")["message"]
            .as_str()
            .unwrap()
            .contains("401")
    );
    auth.one("turn.failed");

    let overflow = agent.codex("c");
    assert!(
        overflow.one("turn.failed")["error"]["message"]
            .as_str()
            .unwrap()
            .contains("context window")
    );

    let failed = agent.codex("d");
    assert_eq!(failed.code, Some(1));
    assert_eq!(failed.one("turn.failed")["error"]["message"], "nope");
}

#[test]
fn resume_keeps_the_thread_and_o_writes_the_last_message() {
    let agent = Agent::new("- - say: first\n  - say: last words\n");
    let run = agent.run(
        "codex",
        &[
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-o",
            "last.txt",
            "resume",
            "thread-9",
            "continue",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.one("thread.started")["thread_id"], "thread-9");
    assert_eq!(
        std::fs::read_to_string(agent.work_file("last.txt")).unwrap(),
        "last words"
    );
    let invocation = &agent.invocations()[0];
    assert_eq!(invocation["resume"], "thread-9");
    assert_eq!(invocation["prompt"], "continue");
}

#[test]
fn c_sets_the_working_directory_and_without_json_the_output_is_text() {
    let agent = Agent::new("- - write: {path: f.txt, content: hi}\n  - say: done\n");
    std::fs::create_dir(agent.work_file("sub")).unwrap();
    let run = agent.run(
        "codex",
        &["exec", "--skip-git-repo-check", "-C", "sub", "go"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "done\n");
    assert!(agent.work_file("sub/f.txt").exists());
}

#[test]
fn double_result_repeats_turn_completed() {
    let agent = Agent::new("- - double_result\n  - say: hi\n");
    let run = agent.codex("x");
    assert_eq!(run.of_type("turn.completed").len(), 2);
}
