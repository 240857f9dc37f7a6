//! `engine validate FILE`: every check `engine run` makes before starting, without running.

use std::path::PathBuf;

use clap::Args;

use crate::project::{PreparedWorkflow, host};
use crate::{EngineError, exit};

/// Arguments of `engine validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The workflow file.
    pub workflow: PathBuf,
    /// Print the result as JSON (`{"ok": true, ...}` or the diagnostics).
    #[arg(long)]
    pub json: bool,
}

pub(super) async fn execute(args: ValidateArgs) -> Result<u8, EngineError> {
    let result = check(&args).await;
    if args.json {
        let doc = match &result {
            Ok(prepared) => serde_json::json!({
                "ok": true,
                "warnings": prepared.confinement_warning().into_iter().collect::<Vec<_>>(),
                "workflow": prepared.loaded.workflow.name,
                "stages": prepared.loaded.workflow.stages.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
                "finally": prepared.loaded.workflow.finally.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
            }),
            Err(EngineError::InvalidWorkflow(diags)) => serde_json::json!({
                "ok": false,
                "diagnostics": diags.0.iter().map(|d| serde_json::json!({
                    "file": d.file, "line": d.line, "col": d.col, "field": d.field, "message": d.message,
                })).collect::<Vec<_>>(),
            }),
            Err(_) => serde_json::Value::Null,
        };
        if !doc.is_null() {
            super::print_json(&doc)?;
            return Ok(if result.is_ok() {
                exit::SUCCESS
            } else {
                exit::INVALID_INPUT
            });
        }
    }
    let prepared = result?;
    let wf = &prepared.loaded.workflow;
    if !args.json {
        let finally = if wf.finally.is_empty() {
            String::new()
        } else {
            format!("; finally: {}", stage_list(prepared.loaded.finally_defs()))
        };
        let line = format!(
            "{}: ok: workflow {:?}, {} stage{}: {}{finally}",
            args.workflow.display(),
            wf.name,
            wf.stages.len(),
            if wf.stages.len() == 1 { "" } else { "s" },
            stage_list(prepared.loaded.stage_defs())
        );
        println!("{}", crate::terminal::safe(&line));
        if let Some(warning) = prepared.confinement_warning() {
            eprintln!("warning: {}", crate::terminal::safe(&warning));
        }
    }
    Ok(exit::SUCCESS)
}

/// `id (uses)` of each stage, comma-separated.
fn stage_list<'a>(defs: impl Iterator<Item = engine_workflow::StageDef<'a>>) -> String {
    defs.map(|def| format!("{} ({})", def.stage.id, def.spec.uses))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn check(args: &ValidateArgs) -> Result<PreparedWorkflow, EngineError> {
    let loaded = engine_workflow::load_file(&args.workflow)?;
    let host = host()?;
    PreparedWorkflow::prepare_unconfined(&host, loaded).await
}
