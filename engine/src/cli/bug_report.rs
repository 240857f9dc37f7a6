//! `engine bug-report [RUN] [--out FILE] [--workflow F] [--force]`: writes a tar of the run's
//! log, `show --json`, versions, workflow and setup, secrets redacted (see
//! [`crate::bug_report`]); prints where and how large.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::bug_report::{Options, write_bug_report};
use crate::project::Project;
use crate::terminal::safe;
use crate::{EngineError, exit};

/// Arguments of `engine bug-report`.
#[derive(Debug, Args)]
pub struct BugReportArgs {
    /// The run id (a unique prefix is enough); the latest run when omitted.
    pub run: Option<String>,
    /// Where to write the archive (default: `engine-bug-report-<RUN>.tar` in the current
    /// directory).
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A workflow file to include too (redacted), besides the workflow the run used.
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

pub(super) fn execute(args: BugReportArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let dir = Project::state_dir_for_reading(state_dir)?;
    let written = write_bug_report(
        &dir,
        &Options {
            run: args.run,
            out: args.out,
            workflow: args.workflow,
            force: args.force,
        },
    )?;
    let redacted: usize = written.redacted.values().sum();
    super::streams::print_line(&format!(
        "wrote {} ({}, {} files, run {}; {} secret{} redacted, see README.txt inside)",
        safe(&written.path.display().to_string()),
        crate::logs::size_text(written.bytes),
        written.files.len(),
        written.run_id,
        redacted,
        if redacted == 1 { "" } else { "s" }
    ));
    Ok(exit::SUCCESS)
}
