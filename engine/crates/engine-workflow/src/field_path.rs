//! Paths to nodes of a workflow document, rendered as JSON pointers (for lookups) and as dotted
//! field names (for people): `/stages/review/needs/0` is `stages.review.needs[0]`.

use std::fmt;

/// One step of a [`FieldPath`]: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    /// A key of a mapping.
    Key(String),
    /// An index into a list.
    Index(usize),
}

/// The path from the document root to one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct FieldPath {
    segments: Vec<Segment>,
}

impl FieldPath {
    /// The document root.
    pub(crate) fn root() -> Self {
        Self::default()
    }

    /// A path from keys only (`FieldPath::keys(&["stages", "build"])`).
    pub(crate) fn keys(keys: &[&str]) -> Self {
        Self {
            segments: keys
                .iter()
                .map(|k| Segment::Key((*k).to_string()))
                .collect(),
        }
    }

    /// This path extended by a mapping key.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut next = self.clone();
        next.segments.push(Segment::Key(key.to_string()));
        next
    }

    /// This path extended by a list index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.segments.push(Segment::Index(index));
        next
    }

    /// This path extended by another path's segments.
    pub(crate) fn join(&self, tail: &FieldPath) -> Self {
        let mut next = self.clone();
        next.segments.extend(tail.segments.iter().cloned());
        next
    }

    /// The rest of this path below `prefix`, or `None` when it is not under `prefix`.
    pub(crate) fn strip_prefix(&self, prefix: &FieldPath) -> Option<Self> {
        self.segments
            .strip_prefix(prefix.segments.as_slice())
            .map(|rest| Self {
                segments: rest.to_vec(),
            })
    }

    /// The path one level up, or `None` at the root.
    pub(crate) fn parent(&self) -> Option<Self> {
        let mut up = self.clone();
        up.segments.pop().map(|_| up)
    }

    /// The first segment when it is a mapping key (`stages` in `stages.review.needs`).
    pub(crate) fn first_key(&self) -> Option<&str> {
        match self.segments.first()? {
            Segment::Key(key) => Some(key),
            Segment::Index(_) => None,
        }
    }

    /// The last segment when it is a mapping key (`needs` in `stages.review.needs`).
    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.segments.last()? {
            Segment::Key(key) => Some(key),
            Segment::Index(_) => None,
        }
    }

    /// The RFC 6901 JSON pointer of this path (`""` for the root).
    pub(crate) fn pointer(&self) -> String {
        let mut out = String::new();
        for segment in &self.segments {
            out.push('/');
            match segment {
                Segment::Key(key) => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
                Segment::Index(index) => out.push_str(&index.to_string()),
            }
        }
        out
    }

    /// Parses a dotted field name as produced by `Display` (`stages.test.with.commands[1]`,
    /// `env["A.B"]`). Returns `None` when the text is not one.
    pub(crate) fn parse_dotted(text: &str) -> Option<Self> {
        let mut path = Self::root();
        let mut rest = text;
        let mut first = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']')?;
                let inner = &after[..end];
                if inner.starts_with('"') {
                    // A quoted key may itself contain `]`: parse it as a JSON string.
                    let mut stream =
                        serde_json::Deserializer::from_str(after).into_iter::<String>();
                    let key = stream.next()?.ok()?;
                    let consumed = stream.byte_offset();
                    path = path.key(&key);
                    rest = after[consumed..].strip_prefix(']')?;
                } else {
                    path = path.index(inner.parse().ok()?);
                    rest = &after[end + 1..];
                }
            } else {
                let body = if first { rest } else { rest.strip_prefix('.')? };
                let end = body.find(['.', '[']).unwrap_or(body.len());
                if end == 0 {
                    return None;
                }
                path = path.key(&body[..end]);
                rest = &body[end..];
            }
            first = false;
        }
        Some(path)
    }
}

