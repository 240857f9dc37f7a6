//! What a session of `--all` or `watch` did: its runs, why it stopped, what it left, and the
//! summary printed at its end.

use engine_core::{RunState, RunStatus, Spend};
use serde_json::{Value, json};

use super::WriteBack;
use crate::EngineError;
use crate::summary::cost_text;
use crate::time::human_duration;

/// One run of a session.
#[derive(Debug, Clone)]
pub struct SessionRun {
    /// The task.
    pub task_id: String,
    /// Its title.
    pub title: String,
    /// The run.
    pub run_id: String,
    /// `succeeded`, `failed`, `cancelled`, `needs_attention`, `interrupted` or `error`.
    pub result: String,
    /// The failure, the reason, or the error.
    pub message: Option<String>,
    /// How long the run took in this session.
    pub took_ms: u64,
    /// What the run spent.
    pub spend: Spend,
    /// What became of the task's status.
    pub write_back: Option<WriteBack>,
}

impl SessionRun {
    /// The record of a run that ended (or was stopped).
    pub fn ended(state: &RunState, interrupted: bool, took_ms: u64, title: &str) -> Self {
        let (result, message) = if interrupted {
            ("interrupted".to_string(), None)
        } else {
            let message = match &state.status {
                RunStatus::Failed { stage, message } => Some(format!("{stage}: {message}")),
                RunStatus::Cancelled { reason } => Some(reason.clone()),
                RunStatus::NeedsAttention { stage, reason } => Some(format!("{stage}: {reason}")),
                _ => None,
            };
            (state.status.name().to_string(), message)
        };
        SessionRun {
            task_id: state.task.id.clone(),
            title: title.to_string(),
            run_id: state.run_id.clone(),
            result,
            message,
            took_ms,
            spend: state.spend(),
            write_back: None,
        }
    }

    /// Whether the run succeeded.
    pub fn succeeded(&self) -> bool {
        self.result == "succeeded"
    }
}

/// Why a session stopped before its queue was empty.
#[derive(Debug)]
pub enum Stopped {
    /// SIGINT/SIGTERM: the runs going on were stopped at their last stored transition.
    Signal,
    /// A limit (`budget.day_usd`, `--until`, working hours) stops new runs.
    Limit(String),
    /// The source could not be read, or engine failed (store, git).
    Error(EngineError),
}

/// What a session did.
#[derive(Debug, Default)]
pub struct QueueOutcome {
    /// Its runs, in the order they ended.
    pub runs: Vec<SessionRun>,
    /// Why it stopped early, if it did.
    pub stopped: Option<Stopped>,
    /// The tasks it did not run and why: `(id, title, why)`.
    pub left: Vec<(String, String, String)>,
    /// How long it took.
    pub took_ms: u64,
}

impl QueueOutcome {
    /// The exit code: 4 stopped by a signal (with `watch`, only when a run was stopped), 7 a
    /// limit stopped new runs (`watch` ends at `--until` with 0), the error's code, 1 when a run
    /// did not succeed, else 0.
    pub fn exit_code(&self, watch: bool) -> u8 {
        use crate::exit;
        match &self.stopped {
            Some(Stopped::Signal)
                if !watch || self.runs.iter().any(|r| r.result == "interrupted") =>
            {
                exit::RUN_INTERRUPTED
            }
            Some(Stopped::Limit(_)) if !watch => exit::LIMIT_REACHED,
            Some(Stopped::Error(e)) => e.exit_code(),
            _ if self.runs.iter().any(|r| !r.succeeded()) => exit::RUN_FAILED,
            _ => exit::SUCCESS,
        }
    }

    /// Everything the runs spent.
    pub fn spend(&self) -> Spend {
        self.runs.iter().fold(Spend::NONE, |acc, r| acc + r.spend)
    }

    /// The summary for people.
    pub fn lines(&self) -> Vec<String> {
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for run in &self.runs {
            *counts.entry(run.result.as_str()).or_default() += 1;
        }
        let counted: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {r}")).collect();
        let n = self.runs.len();
        let mut out = vec![format!(
            "session: {n} run{} in {}{}{} · cost {}",
            if n == 1 { "" } else { "s" },
            human_duration(self.took_ms),
            if counted.is_empty() { "" } else { ": " },
            counted.join(", "),
            cost_text(&self.spend())
        )];
        if !self.runs.is_empty() {
            let rows: Vec<[String; 6]> = self
                .runs
                .iter()
                .map(|r| {
                    [
                        r.task_id.clone(),
                        r.result.clone(),
                        r.run_id.clone(),
                        human_duration(r.took_ms),
                        cost_text(&r.spend),
                        match &r.write_back {
                            Some(WriteBack::Written { status }) => status.to_string(),
                            Some(WriteBack::ReadOnly) => "not written (read-only)".into(),
                            Some(WriteBack::Failed { status, .. }) => {
                                format!("{status} NOT written")
                            }
                            None => "-".into(),
                        },
                    ]
                })
                .collect();
            let header = ["task", "result", "run", "time", "cost", "status"].map(String::from);
            out.extend(table(&header, &rows));
        }
        for (id, title, why) in &self.left {
            out.push(format!("  not run: {id} ({title}): {why}"));
        }
        match &self.stopped {
            Some(Stopped::Signal) => out.push(
                "stopped by a signal: the runs that were going on stopped at their last stored \
                 transition; run the same command again (or `engine resume RUN`) to go on"
                    .into(),
            ),
            Some(Stopped::Limit(why)) => out.push(format!("stopped: {why}")),
            Some(Stopped::Error(e)) => out.push(format!("stopped: {e}")),
            None => {}
        }
        out
    }

    /// The summary as JSON.
    pub fn to_json(&self) -> Value {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|r| {
                json!({
                    "task": r.task_id,
                    "title": r.title,
                    "run_id": r.run_id,
                    "result": r.result,
                    "message": r.message,
                    "duration_ms": r.took_ms,
                    "spend": r.spend,
                    "task_status": r.write_back.as_ref().map(WriteBack::to_json),
                })
            })
            .collect();
        let left: Vec<Value> = self
            .left
            .iter()
            .map(|(id, title, why)| json!({ "id": id, "title": title, "why": why }))
            .collect();
        let stopped = match &self.stopped {
            None => Value::Null,
            Some(Stopped::Signal) => json!({ "reason": "signal" }),
            Some(Stopped::Limit(why)) => json!({ "reason": "limit", "message": why }),
            Some(Stopped::Error(e)) => json!({ "reason": "error", "message": e.to_string() }),
        };
        json!({
            "runs": runs,
            "left": left,
            "stopped": stopped,
            "duration_ms": self.took_ms,
            "spend": self.spend(),
        })
    }
}

fn table(header: &[String; 6], rows: &[[String; 6]]) -> Vec<String> {
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    std::iter::once(header)
        .chain(rows)
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            format!("  {}", cells.join("  ").trim_end())
        })
        .collect()
}
