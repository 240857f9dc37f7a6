use std::collections::BTreeMap;

use engine_core::{
    AttemptOutcome, AttemptRecord, Failure, FailureKind, RunState, RunStatus, Spend, StagePhase,
    StageState, Task,
};
use engine_store::RunRecord;

use super::*;

mod exposition;
use exposition::{has, parse, value};

const WORKFLOW: &str = "name: wf
stages:
  execute:
    uses: builtin:agent
    with: { backend: claude }
    permissions: { workspace: write, agent: true }
  gate:
    uses: builtin:gate
    needs: [execute]
";

const SECRET: &str = "sk-live-SECRET0123456789";

fn spend(cost: f64, known: bool, input: u64, output: u64) -> Spend {
    Spend {
        cost_usd: cost,
        cost_known: known,
        input_tokens: input,
        output_tokens: output,
        ..Spend::NONE
    }
}

fn attempt(n: u32, start_s: u64, end_s: Option<u64>, outcome: AttemptOutcome) -> AttemptRecord {
    AttemptRecord {
        attempt: n,
        started_at_ms: start_s * 1000,
        ended_at_ms: end_s.map(|s| s * 1000),
        outcome,
        spend: Spend::NONE,
        commits: vec![],
    }
}

fn succeeded() -> AttemptOutcome {
    AttemptOutcome::Succeeded {
        summary: String::new(),
    }
}

/// Run `id` of workflow `workflow` with `status` and these stages.
fn run(id: &str, workflow: &str, status: RunStatus, stages: Vec<(&str, StageState)>) -> RunRecord {
    let mut meta = crate::test_fixtures::run_meta(id, "b");
    meta.workflow_name = workflow.into();
    meta.workflow_source = WORKFLOW.into();
    let terminal = status.is_terminal();
    RunRecord {
        meta,
        state: RunState {
            run_id: id.into(),
            task: Task {
                id: "T-1".into(),
                title: "a task".into(),
                ..Task::default()
            },
            status,
            stages: stages
                .into_iter()
                .map(|(s, st)| (s.to_string(), st))
                .collect(),
            seq: 1,
            started_at_ms: Some(0),
            finished_at_ms: terminal.then_some(600_000),
            finally: BTreeMap::new(),
            paused_at_ms: None,
            deadline_ms: None,
        },
    }
}

fn stage(phase: StagePhase, history: Vec<AttemptRecord>) -> StageState {
    StageState {
        phase,
        attempts: u32::try_from(history.len()).unwrap(),
        history,
        ..StageState::new()
    }
}

fn scrape_of(records: &[RunRecord], drivers: &Drivers) -> String {
    let models = |_run: &str, stage: &str, _attempt: u32| match stage {
        "execute" => "opus".to_string(),
        "review" => "priceless".to_string(),
        _ => "unknown".to_string(),
    };
    render(&Scrape {
        records,
        drivers,
        models: &models,
        queue_depth: None,
        day_budget_usd: None,
        day_spent_usd: 0.0,
        run_budget_usd: None,
    })
}

#[test]
fn runs_are_counted_by_shown_status_and_by_workflow() {
    let records = vec![
        run("R1", "wf", RunStatus::Running, vec![]),
        run("R2", "wf", RunStatus::Succeeded, vec![]),
        run("R3", "other", RunStatus::Succeeded, vec![]),
        run("R4", "wf", RunStatus::Running, vec![]),
    ];
    let drivers = Drivers::These(["R4".to_string()].into_iter().collect());
    let text = scrape_of(&records, &drivers);
    let s = parse(&text);
    let runs = |status| value(&s, "engine_runs", &[("status", status)]);
    assert_eq!(runs("interrupted"), Some(1.0));
    assert_eq!(runs("running"), Some(1.0));
    assert_eq!(runs("succeeded"), Some(2.0));
    // Every status is there, zeros included.
    for status in STATUS_NAMES {
        assert!(runs(status).is_some(), "{status}");
    }
    assert_eq!(runs("needs_attention"), Some(0.0));
    assert!(text.contains("engine_workflow_runs{workflow=\"wf\",status=\"succeeded\"} 1\n"));
    assert!(text.contains("engine_workflow_runs{workflow=\"other\",status=\"succeeded\"} 1\n"));
    assert_eq!(
        value(
            &s,
            "engine_workflow_runs",
            &[("workflow", "other"), ("status", "running")]
        ),
        None
    );
    assert!(text.contains("# TYPE engine_runs gauge\n"));
    // The same state gives the same text.
    assert_eq!(text, scrape_of(&records, &drivers));
}

