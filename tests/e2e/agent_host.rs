//! Agent sessions through the real binary, with the scripted agent playing Claude Code (or
//! Codex): the host resolves tiers, scrubs the environment, keeps transcripts, measures files
//! changed, records spend per attempt, and enforces stage, run and day budgets (failing closed
//! when the spend cannot be known).

use crate::support::agent::ScriptedAgent;
use crate::support::{TestRepo, Workflow, uses_fixture};

/// Under `agents:`: a variable passed to every session, a short grace after a result.
const AGENT_SETTINGS: &str =
    "env: { ENGINE_DEMO_FLAG: visible }\nlimits: { post_result_grace: 1s }";

/// A workflow named `agents` keeping its worktree, the scripted agent as the backends.
fn agents_workflow(agent: &ScriptedAgent) -> Workflow {
    Workflow::named("agents")
        .top("git: { keep_worktree: always }")
        .agents(agent, AGENT_SETTINGS)
}

/// A stage driving one agent session through fixture-agent, configured by `with`.
fn agent_session(with: &str) -> String {
    format!(
        "{}\nwith: {with}\npermissions: {{ workspace: write, agent: true }}\nretry: {{ max_attempts: 1 }}",
        uses_fixture("fixture_agent")
    )
}

const EDIT_AND_FINISH: &str = r#"
- - say: Adding the greeting
  - write: {path: hello.txt, content: "hello\n"}
  - tokens: {input: 1000, output: 200}
  - cost: 0.2
  - result: {text: "Done: added hello.txt"}
"#;

#[test]
#[expect(
    clippy::float_cmp,
    reason = "the dollars are parsed from the same decimal text as the literal, so they are equal \
              exactly"
)]
fn an_agent_session_changes_the_worktree_and_its_spend_is_recorded() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(EDIT_AND_FINISH);
    repo.redact(agent.dir(), "[AGENT]");
    agents_workflow(&agent)
        .top("models: { smart: model-smart-id, genius: model-genius-id }")
        .stage(
            "work",
            &agent_session("{ backend: claude, model: smart, prompt: \"Add a greeting\" }"),
        )
        .write(&repo);
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a greeting")
        .env("ENGINE_TEST_SECRET", "must-not-leak")
        .env("SOME_HOST_TOKEN", "must-not-leak-either")
        .run();
    run.succeeds();
    let report = run.report();
    let work = report.stage("work");
    assert_eq!(work.outputs["summary"]["outcome"], "completed");
    assert_eq!(
        work.outputs["summary"]["result_text"],
        "Done: added hello.txt"
    );
    assert_eq!(
        work.outputs["summary"]["files_changed"],
        serde_json::json!(["hello.txt"])
    );
    // Spend recorded on the attempt.
    let spend = work.history[0].spend;
    assert_eq!(spend.cost_usd, 0.2);
    assert_eq!(spend.input_tokens, 1000);
    assert!(spend.cost_known);
    // The file landed in the run's worktree, not in the user's checkout.
    let worktree = report.worktree();
    assert_eq!(
        std::fs::read_to_string(worktree.join("hello.txt")).unwrap(),
        "hello\n"
    );
    repo.assert_no_file("hello.txt");

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

    // `engine show` lists the spend and the raw transcript, which is kept.
    let text = repo.run(&["show", &run.run_id()]);
    text.succeeds();
    insta::assert_snapshot!("show_with_spend_and_transcript", text.stdout_normalised());
    let transcript = repo
        .path()
        .join(".engine/runs")
        .join(run.run_id())
        .join("transcripts/work.1.1.jsonl");
    let raw = std::fs::read_to_string(&transcript).unwrap();
    assert!(raw.contains("\"stream\":\"stdout\""), "{raw}");
    assert!(raw.contains("Done: added hello.txt"), "{raw}");
    assert_eq!(repo.runs()[0]["spend"]["cost_usd"], 0.2);
}

