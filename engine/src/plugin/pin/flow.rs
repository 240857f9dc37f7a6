//! Reading a YAML flow mapping (`{ uses: x.wasm, sha256: ... }`) in place: its entries with
//! where their keys and values are, nested mappings read the same way, lists and other values
//! skipped over. Quotes and comments are respected; a mapping that does not close is `None`.

use super::scalar::{Context, Value, value_at};

/// Most mappings nested in one another that are read.
const MAX_DEPTH: usize = 64;

/// One `key: value` of a flow mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FlowEntry {
    /// The key's text.
    pub(super) key: String,
    /// Byte offset of the key.
    pub(super) key_at: usize,
    /// The value.
    pub(super) value: FlowValue,
}

/// What a flow mapping's value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FlowValue {
    /// A scalar, an empty value or a form that is not rewritten.
    Value(Value),
    /// A nested mapping.
    Map(Vec<FlowEntry>),
    /// Anything else (a list, a key without a colon).
    Other,
}

/// The entries of the flow mapping whose `{` is at `open`, and the offset after its `}`.
pub(super) fn mapping(text: &str, open: usize) -> Option<(Vec<FlowEntry>, usize)> {
    read_mapping(text, open, 0)
}

fn read_mapping(text: &str, open: usize, depth: usize) -> Option<(Vec<FlowEntry>, usize)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let bytes = text.as_bytes();
    let mut at = open + 1;
    let mut entries = Vec::new();
    loop {
        at = skip_space(text, at);
        match *bytes.get(at)? {
            b'}' => return Some((entries, at + 1)),
            b',' => {
                at += 1;
                continue;
            }
            _ => {}
        }
        let key_at = at;
        let Value::Scalar(key) = value_at(text, at, at, Context::Flow) else {
            return None;
        };
        at = key.outer_end;
        while matches!(bytes.get(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        let value = if bytes.get(at) == Some(&b':') {
            let colon_end = at + 1;
            let start = skip_space(text, colon_end);
            match *bytes.get(start)? {
                b'{' => {
                    let (inner, end) = read_mapping(text, start, depth + 1)?;
                    at = end;
                    FlowValue::Map(inner)
                }
                b'[' => {
                    at = skip_value(text, start)?;
                    FlowValue::Other
                }
                _ => {
                    let value = value_at(text, start, colon_end, Context::Flow);
                    at = match &value {
                        Value::Scalar(scalar) => scalar.outer_end,
                        Value::Empty { .. } => start,
                        Value::Unsupported { .. } => skip_value(text, start)?,
                    };
                    FlowValue::Value(value)
                }
            }
        } else {
            FlowValue::Other
        };
        entries.push(FlowEntry {
            key: key.text,
            key_at,
            value,
        });
        at = skip_space(text, at);
        match *bytes.get(at)? {
            b',' => at += 1,
            b'}' => return Some((entries, at + 1)),
            _ => return None,
        }
    }
}

/// The offset of the first character from `at` that is not a space, a line break or part of a
/// comment.
fn skip_space(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(at) {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => at += 1,
            b'#' if at == 0 || matches!(bytes[at - 1], b' ' | b'\t' | b'\n' | b'\r') => {
                while bytes.get(at).is_some_and(|b| *b != b'\n') {
                    at += 1;
                }
            }
            _ => break,
        }
    }
    at
}

/// The offset after the value starting at `at`: a whole nested collection, or anything up to a
/// `,` `]` or `}` outside quotes and brackets.
fn skip_value(text: &str, mut at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    while let Some(&b) = bytes.get(at) {
        match b {
            b'"' | b'\'' => at = end_of_quote(bytes, at)?,
            b'[' | b'{' => {
                depth += 1;
                at += 1;
            }
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                at += 1;
                if depth == 0 {
                    return Some(at);
                }
            }
            b',' | b']' | b'}' if depth == 0 => return Some(at),
            _ => at += 1,
        }
    }
    None
}

/// The offset after the quoted string opening at `open` (which may span lines).
fn end_of_quote(bytes: &[u8], open: usize) -> Option<usize> {
    let quote = bytes[open];
    let mut at = open + 1;
    while let Some(&b) = bytes.get(at) {
        if quote == b'"' && b == b'\\' {
            at += 2;
        } else if b == quote {
            if quote == b'\'' && bytes.get(at + 1) == Some(&b'\'') {
                at += 2;
            } else {
                return Some(at + 1);
            }
        } else {
            at += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(entries: &[FlowEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn entries_nested_mappings_and_lists_are_read() {
        let text = "{ uses: \"x.wasm\", with: { a: [1, {b: 2}], c: 'd,e' }, # c\n  sha256: , n }";
        let (entries, end) = mapping(text, 0).unwrap();
        assert_eq!(end, text.len());
        assert_eq!(keys(&entries), ["uses", "with", "sha256", "n"]);
        let FlowValue::Value(Value::Scalar(uses)) = &entries[0].value else {
            panic!("{:?}", entries[0]);
        };
        assert_eq!(uses.text, "x.wasm");
        assert_eq!(&text[uses.start..uses.end], "x.wasm");
        let FlowValue::Map(with) = &entries[1].value else {
            panic!("{:?}", entries[1]);
        };
        assert_eq!(keys(with), ["a", "c"]);
        assert!(matches!(
            entries[2].value,
            FlowValue::Value(Value::Empty { .. })
        ));
        assert_eq!(entries[3].value, FlowValue::Other);
    }

    #[test]
    fn unclosed_or_broken_mappings_are_none() {
        assert!(mapping("{ a: b", 0).is_none());
        assert!(mapping("{ a: b c: d }", 0).is_none());
        assert!(mapping("{ a: [1, 2 }", 0).is_none());
        let deep = format!("{}{}", "{a: ".repeat(100), "}".repeat(100));
        assert!(mapping(&deep, 0).is_none());
    }
}
