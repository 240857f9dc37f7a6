//! Glue between the exported WIT functions of the `source` world and the [`Source`] trait;
//! used by [`crate::export_source!`].

use engine_stage_sdk::config_from_json;

use crate::{Source, SourceDescriptor, SourceError, Task, TaskList, TaskStatus};

/// `describe` of the exported component.
pub fn describe<S: Source>() -> SourceDescriptor {
    S::describe()
}

/// `list-tasks` of the exported component.
pub fn list<S: Source>(config: &str) -> Result<TaskList, SourceError> {
    S::list(parse_config::<S::Config>(config)?)
}

/// `claim` of the exported component.
pub fn claim<S: Source>(config: &str, id: &str, claimant: &str) -> Result<Task, SourceError> {
    S::claim(parse_config::<S::Config>(config)?, id, claimant)
}

/// `update` of the exported component.
pub fn update<S: Source>(
    config: &str,
    id: &str,
    status: TaskStatus,
    note: Option<&str>,
) -> Result<Task, SourceError> {
    S::update(parse_config::<S::Config>(config)?, id, status, note)
}

/// `check-item` of a component exporting world `source-checklist`.
pub fn check_item<S: Source>(
    config: &str,
    id: &str,
    index: u32,
    done: bool,
) -> Result<Task, SourceError> {
    S::check_item(parse_config::<S::Config>(config)?, id, index, done)
}

/// Deserializes the config ([`config_from_json`]); one that does not fit is
/// [`SourceError::InvalidConfig`] with serde's message.
pub(crate) fn parse_config<C: serde::de::DeserializeOwned>(json: &str) -> Result<C, SourceError> {
    config_from_json(json).map_err(|e| SourceError::InvalidConfig(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        #[serde(default)]
        path: Option<String>,
    }

    #[test]
    fn configs_parse_or_fail_as_invalid_config() {
        assert_eq!(parse_config::<Config>("null").unwrap().path, None);
        assert_eq!(parse_config::<Config>("").unwrap().path, None);
        assert_eq!(
            parse_config::<Config>(r#"{"path":"a.md"}"#).unwrap().path,
            Some("a.md".into())
        );
        let err = parse_config::<Config>(r#"{"pth":"a.md"}"#).unwrap_err();
        assert!(
            matches!(&err, SourceError::InvalidConfig(m) if m.contains("unknown field")),
            "{err:?}"
        );
    }

    /// A source that only lists: what the exported functions make of its answers.
    struct ReadOnly;

    impl Source for ReadOnly {
        type Config = Config;

        fn describe() -> SourceDescriptor {
            SourceDescriptor::new("read-only", "0.1.0", "lists one task")
        }

        fn list(config: Config) -> Result<TaskList, SourceError> {
            Ok(TaskList {
                tasks: vec![Task {
                    id: config.path.unwrap_or_default(),
                    title: "t".into(),
                    body: String::new(),
                    status: TaskStatus::Todo,
                    raw_status: "TODO".into(),
                    priority: 2,
                    labels: Vec::new(),
                    depends_on: Vec::new(),
                    milestone: None,
                    estimate: None,
                    checklist: Vec::new(),
                    traces: Vec::new(),
                    location: None,
                }],
                warnings: Vec::new(),
            })
        }
    }

    #[test]
    fn the_exports_parse_the_config_and_default_to_read_only() {
        let listed = list::<ReadOnly>(r#"{"path":"T-1"}"#).unwrap();
        assert_eq!(listed.tasks[0].id, "T-1");
        assert!(matches!(
            list::<ReadOnly>(r#"{"pth":1}"#),
            Err(SourceError::InvalidConfig(_))
        ));
        let refused = claim::<ReadOnly>("{}", "T-1", "run").unwrap_err();
        assert_eq!(
            refused.text(),
            "this task source cannot claim T-1: it is read-only"
        );
        let refused = update::<ReadOnly>("{}", "T-1", TaskStatus::Done, None).unwrap_err();
        assert!(matches!(refused, SourceError::Unsupported(_)));
        let refused = check_item::<ReadOnly>("{}", "T-1", 1, true).unwrap_err();
        assert_eq!(
            refused.text(),
            "this task source cannot tick checklist items of T-1"
        );
        assert_eq!(describe::<ReadOnly>().name, "read-only");
    }
}
