//! Every backend's parser on its recorded-style fixtures (`tests/fixtures/<backend>/`): the exact
//! sequence of normalized events for each. A fixture is `NAME.jsonl` or `NAME.txt` (stdout) and
//! optionally `NAME.stderr`; stdout lines are fed first, then stderr lines, then the exit.

use crate::common::{costing, tokens};

use std::collections::BTreeMap;
use std::path::PathBuf;

use engine_agent::backends::CustomFormat;
use engine_agent::{
    AgentEvent, BackendSettings, CustomBackendConfig, StreamParser, Usage, backend,
};
use serde_json::{Value, json};

const CLAUDE_SESSION: &str = "5f0c6a1e-3b7d-4c2a-9e51-7d2f8a4b6c10";
const CODEX_THREAD: &str = "0199a213-81c0-7800-8aa1-bbab2a035a53";
const GEMINI_SESSION: &str = "8d1f2e3a-4b5c-4d6e-9f70-a1b2c3d4e5f6";
const OPENCODE_SESSION: &str = "ses_6a1f0c2b9ffeDk3Lm4Nn5Pp6Qq";
const CURSOR_SESSION: &str = "c6b62c6f-7ead-4fd6-9922-e952131177ff";

fn fixture_dir(backend: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(backend)
}

fn stdout_of(backend: &str, name: &str) -> String {
    let dir = fixture_dir(backend);
    ["jsonl", "txt"]
        .iter()
        .find_map(|ext| std::fs::read_to_string(dir.join(format!("{name}.{ext}"))).ok())
        .unwrap_or_else(|| panic!("no stdout fixture {backend}/{name}"))
}

fn stderr_of(backend: &str, name: &str) -> String {
    std::fs::read_to_string(fixture_dir(backend).join(format!("{name}.stderr"))).unwrap_or_default()
}

/// Stdout line `n` (0-based) of a fixture.
fn line(backend: &str, name: &str, n: usize) -> String {
    stdout_of(backend, name).lines().nth(n).unwrap().to_owned()
}

/// Stdout line `n` of a fixture as JSON.
fn json_line(backend: &str, name: &str, n: usize) -> Value {
    serde_json::from_str(&line(backend, name, n)).unwrap()
}

fn feed(
    mut parser: Box<dyn StreamParser>,
    backend: &str,
    name: &str,
    exit: Option<i32>,
) -> Vec<AgentEvent> {
    let mut out = Vec::new();
    for l in stdout_of(backend, name).lines() {
        out.extend(parser.stdout_line(l));
    }
    for l in stderr_of(backend, name).lines() {
        out.extend(parser.stderr_line(l));
    }
    out.extend(parser.finish(exit));
    out
}

fn run(backend_name: &str, name: &str, exit: Option<i32>) -> Vec<AgentEvent> {
    let b = backend(backend_name, &BackendSettings::default(), &BTreeMap::new()).unwrap();
    feed(b.parser(), backend_name, name, exit)
}

fn session(id: &str, model: Option<&str>) -> AgentEvent {
    AgentEvent::SessionStarted {
        session_id: id.into(),
        model: model.map(Into::into),
    }
}

fn text(t: &str) -> AgentEvent {
    AgentEvent::AssistantText { text: t.into() }
}

fn started(id: &str, name: &str, input: Value) -> AgentEvent {
    AgentEvent::ToolStarted {
        id: id.into(),
        name: name.into(),
        input,
    }
}

fn finished(id: &str, name: &str, ok: bool, output: &str) -> AgentEvent {
    AgentEvent::ToolFinished {
        id: id.into(),
        name: Some(name.into()),
        ok,
        output: output.into(),
    }
}

fn usage(u: Usage) -> AgentEvent {
    AgentEvent::Usage { usage: u }
}

fn unknown(raw: String) -> AgentEvent {
    AgentEvent::Unknown { raw }
}

