//! The checklists every reviewer answers besides its own focus: the project's constitution
//! (each rule) and the acceptance criteria of the task's story (each criterion), both passed by
//! the host as the `@spec` outputs. A reviewer reports them in its verdict:
//!
//! ```json
//! {"verdict": "approve", "summary": "...", "findings": [],
//!  "constitution": [{"rule": 1, "ok": true}, {"rule": 2, "ok": false, "message": "..."}],
//!  "criteria": [{"criterion": 1, "met": true}, {"criterion": 2, "met": false, "message": "..."}]}
//! ```
//!
//! Any rule reported broken or criterion reported unmet blocks the merge, whatever the
//! reviewer's own `verdict`, `require:` and `block_on:` say.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use engine_stage_sdk::StageError;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::report::Review;
use crate::verdict::Verdict;

/// The outputs key under which the host passes the constitution and the task's skill.
pub const SPEC_OUTPUTS: &str = "@spec";

/// What the reviewers must check, from the host's `@spec` outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checklists {
    /// The constitution's path, when there is one.
    pub constitution_path: Option<String>,
    /// Its rules, in order (R1 is the first).
    pub rules: Vec<String>,
    /// The story's id and title, when the task has one.
    pub story: Option<String>,
    /// Its acceptance criteria, in order (C1 is the first).
    pub criteria: Vec<String>,
}

impl Checklists {
    /// Reads the checklists from a stage's outputs (nothing when `@spec` is absent).
    pub fn from_outputs(outputs: &BTreeMap<String, Value>) -> Checklists {
        let Some(spec) = outputs.get(SPEC_OUTPUTS) else {
            return Checklists::default();
        };
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let constitution = spec.get("constitution");
        let story = spec
            .get("skill")
            .and_then(|s| s.get("story"))
            .filter(|s| s.is_object());
        Checklists {
            constitution_path: constitution
                .and_then(|c| c.get("path"))
                .and_then(Value::as_str)
                .map(str::to_string),
            rules: strings(constitution.and_then(|c| c.get("rules"))),
            story: story.map(|s| {
                format!(
                    "{}: {}",
                    s.get("id").and_then(Value::as_str).unwrap_or_default(),
                    s.get("title").and_then(Value::as_str).unwrap_or_default()
                )
            }),
            criteria: strings(story.and_then(|s| s.get("acceptance_criteria"))),
        }
    }

    /// Whether there is anything to check.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.criteria.is_empty()
    }

    /// The part of the review prompt asking for the checks; empty when there is nothing.
    pub fn prompt_section(&self) -> String {
        let mut p = String::new();
        if !self.rules.is_empty() {
            let path = self
                .constitution_path
                .as_deref()
                .unwrap_or("the constitution");
            let _ = write!(
                p,
                "\n## The project's constitution ({path})\n\nCheck the change against every \
                 rule below, whatever your focus. A broken rule blocks the merge.\n\n"
            );
            for (i, rule) in self.rules.iter().enumerate() {
                let _ = writeln!(p, "- R{}: {}", i + 1, rule);
            }
        }
        if !self.criteria.is_empty() {
            let story = self.story.as_deref().unwrap_or("the task's story");
            let _ = write!(
                p,
                "\n## Acceptance criteria of story {story}\n\nCheck whether the change meets \
                 each criterion below. An unmet criterion blocks the merge.\n\n"
            );
            for (i, criterion) in self.criteria.iter().enumerate() {
                let _ = writeln!(p, "- C{}: {}", i + 1, criterion);
            }
        }
        if p.is_empty() {
            return p;
        }
        p.push_str("\nAdd to your JSON answer, besides the fields below:\n");
        if !self.rules.is_empty() {
            p.push_str(
                "- `constitution`: one entry per rule, `{\"rule\": 1, \"ok\": true}` for R1 kept, \
                 `{\"rule\": 2, \"ok\": false, \"message\": \"how the change breaks it\"}` for a \
                 broken one.\n",
            );
        }
        if !self.criteria.is_empty() {
            p.push_str(
                "- `criteria`: one entry per criterion, `{\"criterion\": 1, \"met\": true}`, or \
                 `{\"criterion\": 2, \"met\": false, \"message\": \"what is missing\"}`.\n",
            );
        }
        p
    }
}

/// One reported check: a rule or a criterion, and whether it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Its number (R1/C1 is 1), when the reviewer gave one.
    pub index: Option<u64>,
    /// Whether the rule is kept / the criterion met.
    pub ok: bool,
    /// What the reviewer said.
    pub message: String,
}

/// Reads the checks under `key` of a verdict object (`constitution` with `ok`/`violated`,
/// `criteria` with `met`); an absent key is `None`, entries that say nothing readable are
/// skipped. A check counts as failed only when it says so.
pub fn read_checks(object: &Map<String, Value>, key: &str) -> Option<Vec<Check>> {
    let items = object.get(key)?.as_array()?;
    Some(items.iter().filter_map(read_check).collect())
}

