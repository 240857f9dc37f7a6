//! The parsers on captured-style output of each runner.

use super::*;
use std::fmt::Write as _;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

#[test]
fn detects_runners_from_argv() {
    assert_eq!(
        Parser::detect(&s(&["cargo", "test", "--all"])),
        Some(Parser::Cargo)
    );
    assert_eq!(Parser::detect(&s(&["cargo", "build"])), None);
    assert_eq!(Parser::detect(&s(&["pytest", "-q"])), Some(Parser::Pytest));
    assert_eq!(
        Parser::detect(&s(&["python3", "-m", "pytest"])),
        Some(Parser::Pytest)
    );
    assert_eq!(
        Parser::detect(&s(&["/usr/bin/go", "test", "./..."])),
        Some(Parser::Go)
    );
    assert_eq!(Parser::detect(&s(&["go", "vet"])), None);
    assert_eq!(
        Parser::detect(&s(&["npx", "vitest", "run"])),
        Some(Parser::Jest)
    );
    assert_eq!(Parser::detect(&s(&["npm", "test"])), Some(Parser::Jest));
    assert_eq!(Parser::detect(&s(&["make", "check"])), None);
}

#[test]
fn cargo_lists_failed_tests_reasons_and_counts() {
    let r = Parser::Cargo.parse(include_str!("fixtures/cargo.txt"), "");
    assert_eq!(
        r.failed_names(),
        ["tests::adds_two", "tests::rejects_negative"]
    );
    assert_eq!(
        r.failed[0].reason,
        [
            "panicked at src/lib.rs:21:9:",
            "assertion `left == right` failed",
            "left: 5"
        ]
    );
    assert_eq!(
        r.failed[1].reason,
        ["panicked at src/lib.rs:30:9:", "expected an error for -1"]
    );
    assert_eq!((r.passed, r.failed_count), (Some(2), Some(2)));
    assert!(
        r.headline()
            .starts_with("2 failed, 2 passed: tests::adds_two, tests::rejects_negative"),
        "{}",
        r.headline()
    );
    assert!(
        r.summary()
            .contains("- tests::rejects_negative: panicked at src/lib.rs:30:9:")
    );
}

#[test]
fn cargo_sums_results_of_every_test_binary() {
    let text = "test result: ok. 3 passed; 0 failed; 0 ignored\n\
                test a ... FAILED\n\
                test result: FAILED. 1 passed; 1 failed; 0 ignored\n";
    let r = Parser::Cargo.parse(text, "");
    assert_eq!((r.passed, r.failed_count), (Some(4), Some(1)));
}

#[test]
fn pytest_reads_short_summary_sections_and_counts() {
    let r = Parser::Pytest.parse(include_str!("fixtures/pytest.txt"), "");
    assert_eq!(
        r.failed_names(),
        [
            "tests/test_calc.py::test_add",
            "tests/test_calc.py::TestDiv::test_by_zero"
        ]
    );
    assert_eq!(r.failed[0].reason, ["assert 4 == 5"]);
    // No reason in the summary line: taken from the section's `E` lines.
    assert_eq!(r.failed[1].reason, ["ZeroDivisionError: division by zero"]);
    assert_eq!((r.passed, r.failed_count), (Some(3), Some(2)));
}

#[test]
fn go_lists_tests_subtests_and_counts() {
    let r = Parser::Go.parse(include_str!("fixtures/go.txt"), "");
    assert_eq!(
        r.failed_names(),
        ["TestAdd", "TestTable", "TestTable/negative"]
    );
    assert_eq!(
        r.failed[0].reason,
        ["calc_test.go:12: Add(2, 2) = 5, want 4"]
    );
    assert_eq!(r.failed[2].reason, ["calc_test.go:27: got -3, want 3"]);
    assert_eq!(r.failed_count, Some(2));
}

#[test]
fn go_build_failure_names_the_package_and_the_error() {
    let r = Parser::Go.parse(include_str!("fixtures/go_build.txt"), "");
    assert_eq!(r.failed_names(), ["example.com/demo/calc [build failed]"]);
    assert_eq!(r.failed[0].reason, ["./calc_test.go:9:2: undefined: Sub"]);
}

#[test]
fn jest_reads_sections_and_counts() {
    let r = Parser::Jest.parse(include_str!("fixtures/jest.txt"), "");
    assert_eq!(
        r.failed_names(),
        ["sum › adds negatives", "sum › handles strings"]
    );
    assert_eq!(
        r.failed[0].reason,
        [
            "expect(received).toBe(expected) // Object.is equality",
            "Expected: -3",
            "Received: 3"
        ]
    );
    assert_eq!(r.failed[1].reason, ["TypeError: a.trim is not a function"]);
    assert_eq!((r.passed, r.failed_count), (Some(1), Some(2)));
}

#[test]
fn jest_falls_back_to_cross_marks() {
    let r = Parser::Jest.parse("  ✕ adds negatives (4 ms)\nTests: 1 failed, 1 total\n", "");
    assert_eq!(r.failed_names(), ["adds negatives"]);
}

#[test]
fn vitest_reads_fail_sections_and_counts() {
    let r = Parser::Jest.parse(include_str!("fixtures/vitest.txt"), "");
    assert_eq!(r.failed_names(), ["src/sum.test.ts > sum > adds negatives"]);
    assert_eq!(
        r.failed[0].reason[0],
        "AssertionError: expected 3 to be -3 // Object.is equality"
    );
    assert_eq!((r.passed, r.failed_count), (Some(2), Some(1)));
}

#[test]
fn long_lists_and_lines_are_cut() {
    let mut text = String::new();
    for i in 0..15 {
        let _ = writeln!(text, "test t{i} ... FAILED");
    }
    let _ = write!(text, "---- t0 stdout ----\n{}\n", "x".repeat(500));
    let r = Parser::Cargo.parse(&text, "");
    assert!(r.headline().ends_with("(+5 more)"), "{}", r.headline());
    assert!(r.failed[0].reason[0].chars().count() <= 201);
    assert_eq!(r.summary().lines().count(), 11);
}
