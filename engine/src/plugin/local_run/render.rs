//! How a local run's outcome reads: the end lines `engine run` prints for an attempt (`✓`/`✗`,
//! the failing output's last lines, the failure's detail), and the JSON report of `--json`.
//! Stage text is untrusted: the lines go through the reporter, which escapes them, and JSON
//! text through [`json_text`].

use std::fmt::Write as _;

use engine_core::{Failure, FailureKind};
use serde_json::{Value, json};

use super::{LocalOutcome, SourceRun, StageRun, access_name};
use crate::logs::tail::{FAILURE_TAIL_LINES, failure_tail};
use crate::time::human_duration;

/// The lines that end a stage's attempt, as `engine run` prints them: `✓ stage (attempt 1)
/// 12ms  summary`, or `✗ stage (attempt 1) 12ms  message [fatal]` then the last lines of the
/// failing output and the failure's detail.
pub fn result_lines(run: &StageRun) -> Vec<String> {
    let stage = &run.stage_id;
    let took = human_duration(run.duration_ms);
    match &run.result {
        Ok(success) => vec![format!("✓ {stage} (attempt 1) {took}  {}", success.summary)],
        Err(failure) => {
            let mut lines = vec![format!(
                "✗ {stage} (attempt 1) {took}  {} [{}]",
                failure.message,
                kind_text(failure.kind)
            )];
            let mut tail = failure_tail(failure, None, FAILURE_TAIL_LINES);
            if tail.is_empty() {
                tail.clone_from(&run.output_tail);
            }
            lines.extend(tail.iter().map(|line| format!("  {stage} | {line}")));
            lines.extend(detail_lines(failure));
            lines
        }
    }
}

/// Lines of a string in the failure's detail shown; the rest is counted.
const DETAIL_LINES: usize = 40;

/// The failure's detail, key by key (without `tail`, which the tail lines show): a string of
/// several lines as its lines (at most [`DETAIL_LINES`]), anything else on one line.
fn detail_lines(failure: &Failure) -> Vec<String> {
    let entries: Vec<(String, &Value)> = match &failure.detail {
        Value::Null => Vec::new(),
        Value::Object(map) => map
            .iter()
            .filter(|(key, _)| key.as_str() != "tail")
            .map(|(key, value)| (format!("detail.{key}"), value))
            .collect(),
        other => vec![("detail".to_string(), other)],
    };
    let mut lines = Vec::new();
    for (name, value) in entries {
        match value {
            Value::String(text) if text.trim_matches('\n').contains('\n') => {
                lines.push(format!("  {name}:"));
                let all: Vec<&str> = text.trim_matches('\n').lines().collect();
                for line in all.iter().take(DETAIL_LINES) {
                    lines.push(format!("    {line}"));
                }
                if all.len() > DETAIL_LINES {
                    lines.push(format!("    … {} more lines", all.len() - DETAIL_LINES));
                }
            }
            Value::String(text) => lines.push(format!("  {name}: {}", text.trim_matches('\n'))),
            other => lines.push(format!("  {name}: {other}")),
        }
    }
    lines
}

/// `retryable`, `fatal`, `timed out`, `needs attention`.
fn kind_text(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Retryable => "retryable",
        FailureKind::Fatal => "fatal",
        FailureKind::TimedOut => "timed out",
        FailureKind::NeedsAttention => "needs attention",
    }
}

/// The JSON report of a local run (`engine plugin run --json`).
pub fn report_json(outcome: &LocalOutcome) -> Value {
    match outcome {
        LocalOutcome::Stage(run) => stage_json(run),
        LocalOutcome::Source(run) => source_json(run),
    }
}

fn component_json(component: &super::ComponentInfo) -> Value {
    json!({
        "label": component.label,
        "sha256": component.sha256,
        "name": component.name,
        "version": component.version,
        "summary": component.summary,
    })
}

fn stage_json(run: &StageRun) -> Value {
    let (ok, summary, outputs, failure) = match &run.result {
        Ok(success) => (
            true,
            json!(success.summary),
            success.outputs.clone(),
            Value::Null,
        ),
        Err(failure) => (
            false,
            Value::Null,
            Value::Null,
            json!({
                "kind": failure.kind,
                "retryable": failure.kind.is_retryable(),
                "message": failure.message,
                "detail": failure.detail,
            }),
        ),
    };
    json!({
        "kind": "stage",
        "ok": ok,
        "component": component_json(&run.component),
        "stage_id": run.stage_id,
        "run_id": run.run_id,
        "attempt": 1,
        "task": run.task,
        "workspace": run.workspace.display().to_string(),
        "granted": {
            "workspace": access_name(run.granted.workspace),
            "exec": run.granted.exec,
            "net": run.granted.net,
        },
        "git": run.git.as_ref().map(|g| json!({
            "branch": g.branch,
            "base_branch": g.base_branch,
            "base_commit": g.base_commit,
            "repo_root": g.repo_root,
        })),
        "duration_ms": run.duration_ms,
        "summary": summary,
        "outputs": outputs,
        "failure": failure,
        "logs": run.logs,
        "output_tail": run.output_tail,
    })
}

fn source_json(run: &SourceRun) -> Value {
    let (ok, listing, error) = match &run.listing {
        Ok(listing) => (true, crate::tasks::render::json(listing), Value::Null),
        Err(message) => (false, Value::Null, json!(message)),
    };
    json!({
        "kind": "source",
        "ok": ok,
        "component": component_json(&run.component),
        "config": run.config,
        "listing": listing,
        "error": error,
    })
}

/// Pretty JSON safe to print on a terminal: serde escapes the C0 controls; the C1 controls and
/// the bidirectional overrides [`crate::terminal`] escapes elsewhere become `\uXXXX` here (they
/// can only be inside strings, so the JSON means the same).
pub fn json_text(value: &Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let escaped = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if escaped {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_shown_key_by_key_and_long_text_is_cut() {
        let long: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
        let failure = Failure {
            kind: FailureKind::Fatal,
            message: "m".into(),
            detail: json!({"tail": "t", "code": 3, "stderr": format!("\n{}\n", long.join("\n")), "why": "short\n"}),
            retry_at_ms: None,
        };
        let lines = detail_lines(&failure);
        assert_eq!(lines[0], "  detail.code: 3");
        assert_eq!(lines[1], "  detail.stderr:");
        assert_eq!(lines[2], "    line 0");
        assert_eq!(lines[DETAIL_LINES + 2], "    … 10 more lines");
        assert_eq!(lines[DETAIL_LINES + 3], "  detail.why: short");
        assert_eq!(lines.len(), DETAIL_LINES + 4);
    }

    #[test]
    fn json_text_escapes_what_a_terminal_would_obey() {
        let value = json!({"s": "a\u{1b}[2Jb\u{9b}c\u{202e}d"});
        let text = json_text(&value);
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{9b}'),
            "{text}"
        );
        assert!(
            text.contains("\\u009b") && text.contains("\\u202e"),
            "{text}"
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
