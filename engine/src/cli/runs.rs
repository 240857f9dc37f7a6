//! `engine runs`: list runs, newest first. Works while a run is in progress (from the live
//! run's mirror, see [`super::readonly`]).

use std::path::Path;

use clap::Args;
use engine_store::{Store, read_mirrors};

use super::readonly::{self, RunSource};
use crate::project::Project;
use crate::time::{human_duration, rfc3339};
use crate::{EngineError, exit};

/// Arguments of `engine runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Print JSON (an array of runs) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn execute(args: &RunsArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let dir = Project::state_dir_for_reading(state_dir)?;
    if !dir.exists() {
        if args.json {
            println!("[]");
        } else {
            eprintln!("no runs yet ({} does not exist)", dir.display());
        }
        return Ok(exit::SUCCESS);
    }
    let records = match readonly::open(&dir, "engine runs")? {
        RunSource::Store(state_dir) => state_dir.store().list()?,
        RunSource::Mirrors(dir) => {
            let listing = read_mirrors(&dir)?;
            readonly::warn_unreadable(&listing.problems);
            listing.runs
        }
    };
    if args.json {
        let rows: Vec<_> = records
            .iter()
            .map(|r| {
                serde_json::json!({
                    "run_id": r.meta.run_id,
                    "status": r.state.status.name(),
                    "workflow": r.meta.workflow_name,
                    "task": r.state.task.title,
                    "branch": r.meta.branch,
                    "created_at": rfc3339(r.meta.created_at_ms),
                    "duration_ms": duration_ms(&r.state),
                    "spend": r.state.spend(),
                })
            })
            .collect();
        super::print_json(&rows)?;
        return Ok(exit::SUCCESS);
    }
    if records.is_empty() {
        eprintln!("no runs yet");
        return Ok(exit::SUCCESS);
    }
    println!(
        "{:<26}  {:<9}  {:<20}  {:>8}  TASK",
        "RUN", "STATUS", "STARTED", "TOOK"
    );
    for r in &records {
        println!(
            "{:<26}  {:<9}  {:<20}  {:>8}  {}",
            r.meta.run_id,
            r.state.status.name(),
            rfc3339(r.meta.created_at_ms),
            duration_ms(&r.state)
                .map(human_duration)
                .unwrap_or_default(),
            crate::terminal::cell(&r.state.task.title)
        );
    }
    Ok(exit::SUCCESS)
}

fn duration_ms(state: &engine_core::RunState) -> Option<u64> {
    Some(state.finished_at_ms?.saturating_sub(state.started_at_ms?))
}
