//! What a stage receives for one attempt: [`Context`], the WIT `context` record with its JSON
//! fields parsed.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Failure, Feedback, IdempotencyKeys, RunGit, Task};

/// Everything a stage gets for one attempt, with its config deserialized and the outputs of
/// earlier stages parsed.
///
/// It is the WIT `context` record (its parts are the generated types) except for the two
/// fields the record carries as JSON text: `config` is the stage's own config type and
/// `outputs` is a map of JSON values.
#[derive(Debug, Clone)]
pub struct Context<C> {
    /// The run's id.
    pub run_id: String,
    /// This stage's id in the workflow.
    pub stage_id: String,
    /// Attempt number, from 1; only goes up across retries, loops and resumes.
    pub attempt: u32,
    /// Idempotency keys: use them to make effects happen once.
    pub keys: IdempotencyKeys,
    /// The task the run works on.
    pub task: Task,
    /// The stage's `with:` config.
    pub config: C,
    /// Outputs of the stages that already succeeded, by stage id.
    pub outputs: BTreeMap<String, Value>,
    /// Set when a later stage sent the run back here.
    pub feedback: Option<Feedback>,
    /// True when an earlier attempt of this stage was interrupted by a crash; an at-most-once
    /// stage must check whether its effect already happened before acting.
    pub interrupted: bool,
    /// Where the worktree is mounted (`/workspace`), when the stage has access to it.
    pub workspace: Option<String>,
    /// How this stage's previous attempt in this run failed, when it did (a retry): lets the
    /// stage adapt, e.g. `builtin:agent` moves to the top model tier after a stall.
    pub previous_failure: Option<Failure>,
    /// The run's branch and base, when the run works in a git worktree. Its `repo_root` is for
    /// git commands only: the stage cannot read it, but a granted `git` run through `exec` can
    /// be pointed at it.
    pub git: Option<RunGit>,
}

impl Feedback {
    /// The structured detail, parsed: `null` when there is none, a JSON string when the text
    /// is not JSON.
    pub fn detail_json(&self) -> Value {
        json_or_string(&self.detail)
    }
}

impl Failure {
    /// The structured detail, parsed: `null` when there is none, a JSON string when the text
    /// is not JSON.
    pub fn detail_json(&self) -> Value {
        json_or_string(&self.detail)
    }
}

/// Deserializes a config the host sends as JSON text: from the text as given, or from `{}`
/// when the text is `null` or empty (no config) and the type cannot be built from `null`. The
/// error is serde's, from the text as given. Stages and task sources read their config this way.
pub fn config_from_json<C: serde::de::DeserializeOwned>(
    json: &str,
) -> Result<C, serde_json::Error> {
    let text = if json.trim().is_empty() { "null" } else { json };
    serde_json::from_str::<C>(text).or_else(|first| {
        if text.trim() == "null" {
            serde_json::from_str::<C>("{}").map_err(|_| first)
        } else {
            Err(first)
        }
    })
}

/// Parses JSON text; text that is not JSON is kept as a string, empty text is `null`.
pub(crate) fn json_or_string(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_parse_leniently() {
        let failure = |detail: &str| Failure {
            message: "m".into(),
            detail: detail.into(),
        };
        assert_eq!(
            failure(r#"{"force_tier":"genius"}"#).detail_json()["force_tier"],
            "genius"
        );
        assert_eq!(failure("").detail_json(), Value::Null);
        assert_eq!(failure("not json").detail_json(), "not json");
        let feedback = Feedback {
            from_stage: "gate".into(),
            attempt: 2,
            message: "tests failed".into(),
            detail: "[1]".into(),
        };
        assert_eq!(feedback.detail_json(), serde_json::json!([1]));
    }
}
