//! Config parsing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::*;

fn config(v: Value) -> GateConfig {
    serde_json::from_value(v).unwrap()
}

#[test]
fn strings_split_like_a_shell_and_argv_stays() {
    let c =
        config(json!({"commands": ["cargo test -- --nocapture 'a b'", ["sh", "-c", "exit 3"]]}));
    let prepared = c.prepare().unwrap();
    assert_eq!(
        prepared[0].argv,
        ["cargo", "test", "--", "--nocapture", "a b"]
    );
    assert_eq!(prepared[0].display, "cargo test -- --nocapture 'a b'");
    assert_eq!(prepared[1].argv, ["sh", "-c", "exit 3"]);
    assert_eq!(prepared[1].display, "sh -c 'exit 3'");
    assert!(c.stop_on_failure);
    assert_eq!(c.output_tail_lines, 40);
}

#[test]
fn unsplittable_string_names_the_command() {
    let c = config(json!({"commands": ["echo 'oops"]}));
    let err = c.prepare().unwrap_err();
    assert!(err.contains("echo 'oops"), "{err}");
}

#[test]
fn empty_commands_are_rejected() {
    assert!(config(json!({"commands": []})).prepare().is_err());
    assert!(config(json!({"commands": ["  "]})).prepare().is_err());
    assert!(config(json!({"commands": [[]]})).prepare().is_err());
}

#[test]
fn unknown_keys_are_rejected() {
    let r: Result<GateConfig, _> = serde_json::from_value(json!({"commands": ["x"], "comands": 1}));
    assert!(r.is_err());
}

#[test]
fn timeout_parses_or_explains() {
    let c = config(json!({"commands": ["x"], "timeout": "5m"}));
    assert_eq!(c.timeout().unwrap(), Some(Duration::from_mins(5)));
    let c = config(json!({"commands": ["x"], "timeout": "soon"}));
    assert!(c.timeout().unwrap_err().contains("soon"));
}

#[test]
fn mappings_carry_name_timeout_and_parser() {
    let c = config(json!({
        "commands": [
            {"run": "cargo test", "timeout": "10m", "name": "tests"},
            {"run": ["make", "check"], "parser": "pytest"},
            {"run": "cargo test", "parser": "none"},
            "go test ./..."
        ],
        "timeout": "1m",
        "baseline": true
    }));
    assert!(c.baseline);
    let p = c.prepare().unwrap();
    assert_eq!(p[0].argv, ["cargo", "test"]);
    assert_eq!(p[0].name.as_deref(), Some("tests"));
    assert_eq!(p[0].timeout, Some(Duration::from_mins(10)));
    assert_eq!(p[0].timeout_text.as_deref(), Some("10m"));
    assert_eq!(p[0].parser, Some(crate::parsers::Parser::Cargo));
    assert_eq!(p[1].timeout, Some(Duration::from_mins(1)));
    assert_eq!(p[1].timeout_text.as_deref(), Some("1m"));
    assert_eq!(p[1].parser, Some(crate::parsers::Parser::Pytest));
    assert_eq!(p[2].parser, None);
    assert_eq!(p[3].parser, Some(crate::parsers::Parser::Go));
    assert_eq!(p[3].name, None);
}

#[test]
fn bad_mappings_are_rejected() {
    let r: Result<GateConfig, _> =
        serde_json::from_value(json!({"commands": [{"run": "x", "parser": "maven"}]}));
    assert!(r.is_err());
    let r: Result<GateConfig, _> =
        serde_json::from_value(json!({"commands": [{"run": "x", "tiemout": "1m"}]}));
    assert!(r.is_err());
    let c = config(json!({"commands": [{"run": "x", "timeout": "later"}]}));
    assert!(c.prepare().unwrap_err().contains("later"));
    assert!(!config(json!({"commands": ["x"]})).baseline);
}
