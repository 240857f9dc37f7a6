//! Custom agent CLIs, configured in the workflow: an argv template and, for text output, the
//! regexes that find the session id, the cost, the end and errors.
//!
//! ```yaml
//! agents:
//!   custom:
//!     my-agent:
//!       command: ["my-agent", "--prompt-file", "{prompt_file}", "--model={model}"]
//!       format: text
//!       result_marker_regex: '^DONE(?: (.*))?$'
//!       cost_regex: 'total cost: \$([0-9.]+)'
//! ```

use std::sync::Arc;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
use crate::request::SessionRequest;

use super::command::{InvocationBuilder, prompt_with_system, reject_tool_lists};
use super::custom_stream::CustomParser;

/// How a custom CLI writes its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomFormat {
    /// Plain text: every stdout line is assistant text, except lines matched by a regex.
    #[default]
    Text,
    /// One JSON object per line in the engine's own normalized event format
    /// ([`crate::AgentEvent`], e.g. `{"type":"assistant_text","text":"..."}`); lines that are
    /// not are kept as unknown. The regexes apply to `assistant_text` events' text.
    Jsonl,
}

/// A custom agent CLI (`agents.custom.NAME` in the workflow).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomBackendConfig {
    /// The argv: the program, then arguments with placeholders: `{prompt_file}` (path of a file
    /// holding the prompt), `{model}`, `{session}` (the session to resume), `{max_turns}`. An
    /// argument containing a placeholder whose value is absent is dropped (write
    /// `--model={model}` rather than `--model`, `{model}`). Without `{prompt_file}` the prompt
    /// goes to stdin. Never put the prompt itself in an argument (E2BIG).
    pub command: Vec<String>,
    /// The output format (`text`, the default, or `jsonl`).
    #[serde(default)]
    pub format: CustomFormat,
    /// A line matching this ends the session successfully; its first capture group, when there
    /// is one and it matched, is the result text (else all assistant text so far).
    #[serde(default)]
    pub result_marker_regex: Option<String>,
    /// A line matching this reports the session's cumulative cost: the first capture group is
    /// an amount in USD.
    #[serde(default)]
    pub cost_regex: Option<String>,
    /// The first line matching this names the session: the first capture group is its id.
    #[serde(default)]
    pub session_regex: Option<String>,
    /// A stdout or stderr line matching this ends the session in error; the first capture group
    /// (or the whole line) is the error text.
    #[serde(default)]
    pub error_regex: Option<String>,
}

/// The compiled regexes of a custom backend.
#[derive(Debug, Default)]
pub(crate) struct CustomPatterns {
    pub result_marker: Option<Regex>,
    pub cost: Option<Regex>,
    pub session: Option<Regex>,
    pub error: Option<Regex>,
}

const PLACEHOLDERS: &[&str] = &["prompt_file", "model", "session", "max_turns"];

/// Expands the placeholders of one template argument; `Ok(None)` when a value is absent.
fn expand(arg: &str, value: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, String> {
    let mut out = String::with_capacity(arg.len());
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(after.len());
        if name_len == 0 || !after[name_len..].starts_with('}') {
            out.push('{');
            rest = after;
            continue;
        }
        let name = &after[..name_len];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}} (known: {})",
                PLACEHOLDERS.join(", ")
            ));
        }
        match value(name) {
            Some(v) => out.push_str(&v),
            None => return Ok(None),
        }
        rest = &after[name_len + 1..];
    }
    out.push_str(rest);
    Ok(Some(out))
}

fn compile(
    backend: &str,
    field: &str,
    pattern: Option<&str>,
    needs_group: bool,
) -> Result<Option<Regex>, BackendError> {
    let Some(pattern) = pattern else {
        return Ok(None);
    };
    let invalid = |message: String| BackendError::InvalidSettings {
        backend: backend.to_owned(),
        message,
    };
    let re = Regex::new(pattern).map_err(|e| invalid(format!("{field}: {e}")))?;
    if needs_group && re.captures_len() < 2 {
        return Err(invalid(format!("{field} needs a capture group")));
    }
    Ok(Some(re))
}

/// A custom backend.
#[derive(Debug, Clone)]
pub struct CustomBackend {
    name: String,
    config: CustomBackendConfig,
    settings: BackendSettings,
    patterns: Arc<CustomPatterns>,
}

impl CustomBackend {
    /// Checks the configuration (program, placeholders, regexes) and builds the backend.
    pub fn new(
        name: &str,
        config: CustomBackendConfig,
        settings: BackendSettings,
    ) -> Result<Self, BackendError> {
        let invalid = |message: String| BackendError::InvalidSettings {
            backend: name.to_owned(),
            message,
        };
        if config.command.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(invalid(
                "`command` must start with the program to run".to_owned(),
            ));
        }
        for arg in &config.command {
            expand(arg, &|_| Some(String::new())).map_err(invalid)?;
        }
        let patterns = CustomPatterns {
            result_marker: compile(
                name,
                "result_marker_regex",
                config.result_marker_regex.as_deref(),
                false,
            )?,
            cost: compile(name, "cost_regex", config.cost_regex.as_deref(), true)?,
            session: compile(name, "session_regex", config.session_regex.as_deref(), true)?,
            error: compile(name, "error_regex", config.error_regex.as_deref(), false)?,
        };
        Ok(Self {
            name: name.to_owned(),
            config,
            settings,
            patterns: Arc::new(patterns),
        })
    }

    fn uses(&self, placeholder: &str) -> bool {
        let token = format!("{{{placeholder}}}");
        self.config.command.iter().any(|a| a.contains(&token))
    }

    fn value(req: &SessionRequest, prompt_file: &str, name: &str) -> Option<String> {
        match name {
            "prompt_file" => Some(prompt_file.to_owned()),
            "model" => req.model.clone(),
            "session" => req.resume_session.clone(),
            "max_turns" => req.max_turns.map(|n| n.to_string()),
            _ => None,
        }
    }
}

