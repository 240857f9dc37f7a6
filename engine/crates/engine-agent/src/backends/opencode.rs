//! opencode: `opencode run --format json`.
//!
//! `opencode run --format json --print-logs --log-level ERROR [-m provider/model] [-s SESSION]
//! [--agent plan]`, with the prompt on stdin: `opencode run` appends piped stdin to its message,
//! and with no message argument the message is the prompt alone, so a long prompt never goes
//! through argv. `--print-logs --log-level ERROR` puts one stderr line per failed model call
//! (which opencode retries by itself, silently on stdout), so the parser sees rate limits and
//! exhausted quotas (see [`OpencodeParser`]).
//!
//! Plan mode (read-only): opencode's `plan` agent denies edits but not `bash`, so the session
//! also gets `OPENCODE_PERMISSION` = [`READ_ONLY_PERMISSION`] (edits and bash denied, which
//! removes those tools; `task` only for the read-only `explore` subagent). Checked against
//! opencode 1.18.33: a write, a `bash` redirection and a `general` subagent are all refused.
//!
//! No system-prompt flag (put in front of the prompt), no turn or budget flag (the supervisor
//! enforces both), no tool lists (refused).

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
use crate::request::PermissionMode;

use super::command::{InvocationBuilder, prompt_with_system, reject_tool_lists};

#[path = "opencode_stream.rs"]
mod stream;

pub use stream::OpencodeParser;

/// `OPENCODE_PERMISSION` of a plan (read-only) session: no edits, no shell, no subagent but the
/// read-only `explore`.
pub const READ_ONLY_PERMISSION: &str =
    r#"{"edit":"deny","bash":"deny","task":{"*":"deny","explore":"allow"}}"#;

/// The opencode backend.
#[derive(Debug, Clone, Default)]
pub struct OpencodeBackend {
    settings: BackendSettings,
}

impl OpencodeBackend {
    /// The backend with the workflow's settings.
    pub fn new(settings: BackendSettings) -> Self {
        Self { settings }
    }
}

impl Backend for OpencodeBackend {
    fn name(&self) -> &'static str {
        "opencode"
    }

    fn invocation(&self, cx: InvocationContext<'_>) -> Result<Invocation, BackendError> {
        let req = cx.request;
        reject_tool_lists("opencode", req)?;
        let mut b = InvocationBuilder::default();
        b.args([
            "run",
            "--format",
            "json",
            "--print-logs",
            "--log-level",
            "ERROR",
        ]);
        b.opt("-m", req.model.as_deref());
        b.opt("-s", req.resume_session.as_deref());
        if req.permission_mode == PermissionMode::Plan {
            b.args(["--agent", "plan"]);
            b.env
                .push(("OPENCODE_PERMISSION".into(), READ_ONLY_PERMISSION.into()));
        }
        b.stdin_prompt(prompt_with_system(req));
        b.build("opencode", "opencode", &self.settings)
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(OpencodeParser::default())
    }

    fn reports_cost(&self) -> bool {
        true
    }

    fn enforces_read_only(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::request::SessionRequest;

    #[test]
    fn plan_mode_resume_and_model() {
        let req = SessionRequest {
            model: Some("anthropic/claude-sonnet-4-5".into()),
            prompt: "p".into(),
            permission_mode: PermissionMode::Plan,
            resume_session: Some("ses_1".into()),
            ..Default::default()
        };
        let tiers = BTreeMap::new();
        let cx = InvocationContext {
            request: &req,
            scratch_dir: Path::new("/tmp"),
            tiers: &tiers,
        };
        let inv = OpencodeBackend::default().invocation(cx).unwrap();
        assert_eq!(
            inv.args,
            [
                "run",
                "--format",
                "json",
                "--print-logs",
                "--log-level",
                "ERROR",
                "-m",
                "anthropic/claude-sonnet-4-5",
                "-s",
                "ses_1",
                "--agent",
                "plan"
            ]
        );
        assert_eq!(inv.stdin.as_deref(), Some(b"p".as_slice()));
        assert_eq!(
            inv.env,
            [("OPENCODE_PERMISSION".into(), READ_ONLY_PERMISSION.into())]
        );
        assert!(OpencodeBackend::default().enforces_read_only());
    }

    #[test]
    fn a_default_session_has_no_permission_override() {
        let req = SessionRequest {
            prompt: "p".into(),
            ..Default::default()
        };
        let tiers = BTreeMap::new();
        let cx = InvocationContext {
            request: &req,
            scratch_dir: Path::new("/tmp"),
            tiers: &tiers,
        };
        let inv = OpencodeBackend::default().invocation(cx).unwrap();
        assert!(inv.env.is_empty());
        assert!(!inv.args.iter().any(|a| a == "--agent"));
    }

    #[test]
    fn the_read_only_permission_denies_edits_shell_and_writing_subagents() {
        let v: serde_json::Value = serde_json::from_str(READ_ONLY_PERMISSION).unwrap();
        assert_eq!(v["edit"], "deny");
        assert_eq!(v["bash"], "deny");
        assert_eq!(v["task"]["*"], "deny");
        assert_eq!(v["task"]["explore"], "allow");
    }
}
