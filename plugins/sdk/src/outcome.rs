//! How an attempt ends: [`Success`] or [`StageError`], builders of the WIT `success` record and
//! `stage-error` variant.

use serde_json::{Map, Value, json};

use crate::bindings::engine::stage::types as raw;

/// A successful attempt: a one-line summary and outputs later stages see.
///
/// A builder of the WIT `success` record rather than the record itself: the outputs stay a JSON
/// object while the stage adds them and become the record's JSON text once, when the attempt
/// returns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Success {
    /// One-line summary shown to the user.
    pub summary: String,
    /// Outputs by key (a JSON object).
    pub outputs: Map<String, Value>,
}

impl Success {
    /// A success with this summary and no outputs.
    pub fn new(summary: impl Into<String>) -> Self {
        Success {
            summary: summary.into(),
            outputs: Map::new(),
        }
    }

    /// Adds (or replaces) one output.
    #[must_use]
    pub fn output(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.outputs.insert(key.into(), value.into());
        self
    }
}

/// A failed attempt. The host retries a retryable error under the stage's retry policy; a
/// fatal one is not retried.
///
/// A builder of the WIT `stage-error` variant rather than the variant itself: the detail stays
/// a JSON value while the stage builds it (see [`StageError::with_detail_field`]) and becomes
/// the variant's JSON text once, when the attempt returns.
#[derive(Debug, Clone, PartialEq)]
pub struct StageError {
    /// Whether trying again may help.
    pub retryable: bool,
    /// Human-readable message.
    pub message: String,
    /// Structured detail (`null` when there is none).
    pub detail: Value,
}

impl StageError {
    /// A transient failure: trying again may succeed.
    pub fn retryable(message: impl Into<String>) -> Self {
        StageError {
            retryable: true,
            message: message.into(),
            detail: Value::Null,
        }
    }

    /// A deterministic failure: trying again the same way will not help.
    pub fn fatal(message: impl Into<String>) -> Self {
        StageError {
            retryable: false,
            message: message.into(),
            detail: Value::Null,
        }
    }

    /// The run should not go on until a human looks at it (the task is already done, too
    /// vague, the agent keeps failing...). A fatal failure whose message is
    /// `needs attention: <reason>` and whose detail is
    /// `{"needs_attention": true, "reason": "<reason>"}`: the engine ends the run "needs
    /// attention" (exit code 6) instead of "failed", with no retry and no `on_failure` goto.
    ///
    /// More fields can be added to the detail object (e.g. with
    /// [`StageError::with_detail_field`]); keep `needs_attention` and `reason`.
    pub fn needs_attention(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        StageError {
            retryable: false,
            message: format!("needs attention: {reason}"),
            detail: json!({ "needs_attention": true, "reason": reason }),
        }
    }

    /// Whether this is a [`StageError::needs_attention`] failure: fatal, with
    /// `"needs_attention": true` in its detail.
    pub fn is_needs_attention(&self) -> bool {
        !self.retryable && self.detail.get("needs_attention") == Some(&Value::Bool(true))
    }

    /// Attaches structured detail.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<Value>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Adds (or replaces) one field of the detail object. A `null` detail becomes an object; a
    /// detail that is not an object (a string, a list...) is kept under `"detail"`.
    #[must_use]
    pub fn with_detail_field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let mut map = match std::mem::take(&mut self.detail) {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                let mut map = Map::new();
                map.insert("detail".to_string(), other);
                map
            }
        };
        map.insert(key.into(), value.into());
        self.detail = Value::Object(map);
        self
    }
}

impl std::fmt::Display for StageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StageError {}

impl From<Success> for raw::Success {
    fn from(s: Success) -> Self {
        raw::Success {
            summary: s.summary,
            outputs: Value::Object(s.outputs).to_string(),
        }
    }
}

/// A `null` detail is sent as `{}` (the WIT record's "no detail").
impl From<StageError> for raw::StageError {
    fn from(e: StageError) -> Self {
        let failure = raw::Failure {
            message: e.message,
            detail: match e.detail {
                Value::Null => "{}".to_string(),
                detail => detail.to_string(),
            },
        };
        if e.retryable {
            raw::StageError::Retryable(failure)
        } else {
            raw::StageError::Fatal(failure)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_attention_is_fatal_with_the_agreed_detail() {
        let error = StageError::needs_attention("the task is already done");
        assert!(!error.retryable);
        assert_eq!(error.message, "needs attention: the task is already done");
        assert_eq!(
            error.detail,
            json!({ "needs_attention": true, "reason": "the task is already done" })
        );
        assert!(error.is_needs_attention());
        let more = error.with_detail_field("mode", "rules");
        assert!(more.is_needs_attention());
        assert_eq!(more.detail["mode"], "rules");
        assert_eq!(more.detail["reason"], "the task is already done");
    }

    #[test]
    fn other_failures_do_not_need_attention() {
        assert!(!StageError::fatal("x").is_needs_attention());
        let retryable = StageError::retryable("x").with_detail(json!({ "needs_attention": true }));
        assert!(!retryable.is_needs_attention());
    }

    #[test]
    fn errors_keep_kind_and_detail_across_the_boundary() {
        match raw::StageError::from(StageError::retryable("later").with_detail(json!({"a": 1}))) {
            raw::StageError::Retryable(f) => {
                assert_eq!(f.message, "later");
                assert_eq!(f.detail, r#"{"a":1}"#);
            }
            raw::StageError::Fatal(_) => panic!("expected retryable"),
        }
        match raw::StageError::from(StageError::fatal("no")) {
            raw::StageError::Fatal(f) => assert_eq!(f.detail, "{}"),
            raw::StageError::Retryable(_) => panic!("expected fatal"),
        }
    }

    #[test]
    fn success_outputs_are_a_json_object() {
        let raw = raw::Success::from(Success::new("ok").output("n", 3).output("s", "x"));
        assert_eq!(raw.outputs, r#"{"n":3,"s":"x"}"#);
        assert_eq!(raw::Success::from(Success::new("ok")).outputs, "{}");
    }

    #[test]
    fn detail_fields_wrap_non_objects() {
        let e = StageError::fatal("x").with_detail_field("a", 1);
        assert_eq!(e.detail, json!({ "a": 1 }));
        let e = StageError::fatal("x")
            .with_detail("text")
            .with_detail_field("a", 1);
        assert_eq!(e.detail, json!({ "detail": "text", "a": 1 }));
    }
}
