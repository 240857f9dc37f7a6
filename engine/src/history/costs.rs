//! `engine costs`: what the stored runs spent (USD and tokens), summed by day, task, stage or
//! model. Costs come from each attempt's recorded spend ([`engine_core::AttemptRecord::spend`]);
//! a cost that could not be known stays unknown in the sums, never zero.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use engine_core::{AttemptRecord, Spend};
use engine_store::RunRecord;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

/// How `engine costs` groups what was spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// By the day an attempt ended (or, still running, started), in the local time zone.
    #[default]
    Day,
    /// By the run's task id.
    Task,
    /// By stage id.
    Stage,
    /// By the model the agent CLI named in its transcript (`unknown` when it named none).
    Model,
}

impl GroupBy {
    /// The column header of the group.
    pub fn header(self) -> &'static str {
        match self {
            GroupBy::Day => "DAY",
            GroupBy::Task => "TASK",
            GroupBy::Stage => "STAGE",
            GroupBy::Model => "MODEL",
        }
    }
}

/// What one group spent.
#[derive(Debug, Clone, PartialEq)]
pub struct CostGroup {
    /// The group: a day (`2026-12-06`), a task id, a stage id or a model.
    pub key: String,
    /// The task's title (grouping by task).
    pub title: Option<String>,
    /// Runs with spend in the group.
    pub runs: usize,
    /// Attempts with spend in the group.
    pub attempts: usize,
    /// Their spend, summed.
    pub spend: Spend,
}

/// What the runs spent, grouped.
#[derive(Debug, Clone, PartialEq)]
pub struct CostReport {
    /// The grouping.
    pub by: GroupBy,
    /// Attempts before this time (ms since the epoch) are left out.
    pub since_ms: Option<u64>,
    /// Days by grouping by day are of this zone (its IANA name, or `UTC`/the offset).
    pub time_zone: String,
    /// The groups: days oldest first, anything else most expensive first.
    pub groups: Vec<CostGroup>,
    /// Everything, summed.
    pub total: CostGroup,
}

/// Sums what the attempts of `records` spent since `since_ms`, grouped `by`; attempts that
/// spent nothing are left out. Days are those of `tz`; models are read from the transcripts in
/// `state_dir`.
pub fn costs(
    records: &[RunRecord],
    by: GroupBy,
    since_ms: Option<u64>,
    tz: &TimeZone,
    state_dir: &Path,
) -> CostReport {
    let mut groups: BTreeMap<String, Sum<'_>> = BTreeMap::new();
    let mut all_runs = BTreeSet::new();
    let mut total_attempts = 0;
    let mut total = Spend::NONE;
    for Spending {
        record,
        stage,
        attempt,
    } in spending_attempts(records)
    {
        let run_id = record.meta.run_id.as_str();
        let spend = attempt.spend;
        let at = attempt.ended_at_ms.unwrap_or(attempt.started_at_ms);
        if since_ms.is_some_and(|since| at < since) {
            continue;
        }
        let (key, title) = match by {
            GroupBy::Day => (local_day(at, tz), None),
            GroupBy::Task => (
                record.state.task.id.clone(),
                Some(record.state.task.title.clone()),
            ),
            GroupBy::Stage => (stage.to_string(), None),
            GroupBy::Model => (
                attempt_model(state_dir, run_id, stage, attempt.attempt),
                None,
            ),
        };
        let sum = groups.entry(key).or_insert_with(Sum::new);
        if title.is_some() {
            sum.title = title;
        }
        sum.runs.insert(run_id);
        sum.attempts += 1;
        sum.spend = sum.spend + spend;
        all_runs.insert(run_id);
        total_attempts += 1;
        total = total + spend;
    }
    let mut groups: Vec<CostGroup> = groups
        .into_iter()
        .map(|(key, sum)| CostGroup {
            key,
            title: sum.title,
            runs: sum.runs.len(),
            attempts: sum.attempts,
            spend: sum.spend,
        })
        .collect();
    if by != GroupBy::Day {
        groups.sort_by(|a, b| {
            b.spend
                .cost_usd
                .total_cmp(&a.spend.cost_usd)
                .then_with(|| a.key.cmp(&b.key))
        });
    }
    CostReport {
        by,
        since_ms,
        time_zone: zone_name(tz),
        groups,
        total: CostGroup {
            key: "total".into(),
            title: None,
            runs: all_runs.len(),
            attempts: total_attempts,
            spend: total,
        },
    }
}

