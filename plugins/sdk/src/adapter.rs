//! Glue between the exported WIT functions and the [`Stage`] trait; used by
//! [`crate::export_stage!`].

use std::collections::BTreeMap;

use serde_json::Value;

use crate::bindings::engine::stage::types as raw;
use crate::context::{config_from_json, json_or_string};
use crate::{Context, Stage, StageError};

/// `describe` of the exported component.
pub fn describe<S: Stage>() -> raw::Descriptor {
    S::describe()
}

/// `run` of the exported component.
pub fn run<S: Stage>(context: raw::Context) -> Result<raw::Success, raw::StageError> {
    let context = context_from_raw::<S::Config>(context)?;
    S::run(context).map(Into::into).map_err(Into::into)
}

/// Deserializes the `with:` config ([`config_from_json`]); one that does not fit fails the
/// attempt fatally, with the config in the detail.
pub(crate) fn parse_config<C: serde::de::DeserializeOwned>(json: &str) -> Result<C, StageError> {
    config_from_json(json).map_err(|e| {
        StageError::fatal(format!("invalid config: {e}"))
            .with_detail(serde_json::json!({ "config": json_or_string(json) }))
    })
}

/// The WIT context with its config deserialized and the earlier stages' outputs parsed.
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
        keys: c.keys,
        task: c.task,
        config,
        outputs,
        feedback: c.feedback,
        interrupted: c.interrupted,
        workspace: c.workspace,
        previous_failure: c.previous_failure,
        git: c.git,
    })
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
    fn context_carries_the_previous_failure_and_parsed_outputs() {
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
            outputs: vec![raw::StageOutputs {
                stage: "gate".into(),
                outputs: r#"{"passed":true}"#.into(),
            }],
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
        assert_eq!(previous.detail_json()["force_tier"], "genius");
        assert_eq!(ctx.outputs["gate"]["passed"], true);
        assert_eq!(ctx.task.title, "T");
        let ctx = context_from_raw::<Config>(raw_context(None)).unwrap();
        assert!(ctx.previous_failure.is_none());
    }
}
