//! Stall detection: an agent going round in circles, judged from its tool calls.
//!
//! Rules (each off when its limit is 0):
//! - `failing_edits`: N consecutive edit/write calls that failed (other tools in between do not
//!   reset the count; a successful edit does).
//! - `same_command_failure`: the same shell command failing with the same output N times.
//! - `repeated_call`: the same call (tool name and input) N times within the last `window`
//!   calls, with no successful edit in between.
//!
//! Polling is exempt: shell commands starting with an exempt prefix (`sleep`, `gh run watch`,
//! ...) and tools that read a background job's output.

use std::collections::{HashMap, VecDeque};

use engine_stage_sdk::agent::{Event, ToolCall, ToolResult};
use serde_json::Value;

use crate::config::StallConfig;

/// Tools that write files (lowercase), across CLIs.
const EDIT_TOOLS: &[&str] = &[
    "edit",
    "write",
    "multiedit",
    "notebookedit",
    "write_file",
    "replace",
    "apply_patch",
    "patch",
    "file_change",
    "str_replace",
    "str_replace_editor",
    "create_file",
];

/// Tools that run shell commands (lowercase), across CLIs.
const SHELL_TOOLS: &[&str] = &[
    "bash",
    "shell",
    "command_execution",
    "run_shell_command",
    "exec_command",
    "local_shell",
    "terminal",
];

/// Tools that poll a background job (lowercase): always exempt.
const POLLING_TOOLS: &[&str] = &["bashoutput", "taskoutput", "killshell", "sleep", "wait"];

/// Characters of output compared by the same-command rule.
const OUTPUT_KEY_CHARS: usize = 2_000;

/// Which rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallKind {
    /// Consecutive failing edits.
    FailingEdits,
    /// The same command failing the same way.
    SameCommandFailure,
    /// The same call repeated with no file changed.
    RepeatedCall,
}

impl StallKind {
    /// The rule's name (`failing_edits`, `same_command_failure`, `repeated_call`).
    pub fn as_str(self) -> &'static str {
        match self {
            StallKind::FailingEdits => "failing_edits",
            StallKind::SameCommandFailure => "same_command_failure",
            StallKind::RepeatedCall => "repeated_call",
        }
    }
}

/// A detected stall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// The rule.
    pub kind: StallKind,
    /// What the agent kept doing, for the user.
    pub description: String,
}

/// Watches one attempt's tool calls for stalls.
#[derive(Debug, Clone)]
pub struct StallDetector {
    config: StallConfig,
    /// Calls started and not yet finished, by id: (tool name, input).
    open_calls: HashMap<String, (String, Value)>,
    failing_edits: u32,
    /// (command, normalized output) -> failures.
    command_failures: HashMap<(String, String), u32>,
    /// Keys of the most recent calls, newest last.
    recent: VecDeque<String>,
}

impl StallDetector {
    /// A detector with these limits.
    pub fn new(config: StallConfig) -> Self {
        StallDetector {
            config,
            open_calls: HashMap::new(),
            failing_edits: 0,
            command_failures: HashMap::new(),
            recent: VecDeque::new(),
        }
    }

    /// Feeds one event; returns the stall it completes, if any.
    pub fn observe(&mut self, event: &Event) -> Option<Stall> {
        match event {
            Event::ToolStarted(call) => self.started(call),
            Event::ToolFinished(result) => self.finished(result),
            _ => None,
        }
    }

    fn started(&mut self, call: &ToolCall) -> Option<Stall> {
        let input = call.input_json();
        self.open_calls
            .insert(call.id.clone(), (call.name.clone(), input.clone()));
        if self.is_exempt(&call.name, &input) {
            return None;
        }
        let limit = self.config.max_repeated_calls;
        let window = self.config.window as usize;
        if limit == 0 || window == 0 {
            return None;
        }
        let key = format!("{}:{}", call.name, canonical(&input));
        self.recent.push_back(key.clone());
        while self.recent.len() > window {
            self.recent.pop_front();
        }
        let count = self.recent.iter().filter(|k| **k == key).count();
        (count >= limit as usize).then(|| Stall {
            kind: StallKind::RepeatedCall,
            description: format!(
                "the same {} call {count} times within the last {} calls with no file changed: {}",
                call.name,
                self.recent.len(),
                shorten(&display_input(&input), 200)
            ),
        })
    }

