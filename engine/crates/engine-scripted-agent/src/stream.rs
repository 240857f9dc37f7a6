//! What a dialect (Claude or Codex) implements: the event shapes of a session, and the types
//! the player hands it.

use std::io;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;

use crate::output::Output;
use crate::step::{ApiRetryStep, TokenCounts};

/// How the CLI was asked to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON event a line (Claude `stream-json`, Codex `--json`).
    Stream,
    /// Claude `--output-format json`: only the result object.
    Json,
    /// Plain text (Claude's default; Codex without `--json`).
    Text,
}

/// What a session knows about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    /// The session id reported (the resumed id when resuming).
    pub session_id: String,
    /// Model reported.
    pub model: String,
    /// Working directory (effects happen here).
    pub cwd: PathBuf,
    /// Permission mode (Claude) or sandbox (Codex) reported.
    pub permission_mode: String,
    /// Output format.
    pub format: Format,
    /// Claude `--max-turns`.
    pub max_turns: Option<u32>,
    /// Claude `--max-budget-usd`.
    pub max_budget_usd: Option<f64>,
    /// Codex `-o FILE`.
    pub last_message_file: Option<PathBuf>,
    /// Tools listed in Claude's init event.
    pub tools: Vec<String>,
    /// When the session started.
    pub started: Instant,
}

/// Counters of the session so far.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Assistant turns (one per text or tool call message).
    pub turns: u32,
    /// Cumulative tokens (from `tokens` steps).
    pub tokens: TokenCounts,
    /// Tokens already reported in an assistant message.
    pub reported: TokenCounts,
    /// Cumulative cost in USD (from `cost` steps).
    pub cost_usd: f64,
    /// The last assistant text.
    pub last_text: Option<String>,
    next_id: u64,
}

impl Tally {
    /// Tokens not reported yet (and marks them reported).
    pub fn take_unreported(&mut self) -> TokenCounts {
        let delta = TokenCounts {
            input: self.tokens.input.saturating_sub(self.reported.input),
            output: self.tokens.output.saturating_sub(self.reported.output),
            cached: self.tokens.cached.saturating_sub(self.reported.cached),
        };
        self.reported = self.tokens;
        delta
    }

    /// A fresh number for ids (message, tool call, item).
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

/// A tool call as the dialects report it.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolCall {
    /// A scripted `tool` step.
    Generic {
        /// Tool name.
        name: String,
        /// Its input.
        input: Value,
    },
    /// A shell command (`run`).
    Command(String),
    /// A file created or overwritten (`write`).
    WriteFile {
        /// Absolute path.
        path: PathBuf,
        /// New content.
        content: String,
        /// The file did not exist before.
        created: bool,
    },
    /// Text appended to a file (`append`).
    AppendFile {
        /// Absolute path.
        path: PathBuf,
        /// Appended text.
        content: String,
    },
    /// A file deleted (`delete`).
    DeleteFile(PathBuf),
}

/// How a tool call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolEnd {
    /// What it returned.
    pub output: String,
    /// It failed.
    pub is_error: bool,
    /// A command's exit code.
    pub exit_code: Option<i32>,
}

/// A terminal result.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    /// Claude's result subtype.
    pub subtype: String,
    /// The session ended in error.
    pub is_error: bool,
    /// Final text.
    pub text: String,
    /// The process's exit code.
    pub exit_code: i32,
}

impl Ending {
    /// An error ending.
    pub fn error(subtype: &str, text: String, exit_code: i32) -> Ending {
        Ending {
            subtype: subtype.to_string(),
            is_error: true,
            text,
            exit_code,
        }
    }
}

/// One CLI's event shapes.
pub trait Stream {
    /// The session starts.
    fn start(&mut self, out: &mut Output, tally: &mut Tally) -> io::Result<()>;
    /// Assistant text.
    fn say(&mut self, out: &mut Output, tally: &mut Tally, text: &str) -> io::Result<()>;
    /// Assistant thinking.
    fn think(&mut self, out: &mut Output, tally: &mut Tally, text: &str) -> io::Result<()>;
    /// A tool call starts; returns its id.
    fn tool_started(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        call: &ToolCall,
    ) -> io::Result<String>;
    /// A tool call ends.
    fn tool_finished(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        id: &str,
        call: &ToolCall,
        end: &ToolEnd,
    ) -> io::Result<()>;
    /// An API call is retried.
    fn api_retry(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        retry: &ApiRetryStep,
    ) -> io::Result<()>;
    /// The usage limit is hit: events before the result; returns the result.
    fn usage_limit(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        resets_at_secs: u64,
        exit: Option<i32>,
    ) -> io::Result<Ending>;
    /// Authentication fails: events before the result; returns the result.
    fn auth_error(&mut self, out: &mut Output, tally: &mut Tally) -> io::Result<Ending>;
    /// The context overflows: events before the result; returns the result.
    fn context_overflow(&mut self, out: &mut Output, tally: &mut Tally) -> io::Result<Ending>;
    /// The terminal result.
    fn result(&mut self, out: &mut Output, tally: &mut Tally, ending: &Ending) -> io::Result<()>;
    /// A second, different terminal result (the `double_result` misbehaviour).
    fn duplicate_result(
        &mut self,
        out: &mut Output,
        tally: &mut Tally,
        first: &Ending,
    ) -> io::Result<()>;
}
