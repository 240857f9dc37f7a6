//! Completion dialects: how the agent says it is done, and what to tell it about that.
//!
//! | dialect | the agent writes | rule |
//! |---|---|---|
//! | `promise` | `<promise>COMPLETE</promise>` | exact tag content in the final text |
//! | `gate` | `<COMPLETION_GATE>ready: true ...</COMPLETION_GATE>` | the last block decides |
//! | `markers` | a line `TASK_COMPLETE` / `TASK_FAILED: why` / `TASK_BLOCKED: why` | BLOCKED > FAILED > COMPLETE |
//! | `result_json` | a fenced json block starting `{"TASKRUNNER_RESULT": true, "status": ...}` | the last such block |
//! | `none` | nothing | the session completed |

use serde_json::{Value, json};
use std::fmt::Write as _;

use crate::config::Dialect;
use crate::gate_block;

/// What the agent's final text says about the task.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The task is done. `detail` is what the dialect reported (goes into the outputs).
    Complete {
        /// The dialect's report, e.g. the gate block or the result json.
        detail: Value,
    },
    /// Not done yet (or not said): continue the session.
    Incomplete {
        /// Why it is not complete, told to the agent in the continuation prompt.
        reason: String,
    },
    /// The agent says it failed; another attempt may succeed.
    Failed {
        /// The agent's reason.
        reason: String,
        /// The dialect's report.
        detail: Value,
    },
    /// The agent says it is blocked by something only a human can fix: never retried.
    Blocked {
        /// The agent's reason.
        reason: String,
    },
}

/// Judges `final_text` (the agent's final message) under `dialect`. `promise` is the text the
/// promise dialect expects. The `none` dialect is decided by the session's outcome, not the
/// text: here it is always complete.
pub fn evaluate(dialect: Dialect, promise: &str, final_text: &str) -> Verdict {
    match dialect {
        Dialect::Promise => evaluate_promise(promise, final_text),
        Dialect::Gate => evaluate_gate(final_text),
        Dialect::Markers => evaluate_markers(final_text),
        Dialect::ResultJson => evaluate_result_json(final_text),
        Dialect::None => Verdict::Complete { detail: json!({}) },
    }
}

/// Text for the prompt telling the agent how to signal completion in `dialect`.
pub fn instructions(dialect: Dialect, promise: &str) -> String {
    match dialect {
        Dialect::Promise => format!(
            "When the task is completely done and verified, end your final message with \
             <promise>{promise}</promise>. Never write that tag before everything is done: \
             it ends the work."
        ),
        Dialect::Gate => "End your final message with a completion gate:\n\
             <COMPLETION_GATE>\n\
             ready: true or false\n\
             reason: why it is or is not ready\n\
             progress: what is done\n\
             blockers: [anything still in the way]\n\
             </COMPLETION_GATE>\n\
             Say `ready: true` only when every acceptance criterion is met and verified."
            .to_string(),
        Dialect::Markers => "When the task is completely done and verified, write a line \
             containing only TASK_COMPLETE. If you cannot finish it, write a line \
             `TASK_FAILED: <reason>`. If only a human can unblock it (missing access, an \
             unclear requirement), write a line `TASK_BLOCKED: <reason>`."
            .to_string(),
        Dialect::ResultJson => "End your final message with a fenced json block whose first \
             key is \"TASKRUNNER_RESULT\": true, for example:\n\
             ```json\n\
             {\"TASKRUNNER_RESULT\": true, \"status\": \"success\", \"summary\": \"what changed\"}\n\
             ```\n\
             status is one of: success, already_done (nothing needed changing), failed, blocked \
             (only a human can unblock it). Leave the block out until you are finished."
            .to_string(),
        Dialect::None => String::new(),
    }
}

fn evaluate_promise(promise: &str, text: &str) -> Verdict {
    let expected = promise.trim();
    let mut rest = text;
    let mut seen = Vec::new();
    while let Some(start) = rest.find("<promise>") {
        let after = &rest[start + "<promise>".len()..];
        let Some(end) = after.find("</promise>") else {
            break;
        };
        let content = after[..end].trim();
        if content == expected {
            return Verdict::Complete {
                detail: json!({ "promise": expected }),
            };
        }
        seen.push(content.to_string());
        rest = &after[end + "</promise>".len()..];
    }
    let reason = if seen.is_empty() {
        format!("your last message did not contain <promise>{expected}</promise>")
    } else {
        format!(
            "your promise tag said {:?}, not {expected:?}",
            seen.last().map(String::as_str).unwrap_or_default()
        )
    };
    Verdict::Incomplete { reason }
}