/// An attempt that spent something: tokens, USD, or a cost that could not be known.
#[derive(Debug, Clone, Copy)]
pub struct Spending<'a> {
    /// Its run.
    pub record: &'a RunRecord,
    /// Its stage's id.
    pub stage: &'a str,
    /// The attempt (its spend is [`AttemptRecord::spend`]).
    pub attempt: &'a AttemptRecord,
}

/// Every attempt of `records` that spent something, as `engine costs` and `/metrics` count
/// them: an attempt that spent nothing, and knows it, is left out; one whose cost could not be
/// known is kept (its cost stays unknown in the sums, never zero).
pub fn spending_attempts(records: &[RunRecord]) -> impl Iterator<Item = Spending<'_>> {
    records.iter().flat_map(|record| {
        record.state.stages.iter().flat_map(move |(stage, st)| {
            st.history
                .iter()
                .filter(|a| !(a.spend.is_zero() && a.spend.cost_known))
                .map(move |attempt| Spending {
                    record,
                    stage,
                    attempt,
                })
        })
    })
}

/// One group being summed.
struct Sum<'a> {
    title: Option<String>,
    runs: BTreeSet<&'a str>,
    attempts: usize,
    spend: Spend,
}

impl Sum<'_> {
    fn new() -> Self {
        Sum {
            title: None,
            runs: BTreeSet::new(),
            attempts: 0,
            spend: Spend::NONE,
        }
    }
}

/// The calendar day (`2026-12-06`) of `ms` in `tz`.
pub fn local_day(ms: u64, tz: &TimeZone) -> String {
    let ts = i64::try_from(ms)
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH);
    ts.to_zoned(tz.clone()).date().to_string()
}

fn zone_name(tz: &TimeZone) -> String {
    tz.iana_name().map_or_else(
        || tz.to_offset(Timestamp::now()).to_string(),
        str::to_string,
    )
}

/// The raw agent transcripts of one attempt
/// (`<state>/runs/<run>/transcripts/<stage>.<attempt>.<n>.jsonl`), in name order.
pub fn transcripts(state_dir: &Path, run_id: &str, stage: &str, attempt: u32) -> Vec<PathBuf> {
    let dir = state_dir.join("runs").join(run_id).join("transcripts");
    let prefix = format!("{stage}.{attempt}.");
    let mut found: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|extension| extension == "jsonl")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    found.sort();
    found
}

/// How much of a transcript is searched for the model's name.
const MODEL_SCAN_BYTES: u64 = 1 << 20;

/// The model(s) an attempt's agent sessions ran, as their transcripts name it (`a+b` when
/// sessions ran different models); `unknown` when no transcript names one.
pub fn attempt_model(state_dir: &Path, run_id: &str, stage: &str, attempt: u32) -> String {
    let models: BTreeSet<String> = transcripts(state_dir, run_id, stage, attempt)
        .iter()
        .filter_map(|path| transcript_model(path))
        .collect();
    if models.is_empty() {
        "unknown".into()
    } else {
        models.into_iter().collect::<Vec<_>>().join("+")
    }
}

/// The first model a transcript names. A transcript is JSONL, one `{"stream": "stdout",
/// "line": "..."}` entry per line the CLI wrote; the model is a stdout line's `model`, or its
/// `message.model` (Claude Code names it in its `init` line and in each assistant message).
/// Reads at most [`MODEL_SCAN_BYTES`].
pub fn transcript_model(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let reader = BufReader::new(file.take(MODEL_SCAN_BYTES));
    for entry in reader.lines() {
        let Ok(entry) = entry else { break };
        if !entry.contains("model") {
            continue;
        }
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(&entry) else {
            continue;
        };
        if entry.get("stream").and_then(serde_json::Value::as_str) != Some("stdout") {
            continue;
        }
        let Some(Ok(line)) = entry
            .get("line")
            .and_then(serde_json::Value::as_str)
            .map(serde_json::from_str::<serde_json::Value>)
        else {
            continue;
        };
        let model = line
            .get("model")
            .or_else(|| line.get("message").and_then(|m| m.get("model")))
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|m| !m.is_empty());
        if let Some(model) = model {
            return Some(model.to_string());
        }
    }
    None
}

