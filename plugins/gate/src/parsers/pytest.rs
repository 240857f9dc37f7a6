//! pytest: `FAILED path::test - reason` / `ERROR path - reason` in the short test summary,
//! `path::test FAILED` in verbose mode, `E   ...` lines of the failure sections, and the final
//! `N failed, M passed in 0.1s` line.

use super::{TestReport, number_before, push_failed};

pub(super) fn parse(text: &str) -> TestReport {
    let mut report = TestReport::default();
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let summary = trimmed
            .strip_prefix("FAILED ")
            .or_else(|| trimmed.strip_prefix("ERROR "));
        if let Some(rest) = summary {
            let (name, reason) = match rest.split_once(" - ") {
                Some((name, reason)) => (name.trim(), Some(reason.trim())),
                None => (rest.trim(), None),
            };
            let index = push_failed(&mut report.failed, name);
            if let Some(reason) = reason
                && report.failed[index].reason.is_empty()
            {
                report.failed[index].reason.push(reason.to_string());
            }
            continue;
        }
        if let Some(name) = trimmed.strip_suffix(" FAILED").filter(|n| n.contains("::")) {
            let name = name.split_whitespace().next().unwrap_or(name);
            push_failed(&mut report.failed, name);
            continue;
        }
        if trimmed.starts_with('_') && trimmed.ends_with('_') {
            let name = trimmed.trim_matches('_').trim();
            if !name.is_empty() {
                sections.push((name.to_string(), Vec::new()));
            }
            continue;
        }
        if let Some(reason) = line.strip_prefix("E ")
            && let Some((_, lines)) = sections.last_mut()
        {
            lines.push(reason.trim().to_string());
            continue;
        }
        if trimmed.starts_with('=') && trimmed.ends_with('=') && trimmed.contains(" in ") {
            report.passed = number_before(trimmed, "passed").or(report.passed);
            let failed = number_before(trimmed, "failed");
            let errors = number_before(trimmed, "error");
            if failed.is_some() || errors.is_some() {
                report.failed_count = Some(failed.unwrap_or(0) + errors.unwrap_or(0));
            }
        }
    }
    // Reasons from the `E` lines of a test's section when the summary gave none.
    for test in &mut report.failed {
        if !test.reason.is_empty() {
            continue;
        }
        let short = test.name.rsplit("::").next().unwrap_or(&test.name);
        let dotted = test.name.split("::").skip(1).collect::<Vec<_>>().join(".");
        if let Some((_, lines)) = sections.iter().find(|(s, _)| s == short || *s == dotted) {
            test.reason = lines.clone();
        }
    }
    report
}
