//! `engine logs [RUN] [--stage S] [--attempt N] [-f]`: everything a run's stages printed (their
//! log lines, the output of the programs they ran, the agent's text and tool calls), each line
//! tagged with its stage and attempt; with `-f`, followed until the run is over. The work is
//! in [`crate::logs`]; this file parses and prints.

use std::io::IsTerminal as _;
use std::path::Path;

use clap::Args;

use crate::logs::follow::{RunEnd, locate, stream};
use crate::logs::read::Selection;
use crate::project::Project;
use crate::{EngineError, exit};

/// Arguments of `engine logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The run id (a unique prefix is enough); the latest run when omitted.
    pub run: Option<String>,
    /// Only this stage's attempts.
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
    /// Only this attempt number (of every stage, or of --stage).
    #[arg(long, value_name = "N")]
    pub attempt: Option<u32>,
    /// Keep printing lines as they are written until the run is over; then exit with the
    /// run's exit code (as `engine run` would), or 4 when no engine process drives it.
    #[arg(short, long)]
    pub follow: bool,
}

pub(super) fn execute(args: &LogsArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let dir = Project::state_dir_for_reading(state_dir)?;
    let record = locate(&dir, args.run.as_deref())?;
    if let Some(stage) = &args.stage {
        let known = record.state.stages.contains_key(stage)
            || record.state.finally.contains_key(stage)
            || crate::history::order::StageOrder::of_run(&record.meta, &record.state)
                .finally
                .contains(stage);
        if !known {
            let stages: Vec<&str> = record.state.stages.keys().map(String::as_str).collect();
            return Err(EngineError::Usage(format!(
                "--stage {}: run {} has no such stage (its stages: {})",
                crate::terminal::safe(stage),
                record.meta.run_id,
                crate::terminal::safe(&stages.join(", "))
            )));
        }
    }
    let selection = Selection {
        stage: args.stage.clone(),
        attempt: args.attempt,
    };
    // Stage output may hold escape sequences: escaped on a terminal, as is into a pipe or file.
    let escape = std::io::stdout().is_terminal();
    let end = stream(&dir, &record, &selection, args.follow, |line| {
        super::streams::print_line(&line.render(escape));
    })?;
    Ok(match end {
        Some(RunEnd::Ended(status)) => super::drive::exit_code_for(&status),
        Some(RunEnd::Undriven) => {
            eprintln!(
                "note: no engine process drives run {} (`engine resume {}` continues it)",
                record.meta.run_id, record.meta.run_id
            );
            exit::RUN_INTERRUPTED
        }
        None => exit::SUCCESS,
    })
}
