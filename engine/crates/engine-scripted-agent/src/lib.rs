//! A scripted stand-in for coding-agent CLIs, for tests and demos: invoked exactly like
//! `claude` or `codex` would be, it records how it was invoked and plays a YAML script in the
//! real CLI's stream format (file edits, commands, cost, and misbehaviour on demand).
//!
//! ```text
//! scripted-agent --script FILE [--as claude|codex] [--state DIR] CLI-ARGS...
//! ```
//!
//! - `--script FILE`: the script (see below). Required.
//! - `--as claude|codex`: the CLI impersonated (default `claude`).
//! - `--state DIR`: where state persists across invocations (default: `.scripted-agent/` in the
//!   script's directory): `count` (sessions played so far) and `invocations.jsonl`.
//! - Everything else (or everything after `--`) is the CLI's own command line, parsed like the
//!   real CLI parses it, recorded, and honoured where it matters: Claude's `-p`,
//!   `--output-format`, `--verbose`, `--model`, `--max-turns`, `--max-budget-usd`,
//!   `--permission-mode`, `--resume`; Codex's `exec`, `--json`, `-m`, `-C`, `-o`, `resume ID`,
//!   `--skip-git-repo-check`. Unknown flags are recorded and otherwise ignored (they never take
//!   the next argument as a value).
//!
//! The prompt: Claude takes the first positional argument, and also reads stdin unless it is a
//! terminal (both given: stdin text, a newline, then the argument). Codex takes the positional
//! after `exec` (and `resume ID`), or stdin when it is absent or `-`.
//!
//! Like the real CLIs, it refuses (exit 1, a message on stderr, the invocation still logged
//! with `refused`): Claude without `-p`, `stream-json` without `--verbose`, bypassing
//! permissions as root unless `IS_SANDBOX=1`, or no prompt; Codex without `exec`, outside a
//! git repository without `--skip-git-repo-check`, or no prompt.
//!
//! # Script
//! A YAML list of sessions, each a list of steps. Invocation K (counted in `<state>/count`,
//! from 1) plays session K, or the last session once K passes the end. Refused invocations do
//! not count. A session may instead be a mapping `{match: REGEX, steps: [...]}`: it is played
//! by the first invocation whose prompt the regex matches, whatever the order (for callers
//! that start several sessions at once); see [`selection`]. Steps: `say`, `think`, `tool`, `write`, `append`, `delete`, `run`, `cost`,
//! `tokens`, `sleep`, `noise`, `stderr`, `api_retry`, `result`, `hang`, `hang_after_result`,
//! `double_result`, `crash`, `usage_limit`, `auth_error`, `context_overflow`, `repeat`; see
//! [`step::Step`] and `README.md` in this crate.
//!
//! Script errors (unreadable file, bad YAML, unknown step) print the script's path and line on
//! stderr and exit 2.

#![warn(missing_docs)]

pub mod args;
pub mod claude;
pub mod cli_args;
pub mod cli_request;
pub mod codex;
pub mod effects;
pub mod emulation;
pub mod error;
pub mod output;
pub mod player;
pub mod record;
pub mod script;
pub mod selection;
pub mod state;
pub mod step;
pub mod stream;

#[cfg(test)]
mod run_tests;

use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::Instant;

pub use error::ScriptedAgentError;
pub use output::Output;
pub use script::{Choice, Script, Step};

use args::{Dialect, parse_options};
use cli_request::CliRequest;
use emulation::refusal;
use player::Player;
use record::InvocationRecord;
use state::StateDir;
use stream::{Format, SessionInfo};

