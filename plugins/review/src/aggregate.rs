//! From the personas' verdicts to the stage's decision.
//!
//! A persona **blocks** when its verdict is `request_changes`, unless `block_on` is set and
//! none of its findings has one of those severities (a `request_changes` with no findings at
//! all always blocks: there is nothing to judge it by). An `approve` never blocks; its
//! findings are reported as non-blocking.
//!
//! The change is **approved** when the non-blocking personas reach `require` (`all`,
//! `majority`: more than half, `any`: one) and every persona gave a verdict. A persona without
//! a verdict (it did not start, crashed, ran out of budget, or its reply could not be read) is
//! never counted as an approval: the decision is **rejected** if the personas that answered
//! already make approval impossible, and **incomplete** otherwise (the stage then fails
//! retryably so the retry policy runs the review again).

use crate::config::Require;
use crate::verdict::{Decision, Severity, Verdict};

/// What one persona came back with.
#[derive(Debug, Clone, PartialEq)]
pub enum PersonaOutcome {
    /// A readable verdict.
    Verdict(Verdict),
    /// No verdict, and why (`crashed: ...`, `budget-exhausted: ...`, `unreadable reply: ...`).
    Missing(String),
}

/// Whether a verdict blocks the change under `block_on`.
pub fn blocks(verdict: &Verdict, block_on: Option<&[Severity]>) -> bool {
    if verdict.verdict == Decision::Approve {
        return false;
    }
    match block_on {
        None => true,
        Some(_) if verdict.findings.is_empty() => true,
        Some(severities) => verdict
            .findings
            .iter()
            .any(|f| severities.contains(&f.severity)),
    }
}

/// The stage's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Enough approvals, and every persona answered.
    Approved,
    /// Approval is out of reach with the verdicts given.
    Rejected,
    /// Some personas gave no verdict and the outcome depends on them.
    Incomplete,
}

/// Counts of one review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Personas that ran (or should have).
    pub total: usize,
    /// Personas whose verdict does not block.
    pub approvals: usize,
    /// Personas whose verdict blocks.
    pub rejections: usize,
    /// Personas without a verdict.
    pub missing: usize,
    /// Approvals `require` asks for.
    pub needed: usize,
}

/// Counts the outcomes under `block_on` and `require`.
pub fn tally(
    outcomes: &[PersonaOutcome],
    require: Require,
    block_on: Option<&[Severity]>,
) -> Tally {
    let mut approvals = 0;
    let mut rejections = 0;
    let mut missing = 0;
    for outcome in outcomes {
        match outcome {
            PersonaOutcome::Verdict(v) if blocks(v, block_on) => rejections += 1,
            PersonaOutcome::Verdict(_) => approvals += 1,
            PersonaOutcome::Missing(_) => missing += 1,
        }
    }
    Tally {
        total: outcomes.len(),
        approvals,
        rejections,
        missing,
        needed: require.needed(outcomes.len()),
    }
}

/// The decision for a tally.
pub fn decide(tally: &Tally) -> Outcome {
    if tally.approvals + tally.missing < tally.needed {
        Outcome::Rejected
    } else if tally.missing > 0 {
        Outcome::Incomplete
    } else {
        Outcome::Approved
    }
}

#[cfg(test)]
#[path = "tests/aggregate_tests.rs"]
mod tests;
