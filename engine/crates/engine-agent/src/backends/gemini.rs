//! Gemini CLI in headless mode with `stream-json` output.
//!
//! `gemini -p "" --output-format stream-json --approval-mode MODE [--policy FILE] [-m M]
//! [--resume ID]`, with the prompt on stdin: in headless mode Gemini CLI reads piped stdin and
//! appends the `-p` text to it (documented: "Appended to input on stdin"), so an empty `-p`
//! keeps the run headless while the whole prompt comes from stdin and never goes through argv.
//!
//! Trust: Gemini CLI (0.61.0) refuses to run headless in a folder it does not trust (exit 55,
//! `FatalUntrustedWorkspaceError`) and, in an untrusted folder, turns every approval mode back
//! to `default`. Each session runs in a fresh worktree, so the backend trusts it for the session
//! with `GEMINI_CLI_TRUST_WORKSPACE=true` (what `--skip-trust` sets; the variable also works
//! with versions that do not know the flag, where an unknown flag would be an error).
//!
//! Approval mode: `yolo` (default and bypass: without it, tools that need approval are refused
//! headless), `auto_edit` for accept-edits, `plan` for plan. Plan Mode is Gemini's own read-only
//! mode: `write_file`/`replace` only for `.md` plans under ~/.gemini/tmp, no shell, no
//! subagents. Headless, though, the model may call `exit_plan_mode`, which is approved at once
//! and leaves Plan Mode; so a plan session also gets a policy file (`--policy`, user tier) that
//! denies `exit_plan_mode`, which keeps the session read-only (verified against 0.61.0 by the
//! conformance suite).
//!
//! No system-prompt flag (put in front of the prompt), no turn or budget flag (the supervisor
//! enforces both), no tool lists (refused). A resumed session (`--resume ID`, headless) keeps
//! its id and its stats count only the new calls.
//!
//! Parsing (see `GeminiParser`) reads JSON values: the format is small and not on a hot path.

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
use crate::request::PermissionMode;

use super::command::{InvocationBuilder, prompt_with_system, reject_tool_lists};
use super::gemini_stream::GeminiParser;

/// The environment variable that makes Gemini CLI trust the current folder for the session.
pub const TRUST_WORKSPACE_ENV: &str = "GEMINI_CLI_TRUST_WORKSPACE";

/// The policy file written in the scratch directory of a read-only (plan) session.
pub const READ_ONLY_POLICY_FILE: &str = "gemini-read-only-policy.toml";

/// The policy of a read-only session: Plan Mode must not be left. (A deny removes the tool.)
const READ_ONLY_POLICY: &str = r#"# Written by engine for a read-only (plan) session: Plan Mode must not be left.
[[rule]]
toolName = "exit_plan_mode"
decision = "deny"
priority = 999
denyMessage = "This session is read-only: it stays in Plan Mode."
"#;

/// The Gemini CLI backend.
#[derive(Debug, Clone, Default)]
pub struct GeminiBackend {
    settings: BackendSettings,
}

impl GeminiBackend {
    /// The backend with the workflow's settings.
    pub fn new(settings: BackendSettings) -> Self {
        Self { settings }
    }
}

fn approval_mode(mode: PermissionMode) -> &'static str {
    match mode {
        PermissionMode::Default | PermissionMode::Bypass => "yolo",
        PermissionMode::AcceptEdits => "auto_edit",
        PermissionMode::Plan => "plan",
    }
}

impl Backend for GeminiBackend {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn invocation(&self, cx: InvocationContext<'_>) -> Result<Invocation, BackendError> {
        let req = cx.request;
        reject_tool_lists("gemini", req)?;
        let mut b = InvocationBuilder::default();
        b.args([
            "-p",
            "",
            "--output-format",
            "stream-json",
            "--approval-mode",
        ]);
        b.args([approval_mode(req.permission_mode)]);
        if req.permission_mode == PermissionMode::Plan {
            let path = cx.scratch_dir.join(READ_ONLY_POLICY_FILE);
            let arg = path
                .to_str()
                .ok_or_else(|| BackendError::Unsupported {
                    backend: "gemini".to_owned(),
                    message: format!(
                        "scratch directory {} is not valid UTF-8",
                        cx.scratch_dir.display()
                    ),
                })?
                .to_owned();
            b.files.push((path, READ_ONLY_POLICY.to_owned()));
            b.args(["--policy".to_owned(), arg]);
        }
        b.opt("-m", req.model.as_deref());
        b.opt("--resume", req.resume_session.as_deref());
        b.env
            .push((TRUST_WORKSPACE_ENV.to_owned(), "true".to_owned()));
        b.stdin_prompt(prompt_with_system(req));
        b.build("gemini", "gemini", &self.settings)
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(GeminiParser::new())
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

    fn invocation(req: &SessionRequest) -> Invocation {
        let tiers = BTreeMap::new();
        let cx = InvocationContext {
            request: req,
            scratch_dir: Path::new("/tmp/s"),
            tiers: &tiers,
        };
        GeminiBackend::default().invocation(cx).unwrap()
    }

    #[test]
    fn prompt_on_stdin_with_an_empty_headless_prompt_flag() {
        let req = SessionRequest {
            model: Some("gemini-2.5-pro".into()),
            prompt: "task".into(),
            permission_mode: PermissionMode::Default,
            resume_session: Some("s1".into()),
            ..Default::default()
        };
        let inv = invocation(&req);
        assert_eq!(inv.program, "gemini");
        assert_eq!(
            inv.args,
            [
                "-p",
                "",
                "--output-format",
                "stream-json",
                "--approval-mode",
                "yolo",
                "-m",
                "gemini-2.5-pro",
                "--resume",
                "s1",
            ]
        );
        assert_eq!(inv.stdin.as_deref(), Some(b"task".as_slice()));
        assert!(inv.files.is_empty());
    }

    /// Exit 55 in every fresh worktree, and yolo turned back to default, without it.
    #[test]
    fn every_session_trusts_its_worktree() {
        for mode in [
            PermissionMode::Default,
            PermissionMode::Bypass,
            PermissionMode::AcceptEdits,
            PermissionMode::Plan,
        ] {
            let req = SessionRequest {
                prompt: "task".into(),
                permission_mode: mode,
                ..Default::default()
            };
            let inv = invocation(&req);
            assert!(
                inv.env
                    .contains(&(TRUST_WORKSPACE_ENV.to_owned(), "true".to_owned())),
                "{mode:?}: {:?}",
                inv.env
            );
        }
    }

    /// Plan is Gemini's Plan Mode, kept from being left by a policy that denies `exit_plan_mode`.
    #[test]
    fn plan_is_plan_mode_that_cannot_be_left() {
        let req = SessionRequest {
            prompt: "review".into(),
            permission_mode: PermissionMode::Plan,
            ..Default::default()
        };
        let inv = invocation(&req);
        let policy = "/tmp/s/gemini-read-only-policy.toml";
        assert_eq!(
            inv.args,
            [
                "-p",
                "",
                "--output-format",
                "stream-json",
                "--approval-mode",
                "plan",
                "--policy",
                policy,
            ]
        );
        let (path, text) = &inv.files[0];
        assert_eq!(path, Path::new(policy));
        assert!(text.contains("toolName = \"exit_plan_mode\""), "{text}");
        assert!(text.contains("decision = \"deny\""), "{text}");
        assert!(GeminiBackend::default().enforces_read_only());
    }
}
