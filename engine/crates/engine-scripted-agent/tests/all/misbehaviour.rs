//! Misbehaviour on demand: hangs, crashes, usage limits, auth failures, duplicate results,
//! noise, loops, and Claude's own turn and budget limits; script errors.

use crate::common::{Agent, Live};
use serde_json::Value;

#[test]
fn hang_stops_output_without_a_result() {
    let agent = Agent::new("- - say: started\n  - hang: true\n  - say: never\n");
    let live = Live::start(agent.claude_command("go"));
    let events = live.until("assistant");
    assert_eq!(events[0]["subtype"], "init");
    let rest = live.assert_hangs_then_kill();
    assert!(rest.is_empty(), "nothing after the hang: {rest:?}");
}

#[test]
fn hang_after_result_emits_the_result_first() {
    let agent = Agent::new("- - hang_after_result\n  - say: done\n");
    let live = Live::start(agent.claude_command("go"));
    let events = live.until("result");
    assert_eq!(events.last().unwrap()["result"], "done");
    assert!(live.assert_hangs_then_kill().is_empty());
}

#[test]
fn a_tool_can_hang_mid_call() {
    let agent =
        Agent::new("- - tool: {name: Bash, input: {command: \"sleep 1000\"}, hang: true}\n");
    let live = Live::start(agent.claude_command("go"));
    let events = live.until("assistant");
    assert_eq!(
        events.last().unwrap()["message"]["content"][0]["type"],
        "tool_use"
    );
    assert!(
        live.assert_hangs_then_kill().is_empty(),
        "no tool_result, no result"
    );
}

#[test]
fn crash_exits_with_its_code_and_no_result() {
    let agent = Agent::new(
        "- - say: about to fail\n  - crash: {exit: 3, stderr: \"panic: boom\"}\n  - say: never\n",
    );
    let run = agent.claude("go");
    assert_eq!(run.code, Some(3));
    assert_eq!(run.stderr, "panic: boom\n");
    assert!(run.of_type("result").is_empty());
    assert_eq!(run.of_type("assistant").len(), 1);
}

#[test]
fn usage_limit_claude_shape() {
    let agent = Agent::new(
        "- - usage_limit: {resets_at: 1700000000}\n- - usage_limit: {resets_at: \"in 2s\"}\n",
    );
    let run = agent.claude("go");
    assert_eq!(
        run.code,
        Some(0),
        "Claude has been seen exiting 0 on usage limits"
    );
    let event = run.one("rate_limit_event");
    assert_eq!(event["rate_limit_info"]["status"], "rejected");
    assert_eq!(event["rate_limit_info"]["resetsAt"], 1_700_000_000);
    let assistant = run.one("assistant");
    assert_eq!(assistant["error"], "rate_limit");
    let text = assistant["message"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("You've hit your limit · resets "),
        "{text}"
    );
    let result = run.one("result");
    assert_eq!(result["is_error"], true);
    assert_eq!(result["result"], text);

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let relative = agent.claude("go").one("rate_limit_event")["rate_limit_info"]["resetsAt"]
        .as_u64()
        .unwrap();
    assert!(
        (now + 1..=now + 60).contains(&relative),
        "{relative} vs {now}"
    );
}

#[test]
fn auth_error_claude_shape() {
    let agent = Agent::new("- - auth_error: true\n  - say: never\n");
    let run = agent.claude("go");
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("OAuth token has expired. Please run /login"),
        "{}",
        run.stderr
    );
    assert_eq!(run.one("assistant")["error"], "authentication_failed");
    assert_eq!(run.one("result")["is_error"], true);
}

