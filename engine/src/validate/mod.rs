//! `engine validate`: every check `engine run` makes before it starts (the file, the plugins,
//! their configs and grants, the agent backends and budgets: a workflow validate accepts never
//! fails to start for a reason in its configuration), plus warnings about the environment
//! validate runs in ([`environment`]: agent CLIs not on `PATH`, unset secrets, confinement).
//! Warnings alone do not fail validation unless it is strict.

pub mod environment;
pub mod github;

use std::path::Path;

use engine_workflow::Diagnostic;

use crate::EngineError;
use crate::project::{PreparedWorkflow, host};

/// What validation found.
pub struct Validation {
    /// The workflow, prepared, when it has no errors (a strict validation may still turn its
    /// warnings into errors).
    pub prepared: Option<PreparedWorkflow>,
    /// Problems that stop a run from starting (and, when strict, the warnings), in source
    /// order.
    pub errors: Vec<Diagnostic>,
    /// Problems of the environment validation ran in, in source order; line 0 when a warning
    /// is about no place in the file. Empty when strict (they are errors then).
    pub warnings: Vec<Diagnostic>,
}

impl Validation {
    /// Whether the workflow passed (no errors).
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Validates the workflow file at `path`; `strict` turns every warning into an error.
/// `Err` only for what is not a finding (the wasm host cannot be created...).
pub async fn validate(path: &Path, strict: bool) -> Result<Validation, EngineError> {
    let loaded = match engine_workflow::load_file(path) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            return Ok(Validation {
                prepared: None,
                errors: diagnostics.0,
                warnings: Vec::new(),
            });
        }
    };
    let mut warnings = environment::warnings(&loaded);
    let file = loaded.file.clone();
    let host = host()?;
    let (prepared, mut errors) = match PreparedWorkflow::prepare_unconfined(&host, loaded).await {
        Ok(prepared) => (Some(prepared), Vec::new()),
        Err(EngineError::InvalidWorkflow(diagnostics)) => (None, diagnostics.0),
        Err(e) => return Err(e),
    };
    if let Some(warning) = prepared
        .as_ref()
        .and_then(PreparedWorkflow::confinement_warning)
    {
        warnings.push(Diagnostic {
            file,
            line: 0,
            col: 0,
            field: String::new(),
            message: warning,
        });
    }
    if strict {
        errors.append(&mut warnings);
        errors.sort_by_key(|d| (d.line, d.col));
    }
    Ok(Validation {
        prepared: if errors.is_empty() { prepared } else { None },
        errors,
        warnings,
    })
}

/// A warning as `validate` prints it: `file:line:col: field: message`, or only the message when
/// it is about no place in the file.
pub fn warning_text(warning: &Diagnostic) -> String {
    if warning.line == 0 {
        warning.message.clone()
    } else {
        warning.to_string()
    }
}
