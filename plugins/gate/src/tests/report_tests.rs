//! Messages and details of failed commands.

use serde_json::json;

use crate::parsers::Parser;
use crate::report::{CommandResult, tail};

fn result() -> CommandResult {
    CommandResult {
        display: "cargo test".into(),
        name: None,
        timeout_text: None,
        exit_code: Some(101),
        signal: None,
        timed_out: false,
        duration_ms: 5,
        tail: String::new(),
        report: None,
        new_failures: None,
    }
}

#[test]
fn tail_keeps_last_lines_of_stdout_then_stderr() {
    assert_eq!(tail("a\nb\nc\n", "x\ny\n", 3), "c\nx\ny");
    assert_eq!(tail("a\nb", "", 5), "a\nb");
    assert_eq!(tail("a\nb", "c", 0), "");
}

#[test]
fn failure_messages_name_command_and_status() {
    let r = result();
    assert_eq!(r.failure_message(), "`cargo test` failed (exit 101)");
    let t = CommandResult {
        timed_out: true,
        exit_code: None,
        signal: Some(9),
        timeout_text: Some("5m".into()),
        ..r.clone()
    };
    assert_eq!(t.failure_message(), "`cargo test` timed out after 5m");
    let named = CommandResult {
        name: Some("tests".into()),
        ..r
    };
    assert_eq!(
        named.failure_message(),
        "tests: `cargo test` failed (exit 101)"
    );
}

#[test]
fn parsed_failures_reach_message_and_detail() {
    let r = CommandResult {
        report: Some(Parser::Cargo.parse(
            "test a::b ... FAILED\n---- a::b stdout ----\nthread 'a::b' panicked at src/x.rs:1:1:\nboom\n\ntest result: FAILED. 3 passed; 1 failed;\n",
            "",
        )),
        ..result()
    };
    assert_eq!(
        r.failure_message(),
        "`cargo test` failed (exit 101): 1 failed, 3 passed: a::b"
    );
    let d = r.failure_json();
    assert_eq!(d["failed_tests"], json!(["a::b"]));
    assert_eq!(
        d["summary"],
        json!("1 failed, 3 passed: a::b\n- a::b: panicked at src/x.rs:1:1:\n    boom")
    );
    assert_eq!(d["exit_code"], json!(101));
    assert_eq!(d["command"], json!("cargo test"));
}
