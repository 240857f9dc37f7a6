//! Plays one session's steps: control flow, real effects, limits and misbehaviour here; the
//! event shapes in the dialect's [`Stream`] (Claude or Codex).

use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::effects;
use crate::output::Output;
use crate::step::{ResetsAt, ResultStep, Step};
use crate::stream::{Ending, SessionInfo, Stream, Tally, ToolCall, ToolEnd};

enum Flow {
    Next,
    Stop(i32),
}

/// Plays a session.
pub struct Player<'a> {
    info: &'a SessionInfo,
    out: &'a mut Output,
    stream: &'a mut dyn Stream,
    tally: Tally,
    hang_after_result: bool,
    double_result: bool,
    ending: Option<Ending>,
}

impl<'a> Player<'a> {
    /// A player writing `stream`'s events to `out`.
    pub fn new(
        info: &'a SessionInfo,
        out: &'a mut Output,
        stream: &'a mut dyn Stream,
    ) -> Player<'a> {
        Player {
            info,
            out,
            stream,
            tally: Tally::default(),
            hang_after_result: false,
            double_result: false,
            ending: None,
        }
    }

    /// Plays the steps; returns the exit code. Never returns when the script hangs.
    pub fn play(mut self, steps: &[Step]) -> io::Result<i32> {
        self.stream.start(self.out, &mut self.tally)?;
        if let Flow::Stop(code) = self.steps(steps)? {
            return Ok(code);
        }
        if self.ending.is_none() {
            let text = self.tally.last_text.clone().unwrap_or_default();
            self.emit_result(Ending {
                subtype: "success".to_string(),
                is_error: false,
                text,
                exit_code: 0,
            })?;
        }
        Ok(self.ending.map_or(0, |ending| ending.exit_code))
    }

    fn steps(&mut self, steps: &[Step]) -> io::Result<Flow> {
        for step in steps {
            if let Flow::Stop(code) = self.step(step)? {
                return Ok(Flow::Stop(code));
            }
        }
        Ok(Flow::Next)
    }

    fn step(&mut self, step: &Step) -> io::Result<Flow> {
        let (out, tally) = (&mut *self.out, &mut self.tally);
        match step {
            Step::Say(text) => {
                if let Flow::Stop(code) = self.check_turns()? {
                    return Ok(Flow::Stop(code));
                }
                self.stream.say(self.out, &mut self.tally, text)?;
            }
            Step::Think(text) => self.stream.think(out, tally, text)?,
            Step::Tool(tool) => {
                let call = ToolCall::Generic {
                    name: tool.name.clone(),
                    input: tool.input.clone(),
                };
                let end = ToolEnd {
                    output: tool.output.clone(),
                    is_error: tool.error,
                    exit_code: None,
                };
                return self.tool(&call, tool.hang, tool.duration, |_| end);
            }
            Step::Write(file) => {
                let path = effects::resolve(&self.info.cwd, &file.path);
                let created = !path.exists();
                let call = ToolCall::WriteFile {
                    path: path.clone(),
                    content: file.content.clone(),
                    created,
                };
                let success = if created {
                    format!("File created successfully at: {}", path.display())
                } else {
                    format!("The file {} has been updated successfully.", path.display())
                };
                return self.tool(&call, false, None, |_| {
                    file_end(effects::write_file(&path, &file.content), success)
                });
            }
            Step::Append(file) => {
                let path = effects::resolve(&self.info.cwd, &file.path);
                let call = ToolCall::AppendFile {
                    path: path.clone(),
                    content: file.content.clone(),
                };
                let success = format!("The file {} has been updated successfully.", path.display());
                return self.tool(&call, false, None, |_| {
                    file_end(effects::append_file(&path, &file.content), success)
                });
            }
            Step::Delete(file) => {
                let path = effects::resolve(&self.info.cwd, file);
                let call = ToolCall::DeleteFile(path.clone());
                return self.tool(&call, false, None, |_| {
                    file_end(effects::delete_file(&path), String::new())
                });
            }
            Step::Run(command) => {
                let call = ToolCall::Command(command.clone());
                return self.tool(&call, false, None, |cwd| {
                    let outcome = effects::run_command(cwd, command);
                    ToolEnd {
                        output: outcome.output,
                        is_error: outcome.exit_code != 0,
                        exit_code: Some(outcome.exit_code),
                    }
                });
            }
            Step::Cost(usd) => {
                tally.cost_usd = *usd;
                if let Some(budget) = self.info.max_budget_usd
                    && *usd >= budget
                {
                    let ending = Ending::error("error_max_budget_usd", String::new(), 1);
                    self.emit_result(ending)?;
                    return Ok(Flow::Stop(1));
                }
            }
            Step::Tokens(tokens) => tally.tokens = *tokens,
            Step::Sleep(duration) => {
                out.flush()?;
                std::thread::sleep(*duration);
            }
            Step::Noise(text) => out.line(text)?,
            Step::Stderr(text) => out.stderr_line(text)?,
            Step::ApiRetry(retry) => self.stream.api_retry(out, tally, retry)?,
            Step::Result(result) => self.explicit_result(result)?,
            Step::Hang(hang) => {
                if *hang {
                    self.hang()?;
                }
            }
            Step::HangAfterResult(hang) => self.hang_after_result = *hang,
            Step::DoubleResult(double) => self.double_result = *double,
            Step::Crash(crash) => {
                out.flush()?;
                if let Some(text) = &crash.stderr {
                    out.stderr_line(text)?;
                }
                return Ok(Flow::Stop(crash.exit));
            }
            Step::UsageLimit(limit) => {
                let resets_at = resets_at_secs(limit.resets_at);
                let ending = self.stream.usage_limit(out, tally, resets_at, limit.exit)?;
                return self.terminal(ending);
            }
            Step::AuthError(true) => {
                let ending = self.stream.auth_error(out, tally)?;
                return self.terminal(ending);
            }
            Step::ContextOverflow(true) => {
                let ending = self.stream.context_overflow(out, tally)?;
                return self.terminal(ending);
            }
            Step::AuthError(false) | Step::ContextOverflow(false) => {}
            Step::Repeat(repeat) => {
                for _ in 0..repeat.times {
                    if let Flow::Stop(code) = self.steps(&repeat.steps)? {
                        return Ok(Flow::Stop(code));
                    }
                }
            }
        }
        Ok(Flow::Next)
    }

    /// Reports a tool call around its effect.
    fn tool(
        &mut self,
        call: &ToolCall,
        hang: bool,
        duration: Option<Duration>,
        effect: impl FnOnce(&std::path::Path) -> ToolEnd,
    ) -> io::Result<Flow> {
        if let Flow::Stop(code) = self.check_turns()? {
            return Ok(Flow::Stop(code));
        }
        let id = self.stream.tool_started(self.out, &mut self.tally, call)?;
        if hang {
            self.hang()?;
        }
        if let Some(duration) = duration {
            self.out.flush()?;
            std::thread::sleep(duration);
        }
        let end = effect(&self.info.cwd);
        self.stream
            .tool_finished(self.out, &mut self.tally, &id, call, &end)?;
        Ok(Flow::Next)
    }

    fn explicit_result(&mut self, result: &ResultStep) -> io::Result<()> {
        let text = result
            .text
            .clone()
            .or_else(|| self.tally.last_text.clone())
            .unwrap_or_default();
        if !result.is_error
            && !text.is_empty()
            && self.tally.last_text.as_deref() != Some(text.as_str())
        {
            self.stream.say(self.out, &mut self.tally, &text)?;
        }
        let ending = Ending {
            subtype: result
                .subtype
                .clone()
                .unwrap_or_else(|| "success".to_string()),
            is_error: result.is_error,
            text,
            exit_code: result.exit.unwrap_or(i32::from(result.is_error)),
        };
        self.emit_result(ending)
    }

    /// Claude's `--max-turns`: no turn past the limit; the session ends `error_max_turns`.
    fn check_turns(&mut self) -> io::Result<Flow> {
        match self.info.max_turns {
            Some(max) if self.tally.turns >= max => {
                self.emit_result(Ending::error("error_max_turns", String::new(), 1))?;
                Ok(Flow::Stop(1))
            }
            _ => Ok(Flow::Next),
        }
    }

    fn terminal(&mut self, ending: Ending) -> io::Result<Flow> {
        let code = ending.exit_code;
        self.emit_result(ending)?;
        Ok(Flow::Stop(code))
    }

    fn emit_result(&mut self, ending: Ending) -> io::Result<()> {
        self.stream.result(self.out, &mut self.tally, &ending)?;
        if self.double_result {
            self.stream
                .duplicate_result(self.out, &mut self.tally, &ending)?;
        }
        self.ending = Some(ending);
        if self.hang_after_result {
            self.hang()?;
        }
        Ok(())
    }

    fn hang(&mut self) -> io::Result<()> {
        self.out.flush()?;
        loop {
            std::thread::sleep(Duration::from_hours(1));
        }
    }
}

fn file_end(result: Result<(), effects::EffectError>, success: String) -> ToolEnd {
    match result {
        Ok(()) => ToolEnd {
            output: success,
            is_error: false,
            exit_code: None,
        },
        Err(error) => ToolEnd {
            output: error.to_string(),
            is_error: true,
            exit_code: None,
        },
    }
}

/// Seconds since the epoch now.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// When a usage limit resets (default: in an hour).
fn resets_at_secs(resets_at: Option<ResetsAt>) -> u64 {
    match resets_at {
        Some(ResetsAt::Epoch(secs)) => secs,
        Some(ResetsAt::In(delay)) => {
            // Whole seconds, rounded up.
            let secs = delay
                .as_secs()
                .saturating_add(u64::from(delay.subsec_nanos() > 0));
            now_secs().saturating_add(secs)
        }
        None => now_secs().saturating_add(3600),
    }
}
