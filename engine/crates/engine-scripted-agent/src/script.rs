//! The script format: a YAML list of sessions, each a list of steps (or a mapping
//! `{match: REGEX, steps: [...]}` chosen by the prompt, see [`crate::selection`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::ScriptedAgentError;
pub use crate::selection::{Choice, ScriptSession};
pub use crate::step::Step;

/// A whole script: without `match` sessions, invocation K plays `sessions[K-1]` (the last one
/// once K passes the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// Where it was read from.
    pub path: PathBuf,
    /// The sessions, in play order (never empty).
    pub sessions: Vec<ScriptSession>,
}

impl Script {
    /// Reads and validates a script file.
    pub fn load(path: &Path) -> Result<Script, ScriptedAgentError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ScriptedAgentError::ReadScript {
                path: path.to_path_buf(),
                source,
            })?;
        Script::parse(path, &text)
    }

    /// Parses script text; `path` only names the script in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Script, ScriptedAgentError> {
        let sessions: Vec<ScriptSession> =
            serde_yaml::from_str(text).map_err(|err| invalid_yaml(path, &err))?;
        if sessions.is_empty() {
            return Err(ScriptedAgentError::InvalidScript {
                path: path.to_path_buf(),
                line: None,
                column: None,
                message:
                    "the script has no sessions (expected a list of sessions, each a list of steps)"
                        .to_string(),
            });
        }
        Ok(Script {
            path: path.to_path_buf(),
            sessions,
        })
    }

    /// The steps of the `number`-th session (1-based; the last one past the end), ignoring
    /// `match`.
    pub fn session(&self, number: u64) -> &[Step] {
        let index = usize::try_from(number.saturating_sub(1)).unwrap_or(usize::MAX);
        let index = index.min(self.sessions.len().saturating_sub(1));
        self.sessions
            .get(index)
            .map_or(&[][..], |s| s.steps.as_slice())
    }

    /// The session an invocation with `prompt` plays, given the `match` sessions already
    /// played and how many sessions without `match` were played; `None` when none fits.
    pub fn choose(
        &self,
        prompt: &str,
        used: &BTreeSet<usize>,
        ordered_played: u64,
    ) -> Option<Choice> {
        crate::selection::choose(&self.sessions, prompt, used, ordered_played)
    }

    /// Whether any session has a `match`.
    pub fn has_matched_sessions(&self) -> bool {
        self.sessions.iter().any(|s| s.matcher.is_some())
    }
}

