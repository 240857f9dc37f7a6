//! Readable comparisons of whole texts: a failure shows a line diff, not two escaped strings.

/// Asserts `actual == expected`; on a mismatch fails with `what` and a line diff (`-` expected,
/// `+` actual).
#[track_caller]
pub fn assert_text_eq(actual: &str, expected: &str, what: &str) {
    assert!(
        actual == expected,
        "{what} differs (- expected, + actual):\n{}",
        line_diff(expected, actual)
    );
}

/// A line diff of `old` and `new`: common lines prefixed `  `, removed `- `, added `+ `.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    // Longest common subsequence table, from the ends.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let mut line = |mark: &str, text: &str| {
        out.push_str(mark);
        out.push_str(text.strip_suffix('\n').unwrap_or(text));
        if !text.ends_with('\n') {
            out.push_str("⏎ (no newline)");
        }
        out.push('\n');
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            line("  ", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            line("- ", a[i]);
            i += 1;
        } else {
            line("+ ", b[j]);
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_marks_removed_and_added_lines() {
        assert_eq!(line_diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n- b\n+ x\n  c\n");
        assert_eq!(line_diff("a", "a\n"), "- a⏎ (no newline)\n+ a\n");
    }
}
