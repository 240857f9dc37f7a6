//! End-to-end: looking back at the runs of a repository. `engine costs` sums what runs spent
//! (by local day, task, stage, model; an unknown cost stays unknown); `engine runs` filters by
//! status, time and workflow and has a COST column; a run no engine process drives is
//! `interrupted`; `engine show` defaults to the latest run, lists stages in pipeline order and
//! says when a pending retry is due.

use crate::support::agent::ScriptedAgent;
use crate::support::{TestRepo, Workflow, uses_fixture};

/// A time zone 14 hours ahead of UTC: the day `engine costs` prints is the local one.
const ZONE: &str = "Pacific/Kiritimati";

/// Two sessions per run: the claude one reports $0.25, the codex one reports no cost and its
/// model has no price (its cost is unknown). Played twice.
const SCRIPT: &str = r#"
- - say: writing
  - tokens: {input: 1000, output: 200}
  - cost: 0.25
  - result: {text: "wrote it"}
- - say: checking
  - tokens: {input: 3000, output: 100}
  - result: {text: "checked"}
- - say: writing
  - tokens: {input: 1000, output: 200}
  - cost: 0.25
  - result: {text: "wrote it"}
- - say: checking
  - tokens: {input: 3000, output: 100}
  - result: {text: "checked"}
"#;

/// A stage driving one agent session through fixture-agent, configured by `with`.
fn agent_session(with: &str) -> String {
    format!(
        "{}\nwith: {with}\npermissions: {{ workspace: write, agent: true }}\nretry: {{ max_attempts: 1 }}",
        uses_fixture("fixture_agent")
    )
}

fn echo(more: &str) -> String {
    format!("{}\n{more}", uses_fixture("fixture_echo"))
}

/// Runs the `spend` workflow for `task` (stages `write` then `check`, which sort the other
/// way); returns the run id and the end-of-run summary.
fn spend_run(repo: &TestRepo, task: &str) -> (String, String) {
    let run = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task(task)
        .env("TZ", ZONE)
        .run();
    run.succeeds();
    (run.run_id(), repo.normalise(&run.stderr_from("summary:")))
}

