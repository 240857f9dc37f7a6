//! aider, driven with a message file and plain-text output (checked against aider 0.86.2).
//!
//! `aider --message-file SCRATCH/prompt.md --yes-always --no-auto-commits --no-dirty-commits
//! --no-stream --no-pretty --no-gitignore --chat-history-file SCRATCH/aider.chat.history.md
//! --input-history-file SCRATCH/aider.input.history --no-check-update --no-show-release-notes
//! --analytics-disable --analytics-log /dev/stderr --no-show-model-warnings [--model M]`:
//! - the prompt (system addition in front) is written to a file, never passed in argv;
//! - aider never commits (the host does) and never adds `.aider*` to `.gitignore`; its chat and
//!   input histories go to the session's scratch directory, not the worktree. (Its repo-map
//!   cache, `.aider.tags.cache.v4/`, has no switch: it is created in the worktree root.)
//! - no update check, release notes, model warnings or analytics upload; `--analytics-log
//!   /dev/stderr` makes aider print each analytics event as a JSON line on stderr, which is
//!   where the exact token counts and cost of each message are (its text rounds them);
//! - environment: `COLUMNS=1000` (aider wraps error messages at the terminal width, which
//!   splits the phrases the parser looks for) and `LITELLM_LOCAL_MODEL_COST_MAP=True` (litellm
//!   uses its bundled price list instead of downloading one).
//!
//! aider has no sessions: a continuation is a fresh session (the stage plugin's handoff
//! prompt), so a resume is refused. No tool lists (refused), no turn or budget flag (the
//! supervisor enforces both), no read-only mode (Plan adds `--dry-run`, which only skips
//! writing edits; the host runs Plan sessions in a throw-away copy). Output parsing: see [`AiderParser`].

use crate::backend::{
    Backend, BackendError, BackendSettings, Invocation, InvocationContext, StreamParser,
};

use crate::request::PermissionMode;

use super::command::{InvocationBuilder, prompt_with_system, reject_resume, reject_tool_lists};

pub use super::aider_output::AiderParser;

/// File names of aider's histories in the session's scratch directory.
const CHAT_HISTORY: &str = "aider.chat.history.md";
const INPUT_HISTORY: &str = "aider.input.history";

/// The aider backend.
#[derive(Debug, Clone, Default)]
pub struct AiderBackend {
    settings: BackendSettings,
}

impl AiderBackend {
    /// The backend with the workflow's settings.
    pub fn new(settings: BackendSettings) -> Self {
        Self { settings }
    }
}

impl Backend for AiderBackend {
    fn name(&self) -> &'static str {
        "aider"
    }

    fn invocation(&self, cx: InvocationContext<'_>) -> Result<Invocation, BackendError> {
        let req = cx.request;
        reject_tool_lists("aider", req)?;
        reject_resume("aider", req)?;
        let mut b = InvocationBuilder::default();
        let file = b.prompt_file("aider", cx.scratch_dir, prompt_with_system(req))?;
        // prompt_file checked that the scratch directory is UTF-8.
        let scratch = |name: &str| cx.scratch_dir.join(name).to_string_lossy().into_owned();
        b.args(["--message-file".to_owned(), file]);
        b.args([
            "--yes-always",
            "--no-auto-commits",
            "--no-dirty-commits",
            "--no-stream",
            "--no-pretty",
            "--no-gitignore",
        ]);
        b.args(["--chat-history-file".to_owned(), scratch(CHAT_HISTORY)]);
        b.args(["--input-history-file".to_owned(), scratch(INPUT_HISTORY)]);
        b.args([
            "--no-check-update",
            "--no-show-release-notes",
            "--analytics-disable",
            "--analytics-log",
            "/dev/stderr",
            "--no-show-model-warnings",
        ]);
        b.opt("--model", req.model.as_deref());
        if req.permission_mode == PermissionMode::Plan {
            // Not a read-only mode (shell commands and other side effects remain): only
            // aider's edits are skipped; the host runs Plan sessions in a throw-away copy.
            b.args(["--dry-run"]);
        }
        b.env.push(("COLUMNS".into(), "1000".into()));
        b.env
            .push(("LITELLM_LOCAL_MODEL_COST_MAP".into(), "True".into()));
        b.build("aider", "aider", &self.settings)
    }

    fn parser(&self) -> Box<dyn StreamParser> {
        Box::new(AiderParser::default())
    }

    fn reports_cost(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::request::SessionRequest;

    fn invocation(req: &SessionRequest) -> Result<Invocation, BackendError> {
        AiderBackend::default().invocation(InvocationContext {
            request: req,
            scratch_dir: Path::new("/scratch/s1"),
            tiers: &BTreeMap::new(),
        })
    }

    fn value_of<'a>(inv: &'a Invocation, flag: &str) -> Option<&'a str> {
        let i = inv.args.iter().position(|a| a == flag)?;
        inv.args.get(i + 1).map(String::as_str)
    }

    #[test]
    fn never_touches_gitignore_and_keeps_histories_out_of_the_worktree() {
        let req = SessionRequest {
            prompt: "do it".into(),
            model: Some("openai/gpt-4.1".into()),
            ..Default::default()
        };
        let inv = invocation(&req).unwrap();
        assert!(inv.args.iter().any(|a| a == "--no-gitignore"), "{inv:?}");
        assert!(inv.args.iter().any(|a| a == "--no-auto-commits"));
        assert!(inv.args.iter().any(|a| a == "--no-dirty-commits"));
        assert_eq!(
            value_of(&inv, "--chat-history-file"),
            Some("/scratch/s1/aider.chat.history.md")
        );
        assert_eq!(
            value_of(&inv, "--input-history-file"),
            Some("/scratch/s1/aider.input.history")
        );
        assert_eq!(value_of(&inv, "--analytics-log"), Some("/dev/stderr"));
        assert_eq!(value_of(&inv, "--model"), Some("openai/gpt-4.1"));
        assert_eq!(
            value_of(&inv, "--message-file"),
            Some("/scratch/s1/prompt.md")
        );
        for quiet in [
            "--no-check-update",
            "--no-show-release-notes",
            "--analytics-disable",
            "--no-show-model-warnings",
        ] {
            assert!(inv.args.iter().any(|a| a == quiet), "{quiet} missing");
        }
        assert!(inv.env.contains(&("COLUMNS".into(), "1000".into())));
        assert!(
            inv.env
                .contains(&("LITELLM_LOCAL_MODEL_COST_MAP".into(), "True".into()))
        );
    }

    #[test]
    fn resume_and_tool_lists_are_refused_plan_is_left_to_the_host() {
        let resume = SessionRequest {
            resume_session: Some("x".into()),
            ..Default::default()
        };
        assert!(invocation(&resume).is_err());
        let tools = SessionRequest {
            allowed_tools: vec!["Read".into()],
            ..Default::default()
        };
        assert!(invocation(&tools).is_err());
        let plan = SessionRequest {
            permission_mode: PermissionMode::Plan,
            ..Default::default()
        };
        assert!(
            invocation(&plan)
                .unwrap()
                .args
                .iter()
                .any(|a| a == "--dry-run")
        );
        assert!(!AiderBackend::default().enforces_read_only());
    }
}
