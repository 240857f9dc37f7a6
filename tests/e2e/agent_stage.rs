//! `builtin:agent` end to end: the real binary, a real git repository, and the scripted agent
//! playing Claude Code. The stage's policies (completion, continuation, stalls, usage limits,
//! auth failures, feedback from a later stage) each shown on a run.

mod support;

use support::agent::ScriptedAgent;
use support::{TestRepo, outcomes};

/// A workflow running `builtin:agent` as `execute` (plus `extra` stages), the claude backend
/// being the scripted agent.
fn workflow(repo: &TestRepo, agent: &ScriptedAgent, with: &str, extra: &str) -> std::path::PathBuf {
    repo.workflow(&format!(
        r#"name: agent-stage
git: {{ keep_worktree: always }}
models: {{ genius: model-genius, smart: model-smart }}
agents:
{backends}  limits: {{ post_result_grace: 1s }}
stages:
  execute:
    uses: builtin:agent
    with: {with}
    permissions: {{ workspace: write, agent: true }}
    retry: {{ max_attempts: 2, initial_interval: 10ms }}
{extra}"#,
        backends = agent.backends_yaml(),
    ))
}

fn run(repo: &TestRepo, wf: &std::path::Path, task: &str) -> (support::Run, serde_json::Value) {
    let r = repo.run(&["run", wf.to_str().unwrap(), "--task", task]);
    let show = repo.show(&r.run_id());
    (r, show)
}

#[test]
fn the_agent_makes_a_change_and_the_stage_succeeds_on_its_promise() {
    let repo = TestRepo::new();
    let script = r#"
- - say: Implementing the greeting
  - write: {path: src/greet.txt, content: "hello, world\n"}
  - cost: 0.12
  - say: "All done. <promise>COMPLETE</promise>"
"#;
    let agent = ScriptedAgent::new(script);
    let wf = workflow(
        &repo,
        &agent,
        "{ backend: claude, model: smart, completion: promise }",
        "",
    );
    let (r, show) = run(&repo, &wf, "Add a greeting\n\n- [ ] greet.txt says hello");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let out = &show["state"]["stages"]["execute"]["outputs"];
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
    let worktree = std::path::PathBuf::from(show["meta"]["worktree"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(worktree.join("src/greet.txt")).unwrap(),
        "hello, world\n"
    );
    // The prompt came from the template: the task, its checklist, how to signal completion.
    let prompt = agent.invocations()[0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prompt.contains("Add a greeting"), "{prompt}");
    assert!(prompt.contains("greet.txt says hello"), "{prompt}");
    assert!(prompt.contains("<promise>COMPLETE</promise>"), "{prompt}");
    assert_eq!(agent.invocations()[0]["model"], "model-smart");
    let spend = &show["state"]["stages"]["execute"]["history"][0]["spend"];
    assert!((spend["cost_usd"].as_f64().unwrap() - 0.12).abs() < 1e-9);
}

#[test]
fn an_unfinished_session_is_continued_by_resuming_it() {
    let repo = TestRepo::new();
    let script = r#"
- - say: Started; more to do
  - write: {path: part1.txt, content: "one\n"}
- - say: "Finished the rest. <promise>COMPLETE</promise>"
  - write: {path: part2.txt, content: "two\n"}
"#;
    let agent = ScriptedAgent::new(script);
    let wf = workflow(
        &repo,
        &agent,
        "{ backend: claude, completion: promise }",
        "",
    );
    let (r, show) = run(&repo, &wf, "Do it in two parts");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let calls = agent.invocations();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[1]["resume"], calls[0]["session_id"],
        "the second session resumes the first"
    );
    let out = &show["state"]["stages"]["execute"]["outputs"];
    assert_eq!(out["iterations"], 2, "{out}");
    let mut files: Vec<String> = serde_json::from_value(out["files_changed"].clone()).unwrap();
    files.sort();
    assert_eq!(files, vec!["part1.txt", "part2.txt"]);
}

