//! Reading one YAML scalar in place: where its text is (so a new value replaces exactly that,
//! inside its quotes) and what it says. Only the forms a `uses:` or `sha256:` value takes on
//! one line are read: plain, 'single-quoted' and "double-quoted"; anything else (a block
//! scalar, an anchor, an alias, a tag, a collection) is [`Value::Unsupported`].

/// A value found at some place in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    /// A scalar: its text replaced by a new value goes in `start..end`.
    Scalar(Scalar),
    /// Nothing after the colon (a null): a value goes at `at`, after a space.
    Empty {
        /// Byte offset just after the colon.
        at: usize,
    },
    /// A form this module does not rewrite; `what` names it.
    Unsupported {
        /// Byte offset of the value.
        at: usize,
        /// What it is (`a block scalar`, `an alias`...).
        what: &'static str,
    },
}

/// A scalar's place and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Scalar {
    /// Start of the text a new value replaces (after an opening quote).
    pub(super) start: usize,
    /// End of that text (before a closing quote).
    pub(super) end: usize,
    /// End of the whole scalar (after a closing quote).
    pub(super) outer_end: usize,
    /// What it says (quotes and escapes undone).
    pub(super) text: String,
}

/// Where a plain scalar may end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    /// In a block mapping: at the end of the line or before ` #`.
    Block,
    /// In a flow collection: also at `,` `[` `]` `{` `}`.
    Flow,
}

/// The value starting at `from` (spaces first skipped, not past the line's end), where
/// `colon_end` is just after the key's colon.
pub(super) fn value_at(text: &str, from: usize, colon_end: usize, context: Context) -> Value {
    let bytes = text.as_bytes();
    let mut at = from;
    while at < bytes.len() && (bytes[at] == b' ' || bytes[at] == b'\t') {
        at += 1;
    }
    let empty = Value::Empty { at: colon_end };
    let Some(&first) = bytes.get(at) else {
        return empty;
    };
    match first {
        b'\n' | b'\r' | b'#' => empty,
        b',' | b'}' | b']' if context == Context::Flow => empty,
        b'"' => double_quoted(text, at).unwrap_or(Value::Unsupported {
            at,
            what: "a quoted value that does not end on its line",
        }),
        b'\'' => single_quoted(text, at).unwrap_or(Value::Unsupported {
            at,
            what: "a quoted value that does not end on its line",
        }),
        b'|' | b'>' => Value::Unsupported {
            at,
            what: "a block scalar",
        },
        b'&' => Value::Unsupported {
            at,
            what: "an anchored value",
        },
        b'*' => Value::Unsupported {
            at,
            what: "an alias",
        },
        b'!' => Value::Unsupported {
            at,
            what: "a tagged value",
        },
        b'{' | b'[' => Value::Unsupported {
            at,
            what: "a collection",
        },
        _ => plain(text, at, context),
    }
}

