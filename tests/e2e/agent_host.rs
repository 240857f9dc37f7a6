//! Agent sessions through the real binary, with the scripted agent playing Claude Code (or
//! Codex): the host resolves tiers, scrubs the environment, keeps transcripts, measures files
//! changed, records spend per attempt, and enforces stage, run and day budgets (failing closed
//! when the spend cannot be known).

mod support;

use support::agent::ScriptedAgent;
use support::{TestRepo, fixture_uses};

/// A workflow whose stages drive one agent session each through fixture-agent; the claude
/// and codex backends are the scripted agent.
fn workflow(
    repo: &TestRepo,
    agent: &ScriptedAgent,
    head: &str,
    stages: &str,
) -> std::path::PathBuf {
    repo.workflow(&format!(
        "name: agents\ngit: {{ keep_worktree: always }}\n{head}\nagents:\n{}  env: {{ ENGINE_DEMO_FLAG: visible }}\n  limits: {{ post_result_grace: 1s }}\nstages:\n{stages}",
        agent.backends_yaml()
    ))
}

fn agent_stage(id: &str, needs: Option<&str>, with: &str) -> String {
    let mut s = format!(
        "  {id}:\n    {}\n    with: {with}\n    permissions: {{ workspace: write, agent: true }}\n    retry: {{ max_attempts: 1 }}\n",
        fixture_uses("fixture_agent")
    );
    if let Some(n) = needs {
        s += &format!("    needs: [{n}]\n");
    }
    s
}

const EDIT_AND_FINISH: &str = r#"
- - say: Adding the greeting
  - write: {path: hello.txt, content: "hello\n"}
  - tokens: {input: 1000, output: 200}
  - cost: 0.2
  - result: {text: "Done: added hello.txt"}
"#;