#[test]
fn a_stall_stops_the_agent_and_the_retry_uses_the_top_tier() {
    let repo = TestRepo::new();
    let script = r#"
- - repeat:
      times: 5
      steps:
        - run: "sh -c 'echo boom; exit 1'"
- - say: "Fixed with a better model. <promise>COMPLETE</promise>"
  - write: {path: fixed.txt, content: "ok\n"}
"#;
    let agent = ScriptedAgent::new(script);
    let wf = workflow(
        &repo,
        &agent,
        "{ backend: claude, model: smart, completion: promise }",
        "",
    );
    let (r, show) = run(&repo, &wf, "Fix the build");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(outcomes(&show)["execute"], vec!["failed", "succeeded"]);
    let first = &show["state"]["stages"]["execute"]["history"][0]["outcome"]["failure"];
    assert_eq!(first["kind"], "retryable", "{first}");
    assert!(first["detail"]["stall"].is_string(), "{first}");
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
    let script = r#"
- - say: working
  - usage_limit: {resets_at: "in 1s"}
- - say: "Back after the reset. <promise>COMPLETE</promise>"
"#;
    // max_attempts 1: only a wait that does not count as a failure can get this run through.
    let with = "{ backend: claude, completion: promise, usage_limit: { slack: 0s } }";
    let agent = ScriptedAgent::new(script);
    let wf = workflow(&repo, &agent, with, "")
        .to_str()
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(&wf)
        .unwrap()
        .replace("max_attempts: 2", "max_attempts: 1");
    std::fs::write(&wf, text).unwrap();
    let r = repo.run(&["run", &wf]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let show = repo.show(&r.run_id());
    assert_eq!(outcomes(&show)["execute"], vec!["failed", "succeeded"]);
    let first = &show["state"]["stages"]["execute"]["history"][0];
    assert_eq!(
        first["outcome"]["failure"]["detail"]["usage_limit"], true,
        "{first}"
    );
    let retry_at = first["outcome"]["failure"]["retry_at_ms"].as_u64().unwrap();
    let second_started = show["state"]["stages"]["execute"]["history"][1]["started_at_ms"]
        .as_u64()
        .unwrap();
    assert!(second_started >= retry_at, "retried before the reset");
}

#[test]
fn an_auth_failure_is_fatal_and_says_how_to_log_in() {
    let repo = TestRepo::new();
    let script = "- - auth_error: true\n";
    let agent = ScriptedAgent::new(script);
    let wf = workflow(&repo, &agent, "{ backend: claude }", "");
    let (r, show) = run(&repo, &wf, "Anything");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let failure = &show["state"]["stages"]["execute"]["last_failure"];
    assert_eq!(failure["kind"], "fatal", "{failure}");
    assert!(
        failure["message"].as_str().unwrap().contains("/login"),
        "{failure}"
    );
    assert_eq!(
        outcomes(&show)["execute"],
        vec!["failed"],
        "auth failures are not retried"
    );
}

#[test]
fn a_failing_test_stage_sends_its_output_back_to_the_agent() {
    let repo = TestRepo::new();
    let script = r#"
- - say: "First try. <promise>COMPLETE</promise>"
  - write: {path: wrong.txt, content: "x\n"}
- - say: "Fixed per the test output. <promise>COMPLETE</promise>"
  - write: {path: fixed.txt, content: "ok\n"}
"#;
    let test_stage = r#"  test:
    uses: builtin:gate
    needs: [execute]
    with: { commands: ["sh -c 'test -f fixed.txt || { echo need-fixed-txt; exit 1; }'"] }
    permissions: { workspace: read, exec: [sh] }
    on_failure: { goto: execute, max_loops: 2 }
"#;
    let agent = ScriptedAgent::new(script);
    let wf = workflow(
        &repo,
        &agent,
        "{ backend: claude, completion: promise }",
        test_stage,
    );
    let (r, show) = run(&repo, &wf, "Make the test pass");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let o = outcomes(&show);
    assert_eq!(o["execute"], vec!["succeeded", "succeeded"]);
    assert_eq!(o["test"], vec!["failed", "succeeded"]);
    let calls = agent.invocations();
    let second = calls[1]["prompt"].as_str().unwrap();
    assert!(second.contains("sent back"), "{second}");
    assert!(
        second.contains("need-fixed-txt"),
        "the test's output reaches the agent: {second}"
    );
    assert!(
        calls[1]["resume"].is_null(),
        "a loop back starts a fresh session"
    );
}

#[test]
fn a_context_overflow_starts_a_fresh_session_with_a_handoff() {
    let repo = TestRepo::new();
    let script = r#"
- - say: Read a lot of files
  - write: {path: step1.txt, content: "one\n"}
  - context_overflow: true
- - say: "Picked up from the handoff. <promise>COMPLETE</promise>"
  - write: {path: step2.txt, content: "two\n"}
"#;
    let agent = ScriptedAgent::new(script);
    let wf = workflow(
        &repo,
        &agent,
        "{ backend: claude, completion: promise }",
        "",
    );
    let (r, show) = run(&repo, &wf, "A task with a huge context");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let calls = agent.invocations();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1]["resume"].is_null(),
        "a fresh session, not a resume: {}",
        calls[1]
    );
    let handoff = calls[1]["prompt"].as_str().unwrap();
    assert!(handoff.contains("A task with a huge context"), "{handoff}");
    assert!(
        handoff.contains("step1.txt"),
        "the handoff says what was done: {handoff}"
    );
    assert_eq!(
        outcomes(&show)["execute"],
        vec!["succeeded"],
        "an overflow is not a failure"
    );
}
