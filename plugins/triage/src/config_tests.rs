use super::*;
use serde_json::json;

fn parse(with: serde_json::Value) -> Result<TriageConfig, String> {
    serde_json::from_value(with).map_err(|e| e.to_string())
}

#[test]
fn no_config_gives_the_built_in_defaults() {
    let c = parse(json!({})).unwrap();
    assert_eq!(c, TriageConfig::default());
    assert_eq!(c.mode, Mode::Rules);
    assert_eq!(c.default_tier, Tier::Smart);
    assert_eq!(c.label_tier("EPIC"), Some(Tier::Genius));
    assert_eq!(c.label_tier("good first issue"), Some(Tier::Primitive));
    assert!(c.is_skip_label("WontFix"));
    assert_eq!(c.agent.backend, "claude");
    assert_eq!(c.agent.model, "smart");
    c.validate().unwrap();
}

#[test]
fn a_partial_section_keeps_the_other_defaults() {
    let c =
        parse(json!({"size": {"large_chars": 500}, "keywords": {"smart": ["parser"]}})).unwrap();
    assert_eq!(c.size.large_chars, 500);
    assert_eq!(c.size.small_chars, SizeRules::default().small_chars);
    assert_eq!(c.keywords.smart, ["parser"]);
    assert_eq!(
        c.keywords.genius,
        crate::defaults::default_genius_keywords()
    );
}

#[test]
fn unknown_keys_and_tiers_are_errors() {
    let err = parse(json!({"mode": "rules", "tiers": {}})).unwrap_err();
    assert!(err.contains("unknown field `tiers`"), "{err}");
    let err = parse(json!({"size": {"huge": 3}})).unwrap_err();
    assert!(err.contains("unknown field `huge`"), "{err}");
    let err = parse(json!({"labels": {"bug": "opus"}})).unwrap_err();
    assert!(err.contains("unknown tier \"opus\""), "{err}");
    let err = parse(json!({"mode": "magic"})).unwrap_err();
    assert!(err.contains("unknown variant `magic`"), "{err}");
}

#[test]
fn an_empty_force_tier_means_none() {
    assert_eq!(parse(json!({"force_tier": ""})).unwrap().force_tier, None);
    assert_eq!(parse(json!({"force_tier": null})).unwrap().force_tier, None);
    assert_eq!(
        parse(json!({"force_tier": "Genius"})).unwrap().force_tier,
        Some(Tier::Genius)
    );
    assert!(parse(json!({"force_tier": "max"})).is_err());
}

#[test]
fn inconsistent_thresholds_name_the_field() {
    for (with, field) in [
        (json!({"size": {"small_chars": 5000}}), "size.small_chars"),
        (json!({"size": {"small_lines": 60}}), "size.small_lines"),
        (json!({"files": {"smart": 9}}), "files.smart"),
        (json!({"files": {"smart": 0}}), "files.smart"),
        (json!({"keywords": {"genius": ["--"]}}), "keywords.genius"),
        (json!({"vague": {"verbs": ["two words"]}}), "vague.verbs"),
        (json!({"labels": {" ": "smart"}}), "labels"),
        (json!({"skip_labels": [""]}), "skip_labels"),
        (json!({"agent": {"max_turns": 0}}), "agent.max_turns"),
        (json!({"agent": {"max_turns": 500}}), "agent.max_turns"),
        (json!({"agent": {"budget_usd": 0.0}}), "agent.budget_usd"),
        (json!({"agent": {"backend": " "}}), "agent.backend"),
    ] {
        let err = parse(with.clone()).unwrap().validate().unwrap_err();
        assert_eq!(err.field, field, "{with}: {err}");
        assert!(
            err.to_string().starts_with(&format!("invalid `{field}`")),
            "{err}"
        );
    }
}

#[test]
fn the_schema_is_strict_and_shows_the_defaults() {
    let schema = crate::schema::schema();
    assert_eq!(schema["additionalProperties"], false);
    for section in ["size", "keywords", "files", "vague", "agent"] {
        assert_eq!(
            schema["properties"][section]["additionalProperties"], false,
            "{section}"
        );
    }
    assert_eq!(schema["properties"]["mode"]["default"], "rules");
    assert_eq!(schema["properties"]["labels"]["default"]["epic"], "genius");
    assert_eq!(schema["properties"]["size"]["default"]["large_chars"], 3000);
    assert_eq!(
        schema["properties"]["agent"]["properties"]["backend"]["default"],
        "claude"
    );
    // Every key of the config is in the schema, and nothing else.
    let keys: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 10, "{keys:?}");
}