#[test]
fn durations_are_histograms_of_finished_attempts_and_runs() {
    let failure = Failure {
        kind: FailureKind::Retryable,
        message: "boom".into(),
        detail: serde_json::Value::Null,
        retry_at_ms: None,
    };
    let execute = stage(
        StagePhase::Succeeded,
        vec![
            attempt(1, 0, Some(90), AttemptOutcome::Failed { failure }),
            attempt(2, 100, Some(103), succeeded()),
        ],
    );
    let gate = stage(
        StagePhase::Running { attempt: 1 },
        vec![attempt(1, 200, None, AttemptOutcome::Running)],
    );
    let skipped = stage(
        StagePhase::Skipped,
        vec![attempt(
            1,
            5,
            Some(5),
            AttemptOutcome::Skipped {
                reason: "no".into(),
            },
        )],
    );
    let records = vec![
        run("R1", "wf", RunStatus::Succeeded, vec![("execute", execute)]),
        run(
            "R2",
            "wf",
            RunStatus::Running,
            vec![("gate", gate), ("notes", skipped)],
        ),
    ];
    let text = scrape_of(&records, &Drivers::Nobody);
    let s = parse(&text);
    let attempt_metric = |suffix: &str, outcome, le: Option<&str>| {
        let mut labels = vec![("stage", "execute"), ("outcome", outcome)];
        labels.extend(le.map(|le| ("le", le)));
        value(
            &s,
            &format!("engine_stage_attempt_duration_seconds_{suffix}"),
            &labels,
        )
    };
    assert_eq!(attempt_metric("count", "failed", None), Some(1.0));
    assert_eq!(attempt_metric("sum", "failed", None), Some(90.0));
    assert_eq!(attempt_metric("bucket", "failed", Some("60.0")), Some(0.0));
    assert_eq!(attempt_metric("bucket", "failed", Some("120.0")), Some(1.0));
    assert_eq!(attempt_metric("bucket", "failed", Some("+Inf")), Some(1.0));
    assert_eq!(attempt_metric("sum", "succeeded", None), Some(3.0));
    assert!(text.contains("# TYPE engine_stage_attempt_duration_seconds histogram\n"));
    assert!(text.contains("# UNIT engine_stage_attempt_duration_seconds seconds\n"));
    // A running attempt has no duration yet; a skipped one did not run.
    assert!(!text.contains("stage=\"gate\""));
    assert!(!text.contains("stage=\"notes\""));
    let run_labels = [("workflow", "wf"), ("status", "succeeded")];
    assert_eq!(
        value(&s, "engine_run_duration_seconds_sum", &run_labels),
        Some(600.0)
    );
    assert_eq!(
        value(&s, "engine_run_duration_seconds_count", &run_labels),
        Some(1.0)
    );
    // Only finished runs have a duration.
    assert!(!text.contains("engine_run_duration_seconds_count{workflow=\"wf\",status=\"running\""));
}

#[test]
fn tokens_and_usd_are_summed_by_model_and_an_unknown_cost_is_never_zero() {
    let spent = |n, s| AttemptRecord {
        spend: s,
        ..attempt(n, 0, Some(1), succeeded())
    };
    let execute = stage(
        StagePhase::Succeeded,
        vec![
            spent(1, spend(0.5, true, 1000, 100)),
            spent(
                2,
                Spend {
                    cache_read_tokens: 7,
                    ..spend(0.25, true, 500, 50)
                },
            ),
        ],
    );
    // A CLI that reported no cost, for a model no price covers.
    let review = stage(
        StagePhase::Succeeded,
        vec![spent(1, spend(0.0, false, 300, 30))],
    );
    // Spent nothing, and knows it: not an agent attempt.
    let gate = stage(
        StagePhase::Succeeded,
        vec![attempt(1, 0, Some(1), succeeded())],
    );
    let records = vec![run(
        "R1",
        "wf",
        RunStatus::Succeeded,
        vec![("execute", execute), ("review", review), ("gate", gate)],
    )];
    let text = scrape_of(&records, &Drivers::Nobody);
    let s = parse(&text);
    let tokens = |model, kind| {
        value(
            &s,
            "engine_agent_tokens_total",
            &[("model", model), ("type", kind)],
        )
    };
    assert_eq!(tokens("opus", "input"), Some(1500.0));
    assert_eq!(tokens("opus", "output"), Some(150.0));
    assert_eq!(tokens("opus", "cache_read"), Some(7.0));
    assert_eq!(tokens("opus", "cache_write"), None);
    assert_eq!(tokens("priceless", "input"), Some(300.0));
    assert!(text.contains("engine_agent_cost_usd_total{model=\"opus\"} 0.75\n"));
    assert!(text.contains("# TYPE engine_agent_cost_usd counter\n"));
    // Unknown is not 0: no cost sample for the model, and the unknown attempt is counted.
    assert_eq!(
        value(&s, "engine_agent_cost_usd_total", &[("model", "priceless")]),
        None
    );
    assert!(!text.contains("model=\"priceless\"} 0"));
    let unknown = |model| {
        value(
            &s,
            "engine_agent_attempts_unknown_cost_total",
            &[("model", model)],
        )
    };
    assert_eq!(unknown("priceless"), Some(1.0));
    assert_eq!(unknown("opus"), Some(0.0));
    assert_eq!(
        value(&s, "engine_agent_attempts_total", &[("model", "opus")]),
        Some(2.0)
    );
    assert_eq!(
        value(&s, "engine_agent_attempts_total", &[("model", "unknown")]),
        None
    );
}

