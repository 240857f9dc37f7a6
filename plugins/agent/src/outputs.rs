//! The success of an attempt: the summary line and the outputs later stages see.

use engine_stage_sdk::Success;
use serde_json::{Value, json};
use std::fmt::Write as _;

use crate::plan::Plan;
use crate::runner::Report;

/// Builds the stage's success from a completed attempt.
pub fn success(plan: &Plan, report: &Report) -> Success {
    let t = &report.totals;
    let files = t.files();
    let noun = |n: usize, one: &str, many: &str| {
        if n == 1 {
            one.to_string()
        } else {
            many.to_string()
        }
    };
    let mut line = format!(
        "agent completed the task in {} {}: {} {} changed",
        t.sessions,
        noun(t.sessions as usize, "session", "sessions"),
        files.len(),
        noun(files.len(), "file", "files"),
    );
    if let Some(cost) = t.cost() {
        let _ = write!(line, ", ${cost:.2}");
    }
    let mut completion = json!({ "dialect": plan.config.completion.as_str() });
    if let (Value::Object(out), Value::Object(detail)) = (&mut completion, &report.completion) {
        for (key, value) in detail {
            out.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Success::new(line)
        .output("summary", report.final_text.clone())
        .output("files_changed", files)
        .output("session_id", t.session_id.clone())
        .output("turns", t.turns)
        .output("tokens", t.tokens_json())
        .output("cost_usd", t.cost())
        .output("iterations", t.sessions)
        .output("completion", completion)
        .output("backend", plan.config.backend.clone())
        .output("model", plan.model.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::context;
    use crate::totals::Totals;

    #[test]
    fn outputs_carry_every_documented_key() {
        let plan = Plan::new(&context(
            json!({"backend": "claude", "completion": "gate", "model": "smart"}),
        ))
        .unwrap();
        let mut totals = Totals {
            sessions: 2,
            turns: 9,
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: 0.5,
            session_id: Some("s".into()),
            ..Totals::default()
        };
        totals.files_changed.insert("a.rs".into());
        let report = Report {
            totals,
            final_text: "done".into(),
            completion: json!({"ready": true, "dialect": "spoofed"}),
        };
        let s = success(&plan, &report);
        assert_eq!(
            s.summary,
            "agent completed the task in 2 sessions: 1 file changed, $0.50"
        );
        let o = &s.outputs;
        assert_eq!(o["summary"], "done");
        assert_eq!(o["files_changed"], json!(["a.rs"]));
        assert_eq!(o["session_id"], "s");
        assert_eq!(o["turns"], 9);
        assert_eq!(o["tokens"]["input"], 10);
        assert_eq!(o["tokens"]["output"], 5);
        assert_eq!(o["cost_usd"], 0.5);
        assert_eq!(o["iterations"], 2);
        assert_eq!(o["completion"], json!({"dialect": "gate", "ready": true}));
        assert_eq!(o["model"], "smart");
    }

    #[test]
    fn unknown_cost_is_null_and_left_out_of_the_line() {
        let plan = Plan::new(&context(json!({"backend": "codex"}))).unwrap();
        let report = Report {
            totals: Totals {
                sessions: 1,
                sessions_without_cost: 1,
                ..Totals::default()
            },
            final_text: String::new(),
            completion: json!({}),
        };
        let s = success(&plan, &report);
        assert_eq!(
            s.summary,
            "agent completed the task in 1 session: 0 files changed"
        );
        assert_eq!(s.outputs["cost_usd"], Value::Null);
    }
}
