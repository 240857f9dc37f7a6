//! GitHub Actions workflow commands for findings (`engine validate --format github`): one
//! `::error file=F,line=L,col=C::message` or `::warning ...` line each, which GitHub shows as an
//! annotation on the line of the workflow file.

use std::fmt::Write as _;

use engine_workflow::Diagnostic;

use crate::terminal::safe;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `::error`.
    Error,
    /// `::warning`.
    Warning,
}

/// The annotation of one finding. The message is `field: message`; control characters from
/// the workflow are escaped, and GitHub's own escapes (`%`, line breaks; in properties also `:`
/// and `,`) applied. A finding at line 0 (about no place in the file) names only the file.
pub fn annotation(level: Level, finding: &Diagnostic) -> String {
    let command = match level {
        Level::Error => "error",
        Level::Warning => "warning",
    };
    let mut properties = format!("file={}", property(&finding.file));
    if finding.line > 0 {
        let _ = write!(properties, ",line={},col={}", finding.line, finding.col);
    }
    let message = if finding.field.is_empty() {
        finding.message.clone()
    } else {
        format!("{}: {}", finding.field, finding.message)
    };
    format!("::{command} {properties}::{}", data(&message))
}

/// Escapes a message (after the terminal escapes, which leave no line break).
fn data(text: &str) -> String {
    safe(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(file: &str, line: usize, field: &str, message: &str) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line,
            col: 7,
            field: field.into(),
            message: message.into(),
        }
    }

    #[test]
    fn annotations_carry_the_position_and_escape_what_github_reads() {
        assert_eq!(
            annotation(
                Level::Error,
                &finding("wf.yaml", 3, "stages.a.with", "100% wrong")
            ),
            "::error file=wf.yaml,line=3,col=7::stages.a.with: 100%25 wrong"
        );
        assert_eq!(
            annotation(Level::Warning, &finding("a,b:c.yaml", 0, "", "x\ny\x1b")),
            "::warning file=a%2Cb%3Ac.yaml::x\\ny\\x1b"
        );
    }
}
