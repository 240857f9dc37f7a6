//! Everything a stage printed: the attempt logs (`<state>/runs/<run>/logs/<stage>.<attempt>.log`)
//! and how `engine logs`, the terminal progress and `engine show` read them.
//!
//! An attempt log is text, one record a line: `<rfc3339> <LEVEL> <text>`, the level padded to
//! five characters. Levels: the stage's own log lines (`TRACE`, `DEBUG`, `INFO`, `WARN`,
//! `ERROR`), its progress (`PROG`), the programs it started (`EXEC`: `$ command` and how it
//! ended), their output (`OUT`, `ERR`; see [`capture`] for what is kept), output cut for size
//! (`CUT`), and the agent's text and tool calls (`AGENT`, `TOOL`). A message of several lines
//! is one record per line.

pub mod capture;
pub mod follow;
pub mod read;
pub mod tail;

use engine_agent::AgentEvent;

/// Characters of the agent's text shown on one terminal line (the log keeps it whole).
pub const AGENT_LINE_CHARS: usize = 160;

/// Characters of a tool call's input written to the log.
pub const TOOL_INPUT_CHARS: usize = 2_000;

/// Receives the events of an attempt's agent sessions, to log what the agent said and did.
pub trait SessionLog: Send + Sync {
    /// A normalised event of one of the attempt's sessions.
    fn agent_event(&self, event: &AgentEvent);
}

/// The records of `message` at `level` stamped `at`: one per line (an empty message is one
/// empty record).
pub fn records(at: &str, level: &str, message: &str) -> Vec<String> {
    let mut lines: Vec<&str> = message.split('\n').collect();
    if lines.len() > 1 && lines.last() == Some(&"") {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|line| format!("{at} {level:5} {}", line.strip_suffix('\r').unwrap_or(line)))
        .collect()
}

/// One record read back: its level and text. A line that is not a record (a continuation line
/// of a log written before records were one a line) takes `previous` as its level.
pub fn parse_record(line: &str, previous: &str) -> (String, String) {
    let parsed = line.split_once(' ').and_then(|(at, rest)| {
        let stamp = at.len() >= 20 && at.starts_with(|c: char| c.is_ascii_digit());
        let level = rest.split(' ').next()?;
        let known = LEVELS.contains(&level);
        (stamp && known).then(|| {
            let skip = level.len().max(5) + 1;
            (
                level.to_string(),
                rest.get(skip..).unwrap_or_default().to_string(),
            )
        })
    });
    parsed.unwrap_or_else(|| (previous.to_string(), line.to_string()))
}

/// Every level an attempt log holds.
const LEVELS: &[&str] = &[
    "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "PROG", "EXEC", "OUT", "ERR", "CUT", "AGENT", "TOOL",
];

/// The tag `engine logs` shows for a level: `out`, `err`, `agent`, `info`...
pub fn tag(level: &str) -> &'static str {
    match level {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" => "error",
        "PROG" => "prog",
        "EXEC" => "exec",
        "OUT" => "out",
        "ERR" => "err",
        "CUT" => "cut",
        "AGENT" => "agent",
        "TOOL" => "tool",
        _ => "",
    }
}

/// The agent's text on one terminal line: its lines joined, cut at [`AGENT_LINE_CHARS`].
pub fn agent_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<&str>>().join(" ");
    crate::terminal::clip(&joined, AGENT_LINE_CHARS)
}

/// What the log says about `event` (level and text), if anything: the agent's text whole, a
/// tool call with its input (cut at [`TOOL_INPUT_CHARS`]), a failed tool call's first line.
pub fn agent_record(event: &AgentEvent) -> Option<(&'static str, String)> {
    match event {
        AgentEvent::AssistantText { text } if !text.trim().is_empty() => {
            Some(("AGENT", text.trim_end().to_string()))
        }
        AgentEvent::ToolStarted { name, input, .. } => {
            let input = crate::terminal::clip(&input.to_string(), TOOL_INPUT_CHARS);
            Some(("TOOL", format!("{name} {input}")))
        }
        AgentEvent::ToolFinished {
            name,
            ok: false,
            output,
            ..
        } => {
            let first = output.lines().next().unwrap_or_default();
            Some((
                "TOOL",
                format!(
                    "{} failed: {}",
                    name.as_deref().unwrap_or("tool"),
                    crate::terminal::clip(first, TOOL_INPUT_CHARS)
                ),
            ))
        }
        _ => None,
    }
}

/// `12.3 MiB`, `4.0 KiB`, `17 bytes`.
pub fn size_text(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let value = bytes as f64;
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", value / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{:.1} KiB", value / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_one_a_line_and_read_back() {
        let lines = records("2026-01-02T03:04:05Z", "OUT", "one\ntwo\r\n");
        assert_eq!(
            lines,
            [
                "2026-01-02T03:04:05Z OUT   one",
                "2026-01-02T03:04:05Z OUT   two"
            ]
        );
        assert_eq!(
            parse_record(&lines[1], ""),
            ("OUT".to_string(), "two".to_string())
        );
        assert_eq!(
            parse_record("2026-01-02T03:04:05Z AGENT hi there", ""),
            ("AGENT".to_string(), "hi there".to_string())
        );
        // An old continuation line keeps the level before it.
        assert_eq!(
            parse_record("  raw output", "DEBUG"),
            ("DEBUG".to_string(), "  raw output".to_string())
        );
        assert_eq!(records("t", "INFO", ""), ["t INFO  "]);
        assert_eq!(
            parse_record("2026-01-02T03:04:05Z INFO  ", ""),
            ("INFO".to_string(), String::new())
        );
    }

    #[test]
    fn agent_text_is_one_short_line_on_the_terminal() {
        assert_eq!(agent_line("I will\n\n  fix it."), "I will fix it.");
        assert_eq!(
            agent_line(&"x".repeat(500)).chars().count(),
            AGENT_LINE_CHARS
        );
        let tool = AgentEvent::ToolStarted {
            id: "1".into(),
            name: "Edit".into(),
            input: serde_json::json!({"file": "a.rs"}),
        };
        assert_eq!(
            agent_record(&tool),
            Some(("TOOL", "Edit {\"file\":\"a.rs\"}".to_string()))
        );
        let silent = AgentEvent::AssistantText { text: " \n".into() };
        assert_eq!(agent_record(&silent), None);
        assert_eq!(size_text(10 * 1024 * 1024), "10.0 MiB");
    }
}
