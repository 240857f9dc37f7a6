//! Output parsers for common test runners: they turn a failing run's output into a short
//! summary (failed tests, the first lines of each reason, counts) for the agent's feedback.

mod cargo;
mod go;
mod jest;
mod pytest;

#[cfg(test)]
mod tests;

use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Failed tests listed in a summary, at most.
const MAX_LISTED: usize = 10;
/// Reason lines kept per failed test.
const MAX_REASON_LINES: usize = 3;
/// Characters kept per reason line.
const MAX_LINE_CHARS: usize = 200;

/// A runner whose output the gate understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parser {
    /// `cargo test`.
    Cargo,
    /// `pytest`.
    Pytest,
    /// `go test`.
    Go,
    /// jest or vitest.
    Jest,
}

/// The `parser:` setting of a command: a runner, or `none` to turn parsing off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParserChoice {
    /// `cargo`.
    Cargo,
    /// `pytest`.
    Pytest,
    /// `go`.
    Go,
    /// `jest` (also vitest).
    Jest,
    /// No parsing.
    None,
}

impl ParserChoice {
    /// The parser this choice names (`None` for `none`).
    pub fn parser(self) -> Option<Parser> {
        match self {
            ParserChoice::Cargo => Some(Parser::Cargo),
            ParserChoice::Pytest => Some(Parser::Pytest),
            ParserChoice::Go => Some(Parser::Go),
            ParserChoice::Jest => Some(Parser::Jest),
            ParserChoice::None => None,
        }
    }
}

/// One failed test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTest {
    /// Its name as the runner prints it (`tests::adds`, `tests/test_x.py::test_y`, `TestX`).
    pub name: String,
    /// The first lines of why it failed.
    pub reason: Vec<String>,
}

/// What a parser found in a run's output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestReport {
    /// Failed tests (or packages / files that failed to build), in order of appearance.
    pub failed: Vec<FailedTest>,
    /// Passed tests, when the runner printed a count.
    pub passed: Option<u64>,
    /// Failed tests, when the runner printed a count.
    pub failed_count: Option<u64>,
}

impl Parser {
    /// Picks a parser from the program and its arguments: `cargo test`, `pytest` /
    /// `python -m pytest`, `go test`, `jest` / `vitest` / `npx jest` / `npm test`.
    pub fn detect(argv: &[String]) -> Option<Parser> {
        let words: Vec<String> = argv.iter().map(|a| basename(a)).collect();
        let program = words.first()?.as_str();
        let has = |w: &str| words.iter().skip(1).any(|a| a == w);
        match program {
            "cargo" if has("test") => Some(Parser::Cargo),
            "pytest" | "py.test" => Some(Parser::Pytest),
            "go" if has("test") => Some(Parser::Go),
            "jest" | "vitest" => Some(Parser::Jest),
            _ if has("pytest") || has("py.test") => Some(Parser::Pytest),
            _ if has("jest") || has("vitest") => Some(Parser::Jest),
            "npm" | "yarn" | "pnpm" | "bun" if has("test") => Some(Parser::Jest),
            _ => None,
        }
    }

    /// Parses a run's stdout and stderr.
    pub fn parse(self, stdout: &str, stderr: &str) -> TestReport {
        let text = format!("{stdout}\n{stderr}");
        let mut report = match self {
            Parser::Cargo => cargo::parse(&text),
            Parser::Pytest => pytest::parse(&text),
            Parser::Go => go::parse(&text),
            Parser::Jest => jest::parse(&text),
        };
        for test in &mut report.failed {
            test.reason = test
                .reason
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .take(MAX_REASON_LINES)
                .map(clip)
                .collect();
        }
        report
    }

    /// The name used in config and output (`cargo`, `pytest`, `go`, `jest`).
    pub fn name(self) -> &'static str {
        match self {
            Parser::Cargo => "cargo",
            Parser::Pytest => "pytest",
            Parser::Go => "go",
            Parser::Jest => "jest",
        }
    }
}

impl TestReport {
    /// True when the parser found nothing.
    pub fn is_empty(&self) -> bool {
        self.failed.is_empty() && self.passed.is_none() && self.failed_count.is_none()
    }

    /// Names of the failed tests.
    pub fn failed_names(&self) -> Vec<String> {
        self.failed.iter().map(|t| t.name.clone()).collect()
    }

    /// `2 failed, 10 passed: a::b, c::d` — one line for a failure message.
    pub fn headline(&self) -> String {
        let failed = self.failed_count.unwrap_or(self.failed.len() as u64);
        let mut line = format!("{failed} failed");
        if let Some(passed) = self.passed {
            let _ = write!(line, ", {passed} passed");
        }
        if !self.failed.is_empty() {
            let names: Vec<&str> = self
                .failed
                .iter()
                .take(MAX_LISTED)
                .map(|t| t.name.as_str())
                .collect();
            line.push_str(": ");
            line.push_str(&names.join(", "));
            if self.failed.len() > MAX_LISTED {
                let _ = write!(line, " (+{} more)", self.failed.len() - MAX_LISTED);
            }
        }
        line
    }

    /// The headline, then each failed test with the first lines of its reason.
    pub fn summary(&self) -> String {
        let mut out = self.headline();
        for test in self.failed.iter().take(MAX_LISTED) {
            let _ = write!(out, "\n- {}", test.name);
            for (i, line) in test.reason.iter().enumerate() {
                let sep = if i == 0 { ": " } else { "\n    " };
                out.push_str(sep);
                out.push_str(line);
            }
        }
        out
    }

    /// `{failed_tests, summary, passed, failed}` for a failure's detail.
    pub fn to_json(&self) -> Value {
        json!({
            "failed_tests": self.failed_names(),
            "summary": self.summary(),
            "passed": self.passed,
            "failed": self.failed_count,
        })
    }
}

fn basename(arg: &str) -> String {
    arg.rsplit('/').next().unwrap_or(arg).to_string()
}

fn clip(line: &str) -> String {
    if line.chars().count() <= MAX_LINE_CHARS {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(MAX_LINE_CHARS).collect();
    cut.push('…');
    cut
}

/// The number just before `word` (or its plural) in `text`: `number_before("3 passed; 1
/// failed", "failed") == Some(1)`.
pub(crate) fn number_before(text: &str, word: &str) -> Option<u64> {
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || ",;|()=".contains(c))
        .filter(|t| !t.is_empty())
        .collect();
    let plural = format!("{word}s");
    tokens.windows(2).find_map(|pair| {
        (pair[1] == word || pair[1] == plural)
            .then(|| pair[0].parse().ok())
            .flatten()
    })
}

/// Adds `n` to an optional count.
pub(crate) fn add(count: &mut Option<u64>, n: Option<u64>) {
    if let Some(n) = n {
        *count = Some(count.unwrap_or(0) + n);
    }
}

/// Adds a failed test unless one of that name is already listed; returns its index.
pub(crate) fn push_failed(failed: &mut Vec<FailedTest>, name: &str) -> usize {
    if let Some(i) = failed.iter().position(|t| t.name == name) {
        return i;
    }
    failed.push(FailedTest {
        name: name.to_string(),
        reason: Vec::new(),
    });
    failed.len() - 1
}
