//! The loader's say on a pin update: reading the workflow (as the loader would), refusing one
//! with problems besides its pins, checking that the rewritten text reads back with exactly
//! the new pins, and that no stage's pin was missed (one written through an alias, say).

use std::path::Path;

use engine_core::PluginRef;
use engine_workflow::{Diagnostic, Diagnostics, LoadedWorkflow, MAX_WORKFLOW_BYTES};

use super::locate::{self, Owner, Site};
use super::scalar::Value;
use super::{PinError, PinTarget};

/// The workflow's text (a leading byte order mark removed, and said to be there), read as the
/// loader reads it: a regular file, at most [`MAX_WORKFLOW_BYTES`], UTF-8.
pub(super) fn read(path: &Path, file: &str) -> Result<(bool, String), PinError> {
    let refused = |message: String| PinError::Read {
        file: file.to_string(),
        message,
    };
    let metadata = std::fs::metadata(path).map_err(|e| refused(e.to_string()))?;
    if !metadata.is_file() || metadata.len() > MAX_WORKFLOW_BYTES {
        // The loader says why in its words.
        return Err(match engine_workflow::load_file(path) {
            Err(diagnostics) => PinError::Invalid(diagnostics),
            Ok(_) => refused("not a regular file of a workflow's size".to_string()),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| refused(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|_| match engine_workflow::load_file(path) {
        Err(diagnostics) => PinError::Invalid(diagnostics),
        Ok(_) => refused("not UTF-8".to_string()),
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => (true, rest.to_string()),
        None => (false, text),
    })
}

/// Refuses a workflow whose problems are not all about the pins of its file plugins.
pub(super) fn only_pin_problems(diagnostics: &Diagnostics, sites: &[Site]) -> Result<(), PinError> {
    let others: Vec<Diagnostic> = diagnostics
        .0
        .iter()
        .filter(|d| pin_problem_of(d, sites).is_none())
        .cloned()
        .collect();
    if others.is_empty() {
        Ok(())
    } else {
        Err(PinError::Invalid(Diagnostics(others)))
    }
}

/// Whose pin a diagnostic is about, or `None` when it is about something else: a `sha256`
/// value that is not a digest (and is a plain or quoted value, or empty, as written), or a
/// `sha256` missing from a stage or task source that uses a file.
fn pin_problem_of(diagnostic: &Diagnostic, sites: &[Site]) -> Option<PinTarget> {
    let field = diagnostic.field.as_str();
    let (owner_field, on_value) = match field.strip_suffix(".sha256") {
        Some(owner) => (owner, true),
        None if diagnostic
            .message
            .starts_with("missing required field \"sha256\"") =>
        {
            (field, false)
        }
        None => return None,
    };
    let site = sites.iter().find(|s| match &s.owner {
        Owner::Stage { section, id } => owner_field == format!("{section}.{id}"),
        Owner::TaskSource => owner_field == "tasks",
    })?;
    let rewritable = match site.pin.as_ref().map(|p| &p.value) {
        Some(Value::Scalar(_) | Value::Empty { .. }) => on_value,
        Some(Value::Unsupported { .. }) => false,
        None => !on_value,
    };
    (rewritable && uses_file(site)).then(|| super::target_of(site))
}

/// Whether the site's component is a file (not a built-in).
fn uses_file(site: &Site) -> bool {
    match site.uses.as_ref().map(|u| &u.value) {
        Some(Value::Scalar(scalar)) => match site.owner {
            Owner::Stage { .. } => !scalar.text.starts_with("builtin:"),
            Owner::TaskSource => super::is_wasm_name(&scalar.text),
        },
        _ => false,
    }
}

/// Checks the rewritten text: it loads with `expected`'s pins (or, when other pins that were
/// not asked for are still missing, its only problems are those and the new pins are where
/// they were written); with `all`, no stage's pin is left stale.
pub(super) fn reads_back(
    file: &str,
    base_dir: &Path,
    text: &str,
    expected: &[(PinTarget, String)],
    sites: &[Site],
    all: bool,
) -> Result<(), PinError> {
    let verify_error = |why: String| PinError::Verify {
        file: file.to_string(),
        why,
    };
    match engine_workflow::load_str(file, base_dir, text) {
        Ok(loaded) => {
            for (target, sha) in expected {
                let read = match target {
                    PinTarget::Stage(id) => loaded.spec(id).map(|spec| &spec.uses),
                    PinTarget::TaskSource => loaded.tasks.as_ref().map(|t| &t.source),
                };
                match read {
                    Some(PluginRef::Path { sha256, .. }) if sha256 == sha => {}
                    Some(PluginRef::Path { sha256, .. }) => {
                        return Err(verify_error(format!("{target} reads sha256 {sha256}")));
                    }
                    _ => return Err(verify_error(format!("{target} has no file pin"))),
                }
            }
            if all {
                let located: Vec<PinTarget> = expected.iter().map(|(t, _)| t.clone()).collect();
                unlocated(&loaded, &located)?;
            }
            Ok(())
        }
        Err(diagnostics) => {
            let wrong: Vec<String> = diagnostics
                .0
                .iter()
                .filter(|d| match pin_problem_of(d, sites) {
                    Some(target) => all || expected.iter().any(|(t, _)| *t == target),
                    None => true,
                })
                .map(ToString::to_string)
                .collect();
            if !wrong.is_empty() {
                return Err(verify_error(wrong.join("; ")));
            }
            let again = locate::sites(text);
            for (target, sha) in expected {
                let written = again
                    .iter()
                    .find(|s| super::target_of(s) == *target)
                    .and_then(|s| s.pin.as_ref())
                    .is_some_and(|p| matches!(&p.value, Value::Scalar(s) if s.text == *sha));
                if !written {
                    return Err(verify_error(format!("{target}'s new pin is not found")));
                }
            }
            Ok(())
        }
    }
}

/// Refuses a stale pin of a stage that uses a file but was not among the `located` ones (a
/// stage written as an alias, or in a form not read in place): its line and the value to set.
pub(super) fn unlocated(loaded: &LoadedWorkflow, located: &[PinTarget]) -> Result<(), PinError> {
    let users = loaded
        .stage_defs()
        .chain(loaded.finally_defs())
        .map(|def| {
            let section = if loaded.workflow.stage(&def.stage.id).is_some() {
                "stages"
            } else {
                "finally"
            };
            (
                PinTarget::Stage(def.stage.id.clone()),
                format!("{section}.{}", def.stage.id),
                &def.spec.uses,
            )
        })
        .chain(
            loaded
                .tasks
                .as_ref()
                .map(|t| (PinTarget::TaskSource, "tasks".to_string(), &t.source)),
        );
    for (target, path, plugin) in users {
        let PluginRef::Path { path: uses, sha256 } = plugin else {
            continue;
        };
        if located.contains(&target) {
            continue;
        }
        let Ok(actual) = super::file_sha256(&super::plugin_path(&loaded.base_dir, uses)) else {
            continue;
        };
        if actual != *sha256 {
            let field = format!("{path}.sha256");
            let (line, _) = loaded.span_of(&field);
            return Err(PinError::Unsupported {
                file: loaded.file.clone(),
                line,
                field,
                why: format!(
                    "{target}'s pin is stale but is not written where engine plugin pin can \
                     rewrite it (through an alias?); set it by hand to {actual}"
                ),
            });
        }
    }
    Ok(())
}
