use super::*;

const GOOD: &str = "\
name: web
description: Web features
prompt: Use the design system.
stories:
  - id: LOGIN-1
    title: Login form
    acceptance_criteria:
      - The form posts to /login
      - Errors are shown inline
  - id: LOGIN-2
    title: Logout
    depends_on: [LOGIN-1]
gates:
  - pattern: \"*.rs\"
    command: cargo test
  - pattern: docs/**
    command: [sh, -c, \"make docs\"]
    name: docs
";

fn errors(source: &str) -> String {
    load_skill_str("skills/web.yaml", Some("web"), source)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_good_skill_loads() {
    let skill = load_skill_str("skills/web.yaml", Some("web"), GOOD).unwrap();
    assert_eq!(skill.name, "web");
    assert_eq!(skill.stories.len(), 2);
    assert_eq!(skill.stories[0].acceptance_criteria.len(), 2);
    assert_eq!(skill.story("LOGIN-2").unwrap().depends_on, vec!["LOGIN-1"]);
    assert_eq!(skill.gates[1].name.as_deref(), Some("docs"));
    assert_eq!(
        skill.gates[1].command,
        serde_json::json!(["sh", "-c", "make docs"])
    );
}

#[test]
fn schema_errors_name_line_and_field() {
    let text = errors("name: web\nstories:\n  - id: login-1\n    title: x\n    acceptance: []\n");
    assert!(
        text.contains("skills/web.yaml:3:9: stories[0].id: \"login-1\" does not match"),
        "{text}"
    );
    assert!(
        text.contains("skills/web.yaml:5:5: stories[0]: unknown field \"acceptance\""),
        "{text}"
    );
    let text = errors("name: web\ngates:\n  - pattern: \"*.rs\"\n");
    assert!(
        text.contains("skills/web.yaml:3:12: gates[0]: missing required field \"command\""),
        "{text}"
    );
}

#[test]
fn semantic_errors_name_line_and_field() {
    let text = errors(
        "name: other\nstories:\n  - id: A-1\n    title: a\n    depends_on: [A-2]\n  - id: A-2\n    title: b\n    depends_on: [A-1, B-9]\n  - id: A-3\n    title: c\n",
    );
    assert!(
        text.contains("skills/web.yaml:1:7: name: the skill in `web.yaml` must be named \"web\""),
        "{text}"
    );
    assert!(
        text.contains(":8:23: stories[1].depends_on[1]: unknown story \"B-9\""),
        "{text}"
    );
    assert!(
        text.contains("dependency cycle: A-1 -> A-2 -> A-1"),
        "{text}"
    );
}

#[test]
fn duplicate_story_ids_are_located() {
    let text =
        errors("name: web\nstories:\n  - id: A-1\n    title: a\n  - id: A-1\n    title: b\n");
    assert!(
        text.contains(":5:9: stories[1].id: duplicate story id \"A-1\" (also story 1"),
        "{text}"
    );
}

#[test]
fn broken_yaml_and_non_mappings_are_located() {
    assert!(errors("name: [web\n").starts_with("skills/web.yaml:"));
    let text = errors("- a\n");
    assert!(text.contains("a skill must be a YAML mapping"), "{text}");
    let text = errors("name: web\ngates:\n  - pattern: x\n    command: \"  \"\n");
    assert!(
        text.contains(":4:14: gates[0].command: names no program"),
        "{text}"
    );
}

#[test]
fn the_schema_compiles_and_describes_every_property() {
    assert!(compiled().is_ok());
    let doc: Value = serde_json::from_str(skill_schema_json()).unwrap();
    for (name, prop) in doc["properties"].as_object().unwrap() {
        assert!(prop.get("description").is_some(), "{name}");
    }
}
