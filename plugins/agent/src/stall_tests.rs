use super::*;
use serde_json::json;

fn start(id: &str, name: &str, input: &Value) -> Event {
    Event::ToolStarted(ToolCall {
        id: id.into(),
        name: name.into(),
        input: input.to_string(),
    })
}

fn finish(id: &str, ok: bool, output: &str) -> Event {
    Event::ToolFinished(ToolResult {
        id: id.into(),
        name: None,
        ok,
        output: output.into(),
    })
}

/// Feeds `events`; returns the index of the event that fired and the stall.
fn run(detector: &mut StallDetector, events: &[Event]) -> Option<(usize, Stall)> {
    events
        .iter()
        .enumerate()
        .find_map(|(i, e)| detector.observe(e).map(|s| (i, s)))
}

fn detector() -> StallDetector {
    StallDetector::new(StallConfig::default())
}

fn call(id: usize, name: &str, input: &Value, ok: bool, output: &str) -> [Event; 2] {
    let id = format!("t{id}");
    [start(&id, name, input), finish(&id, ok, output)]
}

#[test]
fn three_consecutive_failing_edits_stall() {
    let mut events = Vec::new();
    for i in 0..3 {
        events.extend(call(
            i,
            "Edit",
            &json!({"file_path": format!("f{i}")}),
            false,
            "old_string not found",
        ));
        events.extend(call(100 + i, "Read", &json!({"file_path": "x"}), true, ""));
    }
    let (index, stall) = run(&mut detector(), &events).unwrap();
    assert_eq!(stall.kind, StallKind::FailingEdits);
    assert_eq!(index, 9, "fires on the third failing edit's result");
    assert!(stall.description.contains("old_string not found"));
}

#[test]
fn a_successful_edit_resets_failing_edits() {
    let mut events = Vec::new();
    events.extend(call(0, "Edit", &json!({"a": 0}), false, "no"));
    events.extend(call(1, "Edit", &json!({"a": 1}), false, "no"));
    events.extend(call(2, "Write", &json!({"a": 2}), true, "ok"));
    events.extend(call(3, "Edit", &json!({"a": 3}), false, "no"));
    events.extend(call(4, "MultiEdit", &json!({"a": 4}), false, "no"));
    assert!(run(&mut detector(), &events).is_none());
}

#[test]
fn same_command_same_failure_three_times_stalls() {
    let mut events = Vec::new();
    for i in 0..3 {
        // Timings differ; the failure is the same.
        let output = format!("test x ... FAILED\nfinished in 0.{i}3s");
        events.extend(call(
            i,
            "Bash",
            &json!({"command": "cargo test"}),
            false,
            &output,
        ));
        events.extend(call(10 + i, "Edit", &json!({"n": i}), true, ""));
    }
    let (_, stall) = run(&mut detector(), &events).unwrap();
    assert_eq!(stall.kind, StallKind::SameCommandFailure);
    assert!(stall.description.contains("`cargo test` failed 3 times"));
}

#[test]
fn a_different_failure_is_not_the_same_command_failure() {
    let mut events = Vec::new();
    for i in 0..3 {
        let output = format!("error in test_{}", ["a", "b", "c"][i]);
        events.extend(call(
            i,
            "Bash",
            &json!({"command": "cargo test"}),
            false,
            &output,
        ));
    }
    assert!(run(&mut detector(), &events).is_none());
}

#[test]
fn the_same_call_four_times_in_twelve_stalls() {
    let mut events = Vec::new();
    for i in 0..4 {
        events.extend(call(
            i,
            "Read",
            &json!({"file_path": "src/lib.rs"}),
            true,
            "...",
        ));
        events.extend(call(
            10 + i,
            "Grep",
            &json!({"pattern": format!("p{i}")}),
            true,
            "",
        ));
    }
    let (index, stall) = run(&mut detector(), &events).unwrap();
    assert_eq!(stall.kind, StallKind::RepeatedCall);
    assert_eq!(index, 12, "fires when the fourth identical call starts");
    assert!(
        stall.description.contains("Read call 4 times"),
        "{}",
        stall.description
    );
}

