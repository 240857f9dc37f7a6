//! Gemini CLI in headless mode with `stream-json` output.
//!
//! `gemini -p "" --output-format stream-json --approval-mode MODE [-m M] [--resume ID]`, with the
//! prompt on stdin: in headless mode Gemini CLI reads piped stdin and appends the `-p` text to it
//! (documented: "Appended to input on stdin"), so an empty `-p` keeps the run headless while the
//! whole prompt comes from stdin and never goes through argv. Approval mode: `yolo` (default and
//! bypass: without it, tools that need approval are unavailable headless), `auto_edit` for
//! accept-edits, `default` for plan (only tools that need no approval: effectively read-only).
//! No system-prompt flag (put in front of the prompt), no turn or budget flag (the supervisor
//! enforces both), no tool lists (refused).
//!
//! Parsing (see `GeminiParser`) reads JSON values: the format is small and not on a hot path.

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
use crate::request::PermissionMode;

use super::command::{InvocationBuilder, prompt_with_system, reject_tool_lists};
use super::gemini_stream::GeminiParser;

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
        PermissionMode::Plan => "default",
    }
}

impl Backend for GeminiBackend {
    fn name(&self) -> &str {
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
        b.opt("-m", req.model.as_deref());
        b.opt("--resume", req.resume_session.as_deref());
        b.stdin_prompt(prompt_with_system(req));
        b.build("gemini", "gemini", &self.settings)
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(GeminiParser::new())
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

    #[test]
    fn prompt_on_stdin_with_an_empty_headless_prompt_flag() {
        let req = SessionRequest {
            model: Some("gemini-2.5-pro".into()),
            prompt: "task".into(),
            permission_mode: PermissionMode::Plan,
            resume_session: Some("s1".into()),
            ..Default::default()
        };
        let tiers = BTreeMap::new();
        let cx = InvocationContext {
            request: &req,
            scratch_dir: Path::new("/tmp"),
            tiers: &tiers,
        };
        let inv = GeminiBackend::default().invocation(cx).unwrap();
        assert_eq!(inv.program, "gemini");
        assert_eq!(
            inv.args,
            [
                "-p",
                "",
                "--output-format",
                "stream-json",
                "--approval-mode",
                "default",
                "-m",
                "gemini-2.5-pro",
                "--resume",
                "s1",
            ]
        );
        assert_eq!(inv.stdin.as_deref(), Some(b"task".as_slice()));
    }
}
