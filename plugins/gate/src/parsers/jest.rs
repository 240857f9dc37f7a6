//! jest and vitest: `● Suite › name` failure sections (jest), `FAIL  file > suite > name`
//! sections (vitest), `✕ name` / `× name` result lines, and the `Tests: N failed, M passed`
//! line (`Tests  N failed | M passed (T)` in vitest).

use super::{TestReport, number_before, push_failed};

pub(super) fn parse(text: &str) -> TestReport {
    let mut report = TestReport::default();
    let mut marked: Vec<String> = Vec::new();
    let mut section: Option<usize> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("● ") {
            section = Some(push_failed(&mut report.failed, name.trim()));
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("FAIL ")
            && rest.contains(" > ")
        {
            section = Some(push_failed(&mut report.failed, rest.trim()));
            continue;
        }
        let mark = trimmed
            .strip_prefix("✕ ")
            .or_else(|| trimmed.strip_prefix("× "))
            .or_else(|| trimmed.strip_prefix("✗ "));
        if let Some(name) = mark {
            marked.push(strip_duration(name).to_string());
            section = None;
            continue;
        }
        let counts = trimmed
            .strip_prefix("Tests:")
            .or_else(|| trimmed.strip_prefix("Tests "));
        if let Some(rest) = counts {
            report.passed = number_before(rest, "passed");
            report.failed_count = number_before(rest, "failed");
            section = None;
            continue;
        }
        if let Some(index) = section {
            if trimmed.starts_with("at ") || trimmed.starts_with('❯') {
                section = None;
            } else if !trimmed.is_empty() && report.failed[index].reason.len() < 8 {
                report.failed[index].reason.push(trimmed.to_string());
            }
        }
    }
    if report.failed.is_empty() {
        for name in marked {
            push_failed(&mut report.failed, &name);
        }
    }
    report
}

/// `adds (5 ms)` → `adds`; `adds 3ms` → `adds`.
fn strip_duration(name: &str) -> &str {
    let name = name.trim();
    if let Some(open) = name.rfind(" (")
        && name.ends_with(" ms)")
    {
        return &name[..open];
    }
    match name.rsplit_once(' ') {
        Some((head, last))
            if last.ends_with("ms") && last.trim_end_matches("ms").parse::<u64>().is_ok() =>
        {
            head
        }
        _ => name,
    }
}
