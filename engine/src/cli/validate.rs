//! `engine validate FILE`: every check `engine run` makes before starting, without running,
//! and warnings about this environment ([`crate::validate`]). Exit 0 when there is no error
//! (warnings alone included), 2 when there is one; `--strict` counts warnings as errors.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use engine_workflow::{Diagnostic, Diagnostics};

use crate::terminal::{safe, safe_lines};
use crate::validate::github::{Level, annotation};
use crate::validate::{Validation, validate, warning_text};
use crate::{EngineError, exit};

/// Arguments of `engine validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The workflow file (default: `workflows/engine.yaml` of this repository, the one
    /// `engine init` writes).
    pub workflow: Option<PathBuf>,
    /// Print the result as JSON (`{"ok": true, ...}` or the diagnostics).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Count warnings (agent CLI not on PATH, unset secret, no confinement) as errors: exit 2
    /// when there is any.
    #[arg(long)]
    pub strict: bool,
    /// How findings are printed: `text`, or `github` for GitHub Actions annotations
    /// (`::error file=F,line=L,col=C::message`, one per finding, on stdout).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// How `engine validate` prints its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `file:line:col: field: message` lines on stderr.
    Text,
    /// GitHub Actions workflow commands on stdout.
    Github,
}

pub(super) async fn execute(args: ValidateArgs) -> Result<u8, EngineError> {
    let workflow = super::workflow_path::resolve(args.workflow.as_deref())?;
    let validation = validate(&workflow, args.strict).await?;
    let code = if validation.ok() {
        exit::SUCCESS
    } else {
        exit::INVALID_INPUT
    };
    if args.json {
        super::print_json(&json(&validation))?;
        return Ok(code);
    }
    if args.format == Format::Github {
        for error in &validation.errors {
            super::streams::print_line(&annotation(Level::Error, error));
        }
        for warning in &validation.warnings {
            super::streams::print_line(&annotation(Level::Warning, warning));
        }
    } else {
        for warning in &validation.warnings {
            eprintln!("warning: {}", safe_lines(&warning_text(warning)));
        }
    }
    match &validation.prepared {
        Some(prepared) if validation.ok() => {
            super::streams::print_line(&safe(&ok_line(&workflow, prepared)));
            Ok(code)
        }
        // Text: the diagnostics and their count, as every command prints an invalid workflow.
        _ if args.format == Format::Text => {
            Err(EngineError::InvalidWorkflow(Diagnostics(validation.errors)))
        }
        _ => {
            let n = validation.errors.len();
            eprintln!(
                "error: the workflow is invalid ({n} problem{})",
                if n == 1 { "" } else { "s" }
            );
            Ok(code)
        }
    }
}

/// `FILE: ok: workflow "name", N stages: id (uses), ...; finally: ...`.
fn ok_line(workflow: &Path, prepared: &crate::project::PreparedWorkflow) -> String {
    let wf = &prepared.loaded.workflow;
    let finally = if wf.finally.is_empty() {
        String::new()
    } else {
        format!("; finally: {}", stage_list(prepared.loaded.finally_defs()))
    };
    format!(
        "{}: ok: workflow {:?}, {} stage{}: {}{finally}",
        workflow.display(),
        wf.name,
        wf.stages.len(),
        if wf.stages.len() == 1 { "" } else { "s" },
        stage_list(prepared.loaded.stage_defs())
    )
}

/// The JSON document of `--json`: `ok`, the stages when ok, `diagnostics` (errors), `warnings`
/// (as text, as printed) and `findings` (every finding with its `severity` and position).
fn json(validation: &Validation) -> serde_json::Value {
    let finding = |severity: &str, d: &Diagnostic| {
        serde_json::json!({
            "severity": severity, "file": d.file, "line": d.line, "col": d.col,
            "field": d.field, "message": d.message,
        })
    };
    let mut doc = serde_json::json!({
        "ok": validation.ok(),
        "diagnostics": validation.errors.iter().map(|d| serde_json::json!({
            "file": d.file, "line": d.line, "col": d.col, "field": d.field, "message": d.message,
        })).collect::<Vec<_>>(),
        "warnings": validation.warnings.iter().map(warning_text).collect::<Vec<_>>(),
        "findings": validation.errors.iter().map(|d| finding("error", d))
            .chain(validation.warnings.iter().map(|d| finding("warning", d)))
            .collect::<Vec<_>>(),
    });
    if let Some(prepared) = &validation.prepared {
        let wf = &prepared.loaded.workflow;
        doc["workflow"] = wf.name.clone().into();
        doc["stages"] = wf.stages.iter().map(|s| s.id.clone()).collect();
        doc["finally"] = wf.finally.iter().map(|s| s.id.clone()).collect();
    }
    doc
}

/// `id (uses)` of each stage, comma-separated.
fn stage_list<'a>(defs: impl Iterator<Item = engine_workflow::StageDef<'a>>) -> String {
    defs.map(|def| format!("{} ({})", def.stage.id, def.spec.uses))
        .collect::<Vec<_>>()
        .join(", ")
}