fn read_check(item: &Value) -> Option<Check> {
    let map = item.as_object()?;
    let index = ["rule", "criterion", "id", "index"]
        .iter()
        .find_map(|k| map.get(*k))
        .and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s
                .trim()
                .trim_start_matches(['R', 'r', 'C', 'c'])
                .parse()
                .ok(),
            _ => None,
        });
    let negative = |s: &str| {
        matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "violated" | "broken" | "fail" | "failed" | "unmet" | "not_met" | "not met" | "no"
        )
    };
    let ok = if let Some(Value::Bool(b)) = map.get("ok").or_else(|| map.get("met")) {
        *b
    } else if let Some(Value::Bool(b)) = map.get("violated") {
        !*b
    } else if let Some(Value::String(s)) = map.get("status") {
        !negative(s)
    } else {
        return None;
    };
    let message = ["message", "note", "reason", "comment"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .trim()
        .to_string();
    Some(Check { index, ok, message })
}

/// A broken rule or unmet criterion, with the persona that reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    /// `R2` or `C1` (`R?` when the reviewer gave no number).
    pub label: String,
    /// The rule's or criterion's text, when the number is known.
    pub text: String,
    /// The persona.
    pub persona: String,
    /// What it said.
    pub message: String,
}

impl Checklists {
    /// The blockers `persona` reported in `rules` and `criteria` checks.
    pub fn blockers(&self, persona: &str, rules: &[Check], criteria: &[Check]) -> Vec<Blocker> {
        let mut out = Vec::new();
        for (prefix, checks, list) in [("R", rules, &self.rules), ("C", criteria, &self.criteria)] {
            for check in checks.iter().filter(|c| !c.ok) {
                let text = check
                    .index
                    .and_then(|i| usize::try_from(i).ok()?.checked_sub(1))
                    .and_then(|i| list.get(i))
                    .cloned()
                    .unwrap_or_default();
                out.push(Blocker {
                    label: check
                        .index
                        .map_or_else(|| format!("{prefix}?"), |i| format!("{prefix}{i}")),
                    text,
                    persona: persona.to_string(),
                    message: check.message.clone(),
                });
            }
        }
        out
    }
}

/// The message and detail additions of a review blocked by `blockers`.
pub fn blocked_text(blockers: &[Blocker]) -> String {
    let mut text = String::new();
    for b in blockers {
        let kind = if b.label.starts_with('R') {
            "constitution rule"
        } else {
            "acceptance criterion"
        };
        let _ = write!(text, "- {kind} {} ", b.label);
        if !b.text.is_empty() {
            let _ = write!(text, "({:?}) ", b.text);
        }
        let _ = write!(text, "not met, says {}", b.persona);
        if !b.message.is_empty() {
            let _ = write!(text, ": {}", b.message);
        }
        text.push('\n');
    }
    text
}

/// The blockers as JSON for the failure's detail.
pub fn blockers_json(blockers: &[Blocker]) -> Value {
    Value::Array(
        blockers
            .iter()
            .map(|b| json!({"check": b.label, "text": b.text, "persona": b.persona, "message": b.message}))
            .collect(),
    )
}

/// The failure of a review in which a reviewer reported a broken constitution rule or an
/// unmet acceptance criterion: fatal, whatever the verdicts, with the blockers first in the
/// text the agent reads when sent back.
pub fn blocked(review: &Review, blockers: &[Blocker]) -> StageError {
    let list = blocked_text(blockers);
    let message = format!(
        "review blocked: {} check{} of the constitution or the acceptance criteria failed\n{}",
        blockers.len(),
        if blockers.len() == 1 { "" } else { "s" },
        list.trim_end()
    );
    let mut detail = review.detail();
    detail["blocked_by"] = blockers_json(blockers);
    detail["text"] = json!(format!(
        "Blocking: the project's rules or the story's acceptance criteria are not met.\n{list}\n{}",
        review.text()
    ));
    StageError::fatal(message).with_detail(detail)
}

impl Checklists {
    /// The warning for a verdict of `persona` that left out checks it was asked for (not a
    /// blocker: only a stated violation or unmet criterion blocks); `None` when complete.
    pub fn unchecked(&self, persona: &str, verdict: &Verdict) -> Option<String> {
        let mut missing = Vec::new();
        if !self.rules.is_empty() && verdict.constitution.is_none() {
            missing.push("the constitution");
        }
        if !self.criteria.is_empty() && verdict.criteria.is_none() {
            missing.push("the acceptance criteria");
        }
        (!missing.is_empty()).then(|| {
            format!(
                "review: {persona} did not report its checks of {}",
                missing.join(" and ")
            )
        })
    }
}

#[cfg(test)]
#[path = "tests/checks_tests.rs"]
mod tests;