fn evaluate_gate(text: &str) -> Verdict {
    let Some(gate) = gate_block::last_block(text) else {
        return Verdict::Incomplete {
            reason: "your last message had no <COMPLETION_GATE> block".to_string(),
        };
    };
    let detail = gate.to_json();
    match gate.ready {
        Some(true) => Verdict::Complete { detail },
        Some(false) => {
            let mut reason = String::from("your completion gate says not ready");
            if !gate.reason.is_empty() {
                reason.push_str(": ");
                reason.push_str(&gate.reason);
            }
            if !gate.blockers.is_empty() {
                let _ = write!(reason, " (blockers: {})", gate.blockers.join("; "));
            }
            Verdict::Incomplete { reason }
        }
        None => Verdict::Incomplete {
            reason: "your completion gate has no `ready: true|false` line".to_string(),
        },
    }
}

fn evaluate_markers(text: &str) -> Verdict {
    let mut complete = false;
    let mut failed: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(reason) = marker_reason(line, "TASK_BLOCKED") {
            return Verdict::Blocked { reason };
        }
        if let Some(reason) = marker_reason(line, "TASK_FAILED") {
            failed.get_or_insert(reason);
        } else if line == "TASK_COMPLETE" {
            complete = true;
        }
    }
    match (failed, complete) {
        (Some(reason), _) => Verdict::Failed {
            detail: json!({ "marker": "TASK_FAILED", "reason": reason }),
            reason,
        },
        (None, true) => Verdict::Complete {
            detail: json!({ "marker": "TASK_COMPLETE" }),
        },
        (None, false) => Verdict::Incomplete {
            reason: "your last message had no TASK_COMPLETE line".to_string(),
        },
    }
}

/// `MARKER` alone or `MARKER: reason` as a whole line: the reason (empty when none).
fn marker_reason(line: &str, marker: &str) -> Option<String> {
    let rest = line.strip_prefix(marker)?;
    if rest.is_empty() {
        return Some(String::new());
    }
    rest.strip_prefix(':').map(|r| r.trim().to_string())
}

fn evaluate_result_json(text: &str) -> Verdict {
    let Some(result) = last_result_json(text) else {
        return Verdict::Incomplete {
            reason: "your last message had no final ```json block starting with \
                     \"TASKRUNNER_RESULT\": true (results without it are interim)"
                .to_string(),
        };
    };
    let status = result
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let said = |key: &str| result.get(key).and_then(Value::as_str).map(str::to_string);
    let reason = said("reason")
        .or_else(|| said("summary"))
        .or_else(|| said("message"))
        .unwrap_or_default();
    match status.as_str() {
        "success" | "already_done" => Verdict::Complete { detail: result },
        "blocked" => Verdict::Blocked {
            reason: if reason.is_empty() {
                "status blocked".to_string()
            } else {
                reason
            },
        },
        "" => Verdict::Failed {
            reason: "the TASKRUNNER_RESULT block has no status".to_string(),
            detail: result,
        },
        other => Verdict::Failed {
            reason: if reason.is_empty() {
                format!("status {other}")
            } else {
                format!("status {other}: {reason}")
            },
            detail: result,
        },
    }
}

/// The last fenced code block that is a JSON object whose first key is
/// `"TASKRUNNER_RESULT": true`.
fn last_result_json(text: &str) -> Option<Value> {
    let mut found = None;
    let mut block: Option<Vec<&str>> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        match block.as_mut() {
            None if trimmed.starts_with("```") => block = Some(Vec::new()),
            None => {}
            Some(lines) if trimmed.starts_with("```") => {
                let body = lines.join("\n");
                if let Some(value) = result_object(&body) {
                    found = Some(value);
                }
                block = None;
            }
            Some(lines) => lines.push(line),
        }
    }
    found
}

