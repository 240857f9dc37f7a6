//! The supervisor's spending rules against real `sh` processes: a spend reported only at the end
//! is judged against the budget too, and a CLI that reports tokens but no cost is priced from
//! the table (an estimate, marked so).

use std::path::Path;
use std::time::Duration;

use crate::jsonl_dialect::JsonlParser;
use engine_agent::{
    AgentEvent, Invocation, Limits, Outcome, PriceTable, Prices, Pricing, Session, SessionSpec,
    Summary,
};

fn limits(budget_usd: Option<f64>) -> Limits {
    Limits {
        post_result_grace: Duration::from_millis(300),
        budget_usd,
        ..Limits::default()
    }
}

fn spec(dir: &Path, lines: &[&str], limits: Limits, pricing: Pricing) -> SessionSpec {
    let script = lines
        .iter()
        .map(|line| {
            if line.starts_with('{') {
                format!("printf '%s\\n' '{line}'")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    SessionSpec {
        invocation: Invocation {
            program: "sh".into(),
            args: vec!["-c".into(), script],
            ..Invocation::default()
        },
        cwd: dir.to_path_buf(),
        env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        transcript: dir.join("transcript.jsonl"),
        limits,
        pricing,
        model: None,
        redact: Vec::new(),
        confinement: None,
    }
}

async fn run(spec: SessionSpec) -> Summary {
    let mut session = Session::start(spec, JsonlParser::boxed()).unwrap();
    while session.next_event().await.is_some() {}
    session.finish().await
}

fn priced(model: &str, input: f64, output: f64) -> Pricing {
    Pricing {
        workflow: PriceTable::new([(
            model.to_string(),
            Prices {
                input_per_mtok: input,
                output_per_mtok: output,
                ..Prices::default()
            },
        )]),
        builtin: false,
    }
}

/// Like Codex: usage only in the final line (`turn.completed`), the process exits cleanly.
#[tokio::test]
async fn a_session_whose_usage_comes_only_with_its_result_ends_budget_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"k":"session","id":"t-1","model":"m"}"#,
        r#"{"k":"text","text":"done <promise>COMPLETE</promise>"}"#,
        r#"{"k":"result","text":"done","in":2000000,"out":100000}"#,
    ];
    let summary = run(spec(
        dir.path(),
        &lines,
        limits(Some(1.0)),
        priced("m", 1.0, 10.0),
    ))
    .await;
    assert_eq!(
        summary.outcome,
        Outcome::BudgetExceeded,
        "{}",
        summary.detail
    );
    assert!(
        summary
            .detail
            .starts_with("spent $3.0000 (estimated from tokens), past the budget"),
        "{}",
        summary.detail
    );
    assert_eq!(summary.result_text, "done");
    assert!(summary.cost_estimated);
    assert_eq!(summary.usage.cost_usd, Some(3.0));
}

/// A CLI that reports its cost, all of it with its result: the same.
#[tokio::test]
async fn a_reported_final_cost_past_the_budget_ends_budget_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [r#"{"k":"result","text":"done","cost":1.5}"#, "exit 0"];
    let summary = run(spec(dir.path(), &lines, limits(Some(1.0)), Pricing::none())).await;
    assert_eq!(summary.outcome, Outcome::BudgetExceeded);
    assert!(!summary.cost_estimated);
    // Within the budget it completes.
    let summary = run(spec(dir.path(), &lines, limits(Some(2.0)), Pricing::none())).await;
    assert_eq!(summary.outcome, Outcome::Completed, "{}", summary.detail);
}

/// Killed before its result, with only live usage events and no cost: the model the CLI named
/// is priced from the built-in table, and the spend is an estimate rather than unknown.
#[tokio::test]
async fn tokens_without_a_cost_are_estimated_from_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"k":"session","id":"s-1","model":"claude-sonnet-4-6"}"#,
        r#"{"k":"usage","in":1000000,"out":100000}"#,
        "exec sleep 30",
    ];
    let mut limits = limits(None);
    limits.inactivity = Duration::from_millis(500);
    let mut session = Session::start(
        spec(dir.path(), &lines, limits, Pricing::default()),
        JsonlParser::boxed(),
    )
    .unwrap();
    let mut saw_usage = false;
    while let Some(event) = session.next_event().await {
        if matches!(event, AgentEvent::Usage { .. }) {
            saw_usage = true;
            assert!(session.spent_usd().is_some());
            assert!(session.spent_estimated());
        }
    }
    assert!(saw_usage);
    let summary = session.finish().await;
    assert_eq!(summary.outcome, Outcome::KilledInactive);
    assert!(summary.cost_estimated);
    assert_eq!(summary.model.as_deref(), Some("claude-sonnet-4-6"));
    let cost = summary.usage.cost_usd.unwrap();
    assert!((cost - 4.5).abs() < 1e-9, "{cost}");
}

/// The quota event ends the session as `QuotaExhausted`, whatever the exit code.
#[tokio::test]
async fn an_exhausted_quota_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"k":"rate","msg":"429 Too Many Requests"}"#,
        r#"{"k":"quota","msg":"You exceeded your current quota (insufficient_quota)"}"#,
        "exit 0",
    ];
    let summary = run(spec(dir.path(), &lines, limits(None), Pricing::none())).await;
    assert_eq!(summary.outcome, Outcome::QuotaExhausted);
    assert!(
        summary.detail.contains("insufficient_quota"),
        "{}",
        summary.detail
    );
}
