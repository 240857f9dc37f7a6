//! `engine costs`: what the runs of the state directory spent, in USD and tokens, summed by
//! day, task, stage or model. Works while a run is in progress (from the mirrors, see
//! [`super::readonly`]).

use std::path::Path;

use clap::Args;
use engine_store::{Store, read_mirrors};
use jiff::tz::TimeZone;

use super::readonly::{self, RunSource};
use crate::history::costs::{GroupBy, costs, render_table, to_json};
use crate::history::since::parse_since_now;
use crate::project::Project;
use crate::{EngineError, exit};

/// Arguments of `engine costs`.
#[derive(Debug, Args)]
pub struct CostsArgs {
    /// How to group: by local calendar day (the default), by task, by stage, or by model.
    #[arg(long, value_enum, default_value_t = GroupBy::Day, value_name = "GROUP")]
    pub by: GroupBy,
    /// Only attempts that ended since D: a date (2026-12-01) or a date and time
    /// (2026-12-01T09:00) in the local time zone, or a duration back from now (7d, 12h, 30m).
    #[arg(long, value_name = "D")]
    pub since: Option<String>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn execute(args: &CostsArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let since_ms = args
        .since
        .as_deref()
        .map(parse_since_now)
        .transpose()
        .map_err(|e| EngineError::Usage(e.to_string()))?;
    let dir = Project::state_dir_for_reading(state_dir)?;
    let records = if dir.exists() {
        match readonly::open(&dir, "engine costs")? {
            RunSource::Store(state_dir) => state_dir.store().list()?,
            RunSource::Mirrors(dir) => {
                let listing = read_mirrors(&dir)?;
                readonly::warn_unreadable(&listing.problems);
                listing.runs
            }
        }
    } else {
        Vec::new()
    };
    let report = costs(&records, args.by, since_ms, &TimeZone::system(), &dir);
    if args.json {
        super::print_json(&to_json(&report))?;
    } else if report.groups.is_empty() {
        eprintln!("no spend recorded");
    } else {
        super::streams::print(&render_table(&report));
    }
    Ok(exit::SUCCESS)
}
