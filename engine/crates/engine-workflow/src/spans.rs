//! Source positions of every node of a workflow document, keyed by JSON pointer, recorded while
//! the YAML is read (`yaml.rs`). A node reached through an alias is at the alias. Lookups of a
//! path that is not in the document use the nearest node above it; the document itself is at
//! line 1, column 1.

use std::collections::HashMap;

use crate::field_path::FieldPath;

/// A 1-based (line, column) pair.
pub(crate) type Position = (usize, usize);

/// The position of the document's start, used when nothing better is known.
const DOCUMENT_START: Position = (1, 1);

#[derive(Debug, Clone, Copy)]
struct NodeSpan {
    value: Position,
    key: Option<Position>,
    collection: bool,
}

/// Positions of nodes by JSON pointer.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpanIndex {
    nodes: HashMap<String, NodeSpan>,
}

impl SpanIndex {
    /// Records the node at `pointer`: where its value starts, where its key is (a mapping
    /// value) and whether it is a mapping or a list. The document itself (pointer `""`) is
    /// always at its start, not at its first key.
    pub(crate) fn insert(
        &mut self,
        pointer: String,
        value: Position,
        key: Option<Position>,
        collection: bool,
    ) {
        let value = if pointer.is_empty() {
            DOCUMENT_START
        } else {
            value
        };
        self.nodes.insert(
            pointer,
            NodeSpan {
                value,
                key,
                collection,
            },
        );
    }

    /// The nearest indexed node at `path` or above it.
    fn nearest(&self, path: &FieldPath) -> Option<(NodeSpan, bool)> {
        let mut current = Some(path.clone());
        let mut exact = true;
        while let Some(candidate) = current {
            if let Some(span) = self.nodes.get(&candidate.pointer()) {
                return Some((*span, exact));
            }
            exact = false;
            current = candidate.parent();
        }
        None
    }

    /// Where to point for the node at `path`: its key when it has one and is a collection or
    /// starts on another line than its key (an empty value), else the value itself. Unknown
    /// paths use the nearest indexed ancestor.
    pub(crate) fn locate(&self, path: &FieldPath) -> Position {
        match self.nearest(path) {
            Some((span, _)) => match span.key {
                Some(key) if span.collection || span.value.0 != key.0 => key,
                _ => span.value,
            },
            None => DOCUMENT_START,
        }
    }

    /// The position of the key of the entry at `path`, or [`SpanIndex::locate`] of it when it
    /// has no key.
    pub(crate) fn key(&self, path: &FieldPath) -> Position {
        match self.nearest(path) {
            Some((NodeSpan { key: Some(key), .. }, true)) => key,
            _ => self.locate(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "# comment\nname: ci\nstages:\n  build:\n    uses: builtin:gate\n    needs: [a, \"b\"]\n    with:\n      x: 1\n    timeout:\n";

    fn spans(source: &str) -> SpanIndex {
        match crate::yaml::parse(source) {
            Ok(parsed) => parsed.spans,
            Err(unreadable) => panic!("{:?}", unreadable.problems),
        }
    }

    #[test]
    fn scalars_point_at_their_value() {
        let spans = spans(SOURCE);
        assert_eq!(spans.locate(&FieldPath::keys(&["name"])), (2, 7));
        let needs = FieldPath::keys(&["stages", "build", "needs"]);
        assert_eq!(spans.locate(&needs.index(1)), (6, 16));
    }

    #[test]
    fn collections_and_empty_values_point_at_their_key() {
        let spans = spans(SOURCE);
        assert_eq!(spans.locate(&FieldPath::keys(&["stages", "build"])), (4, 3));
        assert_eq!(
            spans.locate(&FieldPath::keys(&["stages", "build", "with"])),
            (7, 5)
        );
        assert_eq!(
            spans.locate(&FieldPath::keys(&["stages", "build", "timeout"])),
            (9, 5)
        );
    }

    #[test]
    fn keys_and_fallbacks() {
        let spans = spans(SOURCE);
        assert_eq!(
            spans.key(&FieldPath::keys(&["stages", "build", "uses"])),
            (5, 5)
        );
        // Not in the document: the nearest ancestor.
        let missing = FieldPath::keys(&["stages", "build", "with", "nothing"]);
        assert_eq!(spans.locate(&missing), (7, 5));
        assert_eq!(spans.locate(&FieldPath::root()), (1, 1));
        assert_eq!(SpanIndex::default().locate(&missing), (1, 1));
    }

    #[test]
    fn nodes_reached_through_an_alias_are_at_the_alias() {
        let spans = spans("a: &x {b: 1}\nc: *x\n");
        assert_eq!(spans.locate(&FieldPath::keys(&["a", "b"])), (1, 11));
        assert_eq!(spans.locate(&FieldPath::keys(&["c", "b"])), (2, 1));
        assert_eq!(spans.key(&FieldPath::keys(&["c"])), (2, 1));
    }
}
