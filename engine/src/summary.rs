//! The summary printed when a run ends: each stage's result, attempts, time and cost, the
//! `finally:` stages (stages in pipeline order), and the run's totals.

use engine_core::{FinallyOutcome, RunState, RunStatus, Spend, StagePhase, StageState};

use crate::history::order::StageOrder;

use crate::time::human_duration;

/// The summary as lines of text (no trailing newlines), stages and `finally:` stages in
/// `order` (the workflow's file order).
pub fn lines(state: &RunState, order: &StageOrder) -> Vec<String> {
    let took = state
        .finished_at_ms
        .zip(state.started_at_ms)
        .map_or_else(|| "-".into(), |(f, s)| human_duration(f.saturating_sub(s)));
    let outcome = match &state.status {
        RunStatus::Failed { stage, .. } => format!("failed at {stage}"),
        RunStatus::NeedsAttention { stage, .. } => format!("needs attention ({stage})"),
        other => other.name().to_string(),
    };
    let spend = state.spend();
    let mut out = vec![format!(
        "summary: run {} {} in {took} · {}",
        state.run_id,
        crate::terminal::safe(&outcome),
        spend_text(&spend)
    )];
    let rows: Vec<[String; 5]> = order
        .stages(state)
        .into_iter()
        .map(|(id, st)| {
            [
                crate::terminal::cell(id),
                phase_name(&st.phase).to_string(),
                st.attempts.to_string(),
                human_duration(busy_ms(st)),
                cost_text(&st.spend()),
            ]
        })
        .collect();
    let header = [
        "stage".to_string(),
        "result".into(),
        "attempts".into(),
        "time".into(),
        "cost".into(),
    ];
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| crate::terminal::pad(cell, w))
            .collect();
        out.push(format!("  {}", cells.join("  ").trim_end()));
    }
    for (id, record) in order.finally(state) {
        let what = match &record.outcome {
            FinallyOutcome::Succeeded { summary } => format!("succeeded  {summary}"),
            FinallyOutcome::Failed { message } => format!("failed  {message}"),
            FinallyOutcome::Skipped { .. } => "skipped".to_string(),
        };
        out.push(format!(
            "  finally {}: {}",
            crate::terminal::cell(id),
            crate::terminal::safe(&what)
        ));
    }
    out
}

/// Time the stage's attempts ran (waits between retries not included).
fn busy_ms(st: &StageState) -> u64 {
    st.history
        .iter()
        .filter_map(|r| Some(r.ended_at_ms?.saturating_sub(r.started_at_ms)))
        .sum()
}

fn phase_name(phase: &StagePhase) -> &'static str {
    match phase {
        StagePhase::Pending => "not run",
        StagePhase::Running { .. } => "running",
        StagePhase::RetryWaiting { .. } => "retry waiting",
        StagePhase::AwaitingApproval { .. } => "waiting",
        StagePhase::Succeeded => "succeeded",
        StagePhase::Skipped => "skipped",
        StagePhase::Failed => "failed",
        StagePhase::Cancelled => "cancelled",
    }
}

/// A cost for a table cell: `-` (nothing), `$0.20`, `~$0.20` (estimated from tokens),
/// `$0.20+?` (partly unknown), `unknown` (tokens were used and no cost is known: never `$0.00`).
pub fn cost_text(spend: &Spend) -> String {
    let approx = if spend.cost_estimated { "~" } else { "" };
    if spend.is_zero() {
        if spend.cost_known { "-" } else { "unknown" }.to_string()
    } else if !spend.cost_known && spend.cost_usd == 0.0 {
        "unknown".to_string()
    } else if spend.cost_known {
        format!("{approx}${:.2}", spend.cost_usd)
    } else {
        format!("{approx}${:.2}+?", spend.cost_usd)
    }
}

fn spend_text(spend: &Spend) -> String {
    let cost = match cost_text(spend).as_str() {
        "-" => "no cost".to_string(),
        other => format!("cost {other}"),
    };
    if spend.input_tokens + spend.output_tokens == 0 {
        cost
    } else {
        format!(
            "{cost} ({} in / {} out tokens)",
            spend.input_tokens, spend.output_tokens
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_core::{AttemptOutcome, AttemptRecord, Task};

    #[test]
    fn lists_stages_in_pipeline_order_with_totals() {
        let mut state = RunState {
            run_id: "R1".into(),
            task: Task::default(),
            status: RunStatus::Succeeded,
            stages: std::collections::BTreeMap::new(),
            seq: 9,
            started_at_ms: Some(0),
            finished_at_ms: Some(61_000),
            finally: std::collections::BTreeMap::new(),
            paused_at_ms: None,
            deadline_ms: None,
        };
        for (id, start, attempts, cost) in [("b", 10, 2, 0.5), ("a", 0, 1, 0.0)] {
            let mut st = StageState::new();
            st.phase = StagePhase::Succeeded;
            st.attempts = attempts;
            for n in 1..=attempts {
                st.history.push(AttemptRecord {
                    attempt: n,
                    started_at_ms: start,
                    ended_at_ms: Some(start + 1_000),
                    outcome: AttemptOutcome::Succeeded {
                        summary: "ok".into(),
                    },
                    spend: Spend {
                        cost_usd: cost,
                        input_tokens: 10,
                        ..Spend::NONE
                    },
                    commits: vec![],
                });
            }
            state.stages.insert(id.into(), st);
        }
        // The file order puts b first although a started first.
        let order = StageOrder {
            stages: vec!["b".into(), "a".into()],
            finally: vec![],
        };
        let lines = lines(&state, &order);
        assert_eq!(
            lines[0],
            "summary: run R1 succeeded in 1m01s · cost $1.00 (30 in / 0 out tokens)"
        );
        assert!(lines[1].starts_with("  stage  result     attempts  time  cost"));
        assert!(lines[3].starts_with("  a "), "{lines:?}");
        assert!(
            lines[2].contains("$1.00") && lines[2].contains("2.0s"),
            "{lines:?}"
        );
    }
}
