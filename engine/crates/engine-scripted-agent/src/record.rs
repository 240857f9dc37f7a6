//! The invocation log entry: how the agent was invoked, what prompt it received, which
//! environment it saw. Tests read `<state>/invocations.jsonl` to check argv building, prompts
//! and environment scrubbing.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::args::Dialect;
use crate::cli_request::CliRequest;

/// One invocation, as logged.
#[derive(Debug, Clone)]
pub struct InvocationRecord<'a> {
    /// The CLI impersonated.
    pub dialect: Dialect,
    /// The script played.
    pub script: &'a Path,
    /// The CLI's arguments as received.
    pub cli_args: &'a [String],
    /// Their interpretation.
    pub request: &'a CliRequest,
    /// The effective prompt.
    pub prompt: &'a str,
    /// What was read from stdin (None when it was not read).
    pub stdin: Option<&'a str>,
    /// The environment.
    pub env: &'a [(String, String)],
    /// The working directory.
    pub cwd: &'a Path,
    /// The session played: its number and id (None when refused).
    pub session: Option<(u64, String)>,
    /// The 1-based position in the script of the session played.
    pub script_session: Option<usize>,
    /// The `match` pattern that chose the session, when one did.
    pub matched: Option<String>,
    /// Why the invocation was refused, as the real CLI would.
    pub refused: Option<&'a str>,
    /// Why no session could be played (a scripting problem, not a CLI refusal).
    pub error: Option<String>,
}

/// Whether an environment variable's value is logged (names are always logged): model
/// settings, `IS_SANDBOX` and `ENGINE_*`. Never secrets.
pub fn value_is_logged(name: &str) -> bool {
    let model_tier = name.starts_with("ANTHROPIC_DEFAULT_") && name.ends_with("_MODEL");
    model_tier
        || name.starts_with("ENGINE_")
        || matches!(
            name,
            "IS_SANDBOX" | "ANTHROPIC_MODEL" | "CLAUDE_CODE_SUBAGENT_MODEL"
        )
}

impl InvocationRecord<'_> {
    /// The JSON log line: `session` (number or null), `session_id`, `script_session`,
    /// `matched`, `as`, `argv`, `flags`, `positionals`, `unknown_flags`, `prompt`,
    /// `prompt_arg`, `stdin`, `model`, `resume`, `env_names` (sorted), `env` (logged values),
    /// `cwd`, `script`, `refused`, `error`, `pid`.
    pub fn to_json(&self) -> Value {
        let mut env_names: Vec<&str> = self.env.iter().map(|(name, _)| name.as_str()).collect();
        env_names.sort_unstable();
        env_names.dedup();
        let env: Map<String, Value> = self
            .env
            .iter()
            .filter(|(name, _)| value_is_logged(name))
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        let parsed = &self.request.parsed;
        json!({
            "session": self.session.as_ref().map(|(number, _)| number),
            "session_id": self.session.as_ref().map(|(_, id)| id),
            "script_session": self.script_session,
            "matched": self.matched,
            "as": self.dialect.name(),
            "argv": self.cli_args,
            "flags": parsed.flags,
            "positionals": parsed.positionals,
            "unknown_flags": parsed.unknown,
            "prompt": self.prompt,
            "prompt_arg": self.request.prompt_arg,
            "stdin": self.stdin,
            "model": self.request.model,
            "resume": self.request.resume,
            "env_names": env_names,
            "env": env,
            "cwd": self.cwd,
            "script": self.script,
            "refused": self.refused,
            "error": self.error,
            "pid": std::process::id(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_every_name_but_only_harmless_values() {
        let request = CliRequest::interpret(Dialect::Claude, &["-p".to_string(), "hi".to_string()]);
        let env = vec![
            ("ANTHROPIC_API_KEY".to_string(), "secret".to_string()),
            (
                "ANTHROPIC_DEFAULT_OPUS_MODEL".to_string(),
                "opus-x".to_string(),
            ),
            ("ENGINE_RUN_ID".to_string(), "r1".to_string()),
            ("IS_SANDBOX".to_string(), "1".to_string()),
        ];
        let record = InvocationRecord {
            dialect: Dialect::Claude,
            script: Path::new("s.yaml"),
            cli_args: &["-p".to_string(), "hi".to_string()],
            request: &request,
            prompt: "hi",
            stdin: None,
            env: &env,
            cwd: Path::new("/w"),
            session: Some((3, "sid".to_string())),
            script_session: Some(2),
            matched: Some("rev".to_string()),
            refused: None,
            error: None,
        };
        let json = record.to_json();
        assert_eq!(json["session"], 3);
        assert_eq!(json["session_id"], "sid");
        assert_eq!(json["script_session"], 2);
        assert_eq!(json["matched"], "rev");
        assert_eq!(json["env_names"][0], "ANTHROPIC_API_KEY");
        assert_eq!(json["env"].get("ANTHROPIC_API_KEY"), None);
        assert_eq!(json["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"], "opus-x");
        assert_eq!(json["env"]["ENGINE_RUN_ID"], "r1");
        assert_eq!(json["env"]["IS_SANDBOX"], "1");
        assert!(!json.to_string().contains("secret"));
        assert_eq!(json["flags"]["--print"], true);
        assert_eq!(json["prompt"], "hi");
    }
}
