//! Host-side tests: a scripted host (git answers, sessions, prompt files) and the stage's
//! descriptor. Each module's own tests live next to this file (`*_tests.rs`).

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use engine_stage_sdk::WorkspaceAccess;
use engine_stage_sdk::agent::{AgentError, Event, Outcome, SessionRequest, Summary, Usage};

use crate::host::{GitOutput, LogLevel, ReviewHost, ReviewSession};
use crate::personas::PromptFiles;

/// A session's script: its events and summary, or a start error.
pub(crate) type SessionScript = Result<(Vec<Event>, Summary), AgentError>;

/// A summary of a completed session with `text` as its result.
pub(crate) fn completed(text: &str, session_id: &str) -> Summary {
    Summary {
        outcome: Outcome::Completed,
        result_text: text.to_string(),
        session_id: Some(session_id.to_string()),
        turns: 1,
        usage: Usage {
            cost_usd: Some(0.01),
            ..Usage::default()
        },
        duration_ms: 5,
        exit_code: Some(0),
        detail: String::new(),
        resets_at_ms: None,
        files_changed: Vec::new(),
    }
}

/// A completed session answering `text`.
#[expect(
    clippy::unnecessary_wraps,
    reason = "a SessionScript is a Result (a script may also fail to start its session); this \
              builds the ones that start"
)]
pub(crate) fn answers(text: &str, session_id: &str) -> SessionScript {
    Ok((
        vec![
            Event::SessionStarted(session_id.to_string()),
            Event::AssistantText(text.to_string()),
        ],
        completed(text, session_id),
    ))
}

/// A session that ended with `outcome`.
#[expect(
    clippy::unnecessary_wraps,
    reason = "a SessionScript is a Result (a script may also fail to start its session); this \
              builds the ones that start"
)]
pub(crate) fn ended(outcome: Outcome, detail: &str) -> SessionScript {
    let mut summary = completed("", "s-x");
    summary.outcome = outcome;
    summary.detail = detail.to_string();
    Ok((Vec::new(), summary))
}

/// `{"verdict": ..., "findings": [...]}` as text.
pub(crate) fn verdict_json(verdict: &str, findings: &[(&str, u64, &str, &str)]) -> String {
    let findings: Vec<serde_json::Value> = findings
        .iter()
        .map(|(file, line, severity, message)| {
            serde_json::json!({"file": file, "line": line, "severity": severity, "message": message})
        })
        .collect();
    serde_json::json!({"verdict": verdict, "summary": format!("{verdict} summary"), "findings": findings})
        .to_string()
}

/// Answers git by its subcommand flags, scripts sessions by persona name (the name found in
/// the prompt, in the order they are started), and records everything.
#[derive(Default)]
pub(crate) struct FakeHost {
    /// stdout of `--stat`, `--name-only` and the patch.
    pub(crate) stat: String,
    pub(crate) names: String,
    pub(crate) patch: String,
    /// Exit code of every git run.
    pub(crate) git_code: i32,
    /// Scripts per persona, played in order.
    pub(crate) sessions: BTreeMap<String, VecDeque<SessionScript>>,
    /// Prompt files by relative path.
    pub(crate) files: BTreeMap<String, String>,
    /// Every git argument list run.
    pub(crate) git_runs: Vec<Vec<String>>,
    /// Every session requested, in order.
    pub(crate) requests: Vec<SessionRequest>,
    /// Events of the run: `start NAME`, `finish NAME`.
    pub(crate) trace: Rc<RefCell<Vec<String>>>,
    pub(crate) logs: Vec<(LogLevel, String)>,
}

impl FakeHost {
    /// A host whose change touches `src/a.rs`.
    pub(crate) fn with_change() -> FakeHost {
        FakeHost {
            stat: " src/a.rs | 2 +-\n 1 file changed".into(),
            names: "src/a.rs\n".into(),
            patch: "diff --git a/src/a.rs b/src/a.rs\n--- a/src/a.rs\n+++ b/src/a.rs\n@@ -1 +1 @@\n-old\n+new\n".into(),
            ..FakeHost::default()
        }
    }

    /// The trace so far.
    pub(crate) fn trace(&self) -> Vec<String> {
        self.trace.borrow().clone()
    }

    /// Scripts `persona`'s next session.
    pub(crate) fn script(mut self, persona: &str, session: SessionScript) -> FakeHost {
        self.sessions
            .entry(persona.to_string())
            .or_default()
            .push_back(session);
        self
    }

    fn persona_of(prompt: &str) -> String {
        let start = prompt
            .find("You are the `")
            .map(|i| i + "You are the `".len());
        start
            .and_then(|s| prompt[s..].find('`').map(|e| prompt[s..s + e].to_string()))
            .unwrap_or_default()
    }
}

impl PromptFiles for FakeHost {
    fn read(&mut self, relative: &str) -> Result<String, String> {
        self.files
            .get(relative)
            .cloned()
            .ok_or_else(|| "No such file or directory".to_string())
    }
}

/// A scripted session.
pub(crate) struct FakeSession {
    name: String,
    events: VecDeque<Event>,
    summary: Summary,
    trace: Rc<RefCell<Vec<String>>>,
}

impl ReviewHost for FakeHost {
    type Session = FakeSession;

    fn git(&mut self, args: &[String]) -> Result<GitOutput, String> {
        self.git_runs.push(args.to_vec());
        let stdout = if args.iter().any(|a| a.starts_with("--stat")) {
            self.stat.clone()
        } else if args.iter().any(|a| a == "--name-only") {
            self.names.clone()
        } else {
            self.patch.clone()
        };
        Ok(GitOutput {
            code: Some(self.git_code),
            stdout_bytes: stdout.len() as u64,
            stdout,
            stderr: if self.git_code == 0 {
                String::new()
            } else {
                "fatal: bad revision".into()
            },
        })
    }

    fn start(&mut self, request: &SessionRequest) -> Result<FakeSession, AgentError> {
        self.requests.push(request.clone());
        let name = FakeHost::persona_of(&request.prompt);
        self.trace.borrow_mut().push(format!("start {name}"));
        let script = self
            .sessions
            .get_mut(&name)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| panic!("no session scripted for persona {name:?}"));
        let (events, summary) = script?;
        Ok(FakeSession {
            name,
            events: events.into(),
            summary,
            trace: Rc::clone(&self.trace),
        })
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        self.logs.push((level, message.to_string()));
    }

    fn progress(&mut self, _message: &str) {}
}

impl ReviewSession for FakeSession {
    fn next_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn finish(self) -> Summary {
        self.trace
            .borrow_mut()
            .push(format!("finish {}", self.name));
        self.summary
    }
}

#[test]
fn describe_asks_for_read_access_agent_and_git() {
    let d = crate::ReviewStage::descriptor();
    assert_eq!(d.name, "review");
    assert_eq!(d.permissions.workspace, WorkspaceAccess::Read);
    assert!(d.permissions.agent);
    assert_eq!(d.permissions.exec, ["git"]);
    assert!(d.permissions.net.is_empty());
    assert_eq!(d.config_schema_json()["additionalProperties"], false);
}
