//! Turning how a guest call ended into an [`AttemptResult`].

use std::time::Duration;

use engine_core::{Failure, FailureKind};
use serde_json::{Value, json};
use wasmtime::Trap;

use crate::attempt::{AttemptResult, AttemptSuccess};
use crate::bindings::engine::stage::types as wit;
use crate::sandbox::{MemoryLimitExceeded, format_bytes};

/// Bytes of the guest's stderr put into a trap's detail.
const STDERR_DETAIL: usize = 4096;

/// What the host knew about the attempt when the call ended.
pub(crate) struct Ending<'a> {
    /// The attempt's time limit.
    pub(crate) timeout: Duration,
    /// The attempt's memory limit.
    pub(crate) memory_limit: u64,
    /// The limiter refused a growth.
    pub(crate) memory_exceeded: bool,
    /// The guest's captured stderr (tail).
    pub(crate) stderr: &'a str,
}

/// How the guest call ended: `None` when the tokio timeout fired first.
pub(crate) type CallOutcome = Option<wasmtime::Result<Result<wit::Success, wit::StageError>>>;

/// Maps the outcome of `run` to the attempt's result.
pub(crate) fn classify(outcome: CallOutcome, ending: &Ending<'_>) -> AttemptResult {
    match outcome {
        None => Err(timed_out(ending.timeout)),
        Some(Ok(Ok(success))) => success_from(success),
        Some(Ok(Err(wit::StageError::Retryable(f)))) => {
            Err(stage_failure(FailureKind::Retryable, f))
        }
        Some(Ok(Err(wit::StageError::Fatal(f)))) => Err(stage_failure(FailureKind::Fatal, f)),
        Some(Err(error)) => Err(trap_failure(&error, ending)),
    }
}

/// The failure for an attempt that ran out of time.
pub(crate) fn timed_out(timeout: Duration) -> Failure {
    Failure {
        kind: FailureKind::TimedOut,
        message: format!(
            "stage exceeded its time limit of {}",
            humantime::format_duration(timeout)
        ),
        detail: json!({ "timeout_ms": u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX) }),
        retry_at_ms: None,
    }
}

fn success_from(success: wit::Success) -> AttemptResult {
    let text = success.outputs.trim();
    let outputs = if text.is_empty() {
        Value::Object(serde_json::Map::default())
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => value,
            Ok(other) => {
                return Err(fatal(
                    "stage returned outputs that are not a JSON object".to_string(),
                    json!({ "outputs": other }),
                ));
            }
            Err(e) => {
                return Err(fatal(
                    format!("stage returned outputs that are not JSON: {e}"),
                    json!({ "outputs": success.outputs }),
                ));
            }
        }
    };
    Ok(AttemptSuccess {
        summary: success.summary,
        outputs,
    })
}

/// A failure the stage returned. A retryable one whose detail carries `retry_at_ms` (e.g. a
/// usage limit with a known reset time) is retried at that time, outside the retry budget.
fn stage_failure(kind: FailureKind, failure: wit::Failure) -> Failure {
    let detail = json_or_string(&failure.detail);
    let retry_at_ms = match kind {
        FailureKind::Retryable => detail.get("retry_at_ms").and_then(Value::as_u64),
        _ => None,
    };
    Failure {
        kind,
        message: failure.message,
        detail,
        retry_at_ms,
    }
}

/// Parses JSON text; keeps text that is not JSON as a string; empty text is `null`.
pub(crate) fn json_or_string(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

pub(crate) fn trap_failure(error: &wasmtime::Error, ending: &Ending<'_>) -> Failure {
    let trap = error.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::Interrupt) {
        return timed_out(ending.timeout);
    }
    let allocation_failed = trap == Some(Trap::UnreachableCodeReached)
        && ending.stderr.contains("memory allocation of")
        && ending.stderr.contains("failed");
    if ending.memory_exceeded
        || error.downcast_ref::<MemoryLimitExceeded>().is_some()
        || allocation_failed
    {
        return fatal(
            format!(
                "stage exceeded its memory limit of {}",
                format_bytes(ending.memory_limit)
            ),
            json!({ "memory_limit_bytes": ending.memory_limit, "stderr": stderr_tail(ending.stderr) }),
        );
    }
    let reason = match trap {
        Some(trap) => {
            let text = trap.to_string();
            text.strip_prefix("wasm trap: ")
                .unwrap_or(&text)
                .to_string()
        }
        None => error.to_string(),
    };
    let mut message = format!("stage trapped: {reason}");
    if let Some(panic) = panic_message(ending.stderr) {
        message.push_str("; ");
        message.push_str(&panic);
    }
    fatal(
        message,
        json!({ "trap": reason, "backtrace": format!("{error:?}"), "stderr": stderr_tail(ending.stderr) }),
    )
}