#[test]
fn repeated_calls_spread_wider_than_the_window_are_fine() {
    let mut events = Vec::new();
    for i in 0..4 {
        events.extend(call(
            i,
            "Read",
            &json!({"file_path": "src/lib.rs"}),
            true,
            "",
        ));
        for j in 0..3 {
            let n = 100 + i * 10 + j;
            events.extend(call(n, "Grep", &json!({"pattern": n}), true, ""));
        }
    }
    assert!(run(&mut detector(), &events).is_none());
}

#[test]
fn a_file_change_resets_the_repeated_call_window() {
    let mut events = Vec::new();
    for i in 0..3 {
        events.extend(call(
            i,
            "Bash",
            &json!({"command": "cargo check"}),
            true,
            "",
        ));
    }
    events.extend(call(50, "Edit", &json!({"file_path": "a"}), true, ""));
    for i in 3..6 {
        events.extend(call(
            i,
            "Bash",
            &json!({"command": "cargo check"}),
            true,
            "",
        ));
    }
    assert!(run(&mut detector(), &events).is_none());
}

#[test]
fn polling_commands_and_tools_are_exempt() {
    let mut events = Vec::new();
    for i in 0..6 {
        events.extend(call(
            i,
            "Bash",
            &json!({"command": "sleep 30 && gh run view 42"}),
            true,
            "",
        ));
        events.extend(call(
            10 + i,
            "Bash",
            &json!({"command": "gh run watch 42"}),
            false,
            "still running",
        ));
        events.extend(call(
            20 + i,
            "BashOutput",
            &json!({"bash_id": "b1"}),
            true,
            "",
        ));
    }
    assert!(run(&mut detector(), &events).is_none());
}

#[test]
fn exempt_matches_whole_words() {
    assert!(starts_with_words("gh run watch 12", "gh run watch"));
    assert!(!starts_with_words("gh run watcher", "gh run watch"));
    assert!(!starts_with_words("sleepy", "sleep"));
    assert!(!starts_with_words("anything", " "));
}

#[test]
fn argv_commands_drop_the_shell_wrapper() {
    assert_eq!(
        command_text(&json!({"command": ["bash", "-lc", "cargo test"]})).as_deref(),
        Some("cargo test")
    );
    assert_eq!(
        command_text(&json!({"command": ["cargo", "test"]})).as_deref(),
        Some("cargo test")
    );
    assert_eq!(command_text(&json!({"file": "x"})), None);
}

#[test]
fn rules_with_limit_zero_are_off() {
    let config = StallConfig {
        max_failing_edits: 0,
        max_same_command_failures: 0,
        max_repeated_calls: 0,
        ..StallConfig::default()
    };
    let mut detector = StallDetector::new(config);
    let mut events = Vec::new();
    for i in 0..8 {
        events.extend(call(i, "Edit", &json!({"same": true}), false, "no"));
        events.extend(call(
            20 + i,
            "Bash",
            &json!({"command": "make"}),
            false,
            "boom",
        ));
    }
    assert!(run(&mut detector, &events).is_none());
}

#[test]
fn custom_exempt_list_replaces_the_default() {
    let config = StallConfig {
        exempt: vec!["make poll".into()],
        ..StallConfig::default()
    };
    let mut events = Vec::new();
    for i in 0..4 {
        events.extend(call(i, "Bash", &json!({"command": "make poll"}), true, ""));
    }
    assert!(run(&mut StallDetector::new(config.clone()), &events).is_none());
    let mut sleeps = Vec::new();
    for i in 0..4 {
        sleeps.extend(call(i, "Bash", &json!({"command": "sleep 5"}), true, ""));
    }
    assert!(run(&mut StallDetector::new(config), &sleeps).is_some());
}

#[test]
fn output_normalization_folds_numbers_and_whitespace() {
    assert_eq!(
        normalize_output("took 12.5s\n  pid 4411"),
        "took #.#s pid #"
    );
}
