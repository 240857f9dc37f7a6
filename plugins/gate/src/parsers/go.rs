//! go test: `--- FAIL: TestX (0.00s)` (subtests indented), the indented lines after it (the
//! `t.Error` output), and `FAIL\tpkg` lines; a package that failed without a failed test
//! (e.g. `[build failed]`) is listed itself.

use super::{TestReport, push_failed};

pub(super) fn parse(text: &str) -> TestReport {
    let mut report = TestReport::default();
    let mut current: Option<usize> = None;
    let mut failed_tests = 0u64;
    let mut passed = 0u64;
    let mut packages: Vec<String> = Vec::new();
    let mut build_errors: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("--- FAIL: ") {
            let name = rest.split(" (").next().unwrap_or(rest).trim();
            current = Some(push_failed(&mut report.failed, name));
            if !name.contains('/') {
                failed_tests += 1;
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("--- PASS: ") {
            if !rest.contains('/') {
                passed += 1;
            }
            current = None;
            continue;
        }
        if let Some(rest) = trimmed
            .strip_prefix("FAIL\t")
            .or_else(|| trimmed.strip_prefix("FAIL "))
        {
            let pkg = rest.split('\t').next().unwrap_or(rest).trim();
            if !pkg.is_empty() {
                packages.push(rest.trim().replace('\t', " "));
            }
            current = None;
            continue;
        }
        if let Some(index) = current {
            if line.starts_with("    ") || line.starts_with('\t') {
                report.failed[index].reason.push(trimmed.to_string());
            } else {
                current = None;
            }
            continue;
        }
        if (trimmed.starts_with("./") || trimmed.contains(".go:")) && build_errors.len() < 3 {
            build_errors.push(trimmed.to_string());
        }
    }
    if report.failed.is_empty() {
        for pkg in packages {
            let index = push_failed(&mut report.failed, &pkg);
            if pkg.contains("[build failed]") || pkg.contains("[setup failed]") {
                report.failed[index].reason.clone_from(&build_errors);
            }
        }
    }
    if failed_tests > 0 {
        report.failed_count = Some(failed_tests);
    }
    if passed > 0 {
        report.passed = Some(passed);
    }
    report
}
