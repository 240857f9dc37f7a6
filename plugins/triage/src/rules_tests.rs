use super::*;
use crate::assessment::Decision;
use serde_json::json;

fn config(with: serde_json::Value) -> TriageConfig {
    serde_json::from_value(with).unwrap()
}

fn facts(text: &str) -> TaskFacts {
    let title = text.lines().next().unwrap_or_default();
    TaskFacts::gather(title, text, None)
}

fn labels(list: &[&str]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

const MEDIUM: &str = "Make the export command write its report to a file\n\n\
    The report currently goes to stdout only. Write it to the path given with --out, \
    create the parent directory when it is missing and keep stdout as the default.";

#[test]
fn a_label_decides_before_size_and_keywords() {
    let a = evaluate(
        &TriageConfig::default(),
        &labels(&["Epic"]),
        &facts("Fix typo in the readme"),
    );
    assert_eq!(a.decision, Decision::Run(Tier::Genius));
    assert!(a.reason.starts_with("label `Epic`"), "{}", a.reason);
    assert!(a.reason.contains("labels decide"), "{}", a.reason);
    assert!(
        a.signals.contains(&"label:Epic -> genius".to_string()),
        "{:?}",
        a.signals
    );
    assert!(
        a.signals.contains(&"keyword:typo -> primitive".to_string()),
        "{:?}",
        a.signals
    );
}

#[test]
fn the_highest_label_wins_and_custom_maps_replace_the_defaults() {
    let c = config(json!({"labels": {"needs-thought": "genius", "quick": "primitive"}}));
    let a = evaluate(&c, &labels(&["quick", "needs-thought"]), &facts(MEDIUM));
    assert_eq!(a.tier(), Some(Tier::Genius));
    // `bug` is in the built-in map but not in this one.
    let a = evaluate(&c, &labels(&["bug"]), &facts(MEDIUM));
    assert_eq!(a.tier(), Some(Tier::Smart));
    assert!(
        a.signals.contains(&"default -> smart".to_string()),
        "{:?}",
        a.signals
    );
}

#[test]
fn a_skip_label_stops_the_task() {
    let a = evaluate(
        &TriageConfig::default(),
        &labels(&["bug", " Duplicate "]),
        &facts(MEDIUM),
    );
    assert_eq!(a.decision, Decision::Stop(StopKind::SkipLabel));
    assert!(a.reason.contains("labelled `Duplicate`"), "{}", a.reason);
    assert_eq!(a.signals, ["skip_label:Duplicate"]);
}

#[test]
fn a_large_task_is_genius_and_a_small_one_primitive() {
    let large = format!(
        "Add the report\n\n{}",
        "The report lists every export.\n".repeat(80)
    );
    let a = evaluate(&TriageConfig::default(), &[], &facts(&large));
    assert_eq!(a.tier(), Some(Tier::Genius), "{a:?}");
    assert!(a.reason.contains("a large task"), "{}", a.reason);

    let a = evaluate(
        &TriageConfig::default(),
        &[],
        &facts("Add a --json flag to the export command"),
    );
    assert_eq!(a.tier(), Some(Tier::Primitive), "{a:?}");
    assert!(
        a.signals[0].starts_with("size:small (39 chars, 1 line)"),
        "{:?}",
        a.signals
    );
}

#[test]
fn a_medium_task_without_votes_gets_the_default_tier() {
    let a = evaluate(&TriageConfig::default(), &[], &facts(MEDIUM));
    assert_eq!(a.tier(), Some(Tier::Smart));
    assert_eq!(a.reason, "no rule matched: the default tier");
    let c = config(json!({"default_tier": "primitive"}));
    assert_eq!(
        evaluate(&c, &[], &facts(MEDIUM)).tier(),
        Some(Tier::Primitive)
    );
}

#[test]
fn keywords_vote_and_the_highest_wins() {
    let text = format!(
        "{MEDIUM}\nWatch out for the race-condition when two exports run; fix the typos too."
    );
    let a = evaluate(&TriageConfig::default(), &[], &facts(&text));
    assert_eq!(a.tier(), Some(Tier::Genius));
    assert_eq!(a.reason, "keyword `race condition`");
    assert!(
        a.signals.contains(&"keyword:typo -> primitive".to_string()),
        "{:?}",
        a.signals
    );
    let c = config(json!({"keywords": {"genius": []}}));
    assert_eq!(
        evaluate(&c, &[], &facts(&text)).tier(),
        Some(Tier::Primitive)
    );
}

#[test]
fn thresholds_are_configurable() {
    let c = config(json!({"size": {"small_chars": 10, "large_chars": 150}}));
    let a = evaluate(&c, &[], &facts(MEDIUM));
    assert_eq!(a.tier(), Some(Tier::Genius), "{a:?}");
    let a = evaluate(&c, &[], &facts("Add a --json flag to the export command"));
    assert_eq!(a.tier(), Some(Tier::Smart), "not small any more: {a:?}");
}

#[test]
fn existing_files_vote_only_when_the_workspace_is_mounted() {
    let text = format!("{MEDIUM}\nTouch src/a.rs, src/b.rs, src/c.rs and src/gone.rs.");
    let exists = |p: &str| p != "src/gone.rs";
    let with = TaskFacts::gather("Make", &text, Some(&exists));
    let a = evaluate(&TriageConfig::default(), &[], &with);
    assert_eq!(a.tier(), Some(Tier::Smart));
    assert!(
        a.signals
            .contains(&"files:3 of 4 named exist -> smart".to_string()),
        "{:?}",
        a.signals
    );
    let c = config(json!({"files": {"smart": 1, "genius": 3}}));
    assert_eq!(evaluate(&c, &[], &with).tier(), Some(Tier::Genius));

    let without = evaluate(&c, &[], &facts(&text));
    assert_eq!(
        without.tier(),
        Some(Tier::Smart),
        "default: files not checked"
    );
    assert!(
        without
            .signals
            .contains(&"files:4 named, not checked (workspace not mounted)".to_string()),
        "{:?}",
        without.signals
    );
}

#[test]
fn a_short_text_without_verb_or_file_is_too_vague() {
    for text in ["stuff", "The login page", "Login broken on Safari", "   "] {
        let a = evaluate(&TriageConfig::default(), &[], &facts(text));
        assert_eq!(
            a.decision,
            Decision::Stop(StopKind::TooVague),
            "{text:?}: {a:?}"
        );
    }
    let a = evaluate(&TriageConfig::default(), &[], &facts("The login page"));
    assert!(
        a.reason.contains("\"The login page\" (14 chars)"),
        "{}",
        a.reason
    );
    // A verb, a file, or enough text makes it concrete.
    for text in [
        "Fix typo",
        "Rename things",
        "src/login.rs",
        "The login page shows the wrong year in the footer",
    ] {
        let a = evaluate(&TriageConfig::default(), &[], &facts(text));
        assert!(matches!(a.decision, Decision::Run(_)), "{text:?}: {a:?}");
    }
}

#[test]
fn the_vagueness_rule_is_configurable() {
    let off = config(json!({"vague": {"enabled": false}}));
    assert!(matches!(
        evaluate(&off, &[], &facts("stuff")).decision,
        Decision::Run(_)
    ));
    let verbs = config(json!({"vague": {"verbs": ["tidy"], "max_chars": 100}}));
    let a = evaluate(&verbs, &[], &facts("Fix typo"));
    assert_eq!(
        a.decision,
        Decision::Stop(StopKind::TooVague),
        "fix is no longer a verb"
    );
    assert!(matches!(
        evaluate(&verbs, &[], &facts("Tidy up")).decision,
        Decision::Run(_)
    ));
}