/// A YAML error as `path:line:column: message`, with a hint for the most common mistake.
fn invalid_yaml(path: &Path, err: &serde_yaml::Error) -> ScriptedAgentError {
    let location = err.location();
    let mut message = err.to_string();
    if let Some(location) = &location {
        let suffix = format!(" at line {} column {}", location.line(), location.column());
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    if message.contains("expected a sequence") {
        message
            .push_str(" (a script is a list of sessions, each a list of steps: `- - say: hello`)");
    }
    ScriptedAgentError::InvalidScript {
        path: path.to_path_buf(),
        line: location.as_ref().map(serde_yaml::Location::line),
        column: location.as_ref().map(serde_yaml::Location::column),
        message,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::step::{ResetsAt, UsageLimitStep};

    fn parse(text: &str) -> Result<Script, ScriptedAgentError> {
        Script::parse(Path::new("s.yaml"), text)
    }

    #[test]
    fn parses_every_step_kind() {
        let script = parse(
            r#"
- - say: hello
  - think: hmm
  - tool: {name: Read, input: {file_path: a.txt}, output: text, error: true, duration: 10ms}
  - write: {path: a.txt, content: "x\n"}
  - append: {path: a.txt, content: "y\n"}
  - delete: a.txt
  - run: echo hi
  - cost: 0.25
  - tokens: {input: 10, output: 2}
  - sleep: 500ms
  - noise: not json
  - stderr: warning
  - api_retry: {attempt: 2}
  - result: {text: done, is_error: false, subtype: success}
  - hang: true
  - hang_after_result: true
  - double_result: true
  - crash: {exit: 3, stderr: boom}
  - usage_limit: {resets_at: "in 2s"}
  - usage_limit: {resets_at: 1700000000}
  - auth_error: true
  - context_overflow: true
  - repeat: {times: 3, steps: [{run: "false"}]}
"#,
        )
        .unwrap();
        let steps = script.session(1);
        assert_eq!(steps.len(), 23);
        assert_eq!(steps[0], Step::Say("hello".into()));
        assert_eq!(steps[9], Step::Sleep(Duration::from_millis(500)));
        assert_eq!(
            steps[18],
            Step::UsageLimit(UsageLimitStep {
                resets_at: Some(ResetsAt::In(Duration::from_secs(2))),
                exit: None
            })
        );
        assert_eq!(
            steps[19],
            Step::UsageLimit(UsageLimitStep {
                resets_at: Some(ResetsAt::Epoch(1_700_000_000)),
                exit: None
            })
        );
        match &steps[2] {
            Step::Tool(tool) => {
                assert_eq!(tool.input["file_path"], "a.txt");
                assert_eq!(tool.duration, Some(Duration::from_millis(10)));
                assert!(tool.error);
            }
            other => panic!("{other:?}"),
        }
        match &steps[22] {
            Step::Repeat(repeat) => assert_eq!(repeat.steps, vec![Step::Run("false".into())]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sessions_past_the_end_replay_the_last() {
        let script = parse("- - say: one\n- - say: two\n").unwrap();
        assert_eq!(script.session(1), &[Step::Say("one".into())]);
        assert_eq!(script.session(2), &[Step::Say("two".into())]);
        assert_eq!(script.session(9), &[Step::Say("two".into())]);
    }

    #[test]
    fn unknown_steps_are_reported_with_their_line() {
        let err = parse("- - say: hi\n  - dance: true\n").unwrap_err();
        match err {
            ScriptedAgentError::InvalidScript { line, message, .. } => {
                assert_eq!(line, Some(2), "{message}");
                assert!(message.contains("dance"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn matched_sessions_parse_next_to_plain_ones() {
        let script =
            parse("- - say: execute\n- match: \"`quality` reviewer\"\n  steps:\n    - say: ok\n")
                .unwrap();
        assert!(script.sessions[0].matcher.is_none());
        assert_eq!(
            script.sessions[1]
                .matcher
                .as_ref()
                .map(super::super::selection::Matcher::pattern),
            Some("`quality` reviewer")
        );
        assert_eq!(script.session(2), &[Step::Say("ok".into())]);
        assert!(script.has_matched_sessions());
        let choice = script.choose("You are the `quality` reviewer", &BTreeSet::new(), 0);
        assert_eq!(choice, Some(Choice::Matched(1)));
    }

    #[test]
    fn bad_matched_sessions_are_reported_with_their_line() {
        let err = parse("- - say: hi\n- match: \"(\"\n  steps: [say: x]\n").unwrap_err();
        match err {
            ScriptedAgentError::InvalidScript { line, message, .. } => {
                assert_eq!(line, Some(2), "{message}");
                assert!(message.contains("invalid `match` regex"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let no_steps = parse("- match: x\n").unwrap_err();
        assert!(no_steps.to_string().contains("steps"), "{no_steps}");
        let no_match = parse("- steps: [say: x]\n").unwrap_err();
        assert!(no_match.to_string().contains("match"), "{no_match}");
        let typo = parse("- match: x\n  stepz: []\n").unwrap_err();
        assert!(typo.to_string().contains("stepz"), "{typo}");
        let bad_step = parse("- match: x\n  steps:\n    - dance: true\n").unwrap_err();
        assert!(bad_step.to_string().contains("dance"), "{bad_step}");
    }

    #[test]
    fn bad_durations_and_empty_scripts_are_errors() {
        let err = parse("- - sleep: soon\n").unwrap_err();
        assert!(err.to_string().contains("soon"), "{err}");
        assert!(parse("[]").is_err());
        assert!(parse("- - tool: {name: Bash, bogus: 1}\n").is_err());
    }
}