fn stderr(l: &str) -> AgentEvent {
    AgentEvent::StderrLine { line: l.into() }
}

fn result(
    is_error: bool,
    subtype: &str,
    text: &str,
    session_id: Option<&str>,
    turns: Option<u32>,
    usage: Option<Usage>,
) -> AgentEvent {
    AgentEvent::Result {
        is_error,
        subtype: subtype.into(),
        text: text.into(),
        session_id: session_id.map(Into::into),
        turns,
        usage,
    }
}

fn assert_events(actual: &[AgentEvent], expected: &[AgentEvent]) {
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_eq!(a, e, "event {i} differs");
    }
    assert_eq!(
        actual.len(),
        expected.len(),
        "event count; actual: {actual:#?}"
    );
}

// ---------------------------------------------------------------- claude

#[test]
fn claude_normal_session_with_parallel_tools_subagent_retry_and_cost() {
    let b = "claude";
    let tool_output = |n: usize, i: usize| {
        json_line(b, "normal", n)["message"]["content"][i]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let tool_input = |n: usize| json_line(b, "normal", n)["message"]["content"][0]["input"].clone();
    let final_text = "Fixed: `sum_first` now loops over `0..len`, so it no longer reads past the last account.\n\n<promise>COMPLETE</promise>";
    assert!(
        tool_output(4, 0).len() > 1000,
        "the Read output is a realistic file"
    );
    let expected = [
        session(CLAUDE_SESSION, Some("claude-sonnet-4-5-20250929")),
        unknown(line(b, "normal", 1)),
        text("I'll look at the failing test first."),
        usage(tokens(4, 3, 0, 11820)),
        started(
            "toolu_01Read7QwErTy",
            "Read",
            json!({"file_path": "/work/repo/src/lib.rs"}),
        ),
        usage(tokens(4, 85, 0, 11820)),
        finished("toolu_01Read7QwErTy", "Read", true, &tool_output(4, 0)),
        text(
            "`sum_first` loops with `0..=len`, one step too far. Let me confirm with the test and find other callers.",
        ),
        usage(tokens(10, 97, 11820, 13024)),
        started("toolu_01Bash9AsDfGh", "Bash", tool_input(6)),
        usage(tokens(10, 245, 11820, 13024)),
        started("toolu_01Grep3ZxCvBn", "Grep", tool_input(7)),
        usage(tokens(10, 286, 11820, 13024)),
        // Parallel results in one user event.
        finished("toolu_01Bash9AsDfGh", "Bash", false, &tool_output(8, 0)),
        finished("toolu_01Grep3ZxCvBn", "Grep", true, &tool_output(8, 1)),
        AgentEvent::ApiRetry {
            attempt: 1,
            delay_ms: Some(2000),
            status: Some(529),
        },
        started("toolu_01Task5MnBvCx", "Task", tool_input(10)),
        usage(tokens(16, 381, 24844, 13334)),
        // Subagent: its text is skipped; its tools and usage count.
        usage(tokens(19, 401, 24844, 15734)),
        started("toolu_01Glob2LkJhGf", "Glob", json!({"pattern": "**/*.rs"})),
        usage(tokens(19, 422, 24844, 15734)),
        finished(
            "toolu_01Glob2LkJhGf",
            "Glob",
            true,
            "/work/repo/src/lib.rs\n/work/repo/src/main.rs",
        ),
        usage(tokens(22, 452, 27244, 15884)),
        finished(
            "toolu_01Task5MnBvCx",
            "Task",
            true,
            "Only the unit test calls sum_first; nothing relies on the inclusive bound.",
        ),
        unknown(line(b, "normal", 16)),
        started("toolu_01Edit4PoIuYt", "Edit", tool_input(17)),
        usage(tokens(28, 592, 40578, 16064)),
        finished("toolu_01Edit4PoIuYt", "Edit", true, &tool_output(18, 0)),
        unknown(line(b, "normal", 19)),
        text(final_text),
        usage(tokens(34, 640, 54092, 16284)),
        result(
            false,
            "success",
            final_text,
            Some(CLAUDE_SESSION),
            Some(7),
            Some(costing(tokens(37, 813, 64912, 16284), 0.089_124_3)),
        ),
    ];
    assert_events(&run(b, "normal", Some(0)), &expected);
}

#[test]
fn claude_usage_limit_carries_the_reset_time_to_the_assistant_error() {
    let limit = "You've hit your limit · resets 8pm (Europe/Berlin)";
    let expected = [
        session(CLAUDE_SESSION, Some("claude-sonnet-4-5-20250929")),
        text("Let me run the test suite."),
        usage(tokens(4, 14, 0, 9800)),
        AgentEvent::RateLimited {
            resets_at_ms: Some(1_760_025_600_000),
            message: "usage limit reached (five_hour)".into(),
        },
        AgentEvent::RateLimited {
            resets_at_ms: Some(1_760_025_600_000),
            message: limit.into(),
        },
        result(
            true,
            "success",
            limit,
            Some(CLAUDE_SESSION),
            Some(2),
            Some(costing(tokens(4, 14, 0, 9800), 0.0382)),
        ),
    ];
    assert_events(&run("claude", "usage_limit", Some(0)), &expected);
}

#[test]
fn claude_legacy_usage_limit_in_the_result_only() {
    let limit = "Claude AI usage limit reached|1760029200";
    let expected = [
        session(CLAUDE_SESSION, Some("claude-sonnet-4-5-20250929")),
        AgentEvent::RateLimited {
            resets_at_ms: Some(1_760_029_200_000),
            message: limit.into(),
        },
        result(
            true,
            "success",
            limit,
            Some(CLAUDE_SESSION),
            Some(1),
            Some(costing(Usage::default(), 0.0)),
        ),
    ];
    assert_events(&run("claude", "usage_limit_legacy", Some(0)), &expected);
}

#[test]
fn claude_auth_failure_is_reported_once() {
    let msg = "Invalid API key · Please run /login";
    let expected = [
        session(CLAUDE_SESSION, Some("claude-sonnet-4-5-20250929")),
        AgentEvent::AuthFailed {
            message: msg.into(),
        },
        result(
            true,
            "success",
            msg,
            Some(CLAUDE_SESSION),
            Some(1),
            Some(costing(Usage::default(), 0.0)),
        ),
        stderr("Error: Invalid API key · Please run /login"),
    ];
    assert_events(&run("claude", "auth_failure", Some(1)), &expected);
}

#[test]
fn claude_expired_oauth_on_stderr() {
    let first = stderr_of("claude", "oauth_expired")
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let expected = [
        stderr(&first),
        AgentEvent::AuthFailed {
            message: first.clone(),
        },
        stderr("Please run /login"),
    ];
    assert_events(&run("claude", "oauth_expired", Some(1)), &expected);
}

#[test]
fn claude_billing_error_is_quota_exhausted() {
    // Real Claude Code 2.1.197 says the same for a 400 "credit balance is too low"
    // (fixtures/claude/real/credit_balance.jsonl): the account needs credit, not a new login.
    let msg = "Credit balance is too low";
    let expected = [
        session(CLAUDE_SESSION, Some("claude-sonnet-4-5-20250929")),
        AgentEvent::QuotaExhausted {
            message: msg.into(),
        },
        result(
            true,
            "success",
            msg,
            Some(CLAUDE_SESSION),
            Some(1),
            Some(costing(Usage::default(), 0.0)),
        ),
    ];
    assert_events(&run("claude", "billing_error", Some(0)), &expected);
}

#[test]
fn claude_keeps_only_the_first_of_two_results() {
    let expected = [
        session(CLAUDE_SESSION, Some("claude-sonnet-4-5-20250929")),
        text("Done. TASK_COMPLETE"),
        usage(tokens(5, 9, 0, 4000)),
        result(
            false,
            "success",
            "Done. TASK_COMPLETE",
            Some(CLAUDE_SESSION),
            Some(1),
            Some(costing(tokens(5, 9, 0, 4000), 0.0157)),
        ),
    ];
    assert_events(&run("claude", "two_results", Some(0)), &expected);
}

#[test]
fn claude_context_overflow_is_reported_once() {
    let expected = [
        session(CLAUDE_SESSION, Some("claude-sonnet-4-5-20250929")),
        AgentEvent::ContextOverflow {
            message: "Prompt is too long".into(),
        },
        result(
            true,
            "success",
            "Prompt is too long",
            Some(CLAUDE_SESSION),
            Some(4),
            Some(costing(tokens(60, 300, 0, 190_000), 0.412)),
        ),
    ];
    assert_events(&run("claude", "context_overflow", Some(0)), &expected);
}

// ---------------------------------------------------------------- codex

#[test]
fn codex_normal_session() {
    let b = "codex";
    let output = |n: usize| {
        json_line(b, "normal", n)["item"]["aggregated_output"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let cmd = json!({"command": "bash -lc 'cargo test --lib'"});
    let last = "Fixed `sum_first` to loop over `0..len`; the test passes.\nTASK_COMPLETE";
    let total = tokens(315, 1022, 24448, 0);
    let expected = [
        unknown("Reading prompt from stdin...".into()),
        session(CODEX_THREAD, None),
        started("item_1", "command_execution", cmd.clone()),
        finished("item_1", "command_execution", false, &output(5)),
        text("The loop in `sum_first` uses `0..=len`; fixing the bound."),
        started(
            "item_3",
            "file_change",
            json!({"changes": [{"path": "/work/repo/src/lib.rs", "kind": "update"}]}),
        ),
        finished("item_3", "file_change", true, ""),
        started("item_5", "command_execution", cmd),
        finished("item_5", "command_execution", true, &output(10)),
        started("item_6", "mcp__docs__search", json!({"query": "Ledger"})),
        finished("item_6", "mcp__docs__search", true, ""),
        unknown(line(b, "normal", 13)),
        unknown(line(b, "normal", 14)),
        text(last),
        usage(total),
        result(
            false,
            "success",
            last,
            Some(CODEX_THREAD),
            Some(1),
            Some(total),
        ),
    ];
    assert_events(&run(b, "normal", Some(0)), &expected);
}

#[test]
fn codex_usage_limit_with_a_relative_reset_time() {
    let limit = json_line("codex", "usage_limit", 2)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let wait_ms = ((24 + 3) * 60 + 7) * 60_000;
    let before = now_ms();
    let events = run("codex", "usage_limit", Some(1));
    let after = now_ms();
    let [
        first,
        AgentEvent::RateLimited {
            resets_at_ms: Some(reset),
            message,
        },
        last,
    ] = &events[..]
    else {
        panic!("unexpected events: {events:#?}");
    };
    assert_eq!(first, &session(CODEX_THREAD, None));
    assert_eq!(message, &limit);
    assert!(
        (before + wait_ms..=after + wait_ms).contains(reset),
        "reset {reset} not {wait_ms} ms after now"
    );
    assert_eq!(
        last,
        &result(
            true,
            "turn_failed",
            &limit,
            Some(CODEX_THREAD),
            Some(1),
            Some(Usage::default())
        )
    );
}

#[test]
fn codex_auth_failure_after_a_reconnect() {
    let auth = json_line("codex", "auth_failure", 3)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let stderr_line = stderr_of("codex", "auth_failure").trim_end().to_owned();
    let expected = [
        session(CODEX_THREAD, None),
        AgentEvent::ApiRetry {
            attempt: 1,
            delay_ms: None,
            status: None,
        },
        AgentEvent::AuthFailed {
            message: auth.clone(),
        },
        result(
            true,
            "turn_failed",
            &auth,
            Some(CODEX_THREAD),
            Some(1),
            Some(Usage::default()),
        ),
        stderr(&stderr_line),
    ];
    assert_events(&run("codex", "auth_failure", Some(1)), &expected);
}

// ---------------------------------------------------------------- gemini

#[test]
fn gemini_normal_session_joins_deltas() {
    let b = "gemini";
    let id = |n: usize| {
        json_line(b, "normal", n)["tool_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let params = |n: usize| json_line(b, "normal", n)["parameters"].clone();
    let last = "Fixed the bound in `sum_first`; all tests pass.";
    let expected = [
        session(GEMINI_SESSION, Some("gemini-2.5-pro")),
        text("I'll read the file and run the tests."),
        started(&id(4), "read_file", params(4)),
        finished(
            &id(4),
            "read_file",
            true,
            "pub fn sum_first(&self, len: usize) -> i64 {\n    for i in 0..=len {",
        ),
        unknown("Loaded cached credentials.".into()),
        started(&id(7), "run_shell_command", params(7)),
        finished(
            &id(7),
            "run_shell_command",
            false,
            "Command exited with code 101",
        ),
        AgentEvent::ApiRetry {
            attempt: 1,
            delay_ms: Some(5000),
            status: None,
        },
        started(&id(10), "replace", params(10)),
        finished(
            &id(10),
            "replace",
            true,
            "Successfully modified file: /work/repo/src/lib.rs (1 replacements).",
        ),
        unknown(line(b, "normal", 12)),
        text(last),
        result(
            false,
            "success",
            last,
            Some(GEMINI_SESSION),
            None,
            Some(tokens(5000, 1200, 9000, 0)),
        ),
    ];
    assert_events(&run(b, "normal", Some(0)), &expected);
}

#[test]
fn gemini_quota_exhausted() {
    let quota = json_line("gemini", "usage_limit", 2)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let expected = [
        session(GEMINI_SESSION, Some("gemini-2.5-pro")),
        AgentEvent::RateLimited {
            resets_at_ms: None,
            message: quota.clone(),
        },
        result(
            true,
            "FatalApiError",
            &quota,
            Some(GEMINI_SESSION),
            None,
            Some(Usage::default()),
        ),
    ];
    assert_events(&run("gemini", "usage_limit", Some(1)), &expected);
}

#[test]
fn gemini_auth_failure_from_stderr_and_exit_code_41() {
    let lines: Vec<String> = stderr_of("gemini", "auth_failure")
        .lines()
        .map(str::to_owned)
        .collect();
    let expected = [
        stderr(&lines[0]),
        AgentEvent::AuthFailed {
            message: lines[0].clone(),
        },
        stderr(&lines[1]),
        result(
            true,
            "error_auth",
            &format!("gemini exited with code 41: {}", lines[0]),
            None,
            None,
            None,
        ),
    ];
    assert_events(&run("gemini", "auth_failure", Some(41)), &expected);
}

// ---------------------------------------------------------------- opencode

#[test]
fn opencode_normal_session_sums_cost_and_tokens() {
    let b = "opencode";
    let input = |n: usize| json_line(b, "normal", n)["part"]["state"]["input"].clone();
    let step1 = costing(tokens(12, 90, 0, 11000), 0.0123);
    let step2 = costing(tokens(20, 280, 11000, 11300), 0.0123 + 0.0081);
    let step3 = costing(tokens(25, 300, 22300, 11300), 0.0123 + 0.0081 + 0.002);
    let last = "Fixed: `sum_first` now loops over `0..len`.";
    let expected = [
        session(OPENCODE_SESSION, None),
        text("Let me run the tests first."),
        started("toolu_01Bash", "bash", input(2)),
        finished(
            "toolu_01Bash",
            "bash",
            true,
            "test result: FAILED. 0 passed; 1 failed",
        ),
        usage(step1),
        started("toolu_02Edit", "edit", input(5)),
        finished(
            "toolu_02Edit",
            "edit",
            false,
            "Error: oldString not found in content",
        ),
        started("toolu_03Edit", "edit", input(6)),
        finished("toolu_03Edit", "edit", true, ""),
        unknown(line(b, "normal", 7)),
        usage(step2),
        unknown(line(b, "normal", 9)),
        text(last),
        usage(step3),
        result(
            false,
            "success",
            last,
            Some(OPENCODE_SESSION),
            Some(3),
            Some(step3),
        ),
    ];
    assert_events(&run(b, "normal", Some(0)), &expected);
}

#[test]
fn opencode_rate_limit_error() {
    let msg = json_line("opencode", "usage_limit", 1)["error"]["data"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let expected = [
        session(OPENCODE_SESSION, None),
        AgentEvent::RateLimited {
            resets_at_ms: None,
            message: msg.clone(),
        },
        result(
            true,
            "error",
            &msg,
            Some(OPENCODE_SESSION),
            Some(0),
            Some(Usage::default()),
        ),
    ];
    assert_events(&run("opencode", "usage_limit", Some(1)), &expected);
}

#[test]
fn opencode_auth_failure() {
    let msg = "Missing API key for provider anthropic. Run `opencode auth login` or set ANTHROPIC_API_KEY.";
    let expected = [
        session(OPENCODE_SESSION, None),
        AgentEvent::AuthFailed {
            message: msg.into(),
        },
        result(
            true,
            "error",
            msg,
            Some(OPENCODE_SESSION),
            Some(0),
            Some(Usage::default()),
        ),
    ];
    assert_events(&run("opencode", "auth_failure", Some(1)), &expected);
}

// ---------------------------------------------------------------- aider

#[test]
fn cursor_normal_session() {
    let b = "cursor";
    let args = |n: usize, tool: &str| json_line(b, "normal", n)["tool_call"][tool]["args"].clone();
    let expected = [
        session(CURSOR_SESSION, Some("Claude 4.5 Sonnet")),
        text("I'll read the file first."),
        started("toolu_vrtx_01", "read", args(4, "readToolCall")),
        finished("toolu_vrtx_01", "read", true, "for i in 0..=len {"),
        started("toolu_vrtx_02", "shell", args(6, "shellToolCall")),
        finished(
            "toolu_vrtx_02",
            "shell",
            false,
            "test tests::sums_the_first_two ... FAILED",
        ),
        AgentEvent::ApiRetry {
            attempt: 1,
            delay_ms: None,
            status: None,
        },
        started("toolu_vrtx_03", "edit", args(12, "editToolCall")),
        finished(
            "toolu_vrtx_03",
            "edit",
            true,
            "-for i in 0..=len {\n+for i in 0..len {",
        ),
        started("toolu_vrtx_04", "grep", json!({"pattern": "sum_first"})),
        finished("toolu_vrtx_04", "grep", false, "ripgrep not found"),
        unknown("Warning: terminal does not support colors".into()),
        unknown(line(b, "normal", 17)),
        text("Fixed the off-by-one in `sum_first`."),
        result(
            false,
            "success",
            "I'll read the file first.Fixed the off-by-one in `sum_first`.",
            Some(CURSOR_SESSION),
            None,
            None,
        ),
    ];
    assert_events(&run(b, "normal", Some(0)), &expected);
}

#[test]
fn cursor_usage_limit_and_auth_failure_on_stderr() {
    let limit = stderr_of("cursor", "usage_limit").trim_end().to_owned();
    let expected = [
        session(CURSOR_SESSION, Some("Claude 4.5 Sonnet")),
        stderr(&limit),
        AgentEvent::RateLimited {
            resets_at_ms: None,
            message: limit.clone(),
        },
    ];
    assert_events(&run("cursor", "usage_limit", Some(1)), &expected);
    let auth = stderr_of("cursor", "auth_failure").trim_end().to_owned();
    let expected = [
        stderr(&auth),
        AgentEvent::AuthFailed {
            message: auth.clone(),
        },
    ];
    assert_events(&run("cursor", "auth_failure", Some(1)), &expected);
}

// ---------------------------------------------------------------- custom

fn custom(format: CustomFormat) -> Box<dyn StreamParser> {
    let config = CustomBackendConfig {
        command: vec![
            "my-agent".into(),
            "--prompt-file".into(),
            "{prompt_file}".into(),
        ],
        format,
        result_marker_regex: Some("^=== DONE(?: (.*))? ===$".into()),
        cost_regex: Some(r"total cost: \$([0-9.]+)".into()),
        session_regex: Some(r"^session: (\S+)$".into()),
        error_regex: Some("^FATAL: (.*)$".into()),
    };
    let custom = BTreeMap::from([("my-agent".to_owned(), config)]);
    backend("my-agent", &BackendSettings::default(), &custom)
        .unwrap()
        .parser()
}

#[test]
fn custom_text_session_with_markers_and_cost() {
    let cost = costing(Usage::default(), 0.031);
    let expected = [
        session("run-42", None),
        text("Reading the task..."),
        text("Editing src/lib.rs"),
        usage(cost),
        text("All tests pass."),
        result(
            false,
            "success",
            "fixed the off-by-one",
            Some("run-42"),
            None,
            Some(cost),
        ),
        text("trailing output after done"),
    ];
    assert_events(
        &feed(
            custom(CustomFormat::Text),
            "custom",
            "text_session",
            Some(0),
        ),
        &expected,
    );
}

#[test]
fn custom_text_error_line() {
    let expected = [
        text("Reading the task..."),
        result(
            true,
            "error",
            "model local-llm is not loaded",
            None,
            None,
            Some(Usage::default()),
        ),
    ];
    assert_events(
        &feed(custom(CustomFormat::Text), "custom", "text_error", Some(1)),
        &expected,
    );
}

#[test]
fn custom_jsonl_passes_normalized_events_through() {
    let spent = costing(tokens(100, 20, 0, 0), 0.002);
    let expected = [
        session("s-1", Some("local-llm")),
        text("Working on it"),
        started("1", "shell", json!({"cmd": "make test"})),
        finished("1", "shell", true, "ok"),
        unknown("not json at all".into()),
        unknown(line("custom", "jsonl_session", 5)),
        usage(spent),
        result(
            false,
            "success",
            "Working on it",
            Some("s-1"),
            None,
            Some(spent),
        ),
    ];
    assert_events(
        &feed(
            custom(CustomFormat::Jsonl),
            "custom",
            "jsonl_session",
            Some(0),
        ),
        &expected,
    );
}

// ---------------------------------------------------------------- robustness

fn now_ms() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::try_from(d.as_millis()).unwrap()
}

/// Every fixture file under `dir`, in subfolders too (the recorded real transcripts live in
/// `real/`).
fn fixture_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(fixture_files(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Every prefix-cut of every fixture line (a stream torn mid-line) is handled without a panic,
/// and only ever yields at most one Result per session.
#[test]
fn torn_lines_never_panic_and_results_stay_unique() {
    for b in ["claude", "codex", "gemini", "opencode", "aider", "cursor"] {
        for path in fixture_files(&fixture_dir(b)) {
            let content = std::fs::read_to_string(&path).unwrap();
            let mut parser = backend(b, &BackendSettings::default(), &BTreeMap::new())
                .unwrap()
                .parser();
            let mut events = Vec::new();
            for l in content.lines() {
                for cut in (0..=l.len()).step_by(7).filter(|c| l.is_char_boundary(*c)) {
                    events.extend(parser.stdout_line(&l[..cut]));
                    events.extend(parser.stderr_line(&l[..cut]));
                }
            }
            events.extend(parser.finish(Some(0)));
            let results = events.iter().filter(|e| e.is_terminal()).count();
            assert!(results <= 1, "{}: {results} results", path.display());
        }
    }
}