/// A cost for the table: `$0.20`, `~$0.20` (partly estimated from tokens), `$0.20 + unknown`
/// (some cost could not be known), `unknown` (none could).
pub fn cost_cell(spend: &Spend) -> String {
    let approx = if spend.cost_estimated { "~" } else { "" };
    match (spend.cost_known, spend.cost_usd == 0.0) {
        (true, _) => format!("{approx}${:.2}", spend.cost_usd),
        (false, true) => "unknown".into(),
        (false, false) => format!("{approx}${:.2} + unknown", spend.cost_usd),
    }
}

/// A token count for the table: `950`, `12.3k`, `4.5M`.
pub fn tokens_cell(n: u64) -> String {
    let f = n as f64;
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", f / 1e3),
        _ => format!("{:.1}M", f / 1e6),
    }
}

/// The report as a table: a header, one row per group, a `total` row, and a line saying what
/// `unknown` means when a cost is.
pub fn render_table(report: &CostReport) -> String {
    let with_title = report.by == GroupBy::Task;
    let mut header = vec![
        report.by.header().to_string(),
        "RUNS".into(),
        "ATTEMPTS".into(),
        "COST".into(),
        "IN".into(),
        "OUT".into(),
        "CACHE READ".into(),
        "CACHE WRITE".into(),
    ];
    if with_title {
        header.push("TITLE".into());
    }
    let row = |g: &CostGroup| {
        let mut cells = vec![
            crate::terminal::cell(&g.key),
            g.runs.to_string(),
            g.attempts.to_string(),
            cost_cell(&g.spend),
            tokens_cell(g.spend.input_tokens),
            tokens_cell(g.spend.output_tokens),
            tokens_cell(g.spend.cache_read_tokens),
            tokens_cell(g.spend.cache_write_tokens),
        ];
        if with_title {
            cells.push(crate::terminal::cell(
                g.title.as_deref().unwrap_or_default(),
            ));
        }
        cells
    };
    let rows: Vec<Vec<String>> = std::iter::once(header)
        .chain(report.groups.iter().map(row))
        .chain(std::iter::once(row(&report.total)))
        .collect();
    let mut widths = vec![0; rows[0].len()];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                // The first column and the title read left to right; numbers align right.
                if i == 0 || (with_title && i == r.len() - 1) {
                    crate::terminal::pad(cell, *w)
                } else {
                    format!("{}{cell}", " ".repeat(w - cell.chars().count()))
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    if !report.total.spend.cost_known {
        out.push_str(
            "unknown: an agent CLI reported no cost and no price covers its model (add a \
             `prices:` entry to the workflow)\n",
        );
    }
    out
}

/// The report as one JSON document.
pub fn to_json(report: &CostReport) -> serde_json::Value {
    let group = |g: &CostGroup| {
        let s = &g.spend;
        let mut v = serde_json::json!({
            "key": g.key,
            "runs": g.runs,
            "attempts": g.attempts,
            // `null` when some cost is unknown: a partial sum is not the cost.
            "cost_usd": s.cost_known.then_some(s.cost_usd),
            "known_cost_usd": s.cost_usd,
            "cost_known": s.cost_known,
            "cost_estimated": s.cost_estimated,
            "input_tokens": s.input_tokens,
            "output_tokens": s.output_tokens,
            "cache_read_tokens": s.cache_read_tokens,
            "cache_write_tokens": s.cache_write_tokens,
        });
        if let (Some(title), Some(map)) = (&g.title, v.as_object_mut()) {
            map.insert("title".into(), title.clone().into());
        }
        v
    };
    serde_json::json!({
        "by": report.by,
        "since": report.since_ms.map(crate::time::rfc3339),
        "time_zone": report.time_zone,
        "groups": report.groups.iter().map(group).collect::<Vec<_>>(),
        "total": group(&report.total),
    })
}

#[cfg(test)]
mod tests;
