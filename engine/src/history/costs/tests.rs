use super::*;
use engine_core::{AttemptOutcome, AttemptRecord, RunState, Task};

const DAY_MS: u64 = 86_400_000;

fn spend(cost: f64, known: bool, input: u64) -> Spend {
    Spend {
        cost_usd: cost,
        cost_known: known,
        input_tokens: input,
        output_tokens: input / 10,
        ..Spend::NONE
    }
}

/// A run of task `task` whose stages each had one attempt ending at the given time.
fn run(id: &str, task: &str, attempts: &[(&str, u64, Spend)]) -> RunRecord {
    let mut state = RunState {
        run_id: id.into(),
        task: Task {
            id: task.into(),
            title: format!("Title of {task}"),
            ..Task::default()
        },
        status: engine_core::RunStatus::Succeeded,
        stages: BTreeMap::new(),
        seq: 1,
        started_at_ms: Some(0),
        finished_at_ms: Some(1),
        finally: BTreeMap::new(),
        paused_at_ms: None,
        deadline_ms: None,
    };
    for (stage, at, spend) in attempts {
        let st = state.stages.entry((*stage).to_string()).or_default();
        st.history.push(AttemptRecord {
            attempt: u32::try_from(st.history.len()).unwrap() + 1,
            started_at_ms: at - 10,
            ended_at_ms: Some(*at),
            outcome: AttemptOutcome::Succeeded {
                summary: String::new(),
            },
            spend: *spend,
            commits: vec![],
        });
    }
    RunRecord {
        meta: crate::test_fixtures::run_meta(id, "b"),
        state,
    }
}

fn records() -> Vec<RunRecord> {
    vec![
        run(
            "R2",
            "T-2",
            &[
                ("review", DAY_MS + 100, spend(0.5, true, 2_000)),
                ("gate", DAY_MS + 50, Spend::NONE),
            ],
        ),
        run(
            "R1",
            "T-1",
            &[
                ("execute", 100, spend(1.0, true, 10_000)),
                ("execute", 200, spend(0.0, false, 500)),
                ("review", 300, spend(0.25, true, 1_000)),
            ],
        ),
    ]
}

#[test]
fn by_day_sums_each_local_day_oldest_first_and_skips_what_spent_nothing() {
    let tz = TimeZone::fixed(jiff::tz::offset(-1));
    let report = costs(&records(), GroupBy::Day, None, &tz, Path::new("/none"));
    let keys: Vec<&str> = report.groups.iter().map(|g| g.key.as_str()).collect();
    // An hour behind UTC, the first UTC day's attempts are on 1969-12-31.
    assert_eq!(keys, ["1969-12-31", "1970-01-01"]);
    assert_eq!(report.groups[0].attempts, 3);
    assert!(!report.groups[0].spend.cost_known);
    assert!((report.groups[0].spend.cost_usd - 1.25).abs() < 1e-9);
    assert_eq!(report.groups[1].attempts, 1);
    assert_eq!(report.total.runs, 2);
    assert_eq!(report.total.attempts, 4);
    assert!(!report.total.spend.cost_known);
}

#[test]
fn by_task_and_stage_most_expensive_first_and_since_leaves_out_older_attempts() {
    let by_task = costs(
        &records(),
        GroupBy::Task,
        None,
        &TimeZone::UTC,
        Path::new("/none"),
    );
    assert_eq!(by_task.groups[0].key, "T-1");
    assert_eq!(by_task.groups[0].title.as_deref(), Some("Title of T-1"));
    let by_stage = costs(
        &records(),
        GroupBy::Stage,
        Some(250),
        &TimeZone::UTC,
        Path::new("/none"),
    );
    assert_eq!(by_stage.groups.len(), 1, "{by_stage:?}");
    assert_eq!(by_stage.groups[0].key, "review");
    assert_eq!(by_stage.groups[0].runs, 2);
    assert!(by_stage.total.spend.cost_known);
}

#[test]
fn unknown_cost_is_never_shown_as_zero() {
    assert_eq!(cost_cell(&spend(0.0, false, 5)), "unknown");
    assert_eq!(cost_cell(&spend(1.5, false, 5)), "$1.50 + unknown");
    assert_eq!(cost_cell(&spend(0.0, true, 0)), "$0.00");
    let estimated = Spend {
        cost_estimated: true,
        ..spend(0.1, true, 5)
    };
    assert_eq!(cost_cell(&estimated), "~$0.10");
    let report = costs(
        &records(),
        GroupBy::Stage,
        None,
        &TimeZone::UTC,
        Path::new("/none"),
    );
    let json = to_json(&report);
    let execute = &json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "execute")
        .unwrap();
    assert_eq!(execute["cost_usd"], serde_json::Value::Null);
    assert_eq!(execute["known_cost_usd"], 1.0);
    assert_eq!(json["total"]["cost_known"], false);
    let table = render_table(&report);
    assert!(table.contains("$1.75 + unknown"), "{table}");
    assert!(table.contains("\nunknown: "), "{table}");
}

#[test]
fn the_model_is_read_from_the_transcripts() {
    let dir = tempfile::tempdir().unwrap();
    let transcripts = dir.path().join("runs/R1/transcripts");
    std::fs::create_dir_all(&transcripts).unwrap();
    let entry = |stream: &str, line: &str| {
        format!(
            "{}\n",
            serde_json::json!({"t": 1, "stream": stream, "line": line})
        )
    };
    std::fs::write(
        transcripts.join("execute.1.1.jsonl"),
        entry("supervisor", "started claude --model x")
            + &entry(
                "stdout",
                r#"{"type":"system","subtype":"init","model":"claude-x"}"#,
            ),
    )
    .unwrap();
    std::fs::write(
        transcripts.join("execute.1.2.jsonl"),
        entry("stdout", "not json, says model")
            + &entry("stderr", r#"{"model":"not-this"}"#)
            + &entry(
                "stdout",
                r#"{"type":"assistant","message":{"model":"gpt-y"}}"#,
            ),
    )
    .unwrap();
    std::fs::write(
        transcripts.join("review.1.1.jsonl"),
        entry("stdout", r#"{"type":"x"}"#),
    )
    .unwrap();
    assert_eq!(
        attempt_model(dir.path(), "R1", "execute", 1),
        "claude-x+gpt-y"
    );
    assert_eq!(attempt_model(dir.path(), "R1", "review", 1), "unknown");
    assert_eq!(attempt_model(dir.path(), "R1", "execute", 2), "unknown");
}
