//! `engine plugin build [DIR] [--workflow FILE]`: builds the plugin project in DIR (default:
//! the current directory) with its language's pinned toolchain ([`crate::plugin::build`]),
//! prints `built dist/NAME.wasm (N KiB) in X s` and `sha256: <hex>`, then updates the pin of
//! every stage that uses the component in DIR/workflow.yaml and in FILE.
//!
//! Exit 0 when built (and pinned), 2 when the project is not buildable as it stands (no or a
//! bad `plugin.toml`, a component of the wrong kind, a workflow whose pins cannot be updated),
//! 1 when a tool failed (cargo, componentize-py, componentize-js, or installing one), 70 for an
//! I/O error.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::plugin::build::{self, BuildError, pins};
use crate::terminal::{safe, safe_lines};
use crate::{EngineError, exit};

/// Exit code of a build whose tool (cargo, componentize-py, componentize-js) failed.
const TOOL_FAILED: u8 = 1;

/// Arguments of `engine plugin build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The project directory (holding `plugin.toml`).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Also update the pins in this workflow (besides the project's own `workflow.yaml`).
    #[arg(long, value_name = "FILE")]
    pub workflow: Option<PathBuf>,
}

pub(super) async fn execute(args: &BuildArgs) -> Result<u8, EngineError> {
    if let Some(workflow) = &args.workflow
        && !workflow.is_file()
    {
        return Err(EngineError::Usage(format!(
            "--workflow {}: no such workflow file",
            workflow.display()
        )));
    }
    let built = match build::build(&args.dir).await {
        Ok(built) => built,
        Err(BuildError::Io { path, source }) => return Err(EngineError::Io { path, source }),
        Err(e) if e.is_project_error() => return Err(EngineError::Usage(e.to_string())),
        Err(e) => {
            eprintln!("error: {}", safe_lines(&e.to_string()));
            return Ok(TOOL_FAILED);
        }
    };
    let print = |line: &str| super::super::streams::print_line(&safe(line));
    print(&built.summary(&args.dir));
    print(&format!("sha256: {}", built.sha256));
    for workflow in pins::workflows(&args.dir, args.workflow.as_deref()) {
        let repinned = pins::update(&workflow, &built.output).map_err(|e| match e {
            pins::PinUpdateError::Pin(e) => EngineError::from(e),
            invalid @ pins::PinUpdateError::Invalid { .. } => {
                EngineError::Usage(invalid.to_string())
            }
        })?;
        if repinned.users.is_empty() {
            print(&format!(
                "{}: no stage uses {}",
                shown(&workflow),
                shown(&built.output)
            ));
        }
        for user in &repinned.users {
            print(&format!("{}: {user}", shown(&workflow)));
        }
    }
    Ok(exit::SUCCESS)
}

/// A path as the user would write it: without a leading `./`.
fn shown(path: &Path) -> String {
    path.strip_prefix(".").unwrap_or(path).display().to_string()
}
