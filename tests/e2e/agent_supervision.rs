//! The host's supervision of agent CLIs, through the real binary with the scripted agent
//! misbehaving the ways real CLIs do: each hard limit fires and the session ends with a clear,
//! recorded outcome within it.

use crate::support::agent::ScriptedAgent;
use crate::support::normalise::Normaliser;
use crate::support::{TestRepo, Workflow, uses_fixture};

/// Runs one stage driving one session of `script` under `limits`; returns the session's
/// summary and the events the stage saw.
#[track_caller]
fn supervise(script: &str, limits: &str, with: &str) -> (serde_json::Value, serde_json::Value) {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(script);
    Workflow::named("supervised")
        .agents(&agent, &format!("limits: {limits}"))
        .stage(
            "work",
            &format!(
                "{}\nwith: {with}\npermissions: {{ workspace: write, agent: true }}",
                uses_fixture("fixture_agent")
            ),
        )
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.succeeds();
    let out = r.report().stage("work").outputs.clone();
    (out["summary"].clone(), out["events"].clone())
}

/// The summary's `detail`, normalised (it tells how long the CLI was silent).
#[track_caller]
fn detail(summary: &serde_json::Value) -> String {
    let detail = summary["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail: {summary}"));
    Normaliser::new().normalise(detail)
}

#[test]
fn a_silent_hang_is_killed_for_inactivity() {
    let (summary, _) = supervise(
        "- - say: thinking\n  - hang: true\n",
        "{ inactivity: 500ms }",
        "{ backend: claude }",
    );
    assert_eq!(summary["outcome"], "killed-inactive", "{summary}");
    insta::assert_snapshot!("inactive_detail", detail(&summary));
}

#[test]
fn a_cli_hanging_after_its_result_is_killed_after_the_grace_period() {
    let (summary, events) = supervise(
        "- - hang_after_result: true\n  - say: done\n  - result: {text: all done}\n",
        "{ post_result_grace: 300ms }",
        "{ backend: claude }",
    );
    assert_eq!(summary["outcome"], "completed", "{summary}");
    assert_eq!(summary["result_text"], "all done");
    assert_eq!(events.as_array().unwrap().last().unwrap(), "result");
}

#[test]
fn a_hung_tool_is_killed_at_its_ceiling_and_long_tools_get_the_longer_one() {
    let script = "- - tool: {name: Read, input: {path: x}, hang: true}\n";
    let (summary, _) = supervise(
        script,
        "{ quick_tool_kill: 400ms, long_tool_kill: 1h }",
        "{ backend: claude }",
    );
    assert_eq!(summary["outcome"], "killed-tool-ceiling", "{summary}");
    // The same hang in Bash, a long-running tool, is judged by the long ceiling (and here
    // ends at the silence backstop instead).
    let script = "- - tool: {name: Bash, input: {command: make}, hang: true}\n";
    let (summary, _) = supervise(
        script,
        "{ quick_tool_kill: 400ms, long_tool_kill: 1h, silence_backstop: 1500ms }",
        "{ backend: claude }",
    );
    assert_eq!(summary["outcome"], "killed-silence", "{summary}");
}

#[test]
fn a_crash_without_a_result_is_reported_with_its_exit_code_and_stderr() {
    let (summary, _) = supervise(
        "- - say: starting\n  - crash: {exit: 3, stderr: \"segfault in the agent\"}\n",
        "{ inactivity: 1m }",
        "{ backend: claude }",
    );
    assert_eq!(summary["outcome"], "crashed", "{summary}");
    // The exit code and the CLI's stderr.
    insta::assert_snapshot!("crash_detail", detail(&summary));
}

#[test]
fn non_json_lines_and_a_second_result_do_not_confuse_the_session() {
    let (summary, events) = supervise(
        "- - noise: \"Warning: something not JSON\"\n  - double_result: true\n  - say: hi\n  - result: {text: first}\n",
        "{ post_result_grace: 300ms }",
        "{ backend: claude }",
    );
    assert_eq!(summary["outcome"], "completed", "{summary}");
    assert_eq!(summary["result_text"], "first", "the first result counts");
    let events: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(events.contains(&"unknown"), "{events:?}");
    assert_eq!(
        events.iter().filter(|e| **e == "result").count(),
        1,
        "{events:?}"
    );
}

#[test]
fn max_turns_ends_the_session() {
    let script =
        "- - repeat: {times: 10, steps: [{say: another turn}]}\n  - result: {text: never}\n";
    let (summary, _) = supervise(
        script,
        "{ inactivity: 1m }",
        "{ backend: claude, max_turns: 3 }",
    );
    assert_eq!(summary["outcome"], "max-turns", "{summary}");
}

#[test]
fn codex_streams_are_supervised_the_same_way() {
    let (summary, _) = supervise(
        "- - say: on it\n  - run: \"echo ok\"\n  - result: {text: codex done}\n",
        "{ inactivity: 1m }",
        "{ backend: codex }",
    );
    assert_eq!(summary["outcome"], "completed", "{summary}");
    assert_eq!(summary["result_text"], "codex done");
}
