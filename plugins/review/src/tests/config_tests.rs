use serde_json::json;

use super::*;

fn parse(value: serde_json::Value) -> Result<ReviewConfig, serde_json::Error> {
    serde_json::from_value(value)
}

#[test]
fn defaults_are_three_personas_all_required_on_claude_smart() {
    let c = parse(json!({})).unwrap();
    assert_eq!(
        c.personas,
        vec![
            PersonaSpec::Named("quality".into()),
            PersonaSpec::Named("security".into()),
            PersonaSpec::Named("tests".into())
        ]
    );
    assert_eq!(c.require, Require::All);
    assert_eq!(c.backend, "claude");
    assert_eq!(c.model, "smart");
    assert_eq!(c.on_empty_diff, EmptyDiff::Fail);
    assert_eq!(c.blocking_severities(), None);
    c.validate().unwrap();
}

#[test]
fn personas_mix_names_and_mappings() {
    let c = parse(json!({"personas": [
        "quality",
        {"name": "perf", "prompt": "Look for slow code", "model": "genius"},
        {"name": "api", "prompt_file": ".github/review/api.md"}
    ], "block_on": ["critical", "high"]}))
    .unwrap();
    assert_eq!(c.personas[0].name(), "quality");
    match &c.personas[1] {
        PersonaSpec::Custom(p) => {
            assert_eq!(p.prompt.as_deref(), Some("Look for slow code"));
            assert_eq!(p.model.as_deref(), Some("genius"));
        }
        other @ PersonaSpec::Named(_) => panic!("{other:?}"),
    }
    assert_eq!(
        c.blocking_severities(),
        Some(vec![Severity::Critical, Severity::High])
    );
}

#[test]
fn bad_shapes_are_rejected() {
    assert!(parse(json!({"personas": [3]})).is_err());
    let unknown = parse(json!({"personas": [{"name": "x", "promt": "typo"}]})).unwrap_err();
    assert!(unknown.to_string().contains("promt"), "{unknown}");
    assert!(parse(json!({"require": "most"})).is_err());
    assert!(parse(json!({"block_on": ["severe"]})).is_err());
    assert!(parse(json!({"surprise": 1})).is_err());
}

#[test]
fn validate_checks_ranges() {
    let invalid = |v: serde_json::Value| parse(v).unwrap().validate().unwrap_err().0;
    assert!(invalid(json!({"personas": []})).contains("at least one"));
    assert!(invalid(json!({"max_turns": 0})).contains("max_turns"));
    assert!(invalid(json!({"budget_usd": -1.0})).contains("budget_usd"));
    assert!(invalid(json!({"max_parallel": 0})).contains("max_parallel"));
    assert!(invalid(json!({"max_diff_bytes": 10})).contains("max_diff_bytes"));
    assert!(invalid(json!({"block_on": []})).contains("block_on"));
    assert!(invalid(json!({"backend": " "})).contains("backend"));
}

#[test]
fn require_counts_needed_approvals() {
    assert_eq!(Require::All.needed(3), 3);
    assert_eq!(Require::Majority.needed(3), 2);
    assert_eq!(Require::Majority.needed(4), 3);
    assert_eq!(Require::Majority.needed(1), 1);
    assert_eq!(Require::Any.needed(5), 1);
}

#[test]
fn parallelism_defaults_to_every_persona() {
    let c = parse(json!({})).unwrap();
    assert_eq!(c.parallelism(5), 5);
    let c = parse(json!({"max_parallel": 2})).unwrap();
    assert_eq!(c.parallelism(5), 2);
    assert_eq!(c.parallelism(1), 1);
}