#[test]
fn budget_and_queue_gauges_are_there_only_when_set() {
    let render_with = |limit, spent, queue| {
        render(&Scrape {
            records: &[],
            drivers: &Drivers::Nobody,
            models: &|_: &str, _: &str, _: u32| "unknown".to_string(),
            queue_depth: queue,
            day_budget_usd: limit,
            day_spent_usd: spent,
            run_budget_usd: limit.map(|l| l / 2.0),
        })
    };
    let text = render_with(None, 1.5, None);
    let s = parse(&text);
    assert_eq!(value(&s, "engine_budget_day_usd_spent", &[]), Some(1.5));
    for absent in [
        "engine_budget_day_usd_limit",
        "engine_budget_day_usd_left",
        "engine_budget_run_usd_limit",
        "engine_queue_ready_tasks",
    ] {
        assert!(!text.contains(absent), "{absent}");
    }
    let s = parse(&render_with(Some(10.0), 2.5, Some(4)));
    assert_eq!(value(&s, "engine_budget_day_usd_limit", &[]), Some(10.0));
    assert_eq!(value(&s, "engine_budget_day_usd_left", &[]), Some(7.5));
    assert_eq!(value(&s, "engine_budget_run_usd_limit", &[]), Some(5.0));
    assert_eq!(value(&s, "engine_queue_ready_tasks", &[]), Some(4.0));
    // Overspent: nothing is left, not a negative amount.
    let s = parse(&render_with(Some(1.0), 2.5, Some(0)));
    assert_eq!(value(&s, "engine_budget_day_usd_left", &[]), Some(0.0));
    assert_eq!(value(&s, "engine_queue_ready_tasks", &[]), Some(0.0));
}

#[test]
fn active_agent_sessions_are_running_attempts_of_stages_granted_agent_in_driven_runs() {
    let running = || {
        stage(
            StagePhase::Running { attempt: 1 },
            vec![attempt(1, 0, None, AttemptOutcome::Running)],
        )
    };
    let waiting = stage(
        StagePhase::AwaitingApproval {
            attempt: 1,
            since_ms: 0,
            deadline_ms: None,
        },
        vec![attempt(1, 0, None, AttemptOutcome::Running)],
    );
    let mut broken = run("R4", "wf", RunStatus::Running, vec![("execute", running())]);
    broken.meta.workflow_source = "name: [".into();
    let records = vec![
        // Granted agent, driven: counts.
        run("R1", "wf", RunStatus::Running, vec![("execute", running())]),
        // Not granted agent: does not.
        run(
            "R2",
            "wf",
            RunStatus::Running,
            vec![("gate", running()), ("approve", waiting)],
        ),
        // Granted, but nobody drives it: interrupted, no session runs.
        run("R3", "wf", RunStatus::Running, vec![("execute", running())]),
        // Its stored workflow no longer loads: not counted.
        broken,
    ];
    let drivers = Drivers::These(["R1", "R2", "R4"].iter().map(ToString::to_string).collect());
    let s = parse(&scrape_of(&records, &drivers));
    assert_eq!(value(&s, "engine_agent_sessions_active", &[]), Some(1.0));
    assert_eq!(value(&s, "engine_approvals_waiting", &[]), Some(1.0));
    let s = parse(&scrape_of(&records, &Drivers::Unknown));
    assert_eq!(value(&s, "engine_agent_sessions_active", &[]), Some(2.0));
    let s = parse(&scrape_of(&records, &Drivers::Nobody));
    assert_eq!(value(&s, "engine_agent_sessions_active", &[]), Some(0.0));
}

