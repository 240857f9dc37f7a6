//! A block scalar (`|`, `>`) that runs to the end of the text. `yaml-rust2` reads one as if the
//! text ended with a line break (`a: |\n  x` gives `"x\n"`, an empty `a: |\n` gives `"\n"`);
//! YAML, and `serde_yaml` which read workflows before, do not (`"x"`, `""`). This corrects the
//! value of the last node of a document when it is such a scalar.

use crate::spans::Position;

/// Chomping of a block scalar: what happens to its final line breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chomping {
    /// `|-`: none kept.
    Strip,
    /// `|`: one kept.
    Clip,
    /// `|+`: all kept.
    Keep,
}

/// Corrects `value`, the value of the block scalar read at `at` (the parser's position for
/// it: its indicator when it is empty, else its first character), which is the last node of
/// `source`. `key_column` is the 0-based column of its key, when it is a mapping value; else
/// the header line's indentation is taken for its parent's.
pub(crate) fn correct(source: &str, at: Position, key_column: Option<usize>, value: &mut String) {
    let lines: Vec<&str> = source
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .collect();
    let Some((header_index, indicator)) = header(&lines, at) else {
        return;
    };
    let header_line = lines[header_index];
    let chomping = if indicator.contains('+') {
        Chomping::Keep
    } else if indicator.contains('-') {
        Chomping::Strip
    } else {
        Chomping::Clip
    };
    // The lines after the header's (none: the text ends on the header line, read alike).
    let after = &lines[header_index + 1..];
    if chomping == Chomping::Strip || after.is_empty() {
        return;
    }
    let parent_indent = key_column.unwrap_or_else(|| leading_spaces(header_line));
    let content = after.iter().position(|line| !is_blank(line));
    let Some(first) = content else {
        // No content: `""`, but for `|+` the line breaks after the header's.
        if chomping == Chomping::Clip || after.len() == 1 {
            value.clear();
        }
        return;
    };
    let explicit = indicator.chars().find_map(|c| c.to_digit(10));
    let indent = match explicit {
        Some(digit) => parent_indent + digit as usize,
        None => leading_spaces(after[first]),
    };
    // A line less indented than the content ends the scalar (a comment): then it does not run
    // to the end; neither does it when the text ends with a line break.
    let ends_scalar = |line: &&str| !is_blank(line) && leading_spaces(line) < indent;
    let Some(last) = after.last() else {
        return;
    };
    let ends_with_break = source.ends_with(['\n', '\r']);
    // Content is indented more than its parent; a line that is not is a comment after it.
    if indent <= parent_indent || after[first..].iter().any(ends_scalar) || ends_with_break {
        return;
    }
    if last.chars().count() >= indent.max(1) && value.ends_with('\n') {
        value.pop();
    }
}

/// The line of the block scalar's header and its indicators after `|`/`>` (`+`, `-`, a digit).
/// `at` is on the header (an empty scalar) or on the first content line, below the header and
/// any blank lines.
fn header(lines: &[&str], (line, col): Position) -> Option<(usize, String)> {
    let index = line.checked_sub(1)?;
    let at_indicator = lines
        .get(index)
        .and_then(|text| text.chars().nth(col.checked_sub(1)?))
        .is_some_and(|c| c == '|' || c == '>');
    let header_index = if at_indicator {
        index
    } else {
        (0..index).rev().find(|&i| !is_blank(lines[i]))?
    };
    let indicator = indicator(lines[header_index])?;
    Some((header_index, indicator))
}

/// The indicators of the block scalar header on `line`: the `|` or `>` followed only by
/// chomping and indentation indicators, then nothing or a comment, and not inside a comment.
fn indicator(line: &str) -> Option<String> {
    let chars: Vec<char> = line.chars().collect();
    let comment_start = (1..chars.len())
        .find(|&i| chars[i] == '#' && chars[i - 1].is_whitespace())
        .unwrap_or(chars.len());
    (0..comment_start).rev().find_map(|i| {
        if chars[i] != '|' && chars[i] != '>' {
            return None;
        }
        if i > 0 && !chars[i - 1].is_whitespace() && !matches!(chars[i - 1], ':' | '-' | '?') {
            return None;
        }
        let rest: String = chars[i + 1..comment_start].iter().collect();
        let indicators = rest.trim_end();
        let valid = indicators.chars().count() <= 2
            && indicators
                .chars()
                .all(|c| c == '+' || c == '-' || c.is_ascii_digit());
        valid.then(|| indicators.to_string())
    })
}

fn leading_spaces(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ').count()
}

fn is_blank(line: &str) -> bool {
    line.chars().all(|c| c == ' ' || c == '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `value` corrected for `source`, whose block scalar the parser put at `at`.
    fn corrected(source: &str, at: Position, value: &str) -> String {
        let mut value = value.to_string();
        let key_column = source.starts_with("a:").then_some(0);
        correct(source, at, key_column, &mut value);
        value
    }

    #[test]
    fn the_last_line_without_a_break_has_none() {
        assert_eq!(corrected("a: |\n  x", (2, 3), "x\n"), "x");
        assert_eq!(corrected("a: >\n  x\n  y", (2, 3), "x y\n"), "x y");
        assert_eq!(corrected("a: |+ # keep\n\n  x", (3, 3), "\nx\n"), "\nx");
        assert_eq!(corrected("a: |\n  x\n  ", (2, 3), "x\n\n"), "x\n");
        assert_eq!(corrected("a: |\n  x\n    ", (2, 3), "x\n  \n"), "x\n  ");
        let commented = "a: |\n  x\n  # in it";
        assert_eq!(corrected(commented, (2, 3), "x\n# in it\n"), "x\n# in it");
        assert_eq!(corrected("- |2\n    x", (2, 3), "  x\n"), "  x");
        assert_eq!(corrected("a:\n |\n x", (3, 2), "x\n"), "x");
    }

    #[test]
    fn a_text_ending_with_a_break_or_a_comment_is_read_alike() {
        assert_eq!(corrected("a: |\n  x\n", (2, 3), "x\n"), "x\n");
        assert_eq!(corrected("a: |\n  x\n# end", (2, 3), "x\n"), "x\n");
        assert_eq!(corrected("a: |\n  x\n ", (2, 3), "x\n"), "x\n");
        assert_eq!(corrected("a: |-\n  x", (2, 3), "x"), "x");
        assert_eq!(corrected("a: |\n  x\r", (2, 3), "x\n"), "x\n");
        assert_eq!(corrected("a: \"x|\"\n  x", (2, 3), "x\n"), "x\n");
    }

    #[test]
    fn a_comment_after_an_empty_block_scalar_is_not_its_content() {
        assert_eq!(corrected("a: |+\n\n# c", (1, 4), "\n"), "\n");
    }

    #[test]
    fn an_empty_block_scalar_is_empty() {
        assert_eq!(corrected("a: |\n", (1, 4), "\n"), "");
        assert_eq!(corrected("a: |\n\n\n", (1, 4), "\n"), "");
        assert_eq!(corrected("a: |+\n", (1, 4), "\n"), "");
        assert_eq!(corrected("a: |+\n\n", (1, 4), "\n"), "\n");
    }
}
