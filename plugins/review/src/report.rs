//! What the review reports: the outputs of an approval, and the message and detail of a
//! rejection or an incomplete review. The detail's `text` is a readable list of the findings;
//! it is what the execute stage's agent reads when the run is sent back.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::aggregate::{Outcome, PersonaOutcome, Tally, blocks, decide};
use crate::config::Require;
use crate::verdict::{Decision, Finding, Severity};

/// Characters of findings text kept (the agent's prompt keeps the last 20 000 of the detail).
const MAX_TEXT_CHARS: usize = 16_000;

/// One persona's part of the review.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonaReport {
    /// Its name.
    pub name: String,
    /// Its backend.
    pub backend: String,
    /// Its model or tier.
    pub model: String,
    /// Its verdict, or why there is none.
    pub outcome: PersonaOutcome,
    /// Whether it was asked a second time for its JSON.
    pub reasked: bool,
    /// What its sessions cost in USD, when known.
    pub cost_usd: Option<f64>,
}

/// The whole review.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// Each persona, in config order.
    pub personas: Vec<PersonaReport>,
    /// `require:`.
    pub require: Require,
    /// `block_on:`, when set.
    pub block_on: Option<Vec<Severity>>,
    /// The counts.
    pub tally: Tally,
}

impl Review {
    fn blocking(&self, persona: &PersonaReport) -> bool {
        match &persona.outcome {
            PersonaOutcome::Verdict(v) => blocks(v, self.block_on.as_deref()),
            PersonaOutcome::Missing(_) => false,
        }
    }

    fn names(&self, keep: impl Fn(&PersonaReport) -> bool) -> Vec<&str> {
        self.personas
            .iter()
            .filter(|p| keep(p))
            .map(|p| p.name.as_str())
            .collect()
    }

    fn findings_of(&self, keep: impl Fn(&PersonaReport) -> bool) -> Vec<&Finding> {
        self.personas
            .iter()
            .filter(|p| keep(p))
            .filter_map(|p| match &p.outcome {
                PersonaOutcome::Verdict(v) => Some(v.findings.iter()),
                PersonaOutcome::Missing(_) => None,
            })
            .flatten()
            .collect()
    }

    fn approvals_text(&self) -> String {
        format!(
            "{} of {} personas approved (require: {})",
            self.tally.approvals,
            self.tally.total,
            self.require.as_str()
        )
    }

