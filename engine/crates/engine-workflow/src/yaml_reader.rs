//! The one pass over a workflow's YAML: the `yaml-rust2` event stream is read once into the
//! document as JSON and the position of every node, with the checks that need the structure
//! made on the way: nesting depth, tags, duplicate keys, keys that are not strings, numbers
//! JSON cannot hold, aliases that copy too much or refer to themselves.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value as Json};
use yaml_rust2::parser::{Event, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::{Anchor, Problem};
use crate::field_path::FieldPath;
use crate::input::MAX_NESTING;
use crate::spans::{Position, SpanIndex};
use crate::yaml_node::{Key, Kind, Node, Open, OpenKind, duplicate, escape_pointer, insert};
use crate::yaml_scalar::{self, Plain};

/// How much aliases may copy: nodes plus bytes of text, over the whole document (a workflow
/// that reuses a stage template through an anchor copies a few hundred per use).
pub(crate) const MAX_ALIAS_COPY: usize = 16 << 20;

/// What the pass has read so far, and what it found wrong.
#[derive(Default)]
pub(crate) struct Reader {
    /// The collections open at this point, outermost first.
    open: Vec<Open>,
    /// Finished nodes that carry an anchor, by the parser's anchor id.
    anchors: HashMap<usize, Anchored>,
    /// The finished document (`None` until its root ends, or for an empty stream).
    pub(crate) root: Option<Node>,
    /// The keys of the top-level `stages` and `finally` mappings, in file order.
    pub(crate) stage_order: Vec<String>,
    /// See `stage_order`.
    pub(crate) finally_order: Vec<String>,
    /// Documents started.
    documents: usize,
    /// What aliases have copied so far ([`MAX_ALIAS_COPY`]).
    copied: usize,
    /// Positions of the document's nodes.
    pub(crate) spans: SpanIndex,
    /// Tags found (each a problem; the document is refused).
    pub(crate) tags: Vec<Problem>,
    /// The first problem that makes the document unreadable as JSON (a duplicate key...).
    pub(crate) fatal: Option<Problem>,
    /// When the last node read is a block scalar (`|`, `>`) of the document: where it is (see
    /// `yaml_block_end`).
    pub(crate) last_block: Option<LastBlock>,
}

/// An anchored node and where it was defined (its problems are copied along with it).
struct Anchored {
    node: Node,
    path: FieldPath,
}

/// A block scalar that is the last node of the document.
#[derive(Debug, Clone)]
pub(crate) struct LastBlock {
    /// Its JSON pointer.
    pub(crate) pointer: String,
    /// Where the parser put it: its indicator when it is empty, else its first character.
    pub(crate) at: Position,
    /// The 0-based column of its key, when it is a mapping value (its content is indented
    /// more).
    pub(crate) key_column: Option<usize>,
}

/// Where a node that starts now goes.
struct Place {
    /// Its JSON pointer, when it is indexed.
    pointer: Option<String>,
    /// The position of its key, when it is a mapping value.
    key: Option<Position>,
}

impl Reader {
    /// Reads one event. Returns a problem that ends the pass (nesting too deep).
    pub(crate) fn event(&mut self, event: Event, marker: Marker) -> Result<(), Box<Problem>> {
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(Problem {
                        field: FieldPath::root(),
                        anchor: position_anchor(position(&marker)),
                        message: "invalid YAML: a workflow is one YAML document, and this file \
                                  has more than one (a second `---`)"
                            .to_string(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let place = self.place();
                self.last_block = match (style, &place.pointer) {
                    (TScalarStyle::Literal | TScalarStyle::Folded, Some(pointer)) => {
                        Some(LastBlock {
                            pointer: pointer.clone(),
                            at: position(&marker),
                            key_column: place.key.map(|(_, col)| col - 1),
                        })
                    }
                    _ => None,
                };
                // The field path is built only when a problem or an anchor needs it.
                if let Some(tag) = &tag {
                    let path = self.node_path();
                    self.tags.push(tag_problem(tag, &path, position(&marker)));
                }
                let node = self.scalar(text, style);
                self.index(&place, position(&marker), false);
                if anchor != 0 {
                    let path = self.node_path();
                    self.remember(anchor, &node, path);
                }
                self.finish(node, position(&marker));
            }
            Event::Alias(id) => {
                self.last_block = None;
                let place = self.place();
                let path = self.node_path();
                let node = self.alias(id, &path, &marker);
                self.index(&place, position(&marker), node.kind == Kind::Collection);
                self.finish(node, position(&marker));
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let is_list = matches!(event, Event::SequenceStart(..));
                self.last_block = None;
                let place = self.place();
                let path = self.node_path();
                if let Some(tag) = tag {
                    self.tags.push(tag_problem(tag, &path, position(&marker)));
                }
                if self.open.len() + 1 > MAX_NESTING {
                    return Err(Box::new(too_deep(path, position(&marker))));
                }
                self.index(&place, position(&marker), true);
                let kind = if is_list {
                    OpenKind::List { items: Vec::new() }
                } else {
                    let keep_order = anchor != 0
                        || (self.open.len() == 1
                            && matches!(path.to_string().as_str(), "stages" | "finally"));
                    OpenKind::Mapping {
                        map: Map::new(),
                        other_keys: HashSet::new(),
                        pending: None,
                        order: keep_order.then(Vec::new),
                    }
                };
                self.open.push(Open {
                    path,
                    start: position(&marker),
                    pointer: place.pointer,
                    kind,
                    anchor,
                    problems: Vec::new(),
                    height: 0,
                    weight: 1,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.open.pop() {
                    let (path, anchor, start) = (open.path.clone(), open.anchor, open.start);
                    let node = open.close();
                    if anchor != 0 {
                        self.remember(anchor, &node, path);
                    }
                    self.finish(node, start);
                }
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    /// Where the innermost open collection starts, to word a syntax error inside it.
    pub(crate) fn innermost_start(&self) -> Option<Position> {
        self.open.last().map(|open| open.start)
    }

    /// Records the first problem that makes the document unreadable.
    fn fail(&mut self, problem: Problem) {
        if self.fatal.is_none() {
            self.fatal = Some(problem);
        }
    }

    /// Where the node that starts now goes: the root, the next item of a list, a mapping's key
    /// (not indexed) or the value of the pending key.
    fn place(&self) -> Place {
        let Some(open) = self.open.last() else {
            return Place {
                pointer: Some(String::new()),
                key: None,
            };
        };
        match &open.kind {
            OpenKind::List { items } => Place {
                pointer: open
                    .pointer
                    .as_ref()
                    .map(|p| format!("{p}/{}", items.len())),
                key: None,
            },
            OpenKind::Mapping { pending: None, .. } => Place {
                pointer: None,
                key: None,
            },
            OpenKind::Mapping {
                pending: Some(key), ..
            } => Place {
                // The value of a key JSON drops is not indexed either.
                pointer: match (&open.pointer, key.node.text()) {
                    (Some(p), Some(text)) if key.node.kind == Kind::String => {
                        Some(format!("{p}/{}", escape_pointer(text)))
                    }
                    _ => None,
                },
                key: Some(key.position),
            },
        }
    }

    /// The field path of the node that starts now: a mapping's key is placed at the mapping
    /// itself; a value under a key that is not text (a collection) at the mapping too.
    fn node_path(&self) -> FieldPath {
        let Some(open) = self.open.last() else {
            return FieldPath::root();
        };
        match &open.kind {
            OpenKind::List { items } => open.path.index(items.len()),
            OpenKind::Mapping {
                pending: Some(key), ..
            } => match key.node.text() {
                Some(text) => open.path.key(text),
                None => open.path.clone(),
            },
            OpenKind::Mapping { pending: None, .. } => open.path.clone(),
        }
    }

    /// Indexes the position of a node that starts now.
    fn index(&mut self, place: &Place, at: Position, collection: bool) {
        if let Some(pointer) = &place.pointer {
            self.spans
                .insert(pointer.clone(), at, place.key, collection);
        }
    }

    /// A scalar's node: plain scalars resolved by the core schema, others text.
    fn scalar(&mut self, text: String, style: TScalarStyle) -> Node {
        let mut node = self.resolve(&text, style);
        match node.kind {
            Kind::String => {
                node.weight = 1 + text.len();
                node.json = Json::String(text);
            }
            _ => node.written = Some(text),
        }
        node
    }

    fn resolve(&mut self, text: &str, style: TScalarStyle) -> Node {
        let resolved = if style == TScalarStyle::Plain {
            yaml_scalar::resolve(text)
        } else {
            Plain::Text
        };
        let (json, kind, problems) = match resolved {
            Plain::Null => (Json::Null, Kind::Null, Vec::new()),
            Plain::Bool(b) => (Json::Bool(b), Kind::Bool(b), Vec::new()),
            Plain::Int(n) => {
                let shown = n.to_string();
                (Json::Number(n), Kind::Number(shown), Vec::new())
            }
            Plain::Float(f) => {
                let shown = yaml_scalar::show_float(f);
                if let Some(n) = serde_json::Number::from_f64(f) {
                    (Json::Number(n), Kind::Number(shown), Vec::new())
                } else {
                    let problem = Problem::at(
                        self.node_path(),
                        format!("{shown} is not a finite number; quote it if you meant a string"),
                    );
                    (Json::Null, Kind::Number(shown), vec![problem])
                }
            }
            Plain::HugeInt => {
                let path = self.node_path();
                self.fail(Problem::at(
                    path,
                    format!(
                        "{text} is too large a number (integers go up to {}); quote it if you \
                         meant a string",
                        u64::MAX
                    ),
                ));
                (Json::Null, Kind::Number(text.to_string()), Vec::new())
            }
            // The caller puts the text in.
            Plain::Text => (Json::Null, Kind::String, Vec::new()),
        };
        Node {
            problems,
            ..Node::scalar(json, kind)
        }
    }

    /// Keeps an anchored node, defined at `path`, for the aliases that refer to it.
    fn remember(&mut self, anchor: usize, node: &Node, path: FieldPath) {
        self.anchors.insert(
            anchor,
            Anchored {
                node: node.clone(),
                path,
            },
        );
    }

    /// A copy of the anchored node `id`, its problems moved to `path`, where the alias is.
    fn alias(&mut self, id: usize, path: &FieldPath, marker: &Marker) -> Node {
        let refused = |message: String| {
            (
                Node::scalar(Json::Null, Kind::Null),
                Problem {
                    field: path.clone(),
                    anchor: position_anchor(position(marker)),
                    message,
                },
            )
        };
        let Some(anchored) = self.anchors.get(&id) else {
            let (node, problem) = refused(
                "invalid YAML: an alias refers to the node it is inside (a recursive structure)"
                    .to_string(),
            );
            self.fail(problem);
            return node;
        };
        if self.open.len() + anchored.node.height > MAX_NESTING {
            let (node, problem) = refused(format!(
                "this alias nests the workflow more than {MAX_NESTING} levels deep; a workflow \
                 never needs that many"
            ));
            self.fail(problem);
            return node;
        }
        self.copied = self.copied.saturating_add(anchored.node.weight);
        if self.copied > MAX_ALIAS_COPY {
            let (node, problem) = refused(format!(
                "the aliases of this workflow copy more than {MAX_ALIAS_COPY} nodes and bytes of \
                 text; a workflow never needs that many"
            ));
            self.fail(problem);
            return node;
        }
        let mut node = anchored.node.clone();
        for problem in &mut node.problems {
            problem.move_under(&anchored.path, path);
        }
        node
    }

    /// Puts a finished node where it goes: the root, a list's next item, a mapping's key, or
    /// the value of the pending key.
    fn finish(&mut self, node: Node, start: Position) {
        let at_top = self.open.len() == 1;
        let Some(open) = self.open.last_mut() else {
            if self.root.is_none() {
                self.root = Some(node);
            }
            return;
        };
        open.height = open.height.max(node.height + 1);
        open.weight = open.weight.saturating_add(node.weight);
        let duplicate = match &mut open.kind {
            OpenKind::List { items } => {
                open.problems.extend(node.problems);
                items.push(node.json);
                None
            }
            OpenKind::Mapping {
                map,
                other_keys,
                pending,
                ..
            } if pending.is_none() => {
                let key = Key {
                    node,
                    position: start,
                };
                let duplicate = duplicate(&open.path, map, other_keys, &key);
                *pending = Some(Box::new(key));
                duplicate
            }
            OpenKind::Mapping {
                map,
                pending,
                order,
                ..
            } => {
                let Some(key) = pending.take() else {
                    return;
                };
                if at_top && let Some(value_order) = &node.order {
                    match key.node.json.as_str() {
                        Some("stages") if self.stage_order.is_empty() => {
                            self.stage_order.clone_from(value_order);
                        }
                        Some("finally") if self.finally_order.is_empty() => {
                            self.finally_order.clone_from(value_order);
                        }
                        _ => {}
                    }
                }
                insert(&open.path, map, order, &mut open.problems, *key, node);
                None
            }
        };
        if let Some(problem) = duplicate {
            self.fail(problem);
        }
    }
}

impl Problem {
    /// Moves a problem found under `from` (an anchored node) to the same place under `to` (an
    /// alias of it).
    fn move_under(&mut self, from: &FieldPath, to: &FieldPath) {
        let moved = |path: &FieldPath| match path.strip_prefix(from) {
            Some(tail) => to.join(&tail),
            None => to.clone(),
        };
        self.field = moved(&self.field);
        self.anchor = match &self.anchor {
            Anchor::Node(path) => Anchor::Node(moved(path)),
            Anchor::Key(path) => Anchor::Key(moved(path)),
            Anchor::Position { .. } => Anchor::Node(to.clone()),
        };
    }
}

/// The problem for a tag: tags are refused, with a hint for `if: !...`.
fn tag_problem(tag: &Tag, path: &FieldPath, at: Position) -> Problem {
    let handle = match tag.handle.as_str() {
        "tag:yaml.org,2002:" => "!!",
        other => other,
    };
    let written = format!("{handle}{}", tag.suffix);
    let message = if path.last_key() == Some("if") {
        // `if: !run.stalled` reads as a tag: the condition must be quoted.
        "YAML reads a value starting with '!' as a tag: quote the condition (if: \"!...\")"
            .to_string()
    } else {
        format!(
            "YAML tags are not supported (found {written}); remove the tag, or quote the value \
             if it is text"
        )
    };
    Problem {
        field: path.clone(),
        anchor: position_anchor(at),
        message,
    }
}

/// The problem for nesting deeper than [`MAX_NESTING`].
pub(crate) fn too_deep(field: FieldPath, at: Position) -> Problem {
    Problem {
        field,
        anchor: position_anchor(at),
        message: format!(
            "nested more than {MAX_NESTING} levels deep; a workflow never needs that many"
        ),
    }
}

/// The 1-based (line, column) of a parser marker.
pub(crate) fn position(marker: &Marker) -> Position {
    (marker.line().max(1), marker.col() + 1)
}

fn position_anchor((line, col): Position) -> Anchor {
    Anchor::Position { line, col }
}
