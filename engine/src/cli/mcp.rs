//! `engine mcp [WORKFLOW]`: the MCP server on stdin/stdout (see [`crate::mcp`]), for agents
//! and editors that start it as a subprocess.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::console::Console;
use crate::board::{Access, Board};
use crate::mcp::EngineMcp;
use crate::project::{Project, host};
use crate::{EngineError, exit};

/// Arguments of `engine mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// The workflow whose task source the tools show and whose runs they start (default:
    /// `workflows/engine.yaml` of the repository).
    pub workflow: Option<PathBuf>,
}

pub(super) async fn execute(args: McpArgs, state_dir: Option<&Path>) -> Result<u8, EngineError> {
    let workflow = super::workflow_path::resolve(args.workflow.as_deref())?;
    let workflow_file =
        std::path::absolute(&workflow).map_err(|e| EngineError::io(&workflow, e))?;
    if !workflow_file.is_file() {
        return Err(EngineError::Usage(format!(
            "{}: no such workflow file",
            crate::terminal::safe(&workflow.display().to_string())
        )));
    }
    let project = Project::locate(state_dir)?;
    let board = Board {
        access: Access::Shared(project.state_dir.clone()),
        workflow_file,
        repo_root: project.repo.root().to_path_buf(),
    };
    let server = EngineMcp::new(
        board,
        Arc::new(Console::Terminal(Arc::new(project))),
        host()?,
    );
    crate::mcp::serve_stdio(server).await?;
    Ok(exit::SUCCESS)
}
