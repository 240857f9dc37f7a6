//! The end of a failed attempt's output, shown under its failure in the terminal progress and
//! in `engine show`: what a failing test printed (its assertion message) without opening a log.

use std::path::Path;

use engine_core::Failure;

/// Lines of a failed attempt's output shown under its failure.
pub const FAILURE_TAIL_LINES: usize = 20;

/// The last `n` lines of the output the failure names: the failing command's output that a
/// stage put in its failure's `detail.tail` (the gate's stdout then stderr), else, when `log`
/// is given, the last lines the attempt's programs printed (its attempt log). Trailing blank
/// lines are left out.
pub fn failure_tail(failure: &Failure, log: Option<&Path>, n: usize) -> Vec<String> {
    if let Some(tail) = failure.detail.get("tail").and_then(|t| t.as_str()) {
        let lines: Vec<&str> = tail.lines().collect();
        let end = lines
            .iter()
            .rposition(|l| !l.trim().is_empty())
            .map_or(0, |i| i + 1);
        let lines = &lines[..end];
        return lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| (*l).to_string())
            .collect();
    }
    log.map(|path| super::read::output_tail(path, n))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(detail: serde_json::Value) -> Failure {
        Failure {
            kind: engine_core::FailureKind::Fatal,
            message: "`sh t.sh` failed (exit 1)".into(),
            detail,
            retry_at_ms: None,
        }
    }

    #[test]
    fn the_detail_tail_comes_first_and_is_cut_to_its_last_lines() {
        let f = failure(serde_json::json!({"tail": "a\nb\nassertion failed: 1 == 2\n\n"}));
        assert_eq!(failure_tail(&f, None, 2), ["b", "assertion failed: 1 == 2"]);
        assert!(failure_tail(&failure(serde_json::Value::Null), None, 2).is_empty());
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("s.1.log");
        std::fs::write(
            &log,
            "2026-01-02T03:04:05Z EXEC  $ x\n2026-01-02T03:04:05Z OUT   printed\n",
        )
        .unwrap();
        let f = failure(serde_json::Value::Null);
        assert_eq!(failure_tail(&f, Some(&log), 5), ["printed"]);
    }
}
