//! Parsing a custom CLI's output with the regexes of its configuration.
//!
//! For each text line (text format: every stdout line; jsonl: the text of `assistant_text`
//! events), in this order: `error_regex` -> `Result{is_error`}; `session_regex` (first match
//! only) -> `SessionStarted`; `cost_regex` -> Usage with that cumulative cost; `result_marker_regex`
//! -> Result (success); otherwise -> `AssistantText`. In jsonl format other normalized events pass
//! through unchanged (only the first Result). stderr -> `StderrLine`, and `error_regex` applies to
//! it too. finish(exit) -> a Result from the exit code when none came (killed: nothing).

use std::sync::Arc;

use regex::{Captures, Regex};

use crate::backend::StreamParser;
use crate::event::{AgentEvent, Usage};

use super::custom::{CustomFormat, CustomPatterns};

/// Parser state for one custom-CLI session.
pub struct CustomParser {
    patterns: Arc<CustomPatterns>,
    format: CustomFormat,
    text: Vec<String>,
    totals: Usage,
    session_id: Option<String>,
    result_seen: bool,
}

fn first_group(captures: &Captures<'_>) -> Option<String> {
    captures.get(1).map(|m| m.as_str().to_owned())
}

fn captures<'t>(re: Option<&Regex>, line: &'t str) -> Option<Captures<'t>> {
    re.and_then(|re| re.captures(line))
}

impl CustomParser {
    pub(crate) fn new(patterns: Arc<CustomPatterns>, format: CustomFormat) -> Self {
        Self {
            patterns,
            format,
            text: Vec::new(),
            totals: Usage::default(),
            session_id: None,
            result_seen: false,
        }
    }

    fn result(&mut self, is_error: bool, text: String, out: &mut Vec<AgentEvent>) {
        if std::mem::replace(&mut self.result_seen, true) {
            return;
        }
        out.push(AgentEvent::Result {
            is_error,
            subtype: if is_error { "error" } else { "success" }.to_owned(),
            text,
            session_id: self.session_id.clone(),
            turns: None,
            usage: Some(self.totals),
        });
    }

    fn error_line(&mut self, line: &str, out: &mut Vec<AgentEvent>) -> bool {
        let patterns = Arc::clone(&self.patterns);
        let Some(c) = captures(patterns.error.as_ref(), line) else {
            return false;
        };
        self.result(
            true,
            first_group(&c).unwrap_or_else(|| line.to_owned()),
            out,
        );
        true
    }

    fn text_line(&mut self, line: &str, out: &mut Vec<AgentEvent>) {
        if self.error_line(line, out) {
            return;
        }
        let patterns = Arc::clone(&self.patterns);
        if self.session_id.is_none()
            && let Some(id) = captures(patterns.session.as_ref(), line)
                .as_ref()
                .and_then(first_group)
        {
            self.session_id = Some(id.clone());
            out.push(AgentEvent::SessionStarted {
                session_id: id,
                model: None,
            });
            return;
        }
        if let Some(c) = captures(patterns.cost.as_ref(), line) {
            if let Some(cost) = c
                .get(1)
                .and_then(|m| m.as_str().parse::<f64>().ok())
                .filter(|c| c.is_finite())
            {
                self.totals.cost_usd = Some(cost);
                out.push(AgentEvent::Usage { usage: self.totals });
            }
            return;
        }
        if let Some(c) = captures(patterns.result_marker.as_ref(), line) {
            let text = first_group(&c).unwrap_or_else(|| self.text.join("\n"));
            self.result(false, text, out);
            return;
        }
        self.text.push(line.to_owned());
        out.push(AgentEvent::AssistantText {
            text: line.to_owned(),
        });
    }

    fn json_line(&mut self, raw: &str, out: &mut Vec<AgentEvent>) {
        match serde_json::from_str::<AgentEvent>(raw) {
            Ok(AgentEvent::AssistantText { text }) => self.text_line(&text, out),
            Ok(AgentEvent::Result { .. }) if self.result_seen => {}
            Ok(event) => {
                match &event {
                    AgentEvent::Result { .. } => self.result_seen = true,
                    AgentEvent::Usage { usage } => self.totals = *usage,
                    AgentEvent::SessionStarted { session_id, .. } => {
                        self.session_id = Some(session_id.clone());
                    }
                    _ => {}
                }
                out.push(event);
            }
            Err(_) => out.push(AgentEvent::Unknown {
                raw: raw.to_owned(),
            }),
        }
    }
}

impl StreamParser for CustomParser {
    fn stdout_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        match self.format {
            CustomFormat::Text => self.text_line(line, &mut out),
            CustomFormat::Jsonl => self.json_line(line, &mut out),
        }
        out
    }

    fn stderr_line(&mut self, line: &str) -> Vec<AgentEvent> {
        let line = line.trim_end_matches('\r');
        let mut out = vec![AgentEvent::StderrLine {
            line: line.to_owned(),
        }];
        self.error_line(line, &mut out);
        out
    }

    fn finish(&mut self, exit_code: Option<i32>) -> Vec<AgentEvent> {
        let mut out = Vec::new();
        if let Some(code) = exit_code {
            let text = if code == 0 {
                self.text.join("\n")
            } else {
                format!("exited with code {code}")
            };
            self.result(code != 0, text, &mut out);
        }
        out
    }
}
