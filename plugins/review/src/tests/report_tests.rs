use crate::aggregate::{PersonaOutcome, tally};
use crate::config::Require;
use crate::verdict::{Decision, Finding, Severity, Verdict};

use super::*;

fn finding(file: Option<&str>, line: Option<u64>, severity: Severity, message: &str) -> Finding {
    Finding {
        file: file.map(str::to_string),
        line,
        severity,
        message: message.into(),
    }
}

fn persona(name: &str, outcome: PersonaOutcome) -> PersonaReport {
    PersonaReport {
        name: name.into(),
        backend: "claude".into(),
        model: "smart".into(),
        outcome,
        reasked: false,
        cost_usd: Some(0.1),
    }
}

fn review(
    personas: Vec<PersonaReport>,
    require: Require,
    block_on: Option<Vec<Severity>>,
) -> Review {
    let outcomes: Vec<PersonaOutcome> = personas.iter().map(|p| p.outcome.clone()).collect();
    let t = tally(&outcomes, require, block_on.as_deref());
    Review {
        personas,
        require,
        block_on,
        tally: t,
    }
}

fn sample() -> Review {
    review(
        vec![
            persona(
                "security",
                PersonaOutcome::Verdict(Verdict {
                    constitution: None,
                    criteria: None,
                    verdict: Decision::Approve,
                    summary: "No issues.".into(),
                    findings: vec![finding(None, None, Severity::Info, "Consider rate limits")],
                }),
            ),
            persona(
                "quality",
                PersonaOutcome::Verdict(Verdict {
                    constitution: None,
                    criteria: None,
                    verdict: Decision::RequestChanges,
                    summary: "The greeting\nis wrong.".into(),
                    findings: vec![
                        finding(Some("src/greet.txt"), None, Severity::Low, "Trailing space"),
                        finding(
                            Some("src/greet.txt"),
                            Some(1),
                            Severity::High,
                            "Must say hello, world\nnot hi",
                        ),
                    ],
                }),
            ),
            persona(
                "tests",
                PersonaOutcome::Missing("its session ended crashed".into()),
            ),
        ],
        Require::All,
        None,
    )
}

#[test]
fn the_feedback_text_lists_blocking_findings_first_most_serious_first() {
    let text = sample().text();
    let expected = "\
Review result: changes requested.
1 of 3 personas approved (require: all).

quality requested changes: The greeting is wrong.
- src/greet.txt:1 [high] Must say hello, world
  not hi
- src/greet.txt [low] Trailing space

tests gave no verdict: its session ended crashed

security approved: No issues.
- [info] Consider rate limits";
    assert_eq!(text, expected);
}

#[test]
fn the_rejection_message_counts_blocking_findings_by_severity() {
    let message = sample().rejection_message();
    assert_eq!(
        message,
        "changes requested by quality: 2 findings (1 high, 1 low); 1 of 3 personas approved \
         (require: all); no verdict from tests (its session ended crashed)"
    );
}

#[test]
fn the_detail_has_personas_findings_and_text() {
    let detail = sample().detail();
    assert_eq!(detail["personas"].as_array().unwrap().len(), 3);
    assert_eq!(detail["personas"][1]["persona"], "quality");
    assert_eq!(detail["personas"][1]["blocking"], true);
    assert_eq!(detail["personas"][2]["error"], "its session ended crashed");
    let findings = detail["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    // Per persona, most serious first.
    assert_eq!(findings[1]["severity"], "high");
    assert_eq!(findings[1]["line"], 1);
    assert_eq!(findings[1]["blocking"], true);
    assert_eq!(findings[0]["blocking"], false);
    assert!(
        detail["text"]
            .as_str()
            .unwrap()
            .contains("[high] Must say hello")
    );
    assert_eq!(detail["require"], "all");
    assert_eq!(detail["required"], 3);
}

#[test]
fn block_on_marks_only_its_severities_as_blocking() {
    let r = review(
        sample().personas,
        Require::All,
        Some(vec![Severity::Critical, Severity::High]),
    );
    let findings = r.findings_json();
    let quality: Vec<(&str, bool)> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["persona"] == "quality")
        .map(|f| {
            (
                f["severity"].as_str().unwrap(),
                f["blocking"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(quality, [("high", true), ("low", false)]);
    let minor = review(
        vec![persona(
            "docs",
            PersonaOutcome::Verdict(Verdict {
                constitution: None,
                criteria: None,
                verdict: Decision::RequestChanges,
                summary: String::new(),
                findings: vec![finding(None, None, Severity::Low, "wording")],
            }),
        )],
        Require::All,
        Some(vec![Severity::High]),
    );
    assert!(
        minor
            .text()
            .contains("docs requested changes (not blocking: no finding is high)."),
        "{}",
        minor.text()
    );
    assert!(
        minor
            .approval_summary()
            .starts_with("approved by docs (1 of 1"),
        "{}",
        minor.approval_summary()
    );
}

#[test]
fn a_huge_list_of_findings_is_capped() {
    let many: Vec<Finding> = (0..2_000)
        .map(|i| {
            finding(
                Some("a.rs"),
                Some(i + 1),
                Severity::Medium,
                "a rather long message about this line",
            )
        })
        .collect();
    let r = review(
        vec![persona(
            "quality",
            PersonaOutcome::Verdict(Verdict {
                constitution: None,
                criteria: None,
                verdict: Decision::RequestChanges,
                summary: String::new(),
                findings: many,
            }),
        )],
        Require::All,
        None,
    );
    let text = r.text();
    assert!(
        text.chars().count() <= MAX_TEXT_CHARS + 200,
        "{}",
        text.len()
    );
    assert!(text.contains("more findings"), "{text}");
}
