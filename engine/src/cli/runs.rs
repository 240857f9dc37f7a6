//! `engine runs`: list runs, newest first, filtered by status, time and workflow. Works while a
//! run is in progress (from the live run's mirror, see [`super::readonly`]).

use std::path::Path;

use clap::Args;
use engine_store::{Store, read_mirrors};

use super::readonly::{self, RunSource};
use crate::history::{Drivers, Listed, RunFilter};
use crate::project::Project;
use crate::time::{human_duration, rfc3339};
use crate::{EngineError, exit};

/// Arguments of `engine runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Print JSON (an array of runs) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only runs with this status: `pending`, `running`, `interrupted`, `succeeded`, `failed`,
    /// `cancelled`, `needs_attention` (repeat it, or give a comma-separated list).
    #[arg(long = "status", value_name = "STATUS")]
    pub status: Vec<String>,
    /// At most N runs (the newest that match).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Only runs created since D: a date (2026-12-01) or a date and time (2026-12-01T09:00)
    /// in the local time zone, or a duration back from now (7d, 12h, 30m).
    #[arg(long, value_name = "D")]
    pub since: Option<String>,
    /// Only runs of this workflow: its `name:`, or its file.
    #[arg(long, value_name = "NAME|FILE")]
    pub workflow: Option<String>,
}

impl RunsArgs {
    /// The filter the arguments ask for (bad values: a usage error naming the valid ones),
    /// as the API's `GET /api/runs` reads the same filters.
    fn filter(&self) -> Result<RunFilter, EngineError> {
        let query = crate::board::RunsQuery {
            status: (!self.status.is_empty()).then(|| self.status.join(",")),
            limit: self.limit,
            since: self.since.clone(),
            workflow: self.workflow.clone(),
        };
        query.filter(&std::env::current_dir().unwrap_or_default())
    }
}

pub(super) fn execute(args: &RunsArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let filter = args.filter()?;
    let dir = Project::state_dir_for_reading(state_dir)?;
    if !dir.exists() {
        if args.json {
            println!("[]");
        } else {
            eprintln!("no runs yet ({} does not exist)", dir.display());
        }
        return Ok(exit::SUCCESS);
    }
    // Runs are read newest first until the limit is reached (the store's), or all read (the
    // mirrors'); `any`: whether there is a run at all, for the message when none is listed.
    let (listed, any) = match readonly::open(&dir, "engine runs")? {
        RunSource::Store(state_dir) => {
            let store = state_dir.store();
            let listed = filter.apply_lazily(store.newest_first(), &Drivers::Nobody)?;
            let any = !listed.is_empty() || store.latest_id()?.is_some();
            (listed, any)
        }
        RunSource::Mirrors(dir) => {
            let listing = read_mirrors(&dir)?;
            readonly::warn_unreadable(&listing.problems);
            let any = !listing.runs.is_empty();
            (filter.apply(listing.runs, &readonly::drivers(&dir)), any)
        }
    };
    if args.json {
        let rows = crate::board::run_rows(&listed);
        super::print_json(&rows)?;
        return Ok(exit::SUCCESS);
    }
    if listed.is_empty() {
        eprintln!("{}", if any { "no runs match" } else { "no runs yet" });
        return Ok(exit::SUCCESS);
    }
    super::streams::print(&table(&listed));
    Ok(exit::SUCCESS)
}

/// The runs as a table: RUN, STATUS, STARTED, TOOK, COST, TASK.
fn table(listed: &[Listed]) -> String {
    let header = ["RUN", "STATUS", "STARTED", "TOOK", "COST", "TASK"].map(String::from);
    let rows: Vec<[String; 6]> = std::iter::once(header)
        .chain(listed.iter().map(|Listed { record: r, status }| {
            [
                r.meta.run_id.clone(),
                (*status).to_string(),
                rfc3339(r.meta.created_at_ms),
                crate::board::duration_ms(&r.state)
                    .map(human_duration)
                    .unwrap_or_default(),
                crate::summary::cost_text(&r.state.spend()),
                crate::terminal::cell(&r.state.task.title),
            ]
        }))
        .collect();
    let mut widths = [0; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, w))| match i {
                // Durations and costs align right.
                3 | 4 => format!("{}{cell}", " ".repeat(w - cell.chars().count())),
                _ => crate::terminal::pad(cell, w),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
