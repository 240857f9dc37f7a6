use crate::config::Require;
use crate::verdict::{Decision, Finding, Severity, Verdict};

use super::*;

fn verdict(decision: Decision, severities: &[Severity]) -> PersonaOutcome {
    PersonaOutcome::Verdict(Verdict {
        constitution: None,
        criteria: None,
        verdict: decision,
        summary: String::new(),
        findings: severities
            .iter()
            .map(|s| Finding {
                file: None,
                line: None,
                severity: *s,
                message: "m".into(),
            })
            .collect(),
    })
}

fn approve() -> PersonaOutcome {
    verdict(Decision::Approve, &[])
}

fn reject() -> PersonaOutcome {
    verdict(Decision::RequestChanges, &[Severity::High])
}

fn missing() -> PersonaOutcome {
    PersonaOutcome::Missing("crashed".into())
}

fn outcome(require: Require, list: &[PersonaOutcome]) -> Outcome {
    decide(&tally(list, require, None))
}

#[test]
fn the_aggregation_table() {
    use Outcome::*;
    use Require::*;
    let a = approve;
    let r = reject;
    let m = missing;
    let table: Vec<(Require, Vec<PersonaOutcome>, Outcome)> = vec![
        (All, vec![a(), a(), a()], Approved),
        (All, vec![a(), a(), r()], Rejected),
        (All, vec![a(), a(), m()], Incomplete),
        // A rejection already decides `all`, whatever the missing persona would say.
        (All, vec![r(), a(), m()], Rejected),
        (Majority, vec![a(), a(), r()], Approved),
        (Majority, vec![a(), r(), r()], Rejected),
        (Majority, vec![a(), r(), r(), a()], Rejected),
        (Majority, vec![a(), a(), m()], Incomplete),
        (Majority, vec![a(), r(), m()], Incomplete),
        (Majority, vec![r(), r(), m()], Rejected),
        (Any, vec![r(), r(), a()], Approved),
        (Any, vec![r(), r(), r()], Rejected),
        // Never an approval while a verdict is missing, even when `any` is already met.
        (Any, vec![a(), m()], Incomplete),
        (Any, vec![r(), m()], Incomplete),
        (Any, vec![m()], Incomplete),
        (All, vec![m(), m()], Incomplete),
        (All, vec![a()], Approved),
        (All, vec![r()], Rejected),
    ];
    for (require, list, expected) in table {
        assert_eq!(outcome(require, &list), expected, "{require:?} {list:?}");
    }
}

#[test]
fn tally_counts_each_kind() {
    let t = tally(
        &[approve(), reject(), missing(), approve()],
        Require::Majority,
        None,
    );
    assert_eq!(
        t,
        Tally {
            total: 4,
            approvals: 2,
            rejections: 1,
            missing: 1,
            needed: 3
        }
    );
}

#[test]
fn block_on_lets_minor_requests_for_changes_pass() {
    let block_on = [Severity::Critical, Severity::High];
    let minor = verdict(Decision::RequestChanges, &[Severity::Low, Severity::Info]);
    let serious = verdict(Decision::RequestChanges, &[Severity::Low, Severity::High]);
    let bare = verdict(Decision::RequestChanges, &[]);
    let approved_with_critical = verdict(Decision::Approve, &[Severity::Critical]);
    let as_verdict = |o: &PersonaOutcome| match o {
        PersonaOutcome::Verdict(v) => v.clone(),
        PersonaOutcome::Missing(_) => unreachable!(),
    };
    assert!(!blocks(&as_verdict(&minor), Some(&block_on)));
    assert!(blocks(&as_verdict(&minor), None));
    assert!(blocks(&as_verdict(&serious), Some(&block_on)));
    assert!(
        blocks(&as_verdict(&bare), Some(&block_on)),
        "nothing to judge by: it blocks"
    );
    assert!(!blocks(
        &as_verdict(&approved_with_critical),
        Some(&block_on)
    ));
    assert_eq!(
        decide(&tally(
            &[approve(), minor.clone()],
            Require::All,
            Some(&block_on)
        )),
        Outcome::Approved
    );
    assert_eq!(
        decide(&tally(&[approve(), minor], Require::All, None)),
        Outcome::Rejected
    );
}
