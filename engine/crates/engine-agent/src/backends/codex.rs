//! OpenAI Codex CLI: `codex exec --json`.
//!
//! `codex exec --json [-m M] [-s read-only|workspace-write|danger-full-access]
//! --skip-git-repo-check [extra args] [resume SESSION_ID] -`, with the prompt on stdin: `-` as
//! the prompt makes `codex exec` (and `codex exec resume`) read the prompt from stdin, so a long
//! prompt never goes through argv. The workflow's `extra_args` go before `resume`/`-`, where
//! `exec`'s own options are parsed. The sandbox follows the permission mode (default: the CLI's
//! own, `read-only` for plan, `workspace-write` for accept-edits, `danger-full-access` for
//! bypass). Codex has no system-prompt flag (the addition is put in front of the prompt), no
//! turn or budget flag (the supervisor enforces both) and no tool lists (refused).

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
use crate::request::PermissionMode;

use super::codex_stream::CodexParser;
use super::command::{InvocationBuilder, prompt_with_system, reject_tool_lists};

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
    fn name(&self) -> &str {
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

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(CodexParser::new())
    }

    fn reports_cost(&self) -> bool {
        false
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
