//! `OpenAI` Codex CLI: `codex exec --json`.
//!
//! `codex exec --json [-m M] [-s read-only|workspace-write|danger-full-access]
//! --skip-git-repo-check [extra args] [resume SESSION_ID] -`, with the prompt on stdin: `-` as
//! the prompt makes `codex exec` (and `codex exec resume`) read the prompt from stdin, so a long
//! prompt never goes through argv. The workflow's `extra_args` go before `resume`/`-`, where
//! `exec`'s own options are parsed. The sandbox follows the permission mode (default: the CLI's
//! own, `read-only` for plan, `workspace-write` for accept-edits, `danger-full-access` for
//! bypass). `read-only` is Codex's own sandbox (Landlock/seccomp on Linux): a plan session's
//! patches are rejected and its shell commands see a read-only file system, so the backend
//! enforces read-only itself. Codex has no system-prompt flag (the addition is put in front of
//! the prompt), no turn or budget flag (the supervisor enforces both) and no tool lists
//! (refused).
//!
//! Codex reports a resumed session's usage as the whole thread's: [`CodexBackend::session_parser`]
//! gives a parser that reads the thread's rollout file (under the CLI's `CODEX_HOME`) for what
//! the thread had used before, and for usage as it happens.

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
use crate::request::{PermissionMode, SessionRequest};

use super::codex_stream::CodexParser;
use super::command::{InvocationBuilder, prompt_with_system, reject_tool_lists};

#[path = "codex_rollout.rs"]
pub(crate) mod rollout;

/// The Codex backend.
#[derive(Debug, Clone, Default)]
pub struct CodexBackend {
    settings: BackendSettings,
}

impl CodexBackend {
    /// The backend with the workflow's settings.
    pub fn new(settings: BackendSettings) -> Self {
        Self { settings }
    }
}

fn sandbox_arg(mode: PermissionMode) -> Option<&'static str> {
    match mode {
        PermissionMode::Default => None,
        PermissionMode::Plan => Some("read-only"),
        PermissionMode::AcceptEdits => Some("workspace-write"),
        PermissionMode::Bypass => Some("danger-full-access"),
    }
}

impl Backend for CodexBackend {
    fn name(&self) -> &'static str {
        "codex"
    }

    fn invocation(&self, cx: InvocationContext<'_>) -> Result<Invocation, BackendError> {
        let req = cx.request;
        reject_tool_lists("codex", req)?;
        let mut b = InvocationBuilder::default();
        b.args(["exec", "--json"]);
        b.opt("-m", req.model.as_deref());
        b.opt("-s", sandbox_arg(req.permission_mode));
        b.args(["--skip-git-repo-check"]);
        if let Some(session) = &req.resume_session {
            b.trailing.extend(["resume".to_owned(), session.clone()]);
        }
        b.trailing.push("-".to_owned());
        b.stdin_prompt(prompt_with_system(req));
        b.build("codex", "codex", &self.settings)
    }

    /// The parser for one session of `request`, run with the environment `env` (what the CLI
    /// gets: its `CODEX_HOME`, else `HOME`, locates Codex's rollout files). It follows the
    /// thread's rollout: a resumed thread's earlier usage is subtracted from what Codex
    /// reports, and usage is known before the turn ends. Call it before the session starts.
    /// Without a home it is [`Backend::parser`]'s parser.
    fn session_parser(
        &self,
        request: &SessionRequest,
        env: &[(String, String)],
    ) -> Box<dyn StreamParser> {
        match rollout::codex_home(env) {
            Some(home) => Box::new(CodexParser::following_rollout(
                &home,
                request.resume_session.as_deref(),
            )),
            None => self.parser(),
        }
    }
    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(CodexParser::new())
    }

    fn reports_cost(&self) -> bool {
        false
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

    fn invoke(req: &SessionRequest, settings: BackendSettings) -> Result<Invocation, BackendError> {
        let tiers = BTreeMap::new();
        let cx = InvocationContext {
            request: req,
            scratch_dir: Path::new("/tmp/s"),
            tiers: &tiers,
        };
        CodexBackend::new(settings).invocation(cx)
    }

    #[test]
    fn resume_with_model_sandbox_and_extra_args() {
        let req = SessionRequest {
            model: Some("gpt-5-codex".into()),
            prompt: "go".into(),
            system_prompt: Some("rules".into()),
            permission_mode: PermissionMode::AcceptEdits,
            resume_session: Some("0199-thread".into()),
            max_turns: Some(5),
            ..Default::default()
        };
        let settings = BackendSettings {
            command: None,
            extra_args: vec!["-c".into(), "x=1".into()],
        };
        let inv = invoke(&req, settings).unwrap();
        assert_eq!(inv.program, "codex");
        assert_eq!(
            inv.args,
            [
                "exec",
                "--json",
                "-m",
                "gpt-5-codex",
                "-s",
                "workspace-write",
                "--skip-git-repo-check",
                "-c",
                "x=1",
                "resume",
                "0199-thread",
                "-",
            ]
        );
        assert_eq!(inv.stdin.as_deref(), Some(b"rules\n\ngo".as_slice()));
    }

    #[test]
    fn default_mode_leaves_the_sandbox_to_the_cli() {
        let inv = invoke(&SessionRequest::default(), BackendSettings::default()).unwrap();
        assert_eq!(inv.args, ["exec", "--json", "--skip-git-repo-check", "-"]);
    }

    #[test]
    fn tool_lists_are_refused() {
        let req = SessionRequest {
            denied_tools: vec!["shell".into()],
            ..Default::default()
        };
        assert!(matches!(
            invoke(&req, BackendSettings::default()),
            Err(BackendError::Unsupported { .. })
        ));
    }
}
