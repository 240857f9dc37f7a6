//! The invocation log, session counting, prompts, environment and the real CLIs' refusals.

use crate::common::{self, Agent, canonical};
use serde_json::{Value, json};

#[test]
fn records_argv_flags_prompt_env_and_cwd() {
    let agent = Agent::new("- - say: hi\n");
    let mut command = agent.command(
        "claude",
        &[
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--model",
            "opus",
            "--max-turns",
            "5",
            "--permission-mode",
            "acceptEdits",
            "--allowedTools",
            "Read,Edit",
            "--append-system-prompt",
            "Be careful",
            "--made-up-flag",
            "the prompt",
        ],
    );
    command
        .env("ANTHROPIC_DEFAULT_OPUS_MODEL", "claude-opus-test")
        .env("ENGINE_RUN_ID", "run-1")
        .env("ANTHROPIC_API_KEY", "sk-secret");
    let run = common::finish(command.spawn().unwrap());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        run.one("system")["model"],
        "claude-opus-test",
        "aliases resolve through the tier variables"
    );
    let log = agent.invocations();
    assert_eq!(log.len(), 1);
    let record = &log[0];
    assert_eq!(record["session"], 1);
    assert_eq!(record["as"], "claude");
    assert_eq!(record["argv"][0], "-p");
    assert_eq!(record["argv"].as_array().unwrap().len(), 16);
    assert_eq!(record["flags"]["--model"], "opus");
    assert_eq!(record["flags"]["--max-turns"], "5");
    assert_eq!(record["flags"]["--verbose"], true);
    assert_eq!(record["flags"]["--allowedTools"], json!(["Read,Edit"]));
    assert_eq!(record["flags"]["--append-system-prompt"], "Be careful");
    assert_eq!(record["unknown_flags"], json!(["--made-up-flag"]));
    assert_eq!(record["prompt"], "the prompt");
    assert_eq!(record["prompt_arg"], "the prompt");
    assert_eq!(record["stdin"], "", "stdin (closed) was read and empty");
    let names: Vec<&str> = record["env_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "ENGINE_RUN_ID",
            "HOME",
            "IS_SANDBOX",
            "PATH"
        ]
    );
    assert_eq!(
        record["env"],
        json!({"ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-test", "ENGINE_RUN_ID": "run-1", "IS_SANDBOX": "1"})
    );
    assert!(
        !std::fs::read_to_string(agent.state.join("invocations.jsonl"))
            .unwrap()
            .contains("sk-secret")
    );
    assert_eq!(
        canonical(record["cwd"].as_str().unwrap().as_ref()),
        canonical(&agent.work)
    );
    assert_eq!(record["refused"], Value::Null);
}

