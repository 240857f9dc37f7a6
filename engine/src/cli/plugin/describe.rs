//! `engine plugin describe FILE [--json]`: what a stage or task source (a path or
//! `builtin:NAME`) says about itself: name, version, summary, kind, the `engine:stage` version it
//! was built against, delivery, permissions and config schema ([`crate::plugin::check`]).
//!
//! Exit 0 when it loads and describes itself; 2 with the reason, in plain words, otherwise.

use std::path::PathBuf;

use clap::Args;

use crate::plugin::check::{self, PluginFile, render};
use crate::terminal::safe_lines;
use crate::{EngineError, exit};

/// Arguments of `engine plugin describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The component: a `.wasm` file, or `builtin:NAME`.
    pub file: PathBuf,
    /// Print the descriptor as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn execute(args: &DescribeArgs) -> Result<u8, EngineError> {
    let file = PluginFile::read(&args.file).map_err(|e| EngineError::Usage(e.to_string()))?;
    let host = check::host()?;
    let report = check::check(&host, &file, None).await;
    if let Err(e) = &report.outcome {
        if args.json {
            crate::cli::print_json(&render::check_json(&report))?;
        } else {
            eprintln!("error: {}", safe_lines(&e.to_string()));
        }
        return Ok(exit::INVALID_INPUT);
    }
    if args.json {
        crate::cli::print_json(&render::describe_json(&report))?;
    } else {
        crate::cli::streams::print_line(&safe_lines(&render::describe_text(&report)));
    }
    Ok(exit::SUCCESS)
}