    fn missing_text(&self) -> String {
        self.personas
            .iter()
            .filter_map(|p| match &p.outcome {
                PersonaOutcome::Missing(why) => Some(format!("{} ({why})", p.name)),
                PersonaOutcome::Verdict(_) => None,
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The one-line message of a rejection.
    pub fn rejection_message(&self) -> String {
        let blockers = self.names(|p| self.blocking(p));
        let findings = self.findings_of(|p| self.blocking(p));
        let mut message = if blockers.is_empty() {
            "the review did not approve the change".to_string()
        } else {
            format!("changes requested by {}", blockers.join(", "))
        };
        if !findings.is_empty() {
            let _ = write!(message, ": {}", count_text(&findings));
        }
        let _ = write!(message, "; {}", self.approvals_text());
        if self.tally.missing > 0 {
            let _ = write!(message, "; no verdict from {}", self.missing_text());
        }
        message
    }

    /// The one-line message of a review that lacks verdicts and cannot be decided.
    pub fn incomplete_message(&self) -> String {
        format!(
            "the review is incomplete, no verdict from {}: a review without every verdict never \
             passes ({} so far)",
            self.missing_text(),
            self.approvals_text()
        )
    }

    /// The one-line summary of an approval.
    pub fn approval_summary(&self) -> String {
        let mut summary = format!(
            "approved by {} ({})",
            self.names(|p| !self.blocking(p)).join(", "),
            self.approvals_text()
        );
        let findings = self.findings_of(|_| true);
        if !findings.is_empty() {
            let _ = write!(
                summary,
                "; non-blocking findings: {}",
                count_text(&findings)
            );
        }
        summary
    }

    /// Each persona as JSON: `persona`, `verdict` (null without one), `blocking`, `summary`,
    /// `findings`, `error` (why there is no verdict), `backend`, `model`, `reasked`,
    /// `cost_usd`.
    pub fn verdicts_json(&self) -> Value {
        Value::Array(
            self.personas
                .iter()
                .map(|p| {
                    let (verdict, summary, findings, error) = match &p.outcome {
                        PersonaOutcome::Verdict(v) => (
                            json!(v.verdict.as_str()),
                            json!(v.summary),
                            json!(v.findings),
                            Value::Null,
                        ),
                        PersonaOutcome::Missing(why) => {
                            (Value::Null, Value::Null, json!([]), json!(why))
                        }
                    };
                    json!({
                        "persona": p.name,
                        "verdict": verdict,
                        "blocking": self.blocking(p),
                        "summary": summary,
                        "findings": findings,
                        "error": error,
                        "backend": p.backend,
                        "model": p.model,
                        "reasked": p.reasked,
                        "cost_usd": p.cost_usd,
                    })
                })
                .collect(),
        )
    }

    /// Every finding (blocking or not) as JSON, with its persona and whether it blocks.
    pub fn findings_json(&self) -> Value {
        let mut out = Vec::new();
        for p in &self.personas {
            let PersonaOutcome::Verdict(v) = &p.outcome else {
                continue;
            };
            let persona_blocks = self.blocking(p);
            for f in sorted(&v.findings) {
                let blocking = persona_blocks
                    && self
                        .block_on
                        .as_ref()
                        .is_none_or(|severities| severities.contains(&f.severity));
                out.push(json!({
                    "persona": p.name,
                    "file": f.file,
                    "line": f.line,
                    "severity": f.severity,
                    "message": f.message,
                    "blocking": blocking,
                }));
            }
        }
        Value::Array(out)
    }

    /// The readable report: blocking personas first with their findings (`file:line
    /// [severity] message`), then personas without a verdict, then the approving ones.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Review result: {}.\n",
            match decide(&self.tally) {
                Outcome::Approved => "approved",
                Outcome::Rejected => "changes requested",
                Outcome::Incomplete => "incomplete",
            }
        );
        let _ = writeln!(out, "{}.", capitalize(&self.approvals_text()));
        let order =
            self.personas
                .iter()
                .filter(|p| self.blocking(p))
                .chain(
                    self.personas
                        .iter()
                        .filter(|p| matches!(p.outcome, PersonaOutcome::Missing(_))),
                )
                .chain(self.personas.iter().filter(|p| {
                    matches!(p.outcome, PersonaOutcome::Verdict(_)) && !self.blocking(p)
                }));
        let mut omitted = 0usize;
        for p in order {
            let mut section = String::from("\n");
            match &p.outcome {
                PersonaOutcome::Missing(why) => {
                    let _ = writeln!(section, "{} gave no verdict: {why}", p.name);
                }
                PersonaOutcome::Verdict(v) => {
                    let head = match (v.verdict, self.blocking(p)) {
                        (Decision::RequestChanges, true) => "requested changes".to_string(),
                        (Decision::RequestChanges, false) => format!(
                            "requested changes (not blocking: no finding is {})",
                            self.block_on_text()
                        ),
                        (Decision::Approve, _) => "approved".to_string(),
                    };
                    let summary = v.summary.trim();
                    if summary.is_empty() {
                        let _ = writeln!(section, "{} {head}.", p.name);
                    } else {
                        let _ = writeln!(section, "{} {head}: {}", p.name, one_line(summary));
                    }
                    for f in sorted(&v.findings) {
                        let line = format!("- {}\n", indent_continuations(&f.line_text()));
                        if out.chars().count() + section.chars().count() + line.chars().count()
                            > MAX_TEXT_CHARS
                        {
                            omitted += 1;
                        } else {
                            section.push_str(&line);
                        }
                    }
                }
            }
            out.push_str(&section);
        }
        if omitted > 0 {
            let _ = write!(
                out,
                "\n... and {omitted} more findings (the review stage's outputs list them all).\n"
            );
        }
        out.trim_end().to_string()
    }

    fn block_on_text(&self) -> String {
        self.block_on
            .as_ref()
            .map(|s| {
                s.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            })
            .unwrap_or_default()
    }

    /// The detail of a rejection or an incomplete review: `personas`, `findings`, `text`, and
    /// the counts.
    pub fn detail(&self) -> Value {
        json!({
            "personas": self.verdicts_json(),
            "findings": self.findings_json(),
            "text": self.text(),
            "approvals": self.tally.approvals,
            "required": self.tally.needed,
            "require": self.require.as_str(),
        })
    }
}

/// `3 findings (1 critical, 2 high)`.
pub fn count_text(findings: &[&Finding]) -> String {
    let mut counts: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in findings {
        *counts.entry(f.severity).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(severity, n)| format!("{n} {severity}"))
        .collect();
    let noun = if findings.len() == 1 {
        "finding"
    } else {
        "findings"
    };
    format!("{} {noun} ({})", findings.len(), parts.join(", "))
}

fn sorted(findings: &[Finding]) -> Vec<&Finding> {
    let mut list: Vec<&Finding> = findings.iter().collect();
    list.sort_by_key(|f| f.severity);
    list
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn indent_continuations(text: &str) -> String {
    text.lines().collect::<Vec<_>>().join("\n  ")
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
#[path = "tests/report_tests.rs"]
mod tests;