fn fatal(message: String, detail: Value) -> Failure {
    Failure {
        retry_at_ms: None,
        kind: FailureKind::Fatal,
        message,
        detail,
    }
}

/// The last [`STDERR_DETAIL`] bytes of stderr.
fn stderr_tail(stderr: &str) -> &str {
    &stderr[stderr.ceil_char_boundary(stderr.len().saturating_sub(STDERR_DETAIL))..]
}

/// `panicked at src/lib.rs:3:5: boom` from a Rust guest's panic report on stderr (the last one).
pub(crate) fn panic_message(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines.iter().rposition(|l| l.contains("panicked at "))?;
    let header = lines[at];
    let location = header[header.find("panicked at ")?..].trim_end_matches(':');
    let body: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|l| !l.starts_with("note: "))
        .copied()
        .collect();
    let body = body.join("\n");
    let body = body.trim();
    Some(if body.is_empty() {
        location.to_string()
    } else {
        format!("{location}: {body}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ending(stderr: &str) -> Ending<'_> {
        Ending {
            timeout: Duration::from_secs(2),
            memory_limit: 64 << 20,
            memory_exceeded: false,
            stderr,
        }
    }

    #[test]
    fn panic_reports_are_summarised() {
        let stderr = "log\n\nthread '<unnamed>' panicked at src/lib.rs:12:5:\nfixture trap: boom\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            panic_message(stderr).unwrap(),
            "panicked at src/lib.rs:12:5: fixture trap: boom"
        );
        assert_eq!(panic_message("nothing here"), None);
    }

    #[test]
    fn plugin_errors_keep_kind_message_and_detail() {
        let retry = classify(
            Some(Ok(Err(wit::StageError::Retryable(wit::Failure {
                message: "later".into(),
                detail: r#"{"a":1}"#.into(),
            })))),
            &ending(""),
        )
        .unwrap_err();
        assert_eq!(retry.kind, FailureKind::Retryable);
        assert_eq!(retry.detail, json!({"a": 1}));
        let fatal = classify(
            Some(Ok(Err(wit::StageError::Fatal(wit::Failure {
                message: "no".into(),
                detail: "not json".into(),
            })))),
            &ending(""),
        )
        .unwrap_err();
        assert_eq!(fatal.kind, FailureKind::Fatal);
        assert_eq!(fatal.detail, json!("not json"));
    }

    #[test]
    fn outputs_must_be_a_json_object() {
        let ok = |outputs: &str| {
            classify(
                Some(Ok(Ok(wit::Success {
                    summary: "s".into(),
                    outputs: outputs.into(),
                }))),
                &ending(""),
            )
        };
        assert_eq!(ok(r#"{"k":1}"#).unwrap().outputs, json!({"k": 1}));
        assert_eq!(ok("").unwrap().outputs, json!({}));
        assert_eq!(ok("[1]").unwrap_err().kind, FailureKind::Fatal);
        assert!(ok("{").unwrap_err().message.contains("not JSON"));
    }

    #[test]
    fn tokio_timeout_and_epoch_interrupt_are_timeouts() {
        let failure = classify(None, &ending("")).unwrap_err();
        assert_eq!(failure.kind, FailureKind::TimedOut);
        assert_eq!(failure.message, "stage exceeded its time limit of 2s");
        let interrupt = classify(
            Some(Err(wasmtime::Error::new(Trap::Interrupt))),
            &ending(""),
        );
        assert_eq!(interrupt.unwrap_err().kind, FailureKind::TimedOut);
    }

    #[test]
    fn allocation_failure_abort_is_a_memory_failure() {
        let stderr = "memory allocation of 1048576 bytes failed\n";
        let failure = classify(
            Some(Err(wasmtime::Error::new(Trap::UnreachableCodeReached))),
            &ending(stderr),
        )
        .unwrap_err();
        assert_eq!(failure.message, "stage exceeded its memory limit of 64 MiB");
        let other = classify(
            Some(Err(wasmtime::Error::new(Trap::UnreachableCodeReached))),
            &ending(""),
        )
        .unwrap_err();
        assert!(
            other.message.starts_with("stage trapped: "),
            "{}",
            other.message
        );
    }

    #[test]
    fn the_stderr_tail_starts_on_a_char_boundary() {
        assert_eq!(stderr_tail("short"), "short");
        // The cut falls right after the `x`, on a boundary.
        let long = format!("x{}", "é".repeat(STDERR_DETAIL / 2));
        assert_eq!(stderr_tail(&long), "é".repeat(STDERR_DETAIL / 2));
        // The cut falls inside an `é`: the tail starts at the next character.
        let long = format!("{}a", "é".repeat(STDERR_DETAIL));
        let tail = stderr_tail(&long);
        assert_eq!(tail.len(), STDERR_DETAIL - 1);
        assert_eq!(tail, format!("{}a", "é".repeat(STDERR_DETAIL / 2 - 1)));
    }
}
