//! What the loader reports: one [`Diagnostic`] per problem, each naming `file:line:col` and the
//! field, and the crate-internal [`Problem`] they are made from before positions are known.

use std::fmt;

use crate::field_path::FieldPath;
use crate::spans::SpanIndex;

/// One problem found in a workflow file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    /// The workflow file, as the user named it.
    pub file: String,
    /// 1-based line of the offending node (0 when the file could not be read at all).
    pub line: usize,
    /// 1-based column of the offending node (0 when the file could not be read at all).
    pub col: usize,
    /// The field, as a dotted path (`stages.review.needs[0]`); empty for the whole document.
    pub field: String,
    /// What is wrong, in words a person can act on.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a workflow file, in source order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, diagnostic) in self.0.iter().enumerate() {
            if position > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl Diagnostics {
    /// The diagnostics sorted by position (stable), exact duplicates removed.
    pub(crate) fn sorted(mut list: Vec<Diagnostic>) -> Self {
        list.sort_by_key(|d| (d.line, d.col));
        let mut seen = std::collections::HashSet::new();
        list.retain(|d| seen.insert(d.clone()));
        Diagnostics(list)
    }
}

/// Where a [`Problem`] points in the source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Anchor {
    /// The node at this path (its key when the node is a collection or spans several lines).
    Node(FieldPath),
    /// The key of the entry at this path (for "unknown field").
    Key(FieldPath),
    /// An exact position reported by the YAML parser.
    Position { line: usize, col: usize },
}

/// A diagnostic before it has a file name and a position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    /// The field the message is about.
    pub(crate) field: FieldPath,
    /// Where to point.
    pub(crate) anchor: Anchor,
    /// What is wrong.
    pub(crate) message: String,
}

impl Problem {
    /// A problem about the node at `field`.
    pub(crate) fn at(field: FieldPath, message: impl Into<String>) -> Self {
        Self {
            anchor: Anchor::Node(field.clone()),
            field,
            message: message.into(),
        }
    }

    /// A problem about `field`, pointing at the key of the entry `key_path`.
    pub(crate) fn at_key(
        field: FieldPath,
        key_path: FieldPath,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field,
            anchor: Anchor::Key(key_path),
            message: message.into(),
        }
    }

    /// The diagnostic for this problem in `file`, located with `spans`.
    pub(crate) fn locate(&self, file: &str, spans: &SpanIndex) -> Diagnostic {
        let (line, col) = match &self.anchor {
            Anchor::Node(path) => spans.locate(path),
            Anchor::Key(path) => spans.key(path),
            Anchor::Position { line, col } => (*line, *col),
        };
        Diagnostic {
            file: file.to_string(),
            line,
            col,
            field: self.field.to_string(),
            message: self.message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(line: usize, field: &str, message: &str) -> Diagnostic {
        Diagnostic {
            file: "wf.yaml".into(),
            line,
            col: 3,
            field: field.into(),
            message: message.into(),
        }
    }

    #[test]
    fn display_names_file_position_and_field() {
        assert_eq!(
            diagnostic(4, "stages.a.needs[0]", "unknown stage").to_string(),
            "wf.yaml:4:3: stages.a.needs[0]: unknown stage"
        );
        assert_eq!(
            diagnostic(1, "", "missing required field \"name\"").to_string(),
            "wf.yaml:1:3: missing required field \"name\""
        );
    }

    #[test]
    fn diagnostics_are_sorted_deduplicated_and_one_per_line() {
        let all = Diagnostics::sorted(vec![
            diagnostic(9, "b", "second"),
            diagnostic(2, "a", "first"),
            diagnostic(9, "b", "second"),
        ]);
        assert_eq!(
            all.to_string(),
            "wf.yaml:2:3: a: first\nwf.yaml:9:3: b: second"
        );
    }
}