#[test]
fn an_over_budget_run_stops_within_one_turn_of_the_limit_and_starts_no_more_agents() {
    let repo = TestRepo::new();
    // Each turn costs $0.30 more; the run may spend $0.50.
    let agent = ScriptedAgent::new(
        r#"
- - say: turn one
  - cost: 0.3
  - say: turn two
  - cost: 0.6
  - say: turn three
  - cost: 0.9
  - result: {text: "finished"}
"#,
    );
    agents_workflow(&agent)
        .top("budget: { run_usd: 0.5 }")
        .stage("first", &agent_session("{ backend: claude }"))
        .stage(
            "second",
            &format!("{}\nneeds: [first]", agent_session("{ backend: claude }")),
        )
        .write(&repo);
    let run = repo.run(&["run", "workflow.yaml"]);
    run.exits(1);
    let report = run.report();
    let first = report.stage("first");
    assert_eq!(
        first.outputs["summary"]["outcome"], "budget-exceeded",
        "{first:?}"
    );
    let spent = first.history[0].spend.cost_usd;
    assert!(
        spent <= 0.6 + 1e-9,
        "spent {spent}, more than one turn past the $0.50 limit"
    );
    // The next stage's agent is refused before it starts.
    let refused = &report.stage("second").failure().message;
    assert!(
        refused.starts_with("budget-exhausted: budget.run_usd is spent"),
        "{refused}"
    );
    assert_eq!(agent.invocations().len(), 1, "no second agent was started");
}

#[test]
#[expect(
    clippy::float_cmp,
    reason = "the dollars are parsed from the same decimal text as the literal, so they are equal \
              exactly"
)]
fn a_stage_budget_limits_the_stage_and_the_session_is_told_its_cap() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(EDIT_AND_FINISH);
    agents_workflow(&agent)
        .top("budget: { run_usd: 10 }")
        .stage(
            "work",
            &format!("{}\nbudget_usd: 0.75", agent_session("{ backend: claude }")),
        )
        .write(&repo);
    repo.run(&["run", "workflow.yaml"]).succeeds();
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
    agents_workflow(&agent)
        .top("budget: { day_usd: 0.3 }")
        .stage("work", &agent_session("{ backend: claude }"))
        .write(&repo);
    // $0.20 of $0.30: allowed.
    repo.run(&["run", "workflow.yaml"]).succeeds();
    // $0.20 more would pass the day's limit only after the fact; $0.10 is left, so it starts...
    repo.run(&["run", "workflow.yaml"]).succeeds();
    // ... and now $0.40 is spent today: nothing is left, so no third run starts at all
    // (exit 7, checked before the run exists).
    let third = repo.run(&["run", "workflow.yaml"]);
    third.exits(7).stdout_is("");
    insta::assert_snapshot!("day_budget_spent", third.stderr_normalised());
    assert_eq!(repo.runs().len(), 2);
    assert_eq!(agent.invocations().len(), 2);
}

#[test]
fn the_day_budget_is_also_enforced_inside_a_run() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(EDIT_AND_FINISH);
    agents_workflow(&agent)
        .top("budget: { day_usd: 0.3 }")
        .stage("first", &agent_session("{ backend: claude }"))
        .stage(
            "second",
            &format!("{}\nneeds: [first]", agent_session("{ backend: claude }")),
        )
        .write(&repo);
    // The run starts with $0.30 left; after its first stage ($0.20) and the second ($0.20),
    // a third agent could not start, but the second still may: $0.10 was left when it began.
    repo.run(&["run", "workflow.yaml"]).succeeds();
    assert_eq!(agent.invocations().len(), 2);
}

