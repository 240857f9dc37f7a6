//! `cargo test`: `test a::b ... FAILED`, the `---- a::b stdout ----` sections of `failures:`,
//! and `test result: FAILED. N passed; M failed; ...` (one per test binary, summed).

use super::{TestReport, add, number_before, push_failed};

pub(super) fn parse(text: &str) -> TestReport {
    let mut report = TestReport::default();
    let mut section: Option<usize> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("test ")
            && let Some(name) = rest.strip_suffix(" ... FAILED")
        {
            push_failed(&mut report.failed, name.trim());
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("test result:") {
            add(&mut report.passed, number_before(rest, "passed"));
            add(&mut report.failed_count, number_before(rest, "failed"));
            section = None;
            continue;
        }
        if let Some(name) = trimmed
            .strip_prefix("---- ")
            .and_then(|r| r.strip_suffix(" stdout ----"))
        {
            section = Some(push_failed(&mut report.failed, name.trim()));
            continue;
        }
        if trimmed == "failures:" {
            section = None;
            continue;
        }
        if let Some(index) = section {
            if trimmed.is_empty() || trimmed.starts_with("note: run with `RUST_BACKTRACE") {
                continue;
            }
            let line = match trimmed.strip_prefix("thread '") {
                Some(rest) => match rest.find("' panicked at ") {
                    Some(at) => format!("panicked at {}", &rest[at + 14..]),
                    None => trimmed.to_string(),
                },
                None => trimmed.to_string(),
            };
            report.failed[index].reason.push(line);
        }
    }
    report
}
