//! `builtin:agent` end to end: the real binary, a real git repository, and the scripted agent
//! playing Claude Code. The stage's policies (completion, continuation, stalls, usage limits,
//! auth failures, feedback from a later stage) each shown on a run.

use crate::support::agent::ScriptedAgent;
use crate::support::{TestRepo, Workflow};

/// A workflow keeping its worktree, with model tiers, the claude backend being the scripted
/// agent, and `builtin:agent` as `execute` configured by `with`, at most `attempts` attempts.
fn execute_workflow(agent: &ScriptedAgent, with: &str, attempts: u32) -> Workflow {
    Workflow::named("agent-stage")
        .top("git: { keep_worktree: always }")
        .top("models: { genius: model-genius, smart: model-smart }")
        .agents(agent, "limits: { post_result_grace: 1s }")
        .stage(
            "execute",
            &format!(
                "uses: builtin:agent\nwith: {with}\npermissions: {{ workspace: write, agent: true }}\n\
                 retry: {{ max_attempts: {attempts}, initial_interval: 10ms }}"
            ),
        )
}

#[test]
fn the_agent_makes_a_change_and_the_stage_succeeds_on_its_promise() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        r#"
- - say: Implementing the greeting
  - write: {path: src/greet.txt, content: "hello, world\n"}
  - cost: 0.12
  - say: "All done. <promise>COMPLETE</promise>"
"#,
    );
    execute_workflow(
        &agent,
        "{ backend: claude, model: smart, completion: promise }",
        2,
    )
    .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a greeting\n\n- [ ] greet.txt says hello")
        .run();
    r.succeeds();
    let report = r.report();
    let execute = report.stage("execute");
    let out = &execute.outputs;
    assert_eq!(
        out["files_changed"],
        serde_json::json!(["src/greet.txt"]),
        "{out}"
    );
    assert_eq!(out["iterations"], 1, "{out}");
    assert!(
        (out["cost_usd"].as_f64().unwrap() - 0.12).abs() < 1e-9,
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(report.worktree().join("src/greet.txt")).unwrap(),
        "hello, world\n"
    );
    // The prompt came from the template: the task, its checklist, how to signal completion.
    let call = &agent.invocations()[0];
    insta::assert_snapshot!(
        "prompt_from_the_template",
        repo.normalise(call["prompt"].as_str().unwrap())
    );
    assert_eq!(call["model"], "model-smart");
    assert!((execute.history[0].spend.cost_usd - 0.12).abs() < 1e-9);
}

#[test]
fn an_unfinished_session_is_continued_by_resuming_it() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        r#"
- - say: Started; more to do
  - write: {path: part1.txt, content: "one\n"}
- - say: "Finished the rest. <promise>COMPLETE</promise>"
  - write: {path: part2.txt, content: "two\n"}
"#,
    );
    execute_workflow(&agent, "{ backend: claude, completion: promise }", 2).write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Do it in two parts")
        .run();
    r.succeeds();
    let calls = agent.invocations();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1]["resume"], calls[0]["session_id"],
        "the second session resumes the first"
    );
    let report = r.report();
    let out = &report.stage("execute").outputs;
    assert_eq!(out["iterations"], 2, "{out}");
    let mut files: Vec<String> = serde_json::from_value(out["files_changed"].clone()).unwrap();
    files.sort();
    assert_eq!(files, vec!["part1.txt", "part2.txt"]);
}

#[test]
fn a_stall_stops_the_agent_and_the_retry_uses_the_top_tier() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        r#"
- - repeat:
      times: 5
      steps:
        - run: "sh -c 'echo boom; exit 1'"
- - say: "Fixed with a better model. <promise>COMPLETE</promise>"
  - write: {path: fixed.txt, content: "ok\n"}
"#,
    );
    execute_workflow(
        &agent,
        "{ backend: claude, model: smart, completion: promise }",
        2,
    )
    .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Fix the build")
        .run();
    r.succeeds();
    let report = r.report();
    let execute = report.stage("execute");
    assert_eq!(execute.outcomes(), ["failed", "succeeded"]);
    let first = execute.failure_of(0);
    assert_eq!(first.kind, "retryable", "{first:?}");
    assert!(first.detail["stall"].is_string(), "{first:?}");
    let calls = agent.invocations();
    assert_eq!(calls[0]["model"], "model-smart");
    assert_eq!(
        calls[1]["model"], "model-genius",
        "the retry after a stall is forced to the top tier"
    );
}

