//! Approval stages: `uses: builtin:approval` runs no component, it waits for a human
//! (`engine approve` / `engine reject`). Its `with:` is checked by the workflow schema
//! (`$defs/approval_config`); this module turns it into an [`ApprovalPolicy`] and rejects the
//! stage fields that only make sense for a component.

use engine_core::{ApprovalPolicy, OnTimeout};
use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::limits::timeout;

/// The `uses:` of an approval stage.
pub const APPROVAL_USES: &str = "builtin:approval";

/// Stage fields an approval stage may not set, with why.
const NOT_FOR_APPROVALS: [(&str, &str); 7] = [
    (
        "timeout",
        "how long to wait for a human is with.timeout (with with.on_timeout)",
    ),
    ("memory", "no component runs"),
    ("retry", "a wait is not retried"),
    ("permissions", "no component runs"),
    ("delivery", "no component runs"),
    ("budget_usd", "no agent runs"),
    ("secrets", "no component runs"),
];

/// The approval policy of a stage whose `uses` is [`APPROVAL_USES`]; `None` for any other
/// stage. Problems with its `with:` values and with fields that do not apply are added to
/// `problems` (wrong types and unknown keys are the schema's).
pub(crate) fn read_approval(
    body: &Map<String, Value>,
    path: &FieldPath,
    problems: &mut Vec<Problem>,
) -> Option<ApprovalPolicy> {
    if body.get("uses").and_then(Value::as_str) != Some(APPROVAL_USES) {
        return None;
    }
    for (field, why) in NOT_FOR_APPROVALS {
        if body.contains_key(field) {
            problems.push(Problem::at_key(
                path.clone(),
                path.key(field),
                format!(
                    "\"{field}\" does not apply to an approval stage ({APPROVAL_USES} waits for \
                     a human; {why}); remove it"
                ),
            ));
        }
    }
    let with_path = path.key("with");
    let with = body.get("with").and_then(Value::as_object);
    let field = |name: &str| with.and_then(|w| w.get(name));
    let timeout_ms = timeout(field("timeout"), &with_path.key("timeout"), problems);
    let on_timeout = match field("on_timeout").and_then(Value::as_str) {
        Some("approve") => OnTimeout::Approve,
        Some("reject") => OnTimeout::Reject,
        _ => OnTimeout::Fail,
    };
    if field("on_timeout").is_some() && field("timeout").is_none() {
        problems.push(Problem::at(
            with_path.key("on_timeout"),
            "on_timeout needs a timeout: without with.timeout the stage waits for a human \
             forever",
        ));
    }
    let message = field("message").and_then(Value::as_str).map(str::to_string);
    if message.as_deref().is_some_and(crate::is_template) {
        problems.push(Problem::at(
            with_path.key("message"),
            "the approval message is shown as written: templates ({{ }}, {% %}) are not \
             rendered here; write plain text",
        ));
    }
    Some(ApprovalPolicy {
        timeout_ms,
        on_timeout,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_templated_message_is_refused() {
        let body = json!({"uses": APPROVAL_USES, "with": {"message": "check {{ task.title }}"}});
        let mut problems = Vec::new();
        let policy = read_approval(
            body.as_object().unwrap(),
            &FieldPath::keys(&["stages", "ship"]),
            &mut problems,
        );
        assert!(policy.is_some());
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    fn read(body: &Value) -> (Option<ApprovalPolicy>, Vec<String>) {
        let mut problems = Vec::new();
        let path = FieldPath::keys(&["stages", "ok"]);
        let policy = read_approval(body.as_object().unwrap(), &path, &mut problems);
        let texts = problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect();
        (policy, texts)
    }

    #[test]
    fn other_stages_have_no_policy() {
        assert_eq!(read(&json!({"uses": "builtin:gate"})), (None, vec![]));
    }

    #[test]
    fn policy_is_read_with_defaults() {
        let (policy, problems) = read(&json!({"uses": "builtin:approval"}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(policy, Some(ApprovalPolicy::default()));
        assert_eq!(policy.map(|p| p.on_timeout), Some(OnTimeout::Fail));

        let (policy, problems) = read(&json!({"uses": "builtin:approval", "with": {
            "timeout": "24h", "on_timeout": "approve", "message": "Ship it?"}}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            policy,
            Some(ApprovalPolicy {
                timeout_ms: Some(24 * 3_600_000),
                on_timeout: OnTimeout::Approve,
                message: Some("Ship it?".into()),
            })
        );
        let (policy, _) = read(&json!({"uses": "builtin:approval", "with": {
            "timeout": "1m", "on_timeout": "reject"}}));
        assert_eq!(policy.map(|p| p.on_timeout), Some(OnTimeout::Reject));
    }

    #[test]
    fn value_problems_and_fields_that_do_not_apply() {
        let (_, problems) = read(&json!({"uses": "builtin:approval", "memory": "1MiB",
            "timeout": "1m", "with": {"timeout": "0s", "on_timeout": "approve"}}));
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("stages.ok: \"timeout\" does not apply"));
        assert!(problems[1].starts_with("stages.ok: \"memory\" does not apply"));
        assert!(problems[2].starts_with("stages.ok.with.timeout: a timeout must be at least 1ms"));
        let (_, problems) =
            read(&json!({"uses": "builtin:approval", "with": {"on_timeout": "approve"}}));
        assert_eq!(
            problems,
            vec![
                "stages.ok.with.on_timeout: on_timeout needs a timeout: without with.timeout the \
                 stage waits for a human forever"
            ]
        );
    }
}
