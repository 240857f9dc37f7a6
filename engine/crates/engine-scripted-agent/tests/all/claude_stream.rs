//! Claude Code stream-json shapes, field by field, for every step kind.

use crate::common::{Agent, canonical};
use serde_json::{Value, json};

/// The assistant events' content blocks, flattened.
fn blocks(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|event| event["type"] == "assistant")
        .flat_map(|event| event["message"]["content"].as_array().unwrap().clone())
        .collect()
}

/// `tool_result` blocks of user events.
fn tool_results(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|event| event["type"] == "user")
        .flat_map(|event| event["message"]["content"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn init_say_and_the_implicit_result() {
    let agent = Agent::new("- - say: hello\n  - say: \"all done <promise>COMPLETE</promise>\"\n");
    let run = agent.claude("do the thing");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let events = run.events();
    let init = &events[0];
    assert_eq!(
        (init["type"].as_str(), init["subtype"].as_str()),
        (Some("system"), Some("init"))
    );
    let session_id = init["session_id"].as_str().unwrap().to_string();
    assert_eq!(session_id.len(), 36);
    assert_eq!(init["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(init["permissionMode"], "default");
    assert!(init["tools"].as_array().unwrap().contains(&json!("Bash")));
    assert_eq!(
        canonical(init["cwd"].as_str().unwrap().as_ref()),
        canonical(&agent.work)
    );

    let assistants = run.of_type("assistant");
    assert_eq!(assistants.len(), 2);
    for event in &assistants {
        assert_eq!(event["parent_tool_use_id"], Value::Null);
        assert_eq!(event["session_id"], session_id.as_str());
        assert!(event["message"]["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(event["message"]["role"], "assistant");
        assert!(event["message"]["usage"]["input_tokens"].is_u64());
        assert!(event.get("error").is_none());
    }
    assert_ne!(
        assistants[0]["message"]["id"],
        assistants[1]["message"]["id"]
    );
    assert_eq!(blocks(&events)[0], json!({"type": "text", "text": "hello"}));

    let result = run.one("result");
    assert_eq!(events.last().unwrap(), &result);
    assert_eq!(result["subtype"], "success");
    assert_eq!(result["is_error"], false);
    assert_eq!(result["result"], "all done <promise>COMPLETE</promise>");
    assert_eq!(result["session_id"], session_id.as_str());
    assert_eq!(result["num_turns"], 2);
    assert!(result["duration_ms"].is_u64());
    assert_eq!(result["total_cost_usd"], 0.0);
    for field in [
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ] {
        assert!(result["usage"][field].is_u64(), "{field}");
    }
}

#[test]
fn tool_steps_become_tool_use_and_tool_result() {
    let agent = Agent::new(
        r#"
- - tool: {name: Read, input: {file_path: src/lib.rs}, output: "fn main() {}"}
  - tool: {name: Edit, input: {file_path: x}, output: "String not found", error: true}
  - think: considering
"#,
    );
    let run = agent.claude("go");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let events = run.events();
    let uses: Vec<Value> = blocks(&events)
        .into_iter()
        .filter(|block| block["type"] == "tool_use")
        .collect();
    assert_eq!(uses.len(), 2);
    assert_eq!(uses[0]["name"], "Read");
    assert_eq!(uses[0]["input"], json!({"file_path": "src/lib.rs"}));
    assert!(uses[0]["id"].as_str().unwrap().starts_with("toolu_"));
    let results = tool_results(&events);
    assert_eq!(results.len(), 2);
    assert_eq!(
        results[0],
        json!({"type": "tool_result", "tool_use_id": uses[0]["id"], "content": "fn main() {}", "is_error": false})
    );
    assert_eq!(results[1]["tool_use_id"], uses[1]["id"]);
    assert_eq!(results[1]["is_error"], true);
    assert_eq!(results[1]["content"], "String not found");
    let user = &run.of_type("user")[0];
    assert_eq!(user["parent_tool_use_id"], Value::Null);
    assert_eq!(user["message"]["role"], "user");
    assert!(
        blocks(&events)
            .iter()
            .any(|block| block["type"] == "thinking" && block["thinking"] == "considering")
    );
    assert_eq!(run.one("result")["num_turns"], 2);
}

#[test]
fn file_steps_change_files_and_report_write_edit_and_rm() {
    let agent = Agent::new(
        r#"
- - write: {path: notes/a.txt, content: "one\n"}
  - append: {path: notes/a.txt, content: "two\n"}
  - write: {path: b.txt, content: "bee"}
  - delete: b.txt
  - delete: missing.txt
"#,
    );
    let run = agent.claude("edit");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(agent.work_file("notes/a.txt")).unwrap(),
        "one\ntwo\n"
    );
    assert!(!agent.work_file("b.txt").exists());
    let events = run.events();
    let uses: Vec<Value> = blocks(&events)
        .into_iter()
        .filter(|block| block["type"] == "tool_use")
        .collect();
    let names: Vec<&str> = uses
        .iter()
        .map(|block| block["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Write", "Edit", "Write", "Bash", "Bash"]);
    let path = uses[0]["input"]["file_path"].as_str().unwrap();
    assert!(
        path.ends_with("notes/a.txt") && path.starts_with('/'),
        "{path}"
    );
    assert_eq!(uses[0]["input"]["content"], "one\n");
    assert_eq!(uses[1]["input"]["new_string"], "two\n");
    assert!(
        uses[3]["input"]["command"]
            .as_str()
            .unwrap()
            .starts_with("rm ")
    );
    let results = tool_results(&events);
    assert!(results[0]["content"].as_str().unwrap().contains("created"));
    assert_eq!(results[3]["is_error"], false);
    assert_eq!(
        results[4]["is_error"], true,
        "deleting a missing file fails like rm"
    );
}

#[test]
fn run_steps_really_run_and_report_output_and_exit_code() {
    let agent =
        Agent::new("- - run: echo made > made.txt; echo out; echo err >&2\n  - run: exit 3\n");
    let run = agent.claude("go");
    assert_eq!(
        std::fs::read_to_string(agent.work_file("made.txt")).unwrap(),
        "made\n"
    );
    let events = run.events();
    let uses: Vec<Value> = blocks(&events)
        .into_iter()
        .filter(|block| block["type"] == "tool_use")
        .collect();
    assert_eq!(uses[0]["name"], "Bash");
    assert_eq!(
        uses[0]["input"]["command"],
        "echo made > made.txt; echo out; echo err >&2"
    );
    let results = tool_results(&events);
    assert_eq!(results[0]["content"], "out\nerr\n");
    assert_eq!(results[0]["is_error"], false);
    assert_eq!(results[1]["is_error"], true);
    assert!(
        results[1]["content"]
            .as_str()
            .unwrap()
            .starts_with("Exit code 3")
    );
}

#[test]
fn cost_and_tokens_reach_messages_and_the_result() {
    let agent = Agent::new(
        r"
- - tokens: {input: 1000, output: 100, cached: 10}
  - say: first
  - tokens: {input: 1500, output: 150, cached: 10}
  - cost: 0.25
  - say: second
  - cost: 0.5
",
    );
    let run = agent.claude("go");
    let assistants = run.of_type("assistant");
    assert_eq!(assistants[0]["message"]["usage"]["input_tokens"], 1000);
    assert_eq!(
        assistants[0]["message"]["usage"]["cache_read_input_tokens"],
        10
    );
    assert_eq!(
        assistants[1]["message"]["usage"]["input_tokens"], 500,
        "each message carries its own tokens"
    );
    assert_eq!(assistants[1]["message"]["usage"]["output_tokens"], 50);
    let result = run.one("result");
    assert_eq!(result["total_cost_usd"], 0.5);
    assert_eq!(result["usage"]["input_tokens"], 1500);
    assert_eq!(result["usage"]["output_tokens"], 150);
}

#[test]
fn explicit_results_and_their_exit_codes() {
    let agent = Agent::new(
        r#"
- - say: working
  - result: {text: "TASK_COMPLETE"}
- - result: {text: "it broke", is_error: true, subtype: error_during_execution}
- - result: {text: "odd", is_error: true, exit: 0}
"#,
    );
    let first = agent.claude("a");
    assert_eq!(first.code, Some(0));
    assert_eq!(
        blocks(&first.events()).last().unwrap()["text"],
        "TASK_COMPLETE",
        "the final text is said too"
    );
    assert_eq!(first.one("result")["result"], "TASK_COMPLETE");
    let second = agent.claude("b");
    assert_eq!(second.code, Some(1));
    let result = second.one("result");
    assert_eq!(
        (result["subtype"].as_str(), result["is_error"].as_bool()),
        (Some("error_during_execution"), Some(true))
    );
    assert_eq!(agent.claude("c").code, Some(0));
}

#[test]
fn sleep_noise_stderr_and_api_retry() {
    let agent = Agent::new(
        "- - sleep: 10ms\n  - noise: 'not json {'\n  - stderr: a warning\n  - api_retry: {attempt: 2, delay_ms: 500}\n",
    );
    let run = agent.claude("go");
    assert_eq!(run.code, Some(0));
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines.contains(&"not json {"));
    assert_eq!(run.stderr, "a warning\n");
    let retry: Value = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|event| event["subtype"] == "api_retry")
        .unwrap();
    assert_eq!(retry["type"], "system");
    assert_eq!(retry["attempt"], 2);
    assert_eq!(retry["retry_delay_ms"], 500);
    assert_eq!(retry["error_status"], 529);
}

#[test]
fn json_and_text_output_formats_print_only_the_result() {
    let agent = Agent::new("- - say: hi\n  - say: bye\n");
    let json_run = agent.run("claude", &["-p", "--output-format", "json", "x"]);
    let events = json_run.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "result");
    assert_eq!(events[0]["result"], "bye");
    let text_run = agent.run("claude", &["-p", "x"]);
    assert_eq!(text_run.stdout, "bye\n");
}