impl Backend for CustomBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn invocation(&self, cx: InvocationContext<'_>) -> Result<Invocation, BackendError> {
        let req = cx.request;
        reject_tool_lists(&self.name, req)?;
        if req.resume_session.is_some() && !self.uses("session") {
            return Err(BackendError::Unsupported {
                backend: self.name.clone(),
                message: "cannot resume a session: the command has no {session} placeholder"
                    .to_owned(),
            });
        }
        let mut b = InvocationBuilder::default();
        let prompt = prompt_with_system(req);
        let prompt_file = if self.uses("prompt_file") {
            b.prompt_file(&self.name, cx.scratch_dir, prompt)?
        } else {
            b.stdin_prompt(prompt);
            String::new()
        };
        let invalid = |message: String| BackendError::InvalidSettings {
            backend: self.name.clone(),
            message,
        };
        for arg in self.config.command.iter().skip(1) {
            if let Some(expanded) =
                expand(arg, &|name| Self::value(req, &prompt_file, name)).map_err(invalid)?
            {
                b.args([expanded]);
            }
        }
        b.build(&self.name, &self.config.command[0], &self.settings)
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(CustomParser::new(
            Arc::clone(&self.patterns),
            self.config.format,
        ))
    }

    fn reports_cost(&self) -> bool {
        self.config.cost_regex.is_some() || self.config.format == CustomFormat::Jsonl
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    fn config(command: &[&str]) -> CustomBackendConfig {
        CustomBackendConfig {
            command: command.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn placeholders_expand_and_absent_values_drop_their_argument() {
        let backend = CustomBackend::new(
            "mine",
            config(&[
                "mine",
                "--file",
                "{prompt_file}",
                "--model={model}",
                "{session}",
                "-n{max_turns}",
                "{literal",
            ]),
            BackendSettings::default(),
        )
        .unwrap();
        let req = SessionRequest {
            prompt: "p".into(),
            max_turns: Some(4),
            ..Default::default()
        };
        let tiers = BTreeMap::new();
        let cx = InvocationContext {
            request: &req,
            scratch_dir: Path::new("/s"),
            tiers: &tiers,
        };
        let inv = backend.invocation(cx).unwrap();
        assert_eq!(inv.program, "mine");
        assert_eq!(inv.args, ["--file", "/s/prompt.md", "-n4", "{literal"]);
        assert_eq!(
            inv.files,
            [(Path::new("/s/prompt.md").to_path_buf(), "p".to_owned())]
        );
        assert_eq!(inv.stdin, None);
    }

    #[test]
    fn without_a_prompt_file_the_prompt_goes_to_stdin_and_resume_needs_a_session_placeholder() {
        let backend =
            CustomBackend::new("mine", config(&["mine"]), BackendSettings::default()).unwrap();
        let req = SessionRequest {
            prompt: "p".into(),
            ..Default::default()
        };
        let tiers = BTreeMap::new();
        let cx = InvocationContext {
            request: &req,
            scratch_dir: Path::new("/s"),
            tiers: &tiers,
        };
        assert_eq!(
            backend.invocation(cx).unwrap().stdin.as_deref(),
            Some(b"p".as_slice())
        );
        let req = SessionRequest {
            resume_session: Some("x".into()),
            ..Default::default()
        };
        let cx = InvocationContext {
            request: &req,
            scratch_dir: Path::new("/s"),
            tiers: &tiers,
        };
        assert!(matches!(
            backend.invocation(cx),
            Err(BackendError::Unsupported { .. })
        ));
    }

    #[test]
    fn invalid_configurations_are_refused() {
        let s = BackendSettings::default();
        assert!(CustomBackend::new("m", config(&[]), s.clone()).is_err());
        assert!(CustomBackend::new("m", config(&["m", "{prompt}"]), s.clone()).is_err());
        let mut bad_regex = config(&["m"]);
        bad_regex.result_marker_regex = Some("(".into());
        assert!(CustomBackend::new("m", bad_regex, s.clone()).is_err());
        let mut no_group = config(&["m"]);
        no_group.cost_regex = Some(r"cost \$[0-9.]+".into());
        assert!(CustomBackend::new("m", no_group, s).is_err());
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let err =
            serde_json::from_str::<CustomBackendConfig>(r#"{"command":["x"],"formatt":"text"}"#);
        assert!(err.is_err());
        let ok: CustomBackendConfig =
            serde_json::from_str(r#"{"command":["x"],"format":"jsonl"}"#).unwrap();
        assert_eq!(ok.format, CustomFormat::Jsonl);
    }
}
