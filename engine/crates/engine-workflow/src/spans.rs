//! Source positions of every node of a workflow document, keyed by JSON pointer, built with
//! `marked-yaml`. When it cannot read a document that `serde_yaml` accepted (anchors, tags), the
//! index only knows the root and every lookup falls back to line 1, column 1.

use std::collections::HashMap;

use marked_yaml::{LoaderOptions, Node};

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
    /// Indexes every node of `source`; an index with only the root when `marked-yaml` fails.
    pub(crate) fn build(source: &str) -> Self {
        let mut index = SpanIndex::default();
        let parsed = std::panic::catch_unwind(|| {
            marked_yaml::parse_yaml_with_options(0, source, LoaderOptions::default())
        });
        if let Ok(Ok(root)) = parsed {
            index.walk(&root, &FieldPath::root(), None);
        }
        // The document itself is reported at its start, not at its first key.
        index.nodes.insert(
            String::new(),
            NodeSpan {
                value: DOCUMENT_START,
                key: None,
                collection: true,
            },
        );
        index
    }

    fn walk(&mut self, node: &Node, path: &FieldPath, key: Option<Position>) {
        let value = node
            .span()
            .start()
            .map(marker_position)
            .unwrap_or(DOCUMENT_START);
        let collection = !matches!(node, Node::Scalar(_));
        self.nodes.insert(
            path.pointer(),
            NodeSpan {
                value,
                key,
                collection,
            },
        );
        match node {
            Node::Scalar(_) => {}
            Node::Mapping(mapping) => {
                for (entry_key, entry_value) in mapping.iter() {
                    let key_position = entry_key.span().start().map(marker_position);
                    self.walk(entry_value, &path.key(entry_key.as_str()), key_position);
                }
            }
            Node::Sequence(items) => {
                for (position, item) in items.iter().enumerate() {
                    self.walk(item, &path.index(position), None);
                }
            }
        }
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

fn marker_position(marker: &marked_yaml::Marker) -> Position {
    (marker.line().max(1), marker.column().max(1))
}

/// The position of the second occurrence of a duplicated key, if `marked-yaml` finds one.
pub(crate) fn duplicate_key_position(source: &str) -> Option<Position> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let parsed =
        std::panic::catch_unwind(|| marked_yaml::parse_yaml_with_options(0, source, options));
    match parsed {
        Ok(Err(marked_yaml::LoadError::DuplicateKey(inner))) => {
            inner.key.span().start().map(marker_position)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "# comment\nname: ci\nstages:\n  build:\n    uses: builtin:gate\n    needs: [a, \"b\"]\n    with:\n      x: 1\n    timeout:\n";

    #[test]
    fn scalars_point_at_their_value() {
        let spans = SpanIndex::build(SOURCE);
        assert_eq!(spans.locate(&FieldPath::keys(&["name"])), (2, 7));
        let needs = FieldPath::keys(&["stages", "build", "needs"]);
        assert_eq!(spans.locate(&needs.index(1)), (6, 16));
    }

    #[test]
    fn collections_and_empty_values_point_at_their_key() {
        let spans = SpanIndex::build(SOURCE);
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
        let spans = SpanIndex::build(SOURCE);
        assert_eq!(
            spans.key(&FieldPath::keys(&["stages", "build", "uses"])),
            (5, 5)
        );
        // Not in the document: the nearest ancestor.
        let missing = FieldPath::keys(&["stages", "build", "with", "nothing"]);
        assert_eq!(spans.locate(&missing), (7, 5));
        assert_eq!(spans.locate(&FieldPath::root()), (1, 1));
    }

    #[test]
    fn unreadable_for_marked_yaml_falls_back_to_document_start() {
        let spans = SpanIndex::build("a: &x {b: 1}\nc: *x\n");
        assert_eq!(spans.locate(&FieldPath::keys(&["c", "b"])), (1, 1));
    }

    #[test]
    fn finds_the_duplicate_key() {
        assert_eq!(
            duplicate_key_position("a: 1\nb:\n  c: 1\n  c: 2\n"),
            Some((4, 3))
        );
        assert_eq!(duplicate_key_position("a: 1\n"), None);
    }
}
