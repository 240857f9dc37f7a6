//! Claude Code in print mode with `stream-json` output.
//!
//! `claude -p --output-format stream-json --verbose --include-partial-messages [--model M]
//! [--max-turns N] [--max-budget-usd X] --permission-mode MODE [--allowedTools a,b]
//! [--disallowedTools c] [--append-system-prompt TEXT] [--resume=ID]`, with the prompt on stdin: print mode without a
//! prompt argument reads the prompt from stdin, so a long prompt never goes through argv.
//! `--include-partial-messages` adds the raw stream's events: its `message_delta` carries each
//! call's output tokens as they grow (the `assistant` lines only ever say `output_tokens: 1`),
//! so a session killed before its result still has a true count; the parser skips the
//! per-token delta lines without parsing them.
//! Model tiers are exported as `ANTHROPIC_DEFAULT_{OPUS,SONNET,HAIKU}_MODEL` (from `genius`,
//! `smart`, `primitive`); bypass mode sets `IS_SANDBOX=1`, without which Claude Code refuses
//! `bypassPermissions` as root (the variable has no other effect).

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};
use crate::request::PermissionMode;

use super::claude_stream::ClaudeParser;
use super::command::InvocationBuilder;

/// Environment variables Claude Code reads its model tiers from, by workflow tier name.
const TIER_VARIABLES: &[(&str, &str)] = &[
    ("genius", "ANTHROPIC_DEFAULT_OPUS_MODEL"),
    ("smart", "ANTHROPIC_DEFAULT_SONNET_MODEL"),
    ("primitive", "ANTHROPIC_DEFAULT_HAIKU_MODEL"),
];

/// The Claude Code backend.
#[derive(Debug, Clone, Default)]
pub struct ClaudeBackend {
    settings: BackendSettings,
}

impl ClaudeBackend {
    /// The backend with the workflow's settings.
    pub fn new(settings: BackendSettings) -> Self {
        Self { settings }
    }
}

fn permission_mode_arg(mode: PermissionMode) -> &'static str {
    match mode {
        PermissionMode::Default => "default",
        PermissionMode::AcceptEdits => "acceptEdits",
        PermissionMode::Plan => "plan",
        PermissionMode::Bypass => "bypassPermissions",
    }
}

impl Backend for ClaudeBackend {
    fn name(&self) -> &'static str {
        "claude"
    }

    fn invocation(&self, cx: InvocationContext<'_>) -> Result<Invocation, BackendError> {
        let req = cx.request;
        let mut b = InvocationBuilder::default();
        b.args([
            "-p",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
        ]);
        b.opt("--model", req.model.as_deref());
        b.opt("--max-turns", req.max_turns);
        if let Some(budget) = req.budget_usd {
            if !budget.is_finite() || budget < 0.0 {
                return Err(BackendError::Unsupported {
                    backend: "claude".into(),
                    message: format!("budget {budget} USD is not a non-negative number"),
                });
            }
            b.opt("--max-budget-usd", Some(budget));
        }
        b.opt(
            "--permission-mode",
            Some(permission_mode_arg(req.permission_mode)),
        );
        if !req.allowed_tools.is_empty() {
            b.opt("--allowedTools", Some(req.allowed_tools.join(",")));
        }
        if !req.denied_tools.is_empty() {
            b.opt("--disallowedTools", Some(req.denied_tools.join(",")));
        }
        b.opt(
            "--append-system-prompt",
            req.system_prompt.as_deref().filter(|s| !s.is_empty()),
        );
        if let Some(session) = &req.resume_session {
            b.args([format!("--resume={session}")]);
        }
        for (tier, variable) in TIER_VARIABLES {
            if let Some(model) = cx.tiers.get(*tier) {
                b.env.push(((*variable).to_owned(), model.clone()));
            }
        }
        if req.permission_mode == PermissionMode::Bypass {
            b.env.push(("IS_SANDBOX".to_owned(), "1".to_owned()));
        }
        b.stdin_prompt(req.prompt.clone());
        b.build("claude", "claude", &self.settings)
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(ClaudeParser::new())
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

    fn invoke(req: &SessionRequest, tiers: &BTreeMap<String, String>) -> Invocation {
        let cx = InvocationContext {
            request: req,
            scratch_dir: Path::new("/tmp/s"),
            tiers,
        };
        ClaudeBackend::default().invocation(cx).unwrap()
    }

    #[test]
    fn full_request_maps_to_flags_env_and_stdin() {
        let req = SessionRequest {
            backend: "claude".into(),
            model: Some("claude-opus-4-1".into()),
            prompt: "fix the bug".into(),
            system_prompt: Some("be careful".into()),
            permission_mode: PermissionMode::Bypass,
            allowed_tools: vec!["Read".into(), "Bash(git log *)".into()],
            denied_tools: vec!["WebFetch".into()],
            max_turns: Some(30),
            resume_session: Some("abc-123".into()),
            budget_usd: Some(2.5),
        };
        let tiers = BTreeMap::from([
            ("genius".to_owned(), "claude-opus-4-1".to_owned()),
            ("primitive".to_owned(), "claude-haiku-4-5".to_owned()),
        ]);
        let inv = invoke(&req, &tiers);
        assert_eq!(inv.program, "claude");
        assert_eq!(
            inv.args,
            [
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--include-partial-messages",
                "--model",
                "claude-opus-4-1",
                "--max-turns",
                "30",
                "--max-budget-usd",
                "2.5",
                "--permission-mode",
                "bypassPermissions",
                "--allowedTools",
                "Read,Bash(git log *)",
                "--disallowedTools",
                "WebFetch",
                "--append-system-prompt",
                "be careful",
                "--resume=abc-123",
            ]
        );
        assert_eq!(inv.stdin.as_deref(), Some(b"fix the bug".as_slice()));
        assert_eq!(
            inv.env,
            [
                (
                    "ANTHROPIC_DEFAULT_OPUS_MODEL".to_owned(),
                    "claude-opus-4-1".to_owned()
                ),
                (
                    "ANTHROPIC_DEFAULT_HAIKU_MODEL".to_owned(),
                    "claude-haiku-4-5".to_owned()
                ),
                ("IS_SANDBOX".to_owned(), "1".to_owned()),
            ]
        );
        assert!(inv.files.is_empty());
    }

    #[test]
    fn minimal_request_has_no_optional_flags_and_no_sandbox_variable() {
        let req = SessionRequest {
            prompt: "hi".into(),
            ..Default::default()
        };
        let inv = invoke(&req, &BTreeMap::new());
        assert_eq!(
            inv.args,
            [
                "-p",
                "--output-format",
                "stream-json",
                "--verbose",
                "--include-partial-messages",
                "--permission-mode",
                "default"
            ]
        );
        assert!(inv.env.is_empty());
    }

    #[test]
    fn negative_budget_is_refused() {
        let req = SessionRequest {
            budget_usd: Some(-1.0),
            ..Default::default()
        };
        let cx = InvocationContext {
            request: &req,
            scratch_dir: Path::new("/tmp"),
            tiers: &BTreeMap::new(),
        };
        assert!(ClaudeBackend::default().invocation(cx).is_err());
    }
}
