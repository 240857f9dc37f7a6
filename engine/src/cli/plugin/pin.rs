//! `engine plugin pin WORKFLOW [STAGE] [--check]`: brings the sha256 pins of a workflow's
//! plugin stages up to date with their files, in place (see [`crate::plugin::pin`]); with
//! `--check`, changes nothing and exits 1 when a pin is stale (for CI and pre-commit hooks).

use std::path::PathBuf;

use clap::Args;

use crate::cli::streams::print_line;
use crate::plugin::pin::{self, PinOptions, PinSelection};
use crate::{EngineError, exit};

/// Arguments of `engine plugin pin`.
#[derive(Debug, Args)]
pub struct PinArgs {
    /// The workflow file.
    pub workflow: PathBuf,
    /// Only this stage's pin (`tasks.source` for the task source's); default: every stage that
    /// uses a .wasm file, and the task source.
    pub stage: Option<String>,
    /// Change nothing: say which pins are stale and exit 1 if any is.
    #[arg(long)]
    pub check: bool,
}

pub(super) fn execute(args: &PinArgs) -> Result<u8, EngineError> {
    let selection = match args.stage.as_deref() {
        None => PinSelection::All,
        Some("tasks.source") => PinSelection::TaskSource,
        Some(stage) => PinSelection::Stage(stage),
    };
    let options = PinOptions {
        selection,
        check: args.check,
    };
    let changes = pin::pin(&args.workflow, &options)?;
    let file = crate::terminal::safe(&args.workflow.display().to_string()).into_owned();
    if changes.is_empty() {
        print_line(&format!(
            "{file}: no stage uses a .wasm file; nothing to pin"
        ));
        return Ok(exit::SUCCESS);
    }
    for change in &changes {
        print_line(&change.describe(args.check));
    }
    let stale = changes.iter().filter(|c| c.changed()).count();
    if args.check && stale > 0 {
        let pins = if stale == 1 { "pin is" } else { "pins are" };
        eprintln!(
            "{}",
            crate::terminal::for_stderr(&format!(
                "error: {stale} {pins} stale; `engine plugin pin {file}` updates them"
            ))
        );
        return Ok(exit::RUN_FAILED);
    }
    Ok(exit::SUCCESS)
}