/// Runs the scripted agent as a process would: `args` are the arguments after the program
/// (or subcommand) name. Returns the exit code. Never returns when the script hangs.
pub fn main(args: &[OsString]) -> i32 {
    let stdin = std::io::stdin();
    let context = Context {
        env: std::env::vars_os()
            .map(|(name, value)| {
                (
                    name.to_string_lossy().into_owned(),
                    value.to_string_lossy().into_owned(),
                )
            })
            .collect(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        stdin_is_terminal: stdin.is_terminal(),
        stdin: Box::new(stdin),
        output: Output::process(),
    };
    run(args, context)
}

/// What the agent runs in.
pub struct Context {
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Standard input.
    pub stdin: Box<dyn Read>,
    /// Whether stdin is a terminal (then it is never read).
    pub stdin_is_terminal: bool,
    /// Where output goes.
    pub output: Output,
}

/// Runs the scripted agent in `context`; returns the exit code.
pub fn run(args: &[OsString], mut context: Context) -> i32 {
    match play(args, &mut context) {
        Ok(code) => code,
        Err(err) => {
            // Nothing more can be done when stderr itself is gone.
            let _ = context
                .output
                .stderr_line(&format!("scripted-agent: {err}"));
            err.exit_code()
        }
    }
}

fn play(args: &[OsString], context: &mut Context) -> Result<i32, ScriptedAgentError> {
    let options = parse_options(args)?;
    let script = Script::load(&options.script)?;
    let request = CliRequest::interpret(options.dialect, &options.cli_args);
    let cwd = match &request.cd {
        Some(dir) => context.cwd.join(dir),
        None => context.cwd.clone(),
    };
    let stdin = if request.prompt_from_stdin && !context.stdin_is_terminal {
        let mut bytes = Vec::new();
        context.stdin.read_to_end(&mut bytes)?;
        Some(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        None
    };
    let prompt = effective_prompt(request.prompt_arg.as_deref(), stdin.as_deref());
    let refused = refusal(options.dialect, &request, &context.env, &cwd, &prompt);
    let state = StateDir::resolve(options.state.as_deref(), &options.script);
    let mut record = InvocationRecord {
        dialect: options.dialect,
        script: &options.script,
        cli_args: &options.cli_args,
        request: &request,
        prompt: &prompt,
        stdin: stdin.as_deref(),
        env: &context.env,
        cwd: &cwd,
        session: None,
        script_session: None,
        matched: None,
        refused: refused.as_deref(),
        error: None,
    };
    let played = {
        let mut lock = state.lock()?;
        let choice = match refused {
            Some(_) => None,
            None => script.choose(&prompt, &lock.used_matched(), lock.ordered_played()),
        };
        let played = match choice {
            Some(choice) => {
                match choice {
                    Choice::Matched(index) => lock.mark_matched(index)?,
                    Choice::Ordered(_) => lock.count_ordered()?,
                }
                Some((lock.next_session()?, choice))
            }
            None => None,
        };
        let no_session =
            (refused.is_none() && played.is_none()).then(|| no_session_message(&prompt));
        record.session = played.map(|(number, _)| (number, session_id(&request, number)));
        record.script_session = played.map(|(_, choice)| choice.index() + 1);
        record.matched = played.and_then(|(_, choice)| match choice {
            Choice::Matched(index) => script
                .sessions
                .get(index)
                .and_then(|s| s.matcher.as_ref())
                .map(|m| m.pattern().to_string()),
            Choice::Ordered(_) => None,
        });
        record.error.clone_from(&no_session);
        lock.record(&record.to_json())?;
        if let Some(message) = no_session {
            return Err(ScriptedAgentError::NoSession(message));
        }
        played
    };
    let (Some((invocation, choice)), None) = (played, &refused) else {
        let message = refused.unwrap_or_default();
        context.output.stderr_line(&message)?;
        return Ok(1);
    };
    let info = session_info(options.dialect, &request, &context.env, cwd, invocation);
    let steps = script
        .sessions
        .get(choice.index())
        .map_or(&[][..], |s| s.steps.as_slice());
    let code = match options.dialect {
        Dialect::Claude => {
            let mut stream = claude::ClaudeStream::new(info.clone(), invocation);
            Player::new(&info, &mut context.output, &mut stream).play(steps)?
        }
        Dialect::Codex => {
            let mut stream = codex::CodexStream::new(info.clone());
            Player::new(&info, &mut context.output, &mut stream).play(steps)?
        }
    };
    Ok(code)
}

/// Why no session of the script fits the prompt (it starts the message).
fn no_session_message(prompt: &str) -> String {
    let start: String = prompt.chars().take(120).collect();
    format!(
        "no session of the script fits this invocation: no `match` finds the prompt and the \
         script has no session without `match` (prompt starts: {start:?})"
    )
}

fn effective_prompt(argument: Option<&str>, stdin: Option<&str>) -> String {
    match (argument, stdin.filter(|text| !text.is_empty())) {
        (Some(argument), Some(stdin)) => format!("{stdin}\n{argument}"),
        (Some(argument), None) => argument.to_string(),
        (None, Some(stdin)) => stdin.to_string(),
        (None, None) => String::new(),
    }
}

/// The session id invocation `number` reports: the resumed id, else a UUID-shaped id derived
/// from the number (`5c41a9e0-0000-4000-8000-00000000000K` in hex).
pub fn session_id(request: &CliRequest, number: u64) -> String {
    match &request.resume {
        Some(id) => id.clone(),
        None => format!("5c41a9e0-0000-4000-8000-{number:012x}"),
    }
}

fn session_info(
    dialect: Dialect,
    request: &CliRequest,
    env: &[(String, String)],
    cwd: PathBuf,
    invocation: u64,
) -> SessionInfo {
    let format = match request.output_format.as_str() {
        "stream-json" => Format::Stream,
        "json" => Format::Json,
        _ => Format::Text,
    };
    let (model, permission_mode, tools) = match dialect {
        Dialect::Claude => (
            emulation::claude_model(request.model.as_deref(), env),
            request
                .permission_mode
                .clone()
                .unwrap_or_else(|| "default".to_string()),
            emulation::claude_tools(request),
        ),
        Dialect::Codex => (
            request
                .model
                .clone()
                .unwrap_or_else(|| "gpt-5-codex".to_string()),
            request
                .permission_mode
                .clone()
                .unwrap_or_else(|| "read-only".to_string()),
            Vec::new(),
        ),
    };
    SessionInfo {
        session_id: session_id(request, invocation),
        model,
        cwd,
        permission_mode,
        format,
        max_turns: request.max_turns,
        max_budget_usd: request.max_budget_usd,
        last_message_file: request.last_message_file.clone(),
        tools,
        started: Instant::now(),
    }
}