#[test]
fn an_agent_session_changes_the_worktree_and_its_spend_is_recorded() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(EDIT_AND_FINISH);
    let wf = workflow(
        &repo,
        &agent,
        "models: { smart: model-smart-id, genius: model-genius-id }",
        &agent_stage(
            "work",
            None,
            "{ backend: claude, model: smart, prompt: \"Add a greeting\" }",
        ),
    );
    let run = repo
        .engine()
        .args(["run", wf.to_str().unwrap(), "--task", "Add a greeting"])
        .env("ENGINE_TEST_SECRET", "must-not-leak")
        .env("SOME_HOST_TOKEN", "must-not-leak-either")
        .output()
        .unwrap();
    let run = support::Run { output: run };
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let show = repo.show(&run.run_id());
    let work = &show["state"]["stages"]["work"];
    assert_eq!(work["outputs"]["summary"]["outcome"], "completed");
    assert_eq!(
        work["outputs"]["summary"]["result_text"],
        "Done: added hello.txt"
    );
    assert_eq!(
        work["outputs"]["summary"]["files_changed"],
        serde_json::json!(["hello.txt"])
    );
    // Spend recorded on the attempt.
    let spend = &work["history"][0]["spend"];
    assert_eq!(spend["cost_usd"], 0.2);
    assert_eq!(spend["input_tokens"], 1000);
    assert_eq!(spend["cost_known"], true);
    // The file landed in the run's worktree, not in the user's checkout.
    let worktree = std::path::PathBuf::from(show["meta"]["worktree"].as_str().unwrap());
    assert_eq!(
        std::fs::read_to_string(worktree.join("hello.txt")).unwrap(),
        "hello\n"
    );
    assert!(!repo.path().join("hello.txt").exists());

    // What the CLI was started with: the tier resolved to its model id, the prompt on stdin,
    // a scrubbed environment with only what the workflow passes.
    let calls = agent.invocations();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call["model"], "model-smart-id");
    assert_eq!(call["prompt"], "Add a greeting");
    assert!(
        call["argv"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a != "Add a greeting"),
        "the prompt must not travel in argv: {call}"
    );
    let names: Vec<&str> = call["env_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(names.contains(&"ENGINE_DEMO_FLAG"), "{names:?}");
    assert!(!names.contains(&"ENGINE_TEST_SECRET"), "{names:?}");
    assert!(!names.contains(&"SOME_HOST_TOKEN"), "{names:?}");
    assert_eq!(
        call["env"]["ANTHROPIC_DEFAULT_SONNET_MODEL"],
        "model-smart-id"
    );
    assert_eq!(call["cwd"].as_str().unwrap(), worktree.to_str().unwrap());

    // The raw transcript is kept and listed.
    let text = repo.run(&["show", &run.run_id()]);
    assert!(text.stdout().contains("transcript: "), "{}", text.stdout());
    assert!(text.stdout().contains("spent $0.20"), "{}", text.stdout());
    let transcript = repo
        .path()
        .join(".engine/runs")
        .join(run.run_id())
        .join("transcripts/work.1.1.jsonl");
    let raw = std::fs::read_to_string(&transcript).unwrap();
    assert!(raw.contains("\"stream\":\"stdout\""), "{raw}");
    assert!(raw.contains("Done: added hello.txt"), "{raw}");
    let runs = repo.run(&["runs", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&runs.stdout()).unwrap();
    assert_eq!(list[0]["spend"]["cost_usd"], 0.2);
}

#[test]
fn an_over_budget_run_stops_within_one_turn_of_the_limit_and_starts_no_more_agents() {
    let repo = TestRepo::new();
    // Each turn costs $0.30 more; the run may spend $0.50.
    let script = r#"
- - say: turn one
  - cost: 0.3
  - say: turn two
  - cost: 0.6
  - say: turn three
  - cost: 0.9
  - result: {text: "finished"}
"#;
    let stages = agent_stage("first", None, "{ backend: claude }")
        + &agent_stage("second", Some("first"), "{ backend: claude }");
    let agent = ScriptedAgent::new(script);
    let wf = workflow(&repo, &agent, "budget: { run_usd: 0.5 }", &stages);
    let run = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let show = repo.show(&run.run_id());
    let first = &show["state"]["stages"]["first"];
    assert_eq!(
        first["outputs"]["summary"]["outcome"], "budget-exceeded",
        "{first}"
    );
    let spent = first["history"][0]["spend"]["cost_usd"].as_f64().unwrap();
    assert!(
        spent <= 0.6 + 1e-9,
        "spent {spent}, more than one turn past the $0.50 limit"
    );
    // The next stage's agent is refused before it starts.
    let second = &show["state"]["stages"]["second"]["last_failure"]["message"];
    assert!(
        second
            .as_str()
            .unwrap()
            .starts_with("budget-exhausted: budget.run_usd is spent"),
        "{second}"
    );
    assert_eq!(agent.invocations().len(), 1, "no second agent was started");
}

#[test]
fn a_stage_budget_limits_the_stage_and_the_session_is_told_its_cap() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(EDIT_AND_FINISH);
    let wf = workflow(
        &repo,
        &agent,
        "budget: { run_usd: 10 }",
        &(agent_stage("work", None, "{ backend: claude }") + "    budget_usd: 0.75\n"),
    );
    let run = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let call = &agent.invocations()[0];
    let argv: Vec<&str> = call["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let at = argv
        .iter()
        .position(|a| *a == "--max-budget-usd")
        .expect("budget passed to the CLI");
    assert_eq!(argv[at + 1].parse::<f64>().unwrap(), 0.75);
}

#[test]
fn the_day_budget_spans_runs() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(EDIT_AND_FINISH);
    let wf = workflow(
        &repo,
        &agent,
        "budget: { day_usd: 0.3 }",
        &agent_stage("work", None, "{ backend: claude }"),
    );
    // $0.20 of $0.30: allowed.
    assert_eq!(repo.run(&["run", wf.to_str().unwrap()]).code(), 0);
    // $0.20 more would pass the day's limit only after the fact; $0.10 is left, so it starts...
    let second = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(second.code(), 0, "{}", second.stderr());
    // ... and now $0.40 is spent today: nothing is left, so no third run starts at all
    // (exit 7, checked before the run exists).
    let third = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(third.code(), 7, "{}", third.stderr());
    assert!(
        third.stderr().contains("budget.day_usd is spent"),
        "{}",
        third.stderr()
    );
    assert_eq!(third.stdout(), "");
    let runs: serde_json::Value =
        serde_json::from_str(&repo.run(&["runs", "--json"]).stdout()).unwrap();
    assert_eq!(runs.as_array().map(Vec::len), Some(2), "{runs}");
    assert_eq!(agent.invocations().len(), 2);
}

#[test]
fn the_day_budget_is_also_enforced_inside_a_run() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(EDIT_AND_FINISH);
    let wf = workflow(
        &repo,
        &agent,
        "budget: { day_usd: 0.3 }",
        &format!(
            "{}{}",
            agent_stage("first", None, "{ backend: claude }"),
            agent_stage("second", Some("first"), "{ backend: claude }")
        ),
    );
    // The run starts with $0.30 left; after its first stage ($0.20) and the second ($0.20),
    // a third agent could not start, but the second still may: $0.10 was left when it began.
    let run = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(agent.invocations().len(), 2);
}