#[test]
fn context_overflow_claude_shape() {
    let agent = Agent::new("- - context_overflow\n");
    let run = agent.claude("go");
    assert_eq!(run.code, Some(1));
    let result = run.one("result");
    assert_eq!(result["is_error"], true);
    assert!(
        result["result"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("prompt is too long")
    );
}

#[test]
fn double_result_emits_two_different_results() {
    let agent = Agent::new("- - double_result: true\n  - say: first\n");
    let run = agent.claude("go");
    let results = run.of_type("result");
    assert_eq!(results.len(), 2);
    assert_eq!(
        (
            results[0]["result"].as_str(),
            results[0]["is_error"].as_bool()
        ),
        (Some("first"), Some(false))
    );
    assert_eq!(results[1]["is_error"], true);
    assert_eq!(run.code, Some(0), "the first result decides the exit code");
}

#[test]
fn noise_lines_are_not_json() {
    let agent = Agent::new("- - noise: \"Warning: something odd\"\n  - say: ok\n");
    let run = agent.claude("go");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[1], "Warning: something odd");
    assert!(serde_json::from_str::<Value>(lines[1]).is_err());
}

#[test]
fn repeat_loops_on_the_same_failing_call() {
    let agent = Agent::new("- - repeat: {times: 4, steps: [{run: \"exit 1\"}, {say: retrying}]}\n");
    let run = agent.claude("go");
    let results: Vec<Value> = run
        .of_type("user")
        .iter()
        .map(|event| event["message"]["content"][0].clone())
        .collect();
    assert_eq!(results.len(), 4);
    assert!(results.iter().all(|result| result["is_error"] == true));
    assert_eq!(run.one("result")["num_turns"], 8);
}

#[test]
fn max_turns_ends_with_error_max_turns() {
    let agent = Agent::new("- - repeat: {times: 10, steps: [{say: again}]}\n");
    let run = agent.run(
        "claude",
        &[
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--max-turns",
            "3",
            "go",
        ],
    );
    assert_eq!(run.code, Some(1));
    assert_eq!(run.of_type("assistant").len(), 3);
    let result = run.one("result");
    assert_eq!(result["subtype"], "error_max_turns");
    assert_eq!(result["num_turns"], 3);
}

#[test]
fn max_budget_ends_with_error_max_budget_usd() {
    let agent = Agent::new("- - cost: 0.5\n  - say: more\n  - cost: 1.5\n  - say: never\n");
    let run = agent.run(
        "claude",
        &[
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--max-budget-usd",
            "1",
            "go",
        ],
    );
    assert_eq!(run.code, Some(1));
    let result = run.one("result");
    assert_eq!(result["subtype"], "error_max_budget_usd");
    assert_eq!(result["total_cost_usd"], 1.5);
    assert_eq!(run.of_type("assistant").len(), 1);
}

#[test]
fn script_errors_name_the_file_and_line_and_exit_2() {
    let agent = Agent::new("- - say: hi\n  - dance: true\n");
    let run = agent.claude("go");
    assert_eq!(run.code, Some(2));
    let expected = format!("{}:2:", agent.script.display());
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert!(run.stderr.contains("dance"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert!(
        agent.invocations().is_empty(),
        "nothing is played or counted"
    );

    std::fs::write(&agent.script, "- - say: [unclosed\n").unwrap();
    assert_eq!(agent.claude("go").code, Some(2));
    std::fs::remove_file(&agent.script).unwrap();
    let missing = agent.claude("go");
    assert_eq!(missing.code, Some(2));
    assert!(missing.stderr.contains("script.yaml"), "{}", missing.stderr);
    let usage = agent.run_raw(&["-p", "go"]);
    assert_eq!(usage.code, Some(2));
    assert!(usage.stderr.contains("--script"), "{}", usage.stderr);
}

#[test]
fn events_are_flushed_as_they_happen() {
    let agent = Agent::new("- - say: before\n  - sleep: 1h\n");
    let live = Live::start(agent.claude_command("go"));
    let events = live.until("assistant");
    assert_eq!(
        events.last().unwrap()["message"]["content"][0]["text"],
        "before"
    );
    live.assert_hangs_then_kill();
}
