//! What every backend provides: an argv builder and a stream parser.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::event::AgentEvent;
use crate::request::SessionRequest;

/// How to start the CLI for one session.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Invocation {
    /// The program (a bare name looked up on PATH, or a path).
    pub program: String,
    /// Its arguments. No single argument carries a long prompt (E2BIG): long prompts go through
    /// `files` or `stdin`.
    pub args: Vec<String>,
    /// Environment variables the backend needs on top of the supervisor's scrubbed environment
    /// (e.g. model-tier variables).
    pub env: Vec<(String, String)>,
    /// Bytes written to the CLI's stdin, which is then closed. None: stdin is /dev/null.
    pub stdin: Option<Vec<u8>>,
    /// Files to write before starting (e.g. the prompt), with their contents.
    pub files: Vec<(PathBuf, String)>,
}

/// Turns a CLI's output, line by line, into normalized events. Stateful (e.g. to dedupe usage
/// repeated across events of one message).
pub trait StreamParser: Send {
    /// One line of stdout (without the newline).
    fn stdout_line(&mut self, line: &str) -> Vec<AgentEvent>;
    /// One line of stderr (without the newline).
    fn stderr_line(&mut self, line: &str) -> Vec<AgentEvent>;
    /// The process ended (exit code when it exited normally); events only known at the end.
    fn finish(&mut self, exit_code: Option<i32>) -> Vec<AgentEvent>;
}

/// Everything a backend needs to build an invocation.
#[derive(Debug, Clone, Copy)]
pub struct InvocationContext<'a> {
    /// The session request (model already resolved).
    pub request: &'a SessionRequest,
    /// A private directory for this session (prompt files...).
    pub scratch_dir: &'a Path,
    /// The workflow's model tiers (`genius`/`smart`/`primitive` -> model id), for CLIs that take
    /// them from the environment.
    pub tiers: &'a BTreeMap<String, String>,
}

/// A coding-agent CLI.
pub trait Backend: Send + Sync {
    /// The backend's name (`claude`, ...).
    fn name(&self) -> &str;
    /// How to start the CLI for this session.
    fn invocation(&self, cx: InvocationContext<'_>) -> Result<Invocation, BackendError>;
    /// A fresh parser for one session's output.
    fn parser(&self) -> Box<dyn StreamParser>;
    /// A fresh parser for one session of `request` whose CLI runs with the environment `env`
    /// (call it before the session starts). Backends whose CLI keeps state the parser needs
    /// (Codex's rollout files: a resumed thread's earlier usage) override it; the default is
    /// [`Backend::parser`].
    fn session_parser(
        &self,
        request: &SessionRequest,
        env: &[(String, String)],
    ) -> Box<dyn StreamParser> {
        let _ = (request, env);
        self.parser()
    }
    /// Whether the CLI reports its cost in USD (else it is computed from tokens and prices).
    fn reports_cost(&self) -> bool;
    /// Whether the CLI itself keeps a [`crate::PermissionMode::Plan`] session read-only (Claude's
    /// plan mode, Codex's read-only sandbox...). When false, the host runs such a session in a
    /// throw-away copy of the worktree and discards what it changed.
    fn enforces_read_only(&self) -> bool {
        false
    }
}

/// Per-backend settings from the workflow (`agents:`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSettings {
    /// Replaces the program (and may add leading arguments), e.g. `["/opt/claude/bin/claude"]`
    /// or a scripted agent for tests and demos.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Extra arguments appended to every invocation.
    #[serde(default)]
    pub extra_args: Vec<String>,
}

/// Why an invocation could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// No such backend.
    #[error("unknown agent backend {name:?} (known: {known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// The request cannot be expressed for this CLI.
    #[error("{backend}: {message}")]
    Unsupported {
        /// The backend.
        backend: String,
        /// Why.
        message: String,
    },
    /// The backend's settings are invalid.
    #[error("{backend}: invalid settings: {message}")]
    InvalidSettings {
        /// The backend.
        backend: String,
        /// Why.
        message: String,
    },
}
