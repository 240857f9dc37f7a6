//! Glue between the raw WIT bindings and the [`Stage`] trait; used by [`crate::export_stage!`].

use std::collections::BTreeMap;

use serde_json::Value;

use crate::bindings::engine::stage::types as raw;
use crate::{
    Context, Delivery, Descriptor, Feedback, IdempotencyKeys, PreviousFailure, RunGit, Stage,
    StageError, Success, Task, WorkspaceAccess,
};

/// `describe` of the exported component.
pub fn describe<S: Stage>() -> raw::Descriptor {
    descriptor_to_raw(S::describe())
}

/// `run` of the exported component.
pub fn run<S: Stage>(context: raw::Context) -> Result<raw::Success, raw::StageError> {
    let context = context_from_raw::<S::Config>(context).map_err(error_to_raw)?;
    S::run(context).map(success_to_raw).map_err(error_to_raw)
}

pub(crate) fn descriptor_to_raw(d: Descriptor) -> raw::Descriptor {
    raw::Descriptor {
        name: d.name,
        version: d.version,
        summary: d.summary,
        config_schema: d.config_schema.to_string(),
        permissions: raw::Permissions {
            workspace: match d.permissions.workspace {
                WorkspaceAccess::None => raw::WorkspaceAccess::None,
                WorkspaceAccess::Read => raw::WorkspaceAccess::Read,
                WorkspaceAccess::Write => raw::WorkspaceAccess::Write,
            },
            exec: d.permissions.exec,
            agent: d.permissions.agent,
            net: d.permissions.net,
        },
        delivery: match d.delivery {
            Delivery::AtLeastOnce => raw::Delivery::AtLeastOnce,
            Delivery::AtMostOnce => raw::Delivery::AtMostOnce,
        },
    }
}

/// Deserializes the config: from the JSON as given, or from `{}` when the JSON is `null` (no
/// `with:`) and the config type does not accept `null`.
pub(crate) fn parse_config<C: serde::de::DeserializeOwned>(json: &str) -> Result<C, StageError> {
    let text = if json.trim().is_empty() { "null" } else { json };
    match serde_json::from_str::<C>(text) {
        Ok(config) => Ok(config),
        Err(first) => {
            if text.trim() == "null"
                && let Ok(config) = serde_json::from_str::<C>("{}")
            {
                return Ok(config);
            }
            Err(StageError::fatal(format!("invalid config: {first}"))
                .with_detail(serde_json::json!({ "config": json_or_string(json) })))
        }
    }
}

/// Parses JSON text; text that is not JSON is kept as a string, empty text is `null`.
pub(crate) fn json_or_string(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

pub(crate) fn context_from_raw<C: serde::de::DeserializeOwned>(
    c: raw::Context,
) -> Result<Context<C>, StageError> {
    let config = parse_config::<C>(&c.config)?;
    let outputs: BTreeMap<String, Value> = c
        .outputs
        .into_iter()
        .map(|o| (o.stage, json_or_string(&o.outputs)))
        .collect();
    Ok(Context {
        run_id: c.run_id,
        stage_id: c.stage_id,
        attempt: c.attempt,
        keys: IdempotencyKeys {
            stage: c.keys.stage,
            attempt: c.keys.attempt,
        },
        task: Task {
            id: c.task.id,
            title: c.task.title,
            body: c.task.body,
            labels: c.task.labels,
        },
        config,
        outputs,
        feedback: c.feedback.map(|f| Feedback {
            from_stage: f.from_stage,
            attempt: f.attempt,
            message: f.message,
            detail: json_or_string(&f.detail),
        }),
        interrupted: c.interrupted,
        workspace: c.workspace,
        previous_failure: c.previous_failure.map(|f| PreviousFailure {
            message: f.message,
            detail: json_or_string(&f.detail),
        }),
        git: c.git.map(|g| RunGit {
            branch: g.branch,
            base_branch: g.base_branch,
            base_commit: g.base_commit,
            repo_root: g.repo_root,
        }),
    })
}

pub(crate) fn success_to_raw(s: Success) -> raw::Success {
    raw::Success {
        summary: s.summary,
        outputs: Value::Object(s.outputs).to_string(),
    }
}

pub(crate) fn error_to_raw(e: StageError) -> raw::StageError {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Config {
        #[serde(default)]
        name: String,
    }

    #[test]
    fn null_config_falls_back_to_empty_object() {
        assert_eq!(parse_config::<Config>("null").unwrap().name, "");
        assert_eq!(parse_config::<Config>("").unwrap().name, "");
        assert_eq!(parse_config::<Option<u32>>("null").unwrap(), None);
    }

    #[test]
    fn bad_config_is_fatal_with_serde_message() {
        let err = parse_config::<Config>(r#"{"name": 3}"#).unwrap_err();
        assert!(!err.retryable);
        assert!(err.message.contains("invalid type"), "{}", err.message);
        assert_eq!(err.detail["config"]["name"], 3);
    }

    #[test]
    fn errors_keep_kind_and_detail() {
        let raw =
            error_to_raw(StageError::retryable("later").with_detail(serde_json::json!({"a": 1})));
        match raw {
            raw::StageError::Retryable(f) => {
                assert_eq!(f.message, "later");
                assert_eq!(f.detail, r#"{"a":1}"#);
            }
            raw::StageError::Fatal(_) => panic!("expected retryable"),
        }
        match error_to_raw(StageError::fatal("no")) {
            raw::StageError::Fatal(f) => assert_eq!(f.detail, "{}"),
            raw::StageError::Retryable(_) => panic!("expected fatal"),
        }
    }

    #[test]
    fn context_carries_the_previous_failure() {
        let raw_context = |previous: Option<raw::Failure>| raw::Context {
            run_id: "r".into(),
            stage_id: "s".into(),
            attempt: 2,
            keys: raw::IdempotencyKeys {
                stage: "r/s".into(),
                attempt: "r/s/2".into(),
            },
            task: raw::Task {
                id: "t".into(),
                title: "T".into(),
                body: String::new(),
                labels: Vec::new(),
            },
            config: "{}".into(),
            outputs: Vec::new(),
            feedback: None,
            interrupted: false,
            workspace: None,
            previous_failure: previous,
            git: None,
        };
        let ctx = context_from_raw::<Config>(raw_context(Some(raw::Failure {
            message: "stalled".into(),
            detail: r#"{"force_tier":"genius"}"#.into(),
        })))
        .unwrap();
        let previous = ctx.previous_failure.unwrap();
        assert_eq!(previous.message, "stalled");
        assert_eq!(previous.detail["force_tier"], "genius");
        let ctx = context_from_raw::<Config>(raw_context(None)).unwrap();
        assert!(ctx.previous_failure.is_none());
    }

    #[test]
    fn success_outputs_are_a_json_object() {
        let raw = success_to_raw(Success::new("ok").output("n", 3).output("s", "x"));
        assert_eq!(raw.outputs, r#"{"n":3,"s":"x"}"#);
        assert_eq!(success_to_raw(Success::new("ok")).outputs, "{}");
    }
}
