//! The nodes the YAML pass (`yaml_reader.rs`) builds: finished nodes as JSON with what a
//! mapping key, an alias and the problem report need to know about them, the collections still
//! open, and the insertion of a key and its value into a mapping (duplicate keys, keys that are
//! not strings).

use std::collections::HashSet;

use serde_json::{Map, Value as Json};

use crate::diagnostic::{Anchor, Problem};
use crate::field_path::FieldPath;
use crate::spans::Position;

/// A finished node.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Its value as JSON (`null` where YAML has something JSON cannot hold).
    pub(crate) json: Json,
    /// What it is, as far as a mapping key needs to know.
    pub(crate) kind: Kind,
    /// Problems inside it that make it unusable as JSON (non-string keys, non-finite numbers).
    pub(crate) problems: Vec<Problem>,
    /// Levels of collections in it (a scalar is 0).
    pub(crate) height: usize,
    /// Nodes plus bytes of text in it, for the alias copy budget.
    pub(crate) weight: usize,
    /// For a mapping kept in file order (the top-level `stages`/`finally`, and anchored
    /// mappings an alias may put there): its keys in file order.
    pub(crate) order: Option<Vec<String>>,
    /// A scalar that is not text: as written (`0x10`, `~`), to name it as a key.
    pub(crate) written: Option<String>,
}

/// What a node is, for mapping keys (only strings become JSON keys).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `~`, `null`, nothing.
    Null,
    /// `true`, `false`.
    Bool(bool),
    /// A number, as YAML writes it.
    Number(String),
    /// Text.
    String,
    /// A mapping or a list.
    Collection,
}

/// A mapping or list whose end has not come yet.
pub(crate) struct Open {
    /// Its field path.
    pub(crate) path: FieldPath,
    /// Where it starts.
    pub(crate) start: Position,
    /// JSON pointer of the node; `None` inside a mapping key (not indexed).
    pub(crate) pointer: Option<String>,
    /// Its entries so far.
    pub(crate) kind: OpenKind,
    /// The parser's anchor id (0: none).
    pub(crate) anchor: usize,
    /// Problems inside it so far.
    pub(crate) problems: Vec<Problem>,
    /// Levels of collections in it so far.
    pub(crate) height: usize,
    /// Nodes plus bytes of text in it so far.
    pub(crate) weight: usize,
}

/// The entries of an open collection.
pub(crate) enum OpenKind {
    /// A mapping.
    Mapping {
        /// Its string keys and their values so far.
        map: Map<String, Json>,
        /// Keys that are not strings, as `serde_yaml` compares them, for duplicates.
        other_keys: HashSet<String>,
        /// The key whose value comes next; `None` when a key comes next.
        pending: Option<Box<Key>>,
        /// Keys in file order, when kept.
        order: Option<Vec<String>>,
    },
    /// A list.
    List {
        /// Its items so far.
        items: Vec<Json>,
    },
}

/// A mapping key read, waiting for its value.
pub(crate) struct Key {
    /// The key.
    pub(crate) node: Node,
    /// Where it is.
    pub(crate) position: Position,
}

/// The problem when `key`, just read, repeats a key of the mapping at `path` (told as soon as
/// the key is read, as `serde_yaml` did); a key that is not a string is remembered for the
/// keys after it.
pub(crate) fn duplicate(
    path: &FieldPath,
    map: &Map<String, Json>,
    other_keys: &mut HashSet<String>,
    key: &Key,
) -> Option<Problem> {
    let what = match &key.node.kind {
        Kind::String => {
            let name = key.node.json.as_str()?;
            map.contains_key(name).then(|| format!("with key {name:?}"))
        }
        kind => {
            let (fingerprint, what) = match kind {
                Kind::Null => ("null".to_string(), "with null key".to_string()),
                Kind::Bool(b) => (format!("bool:{b}"), format!("with key `{b}`")),
                Kind::Number(n) => (format!("number:{n}"), format!("with key {n}")),
                Kind::Collection | Kind::String => (
                    format!("collection:{}", key.node.json),
                    "in YAML map".to_string(),
                ),
            };
            (!other_keys.insert(fingerprint)).then_some(what)
        }
    }?;
    Some(Problem {
        field: path.clone(),
        anchor: at(key.position),
        message: format!("duplicate entry {what}"),
    })
}

/// Inserts `key: value` into a mapping being read (after a duplicate key the mapping keeps the
/// first value). A key that is not a string is a problem of the mapping and its value is
/// dropped, with the problems inside it (JSON has no place for them).
pub(crate) fn insert(
    path: &FieldPath,
    map: &mut Map<String, Json>,
    order: &mut Option<Vec<String>>,
    problems: &mut Vec<Problem>,
    key: Key,
    value: Node,
) {
    if let Json::String(name) = key.node.json
        && key.node.kind == Kind::String
    {
        if !map.contains_key(&name) {
            problems.extend(value.problems);
            if let Some(order) = order {
                order.push(name.clone());
            }
            map.insert(name, value.json);
        }
        return;
    }
    let shown = match &key.node.kind {
        Kind::Null => "null".to_string(),
        Kind::Bool(b) => b.to_string(),
        Kind::Number(n) => n.clone(),
        Kind::Collection | Kind::String => "a collection".to_string(),
    };
    problems.push(Problem {
        field: path.clone(),
        anchor: at(key.position),
        message: format!(
            "mapping keys must be strings, found {shown}; quote the key if it is a name"
        ),
    });
}

fn at((line, col): Position) -> Anchor {
    Anchor::Position { line, col }
}

impl Open {
    /// The finished node of this collection.
    pub(crate) fn close(self) -> Node {
        let (json, order) = match self.kind {
            OpenKind::List { items } => (Json::Array(items), None),
            OpenKind::Mapping { map, order, .. } => (Json::Object(map), order),
        };
        Node {
            json,
            kind: Kind::Collection,
            problems: self.problems,
            height: self.height.max(1),
            weight: self.weight,
            order,
            written: None,
        }
    }
}

impl Node {
    /// A scalar node with nothing wrong in it.
    pub(crate) fn scalar(json: Json, kind: Kind) -> Node {
        Node {
            json,
            kind,
            problems: Vec::new(),
            height: 0,
            weight: 1,
            order: None,
            written: None,
        }
    }

    /// The node's text as a key path names it: a string, or a scalar as written.
    pub(crate) fn text(&self) -> Option<&str> {
        match self.kind {
            Kind::String => self.json.as_str(),
            Kind::Collection => None,
            _ => self.written.as_deref(),
        }
    }
}

/// A key as one RFC 6901 JSON pointer segment.
pub(crate) fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}