#[test]
fn a_budget_with_a_cli_that_reports_no_cost_fails_closed_unless_prices_are_set() {
    let repo = TestRepo::new();
    let script =
        "- - say: hi\n  - tokens: {input: 1000000, output: 100000}\n  - result: {text: done}\n";
    let agent = ScriptedAgent::new(script);
    let wf = workflow(
        &repo,
        &agent,
        "budget: { run_usd: 5 }",
        &agent_stage("work", None, "{ backend: codex, model: gpt-test }"),
    );
    let run = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let show = repo.show(&run.run_id());
    let message = show["state"]["stages"]["work"]["last_failure"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("reports no cost") && message.contains("prices"),
        "{message}"
    );
    assert!(agent.invocations().is_empty(), "the agent never started");

    // With prices the cost is computed from tokens: 1M in at $2 + 0.1M out at $10 = $3.
    let agent = ScriptedAgent::new(script);
    let wf = workflow(
        &repo,
        &agent,
        "budget: { run_usd: 5 }\nprices: { gpt-test: { input: 2, output: 10 } }",
        &agent_stage("work", None, "{ backend: codex, model: gpt-test }"),
    );
    let run = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let show = repo.show(&run.run_id());
    let spend = &show["state"]["stages"]["work"]["history"][0]["spend"];
    assert!(
        (spend["cost_usd"].as_f64().unwrap() - 3.0).abs() < 1e-9,
        "{spend}"
    );
}

#[test]
fn unknown_backends_are_refused_at_start_and_bad_agent_settings_at_validate() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(EDIT_AND_FINISH);
    let wf = workflow(
        &repo,
        &agent,
        "",
        &agent_stage("work", None, "{ backend: nope }"),
    );
    let run = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let show = repo.show(&run.run_id());
    let message = show["state"]["stages"]["work"]["last_failure"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.starts_with("unknown-backend"), "{message}");

    repo.workflow(
        "name: bad-agents\nagents:\n  backends:\n    claud: { extra_args: [--x] }\nstages:\n  a:\n    uses: builtin:gate\n    with: { commands: [\"true\"] }\n    permissions: { workspace: read, exec: [\"true\"] }\n",
    );
    let r = repo.run(&["validate", "workflow.yaml"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        r.stderr()
            .contains("workflow.yaml:4:5: agents.backends.claud: unknown backend"),
        "{}",
        r.stderr()
    );
}

#[test]
fn a_run_that_fails_while_another_agent_is_working_records_that_agents_spend_and_ends() {
    let repo = TestRepo::new();
    // `slow` reports 100k input / 10k output tokens ($0.20 at the prices below) and keeps
    // working; `broken` fails after 1.5 s, which fails the run and cancels `slow` mid-session.
    // Both may write the worktree, so they run at the same time (a read-only stage would wait
    // for the writer: read and write stages of a run take turns).
    let script = "- - say: working\n  - tokens: {input: 100000, output: 10000}\n  - say: still working\n  - sleep: 30s\n  - result: {text: never}\n";
    let agent = ScriptedAgent::new(script);
    let broken = format!(
        "  broken:\n    {}\n    with: {{ sleep_ms: 1500, fail: fatal }}\n    permissions: {{ workspace: write, exec: [sleep] }}\n",
        fixture_uses("fixture_echo")
    );
    let stages = agent_stage("slow", None, "{ backend: claude, model: m1 }") + &broken;
    let wf = workflow(
        &repo,
        &agent,
        "prices: { m1: { input: 1, output: 10 } }",
        &stages,
    );
    let r = repo.run(&["run", wf.to_str().unwrap()]);
    assert_eq!(
        r.code(),
        1,
        "the run ends (and does not hang): {}",
        r.stderr()
    );
    let show = repo.show(&r.run_id());
    let slow = &show["state"]["stages"]["slow"];
    assert_eq!(
        slow["history"][0]["outcome"]["outcome"], "cancelled",
        "{slow}"
    );
    let events: Vec<&str> = show["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.last(), Some(&"spend_recorded"), "{events:?}");
    let spent = slow["history"][0]["spend"]["cost_usd"].as_f64().unwrap();
    assert!((spent - 0.2).abs() < 1e-9, "{slow}");
}
