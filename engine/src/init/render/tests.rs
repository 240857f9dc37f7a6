use super::*;
use crate::init::{BACKENDS, PLACEHOLDER_COMMAND, backend_named};

fn tests_of(commands: &[&str], source: Option<&'static str>) -> TestCommand {
    TestCommand {
        commands: commands
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        source,
        also_found: vec![],
    }
}

fn choices(tests: &TestCommand, backend: Backend) -> Choices<'_> {
    Choices {
        workflow_path: "workflows/engine.yaml",
        tests,
        backend,
        backend_found: true,
        backend_chosen: false,
        test_chosen: false,
    }
}

fn parse(text: &str) -> engine_workflow::LoadedWorkflow {
    engine_workflow::load_str("engine.yaml", std::path::Path::new("."), text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn the_template_renders_for_every_backend_and_parses() {
    let tests = tests_of(&["go test ./..."], Some("go.mod"));
    for backend in BACKENDS {
        let text = render(&choices(&tests, backend)).unwrap();
        let loaded = parse(&text);
        let execute = loaded.spec("execute").unwrap();
        assert_eq!(execute.with["backend"], backend.name, "{text}");
        let review = loaded.spec("review").unwrap();
        assert_eq!(review.with["backend"], backend.name, "{text}");
        assert!(text.contains(&format!("secrets: [{}]", backend.secrets.join(", "))));
        assert!(
            text.contains(&format!("smart: {}", backend.models[1])),
            "{text}"
        );
    }
}

#[test]
fn the_modeline_points_at_the_schema_next_to_the_workflow() {
    let tests = tests_of(&["cargo test"], Some("Cargo.toml"));
    let text = render(&choices(&tests, BACKENDS[0])).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema=./workflow.schema.json\n"),
        "{text}"
    );
    assert!(text.contains("engine run workflows/engine.yaml --task"));
    assert!(!text.contains("default.yaml"));
}

#[test]
fn commands_and_their_programs_land_in_the_test_stage() {
    let tests = tests_of(&["npm test", "npx eslint \"src/**\""], Some("package.json"));
    let text = render(&choices(&tests, BACKENDS[1])).unwrap();
    let loaded = parse(&text);
    let test = loaded.spec("test").unwrap();
    assert_eq!(
        test.with["commands"],
        serde_json::json!(["npm test", "npx eslint \"src/**\""])
    );
    let exec: Vec<&str> = test.permissions.exec.iter().map(String::as_str).collect();
    assert_eq!(exec, ["npm", "npx"]);
    assert!(text.contains("test command from package.json."), "{text}");
}

#[test]
fn the_placeholder_survives_yaml_and_says_what_to_do() {
    let tests = tests_of(&[PLACEHOLDER_COMMAND], None);
    let mut c = choices(&tests, backend_named("claude").unwrap());
    c.backend_found = false;
    let text = render(&c).unwrap();
    let loaded = parse(&text);
    let test = loaded.spec("test").unwrap();
    assert_eq!(test.with["commands"][0], PLACEHOLDER_COMMAND);
    assert!(text.contains("replace this placeholder"), "{text}");
    assert!(
        text.contains("no agent CLI on PATH, claude assumed"),
        "{text}"
    );
}

#[test]
fn also_found_build_files_are_mentioned() {
    let mut tests = tests_of(&["cargo test"], Some("Cargo.toml"));
    tests.also_found = vec!["Makefile"];
    let text = render(&choices(&tests, BACKENDS[0])).unwrap();
    assert!(
        text.contains("from Cargo.toml (also found: Makefile;"),
        "{text}"
    );
}

#[test]
fn a_missing_line_is_an_error_not_a_silent_skip() {
    let mut text = "a\nb\n".to_string();
    assert!(replace_line(&mut text, "c", "x").is_err());
    let mut twice = "a\na\n".to_string();
    assert!(replace_line(&mut twice, "a", "x").is_err());
    replace_line(&mut text, "b", "x\ny").unwrap();
    assert_eq!(text, "a\nx\ny\n");
}

#[test]
fn a_test_program_named_like_a_yaml_keyword_stays_a_string() {
    let tests = tests_of(&["true", "null --x", "make check"], None);
    let text = render(&choices(&tests, BACKENDS[0])).unwrap();
    assert!(text.contains(r#"exec: ["true", "null", make] }"#), "{text}");
    let loaded = parse(&text);
    let test = loaded.spec("test").unwrap();
    assert_eq!(test.permissions.exec, vec!["true", "null", "make"]);
}
