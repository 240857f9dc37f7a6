use engine_stage_sdk::agent::Outcome as SessionOutcome;
use serde_json::json;

use crate::config::ReviewConfig;
use crate::prompt::TaskText;
use crate::tests::{FakeHost, answers, ended, verdict_json};

use super::*;

fn facts() -> RunFacts {
    RunFacts {
        task: TaskText {
            id: "t1".into(),
            title: "Greet the user".into(),
            body: "Print hello.".into(),
        },
        base_commit: "base0000".into(),
        checklists: crate::checks::Checklists::default(),
    }
}

fn config(value: serde_json::Value) -> ReviewConfig {
    serde_json::from_value(value).unwrap()
}

#[test]
fn every_persona_approving_is_a_success_with_outputs() {
    let mut host = FakeHost::with_change()
        .script(
            "quality",
            answers(
                &verdict_json("approve", &[("src/a.rs", 1, "low", "Name it better")]),
                "s-q",
            ),
        )
        .script("security", answers(&verdict_json("approve", &[]), "s-s"));
    let c = config(json!({"personas": ["quality", "security"]}));
    let success = run(&mut host, &c, &facts()).unwrap();
    assert!(
        success.summary.starts_with("approved by quality, security"),
        "{}",
        success.summary
    );
    assert_eq!(success.outputs["approvals"], 2);
    assert_eq!(success.outputs["verdicts"][0]["persona"], "quality");
    assert_eq!(success.outputs["verdicts"][0]["verdict"], "approve");
    assert_eq!(success.outputs["findings"][0]["message"], "Name it better");
    assert_eq!(success.outputs["findings"][0]["blocking"], false);
    assert!(
        success.outputs["summary"]
            .as_str()
            .unwrap()
            .contains("1 low")
    );
    // The diff is read against the base commit, and every persona saw it.
    assert!(
        host.git_runs
            .iter()
            .all(|a| a.contains(&"base0000...HEAD".to_string()))
    );
    assert_eq!(host.requests.len(), 2);
    for r in &host.requests {
        assert!(r.prompt.contains("+new"), "{}", r.prompt);
        assert!(r.prompt.contains("Greet the user"));
    }
    assert!(
        host.requests[1]
            .prompt
            .lines()
            .next()
            .unwrap()
            .contains("`security`")
    );
}

