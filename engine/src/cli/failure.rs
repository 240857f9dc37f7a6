//! How a command that fails says so: with `--json`, one JSON document on stdout
//! (`{"error": {"message", "exit_code", "kind", ...}}`, the same shape for every command) as well
//! as the human message on stderr; command-line mistakes clap finds included.

use std::ffi::OsString;

use serde_json::{Value, json};

use crate::{EngineError, exit};

/// Whether the command line asks for JSON output: the subcommand has a `--json` flag and it is
/// set. Works for every subcommand that has one, present and future.
pub(super) fn wants_json(matches: &clap::ArgMatches) -> bool {
    // Any depth: `engine plugin run ... --json` is two subcommands down.
    let mut current = matches;
    while let Some((_, sub)) = current.subcommand() {
        if matches!(sub.try_get_one::<bool>("json"), Ok(Some(true))) {
            return true;
        }
        current = sub;
    }
    false
}

/// Whether a command line clap refused asks for JSON: `--json` among the arguments before a
/// `--` (no parse to rely on: the parse is what failed).
pub(super) fn raw_args_want_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "--json")
}

/// The JSON document for an error that ends a command.
pub(super) fn error_document(e: &EngineError) -> Value {
    let mut error = json!({
        "message": e.to_string(),
        "exit_code": e.exit_code(),
        "kind": kind(e),
    });
    if let EngineError::InvalidWorkflow(diags) = e {
        error["diagnostics"] = diags
            .0
            .iter()
            .map(|d| {
                json!({
                    "file": d.file, "line": d.line, "col": d.col, "field": d.field,
                    "message": d.message,
                })
            })
            .collect();
    }
    if let EngineError::Internal(_) = e {
        error["bug"] = json!(crate::error::BUG_REPORT_LINE);
    }
    json!({ "error": error })
}

/// The JSON document for a command line clap refused (exit 2).
pub(super) fn usage_document(message: &str) -> Value {
    json!({ "error": {
        "message": message.trim(),
        "exit_code": exit::INVALID_INPUT,
        "kind": "usage",
    }})
}

/// A `--state-dir` that cannot be created (`/proc/x`, a read-only place) is a mistake in the
/// command line, not a bug: the store's error on creating it becomes a usage error (exit 2).
pub(super) fn blame_state_dir(e: EngineError, given: Option<&std::path::Path>) -> EngineError {
    let Some(given) = given.and_then(|dir| std::path::absolute(dir).ok()) else {
        return e;
    };
    match &e {
        EngineError::Store(engine_store::StoreError::Io {
            op: "creating",
            path,
            source,
        }) if path.starts_with(&given) => EngineError::Usage(format!(
            "--state-dir {}: cannot create it: {source} (give a directory engine can write, \
             or a path it can create)",
            crate::terminal::safe(&given.display().to_string())
        )),
        _ => e,
    }
}

/// A stable name for the kind of error, for scripts.
fn kind(e: &EngineError) -> &'static str {
    match e {
        EngineError::InvalidWorkflow(_) => "invalid_workflow",
        EngineError::Usage(_) | EngineError::Rejected(_) => "usage",
        EngineError::Internal(_) => "internal",
        EngineError::UnknownRun(_) => "unknown_run",
        EngineError::Busy(_) => "busy",
        EngineError::Store(_) => "store",
        EngineError::Git(_) => "git",
        EngineError::Runtime(_) => "runtime",
        EngineError::Io { .. } => "io",
        EngineError::TaskSource(_) => "task_source",
        EngineError::LimitReached(_) => "limit_reached",
        EngineError::Unconfined(_) => "cannot_confine",
    }
}

/// Prints `doc` as pretty JSON on stdout, like every `--json` output (a closed stdout is
/// ignored).
pub(super) fn print_document(doc: &Value) {
    super::streams::print_line(&format!("{doc:#}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_the_same_shape() {
        let doc = error_document(&EngineError::Usage("--base: no branch named nope".into()));
        assert_eq!(
            doc,
            json!({"error": {"message": "--base: no branch named nope", "exit_code": 2,
                             "kind": "usage"}})
        );
        let doc = error_document(&EngineError::Internal("boom".into()));
        assert_eq!(doc["error"]["exit_code"], 70);
        assert_eq!(doc["error"]["bug"], crate::error::BUG_REPORT_LINE);
        let doc = usage_document("error: unexpected argument '--nope'\n");
        assert_eq!(
            doc["error"]["message"],
            "error: unexpected argument '--nope'"
        );
    }

    #[test]
    fn a_state_dir_that_cannot_be_created_is_a_usage_error() {
        let creating = |path: &str| {
            EngineError::Store(engine_store::StoreError::Io {
                op: "creating",
                path: path.into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            })
        };
        let given = std::path::Path::new("/proc/nope");
        let e = blame_state_dir(creating("/proc/nope"), Some(given));
        assert_eq!(e.exit_code(), exit::INVALID_INPUT);
        assert!(
            e.to_string()
                .starts_with("--state-dir /proc/nope: cannot create it"),
            "{e}"
        );
        // Not the given directory, or none given: still the store's failure.
        let e = blame_state_dir(creating("/elsewhere"), Some(given));
        assert_eq!(e.exit_code(), exit::INTERNAL);
        let e = blame_state_dir(creating("/proc/nope"), None);
        assert_eq!(e.exit_code(), exit::INTERNAL);
    }

    #[test]
    fn json_is_asked_for_before_a_double_dash_only() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(raw_args_want_json(&args(&[
            "engine", "run", "--json", "--bad"
        ])));
        assert!(!raw_args_want_json(&args(&[
            "engine", "run", "--", "--json"
        ])));
        assert!(!raw_args_want_json(&args(&["--json"])));
    }
}