#[test]
fn costs_are_summed_by_day_task_stage_and_model_and_unknown_stays_unknown() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(SCRIPT);
    repo.redact(agent.dir(), "[AGENT]");
    Workflow::named("spend")
        .agents(&agent, "limits: { post_result_grace: 1s }")
        .stage("write", &agent_session("{ backend: claude, model: m-one }"))
        .stage(
            "check",
            &format!(
                "{}\nneeds: [write]",
                agent_session("{ backend: codex, model: gpt-unpriced }")
            ),
        )
        .write(&repo);
    let (first, summary) = spend_run(&repo, "Add a greeting");
    // The summary lists the stages in the workflow's order.
    insta::assert_snapshot!("summary_in_pipeline_order", summary);
    let (second, _) = spend_run(&repo, "Add a farewell");

    let costs = |args: &[&str]| {
        let out = repo
            .engine()
            .args(["costs"])
            .args(args)
            .env("TZ", ZONE)
            .run();
        out.succeeds();
        out
    };
    insta::assert_snapshot!("by_stage", costs(&["--by", "stage"]).stdout_normalised());
    insta::assert_snapshot!("by_task", costs(&["--by", "task"]).stdout_normalised());
    insta::assert_snapshot!("by_model", costs(&["--by", "model"]).stdout_normalised());
    // `--since` a duration: everything here is younger than an hour.
    assert_eq!(
        costs(&["--by", "stage", "--since", "1h"]).stdout(),
        costs(&["--by", "stage"]).stdout()
    );
    // `--since` a day to come: nothing.
    let none = costs(&["--since", "2999-01-01"]);
    none.stdout_is("");
    assert_eq!(none.stderr(), "no spend recorded\n");

    // By day (the default): the days of the attempts in the local time zone, as one JSON
    // document. The expected days come from the times the runs recorded.
    let tz = jiff::tz::TimeZone::get(ZONE).unwrap();
    let mut days: Vec<String> = [&first, &second]
        .iter()
        .flat_map(|id| {
            let report = repo.report(id);
            report
                .state
                .stages
                .values()
                .flat_map(|s| s.history.iter().map(|a| a.ended_at_ms.unwrap()))
                .collect::<Vec<_>>()
        })
        .map(|ms| {
            jiff::Timestamp::from_millisecond(i64::try_from(ms).unwrap())
                .unwrap()
                .to_zoned(tz.clone())
                .date()
                .to_string()
        })
        .collect();
    days.sort();
    days.dedup();
    let json = costs(&["--json"]).json();
    assert_eq!(json["by"], "day");
    assert_eq!(json["time_zone"], ZONE);
    let keys: Vec<&str> = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, days);
    let total = &json["total"];
    assert_eq!(total["runs"], 2);
    assert_eq!(total["attempts"], 4);
    // Two sessions' cost is unknown: the total is not a number, what is known is $0.50.
    assert_eq!(total["cost_usd"], serde_json::Value::Null);
    assert_eq!(total["cost_known"], false);
    assert!((total["known_cost_usd"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(total["input_tokens"], 8000);
    let table = costs(&[]).stdout();
    assert!(table.starts_with("DAY "), "{table}");
    for day in &days {
        assert!(table.contains(&format!("\n{day} ")), "{day} in\n{table}");
    }

    // `engine runs` has a COST column: $0.25 known, the rest unknown.
    let runs = repo.run(&["runs"]);
    runs.succeeds();
    insta::assert_snapshot!("runs_with_cost", runs.stdout_normalised());

    // `engine show` without a run shows the latest one, stages in pipeline order.
    let latest = repo.run(&["show"]);
    latest.succeeds();
    let named = repo.run(&["show", &second]);
    assert_eq!(latest.stdout(), named.stdout());
    insta::assert_snapshot!("show_latest", latest.stdout_normalised());
    // `show --json` keeps the shape (an object of stages) with its keys in pipeline order.
    let json = repo.run(&["show", "--json"]);
    json.succeeds();
    let text = json.stdout();
    let stages = text.find("\"stages\": {").unwrap();
    let write = text[stages..].find("\"write\": {").unwrap();
    let check = text[stages..].find("\"check\": {").unwrap();
    assert!(write < check, "{text}");
    assert_eq!(json.json()["meta"]["run_id"], second.as_str());
}

#[test]
fn a_bad_since_is_refused_with_exit_2() {
    let repo = TestRepo::new();
    let r = repo.run(&["costs", "--since", "last tuesday"]);
    r.exits(2);
    insta::assert_snapshot!("bad_since", r.stderr_normalised());
    repo.run(&["runs", "--since", "2026-02-30"]).exits(2);
}

#[test]
fn runs_are_filtered_and_a_run_nobody_drives_is_interrupted_with_its_retry_due() {
    let repo = TestRepo::new();
    // No run yet: `show` says so and exits 2.
    let nothing = repo.run(&["show"]);
    nothing.exits(2);
    insta::assert_snapshot!("show_without_runs", nothing.stderr_normalised());

    Workflow::named("quick")
        .stage("only", &echo(""))
        .write(&repo);
    let quick = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Quick one")
        .run();
    quick.succeeds();
    let quick = quick.run_id();

    // A run whose first stage fails and retries in an hour; killed while it waits.
    let flaky = Workflow::named("flaky")
        .stage(
            "flaky",
            &echo("with: { fail: retryable }\nretry: { max_attempts: 2, initial_interval: 1h }"),
        )
        .stage("after", &echo("needs: [flaky]"))
        .yaml();
    repo.write("flaky.yaml", &flaky);
    let mut engine = repo
        .engine()
        .args(["run", "flaky.yaml"])
        .task("Flaky one")
        .spawn();
    let flaky = engine.read_run_id();
    engine.wait_for_stderr("↻ flaky: attempt 2 in");
    engine.kill9();

    let runs = repo.run(&["runs"]);
    runs.succeeds();
    insta::assert_snapshot!("runs_with_an_interrupted_run", runs.stdout_normalised());

    let ids = |args: &[&str]| -> Vec<String> {
        let r = repo.engine().args(["runs", "--json"]).args(args).run();
        r.succeeds();
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["run_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&["--status", "interrupted"]), [flaky.as_str()]);
    assert_eq!(ids(&["--status", "running"]), Vec::<String>::new());
    assert_eq!(
        ids(&["--status", "succeeded,interrupted"]),
        [flaky.as_str(), quick.as_str()]
    );
    assert_eq!(
        ids(&[
            "--status",
            "succeeded",
            "--status",
            "interrupted",
            "--limit",
            "1"
        ]),
        [flaky.as_str()]
    );
    assert_eq!(ids(&["--workflow", "quick"]), [quick.as_str()]);
    assert_eq!(ids(&["--workflow", "flaky.yaml"]), [flaky.as_str()]);
    assert_eq!(ids(&["--since", "1h"]), [flaky.as_str(), quick.as_str()]);
    assert_eq!(ids(&["--since", "2999-01-01"]), Vec::<String>::new());
    let status = repo.runs();
    assert_eq!(status[0]["status"], "interrupted");
    let nothing = repo.run(&["runs", "--since", "2999-01-01"]);
    nothing.succeeds().stdout_is("");
    assert_eq!(nothing.stderr(), "no runs match\n");

    let bad = repo.run(&["runs", "--status", "done"]);
    bad.exits(2);
    insta::assert_snapshot!("bad_status", bad.stderr_normalised());

    // The latest run: interrupted, stages in pipeline order, the retry's due time.
    let show = repo.run(&["show"]);
    show.succeeds();
    insta::assert_snapshot!("show_interrupted_with_retry_due", show.stdout_normalised());
}