impl FieldPath {
    /// The path named by an RFC 6901 JSON pointer into `document`. Whether a numeric segment is a
    /// list index or a mapping key is decided by the node it steps into.
    pub(crate) fn from_pointer(pointer: &str, document: &serde_json::Value) -> Self {
        let mut path = Self::root();
        let mut node = Some(document);
        for raw in pointer.split('/').skip(1) {
            let token = raw.replace("~1", "/").replace("~0", "~");
            match node {
                Some(serde_json::Value::Array(items)) => {
                    if let Ok(index) = token.parse::<usize>() {
                        node = items.get(index);
                        path = path.index(index);
                    } else {
                        node = None;
                        path = path.key(&token);
                    }
                }
                Some(serde_json::Value::Object(map)) => {
                    node = map.get(&token);
                    path = path.key(&token);
                }
                _ => {
                    node = None;
                    path = path.key(&token);
                }
            }
        }
        path
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Key(key) if is_plain_key(key) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => {
                    let quoted = serde_json::to_string(key).map_err(|_| fmt::Error)?;
                    write!(f, "[{quoted}]")?;
                }
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_dotted_and_pointer() {
        let path = FieldPath::keys(&["stages", "review", "needs"]).index(0);
        assert_eq!(path.to_string(), "stages.review.needs[0]");
        assert_eq!(path.pointer(), "/stages/review/needs/0");
        assert_eq!(FieldPath::root().to_string(), "");
        assert_eq!(FieldPath::root().pointer(), "");
    }

    #[test]
    fn odd_keys_are_quoted_and_escaped() {
        let path = FieldPath::keys(&["env", "a.b/c~d"]);
        assert_eq!(path.to_string(), r#"env["a.b/c~d"]"#);
        assert_eq!(path.pointer(), "/env/a.b~1c~0d");
        let quoted_first = FieldPath::root().key("x y");
        assert_eq!(quoted_first.to_string(), r#"["x y"]"#);
    }

    #[test]
    fn dotted_round_trips() {
        for path in [
            FieldPath::keys(&["stages", "test", "with", "commands"]).index(1),
            FieldPath::keys(&["env", "a.b]c"]),
            FieldPath::root().key("x y").index(3).key("z"),
            FieldPath::root(),
        ] {
            assert_eq!(FieldPath::parse_dotted(&path.to_string()), Some(path));
        }
    }

    #[test]
    fn bad_dotted_is_rejected() {
        assert_eq!(FieldPath::parse_dotted("a..b"), None);
        assert_eq!(FieldPath::parse_dotted("a[x]"), None);
        assert_eq!(FieldPath::parse_dotted("a[1"), None);
    }

    #[test]
    fn pointer_segments_follow_the_document() {
        let doc = serde_json::json!({"a": {"0": [1, {"x/y": 2}]}});
        let path = FieldPath::from_pointer("/a/0/1/x~1y", &doc);
        assert_eq!(path, FieldPath::keys(&["a", "0"]).index(1).key("x/y"));
        assert_eq!(path.to_string(), r#"a.0[1]["x/y"]"#);
        assert_eq!(FieldPath::from_pointer("", &doc), FieldPath::root());
    }

    #[test]
    fn strip_prefix_keeps_the_rest() {
        let path = FieldPath::keys(&["a", "b"]).index(2);
        let rest = path.strip_prefix(&FieldPath::keys(&["a"])).unwrap();
        assert_eq!(rest, FieldPath::keys(&["b"]).index(2));
        assert_eq!(path.strip_prefix(&path), Some(FieldPath::root()));
        assert_eq!(path.strip_prefix(&FieldPath::keys(&["b"])), None);
    }

    #[test]
    fn parent_walks_up() {
        let path = FieldPath::keys(&["a", "b"]);
        assert_eq!(path.parent(), Some(FieldPath::keys(&["a"])));
        assert_eq!(FieldPath::root().parent(), None);
    }

    #[test]
    fn first_and_last_keys_skip_indexes() {
        let path = FieldPath::keys(&["stages", "review", "needs"]);
        assert_eq!(path.first_key(), Some("stages"));
        assert_eq!(path.last_key(), Some("needs"));
        let listed = path.index(0);
        assert_eq!(listed.last_key(), None);
        assert_eq!(FieldPath::root().index(1).first_key(), None);
        assert_eq!(FieldPath::root().first_key(), None);
        assert_eq!(FieldPath::root().last_key(), None);
    }
}
