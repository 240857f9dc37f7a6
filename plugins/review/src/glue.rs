//! The real host: git through the SDK's `exec`, sessions through its `agent` module, prompt
//! files from the worktree mounted read-only at `/workspace`. Thin on purpose: everything worth
//! testing is in the modules it serves.

use std::time::Duration;

use engine_stage_sdk::WORKSPACE;
use engine_stage_sdk::agent::{AgentError, Event, Session, SessionRequest, Summary};
use engine_stage_sdk::exec::Command;

use crate::host::{GitOutput, LogLevel, ReviewHost, ReviewSession};
use crate::personas::{MAX_PROMPT_FILE_BYTES, PromptFiles};

/// Output kept per git run: the host's maximum (the patch is cut by the stage, not here).
const GIT_OUTPUT_CAP: u64 = 1024 * 1024;
/// Time limit of one git run.
const GIT_TIMEOUT: Duration = Duration::from_mins(2);

/// The host as the component sees it.
#[derive(Debug, Default)]
pub struct SdkHost;

impl PromptFiles for SdkHost {
    fn read(&mut self, relative: &str) -> Result<String, String> {
        let path = format!("{WORKSPACE}/{relative}");
        let metadata = std::fs::metadata(&path).map_err(|e| e.to_string())?;
        if !metadata.is_file() {
            return Err("not a regular file".to_string());
        }
        if metadata.len() > MAX_PROMPT_FILE_BYTES as u64 {
            return Err(format!(
                "{} bytes; the limit is {MAX_PROMPT_FILE_BYTES}",
                metadata.len()
            ));
        }
        std::fs::read_to_string(&path).map_err(|e| e.to_string())
    }
}

impl ReviewHost for SdkHost {
    type Session = SdkSession;

    fn git(&mut self, args: &[String]) -> Result<GitOutput, String> {
        let out = Command::new("git")
            .args(args.iter().map(String::as_str))
            .cwd(WORKSPACE)
            .timeout(GIT_TIMEOUT)
            .output_cap(GIT_OUTPUT_CAP)
            .run()
            .map_err(|e| e.text())?;
        Ok(GitOutput {
            code: if out.timed_out { None } else { out.exit_code },
            stdout: out.stdout,
            stdout_bytes: out.stdout_bytes,
            stderr: out.stderr,
        })
    }

    fn start(&mut self, request: &SessionRequest) -> Result<SdkSession, AgentError> {
        request.start().map(SdkSession)
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        match level {
            LogLevel::Info => engine_stage_sdk::log::info(message),
            LogLevel::Warn => engine_stage_sdk::log::warn(message),
        }
    }

    fn progress(&mut self, message: &str) {
        engine_stage_sdk::progress(message, None);
    }
}

/// A session started through the SDK.
#[derive(Debug)]
pub struct SdkSession(Session);

impl ReviewSession for SdkSession {
    fn next_event(&mut self) -> Option<Event> {
        self.0.next_event()
    }

    fn finish(self) -> Summary {
        self.0.finish()
    }
}