/// A plain scalar from `start`: to the end of the line or a comment (` #`), and in a flow
/// collection to an indicator (`,` `[` `]` `{` `}`) or `: `; trailing spaces are not part of
/// it.
fn plain(text: &str, start: usize, context: Context) -> Value {
    let bytes = text.as_bytes();
    let mut end = start;
    while end < bytes.len() {
        let b = bytes[end];
        let stops = match b {
            b'\n' | b'\r' => true,
            b'#' => end > start && matches!(bytes[end - 1], b' ' | b'\t'),
            b',' | b'[' | b']' | b'{' | b'}' => context == Context::Flow,
            b':' => {
                context == Context::Flow
                    && bytes
                        .get(end + 1)
                        .is_none_or(|n| matches!(n, b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}'))
            }
            _ => false,
        };
        if stops {
            break;
        }
        end += 1;
    }
    while end > start && matches!(bytes[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    Value::Scalar(Scalar {
        start,
        end,
        outer_end: end,
        text: text[start..end].to_string(),
    })
}

/// A 'single-quoted' scalar opening at `open` (`''` is a quote), ending on its line.
fn single_quoted(text: &str, open: usize) -> Option<Value> {
    let bytes = text.as_bytes();
    let mut at = open + 1;
    let mut decoded = String::new();
    loop {
        match *bytes.get(at)? {
            b'\n' | b'\r' => return None,
            b'\'' if bytes.get(at + 1) == Some(&b'\'') => {
                decoded.push('\'');
                at += 2;
            }
            b'\'' => break,
            _ => {
                let c = text[at..].chars().next()?;
                decoded.push(c);
                at += c.len_utf8();
            }
        }
    }
    Some(Value::Scalar(Scalar {
        start: open + 1,
        end: at,
        outer_end: at + 1,
        text: decoded,
    }))
}

/// A "double-quoted" scalar opening at `open`, ending on its line; the common escapes are
/// undone (a `\u` escape or another rare one is kept as written: the loader's reading of the
/// rewritten file is compared with what was meant, so a misreading is caught there).
fn double_quoted(text: &str, open: usize) -> Option<Value> {
    let bytes = text.as_bytes();
    let mut at = open + 1;
    let mut decoded = String::new();
    loop {
        match *bytes.get(at)? {
            b'\n' | b'\r' => return None,
            b'"' => break,
            b'\\' => {
                let escaped = *bytes.get(at + 1)?;
                match escaped {
                    b'\\' => decoded.push('\\'),
                    b'"' => decoded.push('"'),
                    b'/' => decoded.push('/'),
                    b'n' => decoded.push('\n'),
                    b't' => decoded.push('\t'),
                    b'\n' | b'\r' => return None,
                    _ => {
                        decoded.push('\\');
                        let c = text[at + 1..].chars().next()?;
                        decoded.push(c);
                        at += c.len_utf8() + 1;
                        continue;
                    }
                }
                at += 2;
            }
            _ => {
                let c = text[at..].chars().next()?;
                decoded.push(c);
                at += c.len_utf8();
            }
        }
    }
    Some(Value::Scalar(Scalar {
        start: open + 1,
        end: at,
        outer_end: at + 1,
        text: decoded,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str, context: Context) -> Scalar {
        match value_at(text, 0, 0, context) {
            Value::Scalar(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_scalars_end_before_comments_and_trailing_spaces() {
        let s = scalar("  abc def   # note\nnext", Context::Block);
        assert_eq!((s.start, s.end, s.text.as_str()), (2, 9, "abc def"));
        let s = scalar("a#b, c}", Context::Block);
        assert_eq!(s.text, "a#b, c}");
        let s = scalar("x.wasm, sha256: y }", Context::Flow);
        assert_eq!(s.text, "x.wasm");
        let s = scalar("x.wasm }", Context::Flow);
        assert_eq!(s.text, "x.wasm");
    }

    #[test]
    fn quoted_scalars_are_replaced_inside_their_quotes() {
        let s = scalar(r#""a\"b\\c" # x"#, Context::Block);
        assert_eq!((s.start, s.end, s.outer_end), (1, 8, 9));
        assert_eq!(s.text, "a\"b\\c");
        let s = scalar("'it''s' ", Context::Block);
        assert_eq!((s.start, s.end, s.text.as_str()), (1, 6, "it's"));
        assert!(matches!(
            value_at("\"open\n", 0, 0, Context::Block),
            Value::Unsupported { .. }
        ));
    }

    #[test]
    fn empty_and_unsupported_values_are_told_apart() {
        assert_eq!(
            value_at("   # c", 0, 7, Context::Block),
            Value::Empty { at: 7 }
        );
        assert_eq!(value_at("", 0, 3, Context::Block), Value::Empty { at: 3 });
        assert_eq!(
            value_at(" , x", 0, 1, Context::Flow),
            Value::Empty { at: 1 }
        );
        for (text, what) in [
            ("|", "a block scalar"),
            ("*a", "an alias"),
            ("&a x", "an anchored value"),
            ("!!str x", "a tagged value"),
            ("[a]", "a collection"),
        ] {
            assert_eq!(
                value_at(text, 0, 0, Context::Block),
                Value::Unsupported { at: 0, what },
                "{text}"
            );
        }
    }
}