fn result_object(body: &str) -> Option<Value> {
    let inner = body.trim().strip_prefix('{')?.trim_start();
    if !inner.starts_with("\"TASKRUNNER_RESULT\"") {
        return None;
    }
    let value: Value = serde_json::from_str(body).ok()?;
    (value.get("TASKRUNNER_RESULT") == Some(&Value::Bool(true))).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_complete(v: &Verdict) -> bool {
        matches!(v, Verdict::Complete { .. })
    }

    #[test]
    fn promise_needs_the_exact_text() {
        let p = |t: &str| evaluate(Dialect::Promise, "COMPLETE", t);
        assert!(is_complete(&p("All done.\n<promise>COMPLETE</promise>")));
        assert!(is_complete(&p("<promise> COMPLETE </promise>")));
        assert!(is_complete(&p(
            "<promise>NO</promise> then <promise>COMPLETE</promise>"
        )));
        assert!(!is_complete(&p("<promise>complete</promise>")));
        assert!(!is_complete(&p("I will write COMPLETE when done")));
        assert!(!is_complete(&p("<promise>COMPLETE")));
        match p("<promise>DONE</promise>") {
            Verdict::Incomplete { reason } => assert!(reason.contains("DONE"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert!(is_complete(&evaluate(
            Dialect::Promise,
            "SHIPPED",
            "<promise>SHIPPED</promise>"
        )));
    }

    #[test]
    fn gate_uses_the_last_block() {
        let text = "<COMPLETION_GATE>\nready: false\nreason: tests fail\n</COMPLETION_GATE>\nfixed it\n<COMPLETION_GATE>\nready: true\nreason: all green\nprogress: 3/3\nblockers: []\n</COMPLETION_GATE>";
        match evaluate(Dialect::Gate, "", text) {
            Verdict::Complete { detail } => {
                assert_eq!(detail["ready"], true);
                assert_eq!(detail["reason"], "all green");
            }
            other => panic!("{other:?}"),
        }
        let not_ready = "<COMPLETION_GATE>\nready: false\nreason: tests fail\nblockers: [flaky db, missing key]\n</COMPLETION_GATE>";
        match evaluate(Dialect::Gate, "", not_ready) {
            Verdict::Incomplete { reason } => {
                assert!(reason.contains("tests fail"), "{reason}");
                assert!(reason.contains("missing key"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            evaluate(Dialect::Gate, "", "no gate here"),
            Verdict::Incomplete { .. }
        ));
    }

    #[test]
    fn markers_are_whole_lines_and_blocked_outranks() {
        let m = |t: &str| evaluate(Dialect::Markers, "", t);
        assert!(is_complete(&m("done\n  TASK_COMPLETE  \n")));
        assert!(!is_complete(&m("I'll print TASK_COMPLETE when done")));
        assert!(!is_complete(&m("TASK_COMPLETED")));
        assert_eq!(
            m("TASK_COMPLETE\nTASK_BLOCKED: need a token"),
            Verdict::Blocked {
                reason: "need a token".into()
            }
        );
        match m("TASK_COMPLETE\nTASK_FAILED: cannot build") {
            Verdict::Failed { reason, .. } => assert_eq!(reason, "cannot build"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            m("TASK_BLOCKED"),
            Verdict::Blocked {
                reason: String::new()
            }
        );
        assert!(matches!(m("nothing"), Verdict::Incomplete { .. }));
    }

    #[test]
    fn result_json_reads_the_final_marked_block() {
        let ok = "Done.\n```json\n{\"TASKRUNNER_RESULT\": true, \"status\": \"success\", \"summary\": \"added flag\"}\n```\n";
        match evaluate(Dialect::ResultJson, "", ok) {
            Verdict::Complete { detail } => assert_eq!(detail["summary"], "added flag"),
            other => panic!("{other:?}"),
        }
        let already = "```json\n{\"TASKRUNNER_RESULT\": true, \"status\": \"already_done\"}\n```";
        assert!(is_complete(&evaluate(Dialect::ResultJson, "", already)));
        let failed = "```json\n{\"TASKRUNNER_RESULT\": true, \"status\": \"success\"}\n```\nthen CI broke\n```json\n{\"TASKRUNNER_RESULT\": true, \"status\": \"ci_failed\", \"reason\": \"lint\"}\n```";
        match evaluate(Dialect::ResultJson, "", failed) {
            Verdict::Failed { reason, detail } => {
                assert_eq!(reason, "status ci_failed: lint");
                assert_eq!(detail["status"], "ci_failed");
            }
            other => panic!("{other:?}"),
        }
        let blocked = "```json\n{\"TASKRUNNER_RESULT\": true, \"status\": \"blocked\", \"reason\": \"no access\"}\n```";
        assert_eq!(
            evaluate(Dialect::ResultJson, "", blocked),
            Verdict::Blocked {
                reason: "no access".into()
            }
        );
    }

    #[test]
    fn result_json_without_the_marker_key_first_is_interim() {
        for text in [
            "```json\n{\"status\": \"success\", \"TASKRUNNER_RESULT\": true}\n```",
            "```json\n{\"TASKRUNNER_RESULT\": false, \"status\": \"success\"}\n```",
            "```json\n{\"TASKRUNNER_RESULT\": true, \"status\": \n```",
            "{\"TASKRUNNER_RESULT\": true, \"status\": \"success\"}",
        ] {
            assert!(
                matches!(
                    evaluate(Dialect::ResultJson, "", text),
                    Verdict::Incomplete { .. }
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn none_is_decided_by_the_session() {
        assert!(is_complete(&evaluate(Dialect::None, "", "")));
        assert!(instructions(Dialect::None, "").is_empty());
    }

    #[test]
    fn instructions_name_the_signal() {
        assert!(instructions(Dialect::Promise, "SHIPPED").contains("<promise>SHIPPED</promise>"));
        assert!(instructions(Dialect::Gate, "").contains("<COMPLETION_GATE>"));
        assert!(instructions(Dialect::Markers, "").contains("TASK_BLOCKED"));
        assert!(instructions(Dialect::ResultJson, "").contains("\"TASKRUNNER_RESULT\": true"));
    }
}