#[test]
fn a_request_for_changes_is_a_fatal_failure_with_readable_findings() {
    let mut host = FakeHost::with_change()
        .script(
            "quality",
            answers(
                &verdict_json(
                    "request_changes",
                    &[
                        ("src/a.rs", 1, "high", "Greeting lacks a newline"),
                        ("src/a.rs", 2, "low", "Typo"),
                    ],
                ),
                "s-q",
            ),
        )
        .script("security", answers(&verdict_json("approve", &[]), "s-s"));
    let c = config(json!({"personas": ["quality", "security"]}));
    let error = run(&mut host, &c, &facts()).unwrap_err();
    assert!(
        !error.retryable,
        "a rejection is fatal so on_failure sends the run back at once"
    );
    assert!(
        error.message.contains("changes requested by quality"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("2 findings (1 high, 1 low)"),
        "{}",
        error.message
    );
    assert!(
        error
            .message
            .contains("1 of 2 personas approved (require: all)"),
        "{}",
        error.message
    );
    let text = error.detail["text"].as_str().unwrap();
    assert!(
        text.contains("src/a.rs:1 [high] Greeting lacks a newline"),
        "{text}"
    );
    assert_eq!(error.detail["personas"][0]["verdict"], "request_changes");
    assert_eq!(error.detail["findings"].as_array().unwrap().len(), 2);
}

#[test]
fn an_unreadable_reply_is_asked_again_in_the_same_session() {
    let mut host = FakeHost::with_change()
        .script("tests", answers("I think it is fine overall.", "s-t"))
        .script(
            "tests",
            answers(
                &format!("```json\n{}\n```", verdict_json("approve", &[])),
                "s-t",
            ),
        );
    let c = config(json!({"personas": ["tests"]}));
    let success = run(&mut host, &c, &facts()).unwrap();
    assert_eq!(success.outputs["verdicts"][0]["reasked"], true);
    assert_eq!(host.requests.len(), 2);
    assert_eq!(host.requests[1].resume_session.as_deref(), Some("s-t"));
    assert!(host.requests[1].prompt.contains("could not be read"));
    let cost = success.outputs["cost_usd"].as_f64().unwrap();
    assert!((cost - 0.02).abs() < 1e-9, "{cost}");
}

#[test]
fn an_unreadable_reply_twice_fails_retryably_naming_the_persona() {
    let mut host = FakeHost::with_change()
        .script("tests", answers("fine", "s-t"))
        .script("tests", answers("still fine, no JSON", "s-t"))
        .script("quality", answers(&verdict_json("approve", &[]), "s-q"));
    let c = config(json!({"personas": ["quality", "tests"], "require": "any"}));
    let error = run(&mut host, &c, &facts()).unwrap_err();
    assert!(error.retryable);
    assert!(
        error.message.contains("no verdict from tests"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("even when asked again"),
        "{}",
        error.message
    );
    assert!(error.message.contains("never passes"), "{}", error.message);
    assert_eq!(
        error.detail["personas"][1]["verdict"],
        serde_json::Value::Null
    );
}

#[test]
fn a_crashed_persona_fails_retryably_unless_the_others_already_reject() {
    let crashed = || ended(SessionOutcome::Crashed, "exit 1");
    let mut host = FakeHost::with_change()
        .script("quality", answers(&verdict_json("approve", &[]), "s-q"))
        .script("security", crashed());
    let c = config(json!({"personas": ["quality", "security"]}));
    let error = run(&mut host, &c, &facts()).unwrap_err();
    assert!(error.retryable);
    assert!(
        error
            .message
            .contains("security (its session ended crashed: exit 1)"),
        "{}",
        error.message
    );
    assert_eq!(
        host.requests.len(),
        2,
        "a crashed session is not asked again"
    );

    let mut host = FakeHost::with_change()
        .script(
            "quality",
            answers(
                &verdict_json("request_changes", &[("a", 1, "high", "bug")]),
                "s-q",
            ),
        )
        .script("security", crashed());
    let error = run(&mut host, &c, &facts()).unwrap_err();
    assert!(!error.retryable, "require all: the rejection decides");
    assert!(
        error.message.contains("no verdict from security"),
        "{}",
        error.message
    );
}

#[test]
fn majority_and_any() {
    let c = config(json!({"personas": ["quality", "security", "tests"], "require": "majority"}));
    let mut host = FakeHost::with_change()
        .script("quality", answers(&verdict_json("approve", &[]), "1"))
        .script(
            "security",
            answers(
                &verdict_json("request_changes", &[("a", 1, "medium", "m")]),
                "2",
            ),
        )
        .script("tests", answers(&verdict_json("approve", &[]), "3"));
    let success = run(&mut host, &c, &facts()).unwrap();
    assert_eq!(success.outputs["approvals"], 2);
    assert_eq!(success.outputs["findings"][0]["blocking"], true);

    let c = config(json!({"personas": ["quality", "security"], "require": "any"}));
    let mut host = FakeHost::with_change()
        .script(
            "quality",
            answers(
                &verdict_json("request_changes", &[("a", 1, "high", "m")]),
                "1",
            ),
        )
        .script(
            "security",
            answers(&verdict_json("request_changes", &[]), "2"),
        );
    let error = run(&mut host, &c, &facts()).unwrap_err();
    assert!(
        error
            .message
            .contains("0 of 2 personas approved (require: any)"),
        "{}",
        error.message
    );
}

#[test]
fn block_on_passes_a_request_for_minor_changes() {
    let c = config(json!({"personas": ["quality"], "block_on": ["critical", "high"]}));
    let mut host = FakeHost::with_change().script(
        "quality",
        answers(
            &verdict_json("request_changes", &[("a", 1, "low", "nit")]),
            "1",
        ),
    );
    let success = run(&mut host, &c, &facts()).unwrap();
    assert_eq!(success.outputs["approvals"], 1);
    assert_eq!(success.outputs["verdicts"][0]["blocking"], false);
}

#[test]
fn an_empty_change_fails_by_default_and_can_be_approved() {
    let mut host = FakeHost::default();
    let error = run(&mut host, &config(json!({})), &facts()).unwrap_err();
    assert!(!error.retryable);
    assert!(
        error.message.contains("nothing to review"),
        "{}",
        error.message
    );
    assert!(host.requests.is_empty());
    let mut host = FakeHost::default();
    let success = run(
        &mut host,
        &config(json!({"on_empty_diff": "approve"})),
        &facts(),
    )
    .unwrap();
    assert_eq!(success.outputs["empty_diff"], true);
    assert!(host.requests.is_empty());
}

#[test]
fn git_and_config_problems_are_fatal_before_any_session() {
    let mut host = FakeHost::with_change();
    host.git_code = 128;
    let error = run(&mut host, &config(json!({})), &facts()).unwrap_err();
    assert!(!error.retryable);
    assert!(error.message.contains("bad revision"), "{}", error.message);
    let mut host = FakeHost::with_change();
    let error = run(
        &mut host,
        &config(json!({"personas": ["nobody"]})),
        &facts(),
    )
    .unwrap_err();
    assert!(
        error.message.contains("invalid review config"),
        "{}",
        error.message
    );
    assert!(host.requests.is_empty() && host.git_runs.is_empty());
}

#[test]
fn custom_personas_from_a_prompt_file_review_with_their_own_model() {
    let mut host =
        FakeHost::with_change().script("api", answers(&verdict_json("approve", &[]), "1"));
    host.files.insert(
        ".github/review/api.md".into(),
        "Check the API surface.".into(),
    );
    let c = config(
        json!({"personas": [{"name": "api", "prompt_file": ".github/review/api.md", "model": "genius"}]}),
    );
    run(&mut host, &c, &facts()).unwrap();
    assert!(host.requests[0].prompt.contains("Check the API surface."));
    assert_eq!(host.requests[0].model.as_deref(), Some("genius"));
}

#[test]
fn a_persona_that_cannot_run_fails_the_review_fatally_saying_what_to_do() {
    let cases = [
        (
            SessionOutcome::QuotaExhausted,
            "quota_exhausted",
            "account has no quota left (quota or billing exhausted: insufficient_quota): add \
             credits or raise the spending limit at the provider, then run the task again",
        ),
        (
            SessionOutcome::AuthFailed,
            "auth_failed",
            "is not logged in (quota or billing exhausted: insufficient_quota)",
        ),
        (
            SessionOutcome::Misconfigured,
            "misconfigured",
            "did not run (quota or billing exhausted: insufficient_quota): fix its configuration",
        ),
    ];
    for (outcome, flag, needle) in cases {
        let mut host = FakeHost::with_change()
            .script("quality", answers(&verdict_json("approve", &[]), "s-q"))
            .script(
                "security",
                ended(outcome, "quota or billing exhausted: insufficient_quota"),
            );
        let c = config(json!({"personas": ["quality", "security"]}));
        let error = run(&mut host, &c, &facts()).unwrap_err();
        assert!(!error.retryable, "{flag}: {}", error.message);
        assert!(
            error
                .message
                .starts_with("review persona `security`: the `claude` agent"),
            "{}",
            error.message
        );
        assert!(error.message.contains(needle), "{}", error.message);
        assert_eq!(error.detail[flag], true);
        assert_eq!(error.detail["persona"], "security");
        assert_eq!(error.detail["outcome"], outcome.as_str());
        assert_eq!(host.requests.len(), 2, "{flag}: nothing asked again");
    }
}

#[test]
fn a_persona_asked_again_that_cannot_run_fails_the_review_fatally() {
    let mut host = FakeHost::with_change()
        .script("tests", answers("I think it is fine overall.", "s-t"))
        .script(
            "tests",
            ended(SessionOutcome::QuotaExhausted, "credit balance is too low"),
        );
    let c = config(json!({"personas": ["tests"]}));
    let error = run(&mut host, &c, &facts()).unwrap_err();
    assert!(!error.retryable, "{}", error.message);
    assert!(
        error.message.contains("credit balance is too low"),
        "{}",
        error.message
    );
    assert_eq!(error.detail["quota_exhausted"], true);
}

#[test]
fn a_broken_constitution_rule_blocks_even_an_approval() {
    let reply = r#"{"verdict": "approve", "summary": "fine", "findings": [],
        "constitution": [{"rule": 1, "ok": true}, {"rule": 2, "ok": false, "message": "src/a.rs calls unwrap()"}]}"#;
    let mut host = FakeHost::with_change().script("quality", answers(reply, "s-q"));
    let c = config(json!({"personas": ["quality"]}));
    let mut f = facts();
    f.checklists.constitution_path = Some("spec/constitution.md".into());
    f.checklists.rules = vec![
        "Tests never sleep.".into(),
        "No unwrap in library code.".into(),
    ];
    let err = run(&mut host, &c, &f).unwrap_err();
    assert!(!err.retryable);
    assert!(
        err.message.contains("constitution rule R2 (\"No unwrap in library code.\") not met, says quality: src/a.rs calls unwrap()"),
        "{}",
        err.message
    );
    assert_eq!(err.detail["blocked_by"][0]["check"], "R2");
    assert!(
        err.detail["text"]
            .as_str()
            .unwrap()
            .starts_with("Blocking:")
    );
}

#[test]
fn an_unmet_criterion_blocks_and_met_ones_do_not() {
    let met = r#"{"verdict": "approve", "summary": "ok", "findings": [],
        "criteria": [{"criterion": 1, "met": true}, {"criterion": "C2", "status": "met"}]}"#;
    let unmet = r#"{"verdict": "approve", "summary": "ok", "findings": [],
        "criteria": [{"criterion": 1, "met": true}, {"criterion": 2, "met": false, "message": "no error shown"}]}"#;
    let c = config(json!({"personas": ["quality"]}));
    let mut f = facts();
    f.checklists.story = Some("WEB-1: Login".into());
    f.checklists.criteria = vec!["posts to /login".into(), "shows errors".into()];
    let mut host = FakeHost::with_change().script("quality", answers(met, "s-1"));
    assert!(run(&mut host, &c, &f).is_ok());
    let mut host = FakeHost::with_change().script("quality", answers(unmet, "s-2"));
    let err = run(&mut host, &c, &f).unwrap_err();
    assert!(
        err.message.contains(
            "acceptance criterion C2 (\"shows errors\") not met, says quality: no error shown"
        ),
        "{}",
        err.message
    );
}

#[test]
fn a_verdict_without_the_asked_checks_is_warned_about_not_blocked() {
    let mut host =
        FakeHost::with_change().script("quality", answers(&verdict_json("approve", &[]), "s-q"));
    let c = config(json!({"personas": ["quality"]}));
    let mut f = facts();
    f.checklists.rules = vec!["No unwrap.".into()];
    assert!(run(&mut host, &c, &f).is_ok());
    assert!(
        host.logs
            .iter()
            .any(|(_, m)| m == "review: quality did not report its checks of the constitution"),
        "{:?}",
        host.logs
    );
}