#[test]
fn hostile_label_values_are_escaped_and_cannot_add_lines() {
    let hostile_stage = "x\"} 1\nengine_injected 1\n# EOF\n{\\";
    let hostile_model = "m\"}\r\nengine_injected{a=\"b\"} 2\u{0}";
    let spent = AttemptRecord {
        spend: spend(0.1, true, 10, 1),
        ..attempt(1, 0, Some(2), succeeded())
    };
    let records = vec![run(
        "R1",
        "wf\"\n}",
        RunStatus::Succeeded,
        vec![(hostile_stage, stage(StagePhase::Succeeded, vec![spent]))],
    )];
    let models = |_: &str, _: &str, _: u32| hostile_model.to_string();
    let text = render(&Scrape {
        records: &records,
        drivers: &Drivers::Nobody,
        models: &models,
        queue_depth: None,
        day_budget_usd: None,
        day_spent_usd: 0.0,
        run_budget_usd: None,
    });
    let s = parse(&text);
    assert!(!has(&s, "engine_injected"));
    assert!(!text.lines().any(|l| l.starts_with("engine_injected")));
    assert_eq!(text.lines().filter(|l| *l == "# EOF").count(), 1);
    assert!(!text.contains('\r') && !text.contains('\0'));
    // The exact escaped line, and the values read back as the stage id given.
    assert!(text.contains(
        "engine_stage_attempt_duration_seconds_count{stage=\"x\\\"} 1\\nengine_injected 1\\n# \
         EOF\\n{\\\\\",outcome=\"succeeded\"} 1\n"
    ));
    assert_eq!(
        value(
            &s,
            "engine_stage_attempt_duration_seconds_count",
            &[("stage", hostile_stage), ("outcome", "succeeded")]
        ),
        Some(1.0)
    );
    let model = "m\"}\u{FFFD}\nengine_injected{a=\"b\"} 2\u{FFFD}";
    assert_eq!(
        value(&s, "engine_agent_attempts_total", &[("model", model)]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &s,
            "engine_workflow_runs",
            &[("workflow", "wf\"\n}"), ("status", "succeeded")]
        ),
        Some(1.0)
    );
}

#[test]
fn no_secret_or_free_text_reaches_the_metrics() {
    let failure = Failure {
        kind: FailureKind::Fatal,
        message: format!("failed with {SECRET}"),
        detail: serde_json::json!({ "token": SECRET }),
        retry_at_ms: None,
    };
    let mut execute = stage(
        StagePhase::Failed,
        vec![AttemptRecord {
            spend: spend(0.1, true, 10, 1),
            commits: vec![SECRET.into()],
            ..attempt(1, 0, Some(2), AttemptOutcome::Failed { failure })
        }],
    );
    execute.summary = Some(SECRET.into());
    execute.outputs = Some(serde_json::json!({ "key": SECRET }));
    let mut record = run(
        "R1",
        "wf",
        RunStatus::Failed {
            stage: "execute".into(),
            message: SECRET.into(),
        },
        vec![("execute", execute)],
    );
    record.state.task = Task {
        id: format!("T-{SECRET}"),
        title: format!("title {SECRET}"),
        body: SECRET.into(),
        labels: vec![SECRET.into()],
    };
    record.meta.branch = SECRET.into();
    record.meta.workflow_source = format!("{WORKFLOW}env: {{ TOKEN: {SECRET} }}\n");
    let cancelled = run(
        "R2",
        "wf",
        RunStatus::Cancelled {
            reason: SECRET.into(),
        },
        vec![],
    );
    let records = vec![record, cancelled];
    let text = scrape_of(&records, &Drivers::Nobody);
    parse(&text);
    assert!(!text.contains("SECRET"), "{text}");
    // Run and task ids are not labels either.
    assert!(!text.contains("R1") && !text.contains("T-"));
}

#[test]
fn long_label_values_are_cut_and_control_characters_replaced() {
    assert_eq!(label("claude-opus-4"), "claude-opus-4");
    assert_eq!(label("a\tb\rc\nd"), "a\u{FFFD}b\u{FFFD}c\nd");
    let long = "é".repeat(300);
    let cut = label(&long);
    assert_eq!(cut.chars().count(), MAX_LABEL_CHARS);
    assert!(cut.ends_with('…'));
    assert_eq!(
        label(&"x".repeat(MAX_LABEL_CHARS)),
        "x".repeat(MAX_LABEL_CHARS)
    );
}