#[test]
fn the_prompt_can_come_from_stdin() {
    let agent = Agent::new("- - say: hi\n");
    let long_prompt = "line one\n".repeat(20_000);
    let run = common::run_with_stdin(
        agent.command(
            "claude",
            &["-p", "--output-format", "stream-json", "--verbose"],
        ),
        &long_prompt,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let codex = common::run_with_stdin(
        agent.command("codex", &["exec", "--json", "--skip-git-repo-check", "-"]),
        "from stdin",
    );
    assert_eq!(codex.code, Some(0), "{}", codex.stderr);
    let log = agent.invocations();
    assert_eq!(log[0]["prompt"], long_prompt.as_str());
    assert_eq!(log[0]["prompt_arg"], Value::Null);
    assert_eq!(log[1]["prompt"], "from stdin");
}

#[test]
fn sessions_are_counted_across_invocations_and_the_last_one_repeats() {
    let agent = Agent::new("- - say: one\n- - say: two\n");
    let said: Vec<String> = (0..4)
        .map(|_| {
            agent.claude("p").one("result")["result"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(said, ["one", "two", "two", "two"]);
    assert_eq!(
        std::fs::read_to_string(agent.state.join("count"))
            .unwrap()
            .trim(),
        "4"
    );
    let log = agent.invocations();
    let sessions: Vec<&Value> = log.iter().map(|record| &record["session"]).collect();
    assert_eq!(sessions, [&json!(1), &json!(2), &json!(3), &json!(4)]);
    assert_ne!(log[0]["session_id"], log[1]["session_id"]);
}

#[test]
fn matched_sessions_follow_the_prompt_even_when_started_together() {
    let agent = Agent::new(
        r#"
- - say: execute one
- match: "^You are the `quality` reviewer"
  steps:
    - say: quality first
- match: "`security` reviewer"
  steps:
    - say: security only
- match: "^You are the `quality` reviewer"
  steps:
    - say: quality second
- - say: execute two
"#,
    );
    // Three reviewers start at once, in an order the script cannot know.
    let children: Vec<_> = [
        "You are the `security` reviewer",
        "You are the `quality` reviewer",
        "a task prompt",
    ]
    .iter()
    .map(|prompt| agent.claude_command(prompt).spawn().unwrap())
    .collect();
    let said: Vec<String> = children
        .into_iter()
        .map(|child| {
            common::finish(child).one("result")["result"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(said, ["security only", "quality first", "execute one"]);
    let next = |prompt: &str| {
        agent.claude(prompt).one("result")["result"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(next("You are the `quality` reviewer"), "quality second");
    // Every matching session played: the last one again.
    assert_eq!(next("You are the `quality` reviewer"), "quality second");
    assert_eq!(
        next("Again, you are the `security` reviewer"),
        "security only"
    );
    // Prompts no `match` finds keep the old order semantics.
    assert_eq!(next("fix it"), "execute two");
    assert_eq!(next("fix it again"), "execute two");
    let log = agent.invocations();
    let mut positions: Vec<u64> = log
        .iter()
        .map(|record| record["script_session"].as_u64().unwrap())
        .collect();
    positions[..3].sort_unstable();
    assert_eq!(positions, [1, 2, 3, 4, 4, 3, 5, 5]);
    let matched: Vec<&Value> = log.iter().map(|record| &record["matched"]).collect();
    assert_eq!(matched[3], &json!("^You are the `quality` reviewer"));
    assert_eq!(matched[6], &Value::Null);
    let mut sessions: Vec<u64> = log.iter().map(|r| r["session"].as_u64().unwrap()).collect();
    sessions.sort_unstable();
    assert_eq!(
        sessions,
        (1..=8).collect::<Vec<u64>>(),
        "session numbers stay unique"
    );
}

#[test]
fn a_prompt_no_session_fits_is_a_script_error() {
    let agent = Agent::new("- match: reviewer\n  steps: [say: hi]\n");
    let run = agent.claude("implement the feature");
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("no session of the script fits"),
        "{}",
        run.stderr
    );
    let log = agent.invocations();
    assert_eq!(log[0]["session"], Value::Null);
    assert!(log[0]["error"].as_str().unwrap().contains("no `match`"));
    assert_eq!(agent.claude("the reviewer").code, Some(0));
}

#[test]
fn resume_is_recorded_and_reported_as_the_session() {
    let agent = Agent::new("- - say: again\n");
    let run = agent.run(
        "claude",
        &[
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--resume=abc-123",
            "go on",
        ],
    );
    assert_eq!(run.one("system")["session_id"], "abc-123");
    assert_eq!(run.one("result")["session_id"], "abc-123");
    assert_eq!(agent.invocations()[0]["resume"], "abc-123");
}

#[test]
fn default_state_lives_next_to_the_script() {
    let agent = Agent::new("- - say: hi\n");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_scripted-agent"));
    command
        .args(["--script", agent.script.to_str().unwrap(), "-p", "hello"])
        .current_dir(&agent.work)
        .stdin(std::process::Stdio::null());
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "hi\n");
    let log = std::fs::read_to_string(agent.temp.path().join(".scripted-agent/invocations.jsonl"))
        .unwrap();
    assert_eq!(log.lines().count(), 1);
    assert!(
        !agent.work.join(".scripted-agent").exists(),
        "nothing is written into the worktree"
    );
}

#[test]
fn refuses_like_the_real_clis_without_consuming_a_session() {
    let agent = Agent::new("- - say: one\n- - say: two\n");
    let no_verbose = agent.run("claude", &["-p", "--output-format", "stream-json", "hi"]);
    assert_eq!(no_verbose.code, Some(1));
    assert!(
        no_verbose.stderr.contains("requires --verbose"),
        "{}",
        no_verbose.stderr
    );
    assert!(no_verbose.stdout.is_empty());
    let interactive = agent.run("claude", &["hi"]);
    assert_eq!(interactive.code, Some(1));
    let no_prompt = agent.run(
        "claude",
        &["-p", "--output-format", "stream-json", "--verbose"],
    );
    assert!(
        no_prompt.stderr.contains("Input must be provided"),
        "{}",
        no_prompt.stderr
    );
    let outside_git = agent.run("codex", &["exec", "--json", "hi"]);
    assert_eq!(outside_git.code, Some(1));
    assert!(
        outside_git.stderr.contains("--skip-git-repo-check"),
        "{}",
        outside_git.stderr
    );
    let log = agent.invocations();
    assert_eq!(log.len(), 4);
    assert!(
        log.iter()
            .all(|record| record["session"].is_null() && record["refused"].is_string())
    );
    assert_eq!(agent.claude("now").one("result")["result"], "one");
}

#[test]
fn bypassing_permissions_as_root_needs_is_sandbox() {
    let agent = Agent::new("- - say: hi\n");
    let args = [
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--dangerously-skip-permissions",
        "x",
    ];
    let mut command = agent.command("claude", &args);
    command.env_remove("IS_SANDBOX");
    let run = common::finish(command.spawn().unwrap());
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        assert_eq!(run.code, Some(1));
        assert!(run.stderr.contains("root"), "{}", run.stderr);
    } else {
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    let sandboxed = agent.run("claude", &args);
    assert_eq!(sandboxed.code, Some(0), "{}", sandboxed.stderr);
    assert_eq!(
        sandboxed.one("system")["permissionMode"],
        "bypassPermissions"
    );
}

#[test]
fn concurrent_invocations_count_each_session_once() {
    let agent = Agent::new("- - say: hi\n");
    let children: Vec<_> = (0..8)
        .map(|_| agent.claude_command("p").spawn().unwrap())
        .collect();
    for child in children {
        assert_eq!(common::finish(child).code, Some(0));
    }
    let mut sessions: Vec<u64> = agent
        .invocations()
        .iter()
        .map(|record| record["session"].as_u64().unwrap())
        .collect();
    sessions.sort_unstable();
    assert_eq!(sessions, (1..=8).collect::<Vec<u64>>());
}