    fn finished(&mut self, result: &ToolResult) -> Option<Stall> {
        let (name, input) = match self.open_calls.remove(&result.id) {
            Some(call) => call,
            None => (result.name.clone().unwrap_or_default(), Value::Null),
        };
        let lower = name.to_ascii_lowercase();
        if EDIT_TOOLS.contains(&lower.as_str()) {
            return self.edit_finished(&name, result.ok, &result.output);
        }
        if result.ok || self.is_exempt(&name, &input) {
            return None;
        }
        let command = command_text(&input)?;
        if !SHELL_TOOLS.contains(&lower.as_str()) {
            return None;
        }
        let limit = self.config.max_same_command_failures;
        if limit == 0 {
            return None;
        }
        let key = (command.clone(), normalize_output(&result.output));
        let count = self.command_failures.entry(key).or_insert(0);
        *count += 1;
        (*count >= limit).then(|| Stall {
            kind: StallKind::SameCommandFailure,
            description: format!(
                "`{}` failed {count} times with the same output",
                shorten(&command, 200)
            ),
        })
    }

    fn edit_finished(&mut self, name: &str, ok: bool, output: &str) -> Option<Stall> {
        if ok {
            // A file changed: repeated reads and checks since then are progress.
            self.failing_edits = 0;
            self.recent.clear();
            return None;
        }
        self.failing_edits += 1;
        let limit = self.config.max_failing_edits;
        (limit > 0 && self.failing_edits >= limit).then(|| Stall {
            kind: StallKind::FailingEdits,
            description: format!(
                "{} consecutive failing edit calls (last: {name}: {})",
                self.failing_edits,
                shorten(output.trim(), 200)
            ),
        })
    }

    fn is_exempt(&self, name: &str, input: &Value) -> bool {
        if POLLING_TOOLS.contains(&name.to_ascii_lowercase().as_str()) {
            return true;
        }
        command_text(input).is_some_and(|command| {
            command_segments(&command).any(|segment| {
                self.config
                    .exempt
                    .iter()
                    .any(|p| starts_with_words(segment, p))
            })
        })
    }
}

/// The shell command of a tool input: `input.command` as a string, or an argv array (a
/// leading `bash -lc` / `sh -c` is dropped).
fn command_text(input: &Value) -> Option<String> {
    match input.get("command").or_else(|| input.get("cmd"))? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Array(items) => {
            let words: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            let words = match words.as_slice() {
                [shell, flag, rest @ ..]
                    if ["bash", "sh", "zsh", "/bin/bash", "/bin/sh"].contains(shell)
                        && flag.starts_with('-')
                        && flag.ends_with('c') =>
                {
                    rest
                }
                all => all,
            };
            Some(words.join(" ").trim().to_string())
        }
        _ => None,
    }
}

/// The parts of a command line joined by `&&`, `||`, `;` or `|`, trimmed.
fn command_segments(command: &str) -> impl Iterator<Item = &str> {
    command
        .split(['&', '|', ';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Whether `text` starts with the words of `prefix` (`gh run watch` matches `gh run watch 12`
/// but not `gh run watcher`).
fn starts_with_words(text: &str, prefix: &str) -> bool {
    let mut words = text.split_whitespace();
    prefix.split_whitespace().all(|p| words.next() == Some(p)) && !prefix.trim().is_empty()
}

/// Input JSON with sorted keys (`serde_json`'s map is ordered) and no insignificant whitespace.
fn canonical(input: &Value) -> String {
    input.to_string()
}

fn display_input(input: &Value) -> String {
    command_text(input).unwrap_or_else(|| input.to_string())
}

/// Output compared by the same-command rule: digits folded (timings, pids), whitespace
/// collapsed, the tail kept.
fn normalize_output(output: &str) -> String {
    let mut out = String::with_capacity(output.len().min(OUTPUT_KEY_CHARS * 2));
    let mut last_digit = false;
    for word in output.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            if c.is_ascii_digit() {
                if !last_digit {
                    out.push('#');
                }
                last_digit = true;
            } else {
                out.push(c);
                last_digit = false;
            }
        }
        last_digit = false;
    }
    let count = out.chars().count();
    if count > OUTPUT_KEY_CHARS {
        out.chars().skip(count - OUTPUT_KEY_CHARS).collect()
    } else {
        out
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
#[path = "stall_tests.rs"]
mod tests;