#[test]
fn a_budget_with_a_cli_that_reports_no_cost_fails_closed_unless_prices_are_set() {
    let repo = TestRepo::new();
    let script =
        "- - say: hi\n  - tokens: {input: 1000000, output: 100000}\n  - result: {text: done}\n";
    let agent = ScriptedAgent::new(script);
    agents_workflow(&agent)
        .top("budget: { run_usd: 5 }")
        .stage(
            "work",
            &agent_session("{ backend: codex, model: gpt-test }"),
        )
        .write(&repo);
    let run = repo.run(&["run", "workflow.yaml"]);
    run.exits(1);
    let report = run.report();
    // It says the CLI reports no cost and how prices fix that.
    insta::assert_snapshot!("no_cost_reported", report.stage("work").failure().message);
    assert!(agent.invocations().is_empty(), "the agent never started");

    // With prices the cost is computed from tokens: 1M in at $2 + 0.1M out at $10 = $3.
    let agent = ScriptedAgent::new(script);
    agents_workflow(&agent)
        .top("budget: { run_usd: 5 }")
        .top("prices: { gpt-test: { input: 2, output: 10 } }")
        .stage(
            "work",
            &agent_session("{ backend: codex, model: gpt-test }"),
        )
        .write(&repo);
    let run = repo.run(&["run", "workflow.yaml"]);
    run.succeeds();
    let spend = run.report().stage("work").history[0].spend;
    assert!((spend.cost_usd - 3.0).abs() < 1e-9, "{spend:?}");
}

#[test]
fn unknown_backends_are_refused_at_start_and_bad_agent_settings_at_validate() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(EDIT_AND_FINISH);
    agents_workflow(&agent)
        .stage("work", &agent_session("{ backend: nope }"))
        .write(&repo);
    let run = repo.run(&["run", "workflow.yaml"]);
    run.exits(1);
    let report = run.report();
    let message = &report.stage("work").failure().message;
    assert!(message.starts_with("unknown-backend"), "{message}");

    repo.workflow(
        "name: bad-agents\nagents:\n  backends:\n    claud: { extra_args: [--x] }\nstages:\n  a:\n    uses: builtin:gate\n    with: { commands: [\"true\"] }\n    permissions: { workspace: read, exec: [\"true\"] }\n",
    );
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("validate_unknown_backend_settings", r.stderr_normalised());
}

#[test]
fn a_run_that_fails_while_another_agent_is_working_records_that_agents_spend_and_ends() {
    let repo = TestRepo::new();
    // `slow` reports 100k input / 10k output tokens ($0.20 at the prices below), says so with
    // a file, and keeps working; `broken` waits for that file and fails, which fails the run
    // and cancels `slow` mid-session. Both may write the worktree, so they run at the same
    // time (a read-only stage would wait for the writer: read and write stages of a run take
    // turns).
    let agent = ScriptedAgent::new("");
    let counted = agent.scratch().join("tokens-reported");
    std::fs::write(
        agent.script_path(),
        format!(
            "- - say: working\n  - tokens: {{input: 100000, output: 10000}}\n  - say: still working\n  \
             - run: \"touch {}\"\n  - sleep: 30s\n  - result: {{text: never}}\n",
            counted.display()
        ),
    )
    .unwrap();
    let broken = format!(
        "uses: builtin:gate\nwith: {{ commands: [\"sh -c 'while [ ! -e {} ]; do sleep 0.02; done; exit 1'\"] }}\n\
         permissions: {{ workspace: write, exec: [sh] }}\nretry: {{ max_attempts: 1 }}",
        counted.display()
    );
    agents_workflow(&agent)
        .top("prices: { m1: { input: 1, output: 10 } }")
        .stage("slow", &agent_session("{ backend: claude, model: m1 }"))
        .stage("broken", &broken)
        .write(&repo);
    let r = repo.run(&["run", "workflow.yaml"]);
    // The run ends (and does not hang).
    r.exits(1);
    assert!(
        counted.exists(),
        "the run failed before the tokens were reported"
    );
    let report = r.report();
    let slow = report.stage("slow");
    assert_eq!(slow.outcomes(), ["cancelled"], "{slow:?}");
    assert_eq!(
        report.event_names().last(),
        Some(&"spend_recorded"),
        "{:?}",
        report.event_names()
    );
    let spent = slow.history[0].spend.cost_usd;
    assert!((spent - 0.2).abs() < 1e-9, "{slow:?}");
}