#[test]
fn a_usage_limit_waits_for_the_reset_and_is_not_a_task_failure() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        r#"
- - say: working
  - usage_limit: {resets_at: "in 1s"}
- - say: "Back after the reset. <promise>COMPLETE</promise>"
"#,
    );
    // One attempt: only a wait that does not count as a failure can get this run through.
    execute_workflow(
        &agent,
        "{ backend: claude, completion: promise, usage_limit: { slack: 0s } }",
        1,
    )
    .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    r.succeeds();
    let report = r.report();
    let execute = report.stage("execute");
    assert_eq!(execute.outcomes(), ["failed", "succeeded"]);
    let first = execute.failure_of(0);
    assert_eq!(first.detail["usage_limit"], true, "{first:?}");
    let retry_at = first.retry_at_ms.expect("a retry time from the reset");
    assert!(
        execute.history[1].started_at_ms >= retry_at,
        "retried before the reset"
    );
}

#[test]
fn an_auth_failure_is_fatal_and_says_how_to_log_in() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new("- - auth_error: true\n");
    execute_workflow(&agent, "{ backend: claude }", 2).write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Anything")
        .run();
    r.exits(1);
    let report = r.report();
    let execute = report.stage("execute");
    let failure = execute.failure();
    assert_eq!(failure.kind, "fatal", "{failure:?}");
    // What the CLI said comes from its stderr or its result, whichever the engine reads first
    // (the two streams are read at the same time): the message around it is checked.
    let message = &failure.message;
    assert!(
        message.starts_with("the `claude` agent is not logged in (")
            && message.ends_with(
                "Please run /login): run `claude /login` on the host, or set ANTHROPIC_API_KEY \
                 (or CLAUDE_CODE_OAUTH_TOKEN) and grant it to this stage"
            ),
        "{message}"
    );
    assert_eq!(
        execute.outcomes(),
        ["failed"],
        "auth failures are not retried"
    );
}

#[test]
fn a_failing_test_stage_sends_its_output_back_to_the_agent() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        r#"
- - say: "First try. <promise>COMPLETE</promise>"
  - write: {path: wrong.txt, content: "x\n"}
- - say: "Fixed per the test output. <promise>COMPLETE</promise>"
  - write: {path: fixed.txt, content: "ok\n"}
"#,
    );
    execute_workflow(&agent, "{ backend: claude, completion: promise }", 2)
        .stage(
            "test",
            r#"uses: builtin:gate
needs: [execute]
with: { commands: ["sh -c 'test -f fixed.txt || { echo need-fixed-txt; exit 1; }'"] }
permissions: { workspace: read, exec: [sh] }
on_failure: { goto: execute, max_loops: 2 }"#,
        )
        .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Make the test pass")
        .run();
    r.succeeds();
    let o = r.report().outcomes();
    assert_eq!(o["execute"], ["succeeded", "succeeded"]);
    assert_eq!(o["test"], ["failed", "succeeded"]);
    let calls = agent.invocations();
    // The test's output reaches the agent.
    insta::assert_snapshot!(
        "prompt_sent_back_by_the_test",
        repo.normalise(calls[1]["prompt"].as_str().unwrap())
    );
    assert!(
        calls[1]["resume"].is_null(),
        "a loop back starts a fresh session"
    );
}

#[test]
fn a_context_overflow_starts_a_fresh_session_with_a_handoff() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        r#"
- - say: Read a lot of files
  - write: {path: step1.txt, content: "one\n"}
  - context_overflow: true
- - say: "Picked up from the handoff. <promise>COMPLETE</promise>"
  - write: {path: step2.txt, content: "two\n"}
"#,
    );
    execute_workflow(&agent, "{ backend: claude, completion: promise }", 2).write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("A task with a huge context")
        .run();
    r.succeeds();
    let calls = agent.invocations();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1]["resume"].is_null(),
        "a fresh session, not a resume: {}",
        calls[1]
    );
    // The handoff names the task and says what was done.
    insta::assert_snapshot!(
        "handoff_after_an_overflow",
        repo.normalise(calls[1]["prompt"].as_str().unwrap())
    );
    assert_eq!(
        r.report().stage("execute").outcomes(),
        ["succeeded"],
        "an overflow is not a failure"
    );
}
