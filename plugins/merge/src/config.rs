//! The `with:` config of the merge stage and its JSON Schema.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// `with: { strategy, message, push, remote, mode, pr }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeConfig {
    /// How the run's branch lands on the base (default `squash`).
    #[serde(default)]
    pub strategy: Strategy,
    /// Commit message of a squash or merge commit (default: the task's title, a blank line and
    /// its body). The `Engine-Run` and `Engine-Task` trailers are always appended.
    #[serde(default)]
    pub message: Option<String>,
    /// Local mode: push the merged base to `remote` afterwards (default false).
    #[serde(default)]
    pub push: bool,
    /// The remote pushed to (default `origin`).
    #[serde(default = "default_remote")]
    pub remote: String,
    /// Merge locally or through a pull request (default `local`).
    #[serde(default)]
    pub mode: Mode,
    /// Settings of PR mode.
    #[serde(default)]
    pub pr: PrConfig,
}

fn default_remote() -> String {
    "origin".to_string()
}

/// How the run's branch lands on the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// One new commit on the base with the branch's whole change.
    #[default]
    Squash,
    /// A merge commit with the base and the branch as parents.
    Merge,
    /// The branch's commits replayed one by one on the base.
    Rebase,
    /// The base moves to the branch's commit; fails when the base has moved.
    FfOnly,
}

impl Strategy {
    /// The name used in config and outputs.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Squash => "squash",
            Strategy::Merge => "merge",
            Strategy::Rebase => "rebase",
            Strategy::FfOnly => "ff-only",
        }
    }
}

/// Where the merge happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// In the local repository, with git plumbing.
    #[default]
    Local,
    /// Through a pull request, with `gh`.
    Pr,
}

/// `pr: { title, body, checks_timeout, poll_interval, draft, delete_branch }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrConfig {
    /// PR title (default: the task's title).
    #[serde(default)]
    pub title: Option<String>,
    /// PR body (default: the task's body); an `Engine-Run` line is always appended.
    #[serde(default)]
    pub body: Option<String>,
    /// How long to wait for checks, e.g. `30m` (default `30m`).
    #[serde(default = "default_checks_timeout")]
    pub checks_timeout: String,
    /// Time between two looks at the checks, e.g. `10s` (default `10s`).
    #[serde(default = "default_poll_interval")]
    pub poll_interval: String,
    /// Open the PR as a draft; it is marked ready once its checks pass (default false).
    #[serde(default)]
    pub draft: bool,
    /// Delete the branch on the remote after the merge (default false).
    #[serde(default)]
    pub delete_branch: bool,
}

impl Default for PrConfig {
    fn default() -> Self {
        PrConfig {
            title: None,
            body: None,
            checks_timeout: default_checks_timeout(),
            poll_interval: default_poll_interval(),
            draft: false,
            delete_branch: false,
        }
    }
}

fn default_checks_timeout() -> String {
    "30m".to_string()
}

fn default_poll_interval() -> String {
    "10s".to_string()
}

impl PrConfig {
    /// `checks_timeout`, parsed.
    pub fn checks_timeout(&self) -> Result<Duration, String> {
        parse_duration("pr.checks_timeout", &self.checks_timeout)
    }

    /// `poll_interval`, parsed; at least one second.
    pub fn poll_interval(&self) -> Result<Duration, String> {
        let interval = parse_duration("pr.poll_interval", &self.poll_interval)?;
        if interval < Duration::from_secs(1) {
            return Err(format!(
                "`pr.poll_interval` {:?} is shorter than 1s",
                self.poll_interval
            ));
        }
        Ok(interval)
    }
}

impl MergeConfig {
    /// Checks what the schema cannot: durations parse, the remote is a plain name.
    pub fn validate(&self) -> Result<(), String> {
        if self.remote.is_empty() || self.remote.starts_with('-') {
            return Err(format!("invalid `remote` {:?}", self.remote));
        }
        if self.mode == Mode::Pr {
            self.pr.checks_timeout()?;
            self.pr.poll_interval()?;
        }
        Ok(())
    }
}

fn parse_duration(key: &str, text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("invalid `{key}` {text:?}: {e} (use e.g. \"10s\" or \"30m\")"))
}

/// JSON Schema of the config (strict: unknown keys are errors).
pub fn schema() -> Value {
    let duration = json!({
        "type": "string",
        "pattern": "^\\s*[0-9]+\\s*[a-zA-Z]+(\\s*[0-9]+\\s*[a-zA-Z]+)*\\s*$"
    });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "builtin:merge",
        "description": "Merges the run's branch into its base branch, at most once.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "strategy": {
                "description": "How the branch lands on the base.",
                "enum": ["squash", "merge", "rebase", "ff-only"],
                "default": "squash"
            },
            "message": {
                "description": "Message of the squash or merge commit (default: task title, blank line, task body). Engine-Run and Engine-Task trailers are appended.",
                "type": "string",
                "minLength": 1
            },
            "push": {
                "description": "Local mode: push the merged base branch to `remote` (never forced).",
                "type": "boolean",
                "default": false
            },
            "remote": {
                "description": "The remote pushed to.",
                "type": "string",
                "minLength": 1,
                "default": "origin"
            },
            "mode": {
                "description": "`local`: merge with git plumbing; `pr`: through a GitHub pull request with gh.",
                "enum": ["local", "pr"],
                "default": "local"
            },
            "pr": {
                "description": "PR mode settings.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "title": { "type": "string", "minLength": 1 },
                    "body": { "type": "string" },
                    "checks_timeout": duration.clone(),
                    "poll_interval": duration,
                    "draft": { "type": "boolean", "default": false },
                    "delete_branch": { "type": "boolean", "default": false }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: Value) -> Result<MergeConfig, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn defaults_are_a_local_squash_without_push() {
        let c = config(json!({})).unwrap();
        assert_eq!(c.strategy, Strategy::Squash);
        assert_eq!(c.mode, Mode::Local);
        assert!(!c.push);
        assert_eq!(c.remote, "origin");
        assert_eq!(c.pr.checks_timeout().unwrap(), Duration::from_mins(30));
        assert_eq!(c.pr.poll_interval().unwrap(), Duration::from_secs(10));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn strategies_parse_by_their_names() {
        for name in ["squash", "merge", "rebase", "ff-only"] {
            let c = config(json!({ "strategy": name })).unwrap();
            assert_eq!(c.strategy.name(), name);
        }
        assert!(config(json!({ "strategy": "octopus" })).is_err());
    }

    #[test]
    fn unknown_keys_are_rejected_at_both_levels() {
        assert!(config(json!({ "stratgy": "merge" })).is_err());
        assert!(config(json!({ "mode": "pr", "pr": { "tittle": "x" } })).is_err());
    }

    #[test]
    fn bad_durations_and_remotes_are_explained() {
        let c = config(json!({ "mode": "pr", "pr": { "checks_timeout": "soon" } })).unwrap();
        assert!(c.validate().unwrap_err().contains("checks_timeout"));
        let c = config(json!({ "mode": "pr", "pr": { "poll_interval": "10ms" } })).unwrap();
        assert!(c.validate().unwrap_err().contains("shorter than 1s"));
        let c = config(json!({ "remote": "--upload-pack=x" })).unwrap();
        assert!(c.validate().unwrap_err().contains("remote"));
    }

    #[test]
    fn schema_is_strict() {
        let s = schema();
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(s["properties"]["pr"]["additionalProperties"], json!(false));
    }
}
