//! `engine plugin check FILE [--as stage|source] [--json]`: whether this engine can load FILE (a
//! path or `builtin:NAME`) as a stage or a task source, in plain words ([`crate::plugin::check`]).
//!
//! Exit 0 when it loads as a compatible stage (or source) and describes itself, printing its
//! kind, WIT version, name and version; 2 with the reason otherwise (not WebAssembly, a core
//! module, a WASI program, the other kind of plugin, another `engine:stage` version, imports
//! this engine lacks, a `describe` that fails).

use std::path::PathBuf;

use clap::Args;

use crate::plugin::build::Kind;
use crate::plugin::check::{self, PluginFile, render};
use crate::terminal::safe_lines;
use crate::{EngineError, exit};

/// Arguments of `engine plugin check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The component: a `.wasm` file, or `builtin:NAME`.
    pub file: PathBuf,
    /// Check it as this kind of plugin (default: a task source when it exports a source's
    /// functions, else a stage).
    #[arg(long = "as", value_enum, value_name = "KIND")]
    pub as_kind: Option<Kind>,
    /// Print the result as JSON (`{"ok": ..., "kind": ..., "wit_version": ..., ...}`).
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn execute(args: &CheckArgs) -> Result<u8, EngineError> {
    let file = PluginFile::read(&args.file).map_err(|e| EngineError::Usage(e.to_string()))?;
    let host = check::host()?;
    let report = check::check(&host, &file, args.as_kind).await;
    let code = if report.ok() {
        exit::SUCCESS
    } else {
        exit::INVALID_INPUT
    };
    if args.json {
        crate::cli::print_json(&render::check_json(&report))?;
        return Ok(code);
    }
    match &report.outcome {
        Ok(_) => crate::cli::streams::print_line(&safe_lines(&render::check_text(&report))),
        Err(e) => eprintln!("error: {}", safe_lines(&e.to_string())),
    }
    Ok(code)
}
