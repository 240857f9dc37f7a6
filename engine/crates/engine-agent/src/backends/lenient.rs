//! Lenient field types for the typed stream parsers: a field whose JSON type is not the expected
//! one reads as absent instead of failing the whole line, so a CLI that changes a field's shape
//! degrades one value, not the event.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::text::{saturating_u64, truncate_at_char_boundary};

/// Longest tool output kept in [`crate::AgentEvent::ToolFinished`] (bytes); the rest is cut at a
/// character boundary while parsing, so large outputs are never copied whole.
pub(crate) const MAX_TOOL_OUTPUT_BYTES: usize = 16 * 1024;

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Visit methods that read every JSON value the visitor does not care about as `Default`.
macro_rules! absent_for_other_types {
    ($($skip:ident),*) => {
        $(absent_for_other_types!(@one $skip);)*
    };
    (@one bool) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@one i64) => {
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@one u64) => {
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@one f64) => {
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@one str) => {
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
    (@one map) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map)?;
            Ok(Default::default())
        }
    };
    (@one seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok(Default::default())
        }
    };
    (@one unit) => {
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
    };
}

/// A JSON string (borrowed from the line when it has no escapes); absent for any other type.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct LStr<'a>(pub Option<Cow<'a, str>>);

impl LStr<'_> {
    /// The string, or "" when absent.
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// The string, owned, when present.
    pub(crate) fn to_owned_opt(&self) -> Option<String> {
        self.0.as_deref().map(str::to_owned)
    }
}

struct LStrVisitor;

impl<'de> Visitor<'de> for LStrVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }

    absent_for_other_types!(bool, i64, u64, f64, map, seq, unit);
}

impl<'de: 'a, 'a> Deserialize<'de> for LStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LStrVisitor).map(LStr)
    }
}

/// Tool output text, cut to [`MAX_TOOL_OUTPUT_BYTES`]: a string, or an array of strings and
/// `{"text": ...}` blocks joined by newlines (Claude's `tool_result.content`); absent otherwise.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct LText(pub Option<String>);

struct LTextVisitor;

impl<'de> Visitor<'de> for LTextVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(
            truncate_at_char_boundary(v, MAX_TOOL_OUTPUT_BYTES).to_owned(),
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = String::new();
        while let Some(piece) = seq.next_element::<TextPiece>()? {
            let Some(piece) = piece.0 else { continue };
            let room = MAX_TOOL_OUTPUT_BYTES.saturating_sub(out.len());
            if room == 0 {
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(truncate_at_char_boundary(&piece, room.saturating_sub(1)));
        }
        Ok(Some(out))
    }

    absent_for_other_types!(bool, i64, u64, f64, map, unit);
}

impl<'de> Deserialize<'de> for LText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LTextVisitor).map(LText)
    }
}

/// One element of a content array: a string, or an object's `text` field.
struct TextPiece<'a>(Option<Cow<'a, str>>);

/// A string, or the string field `field` of an object; absent for anything else.
struct StrOrField {
    field: &'static str,
}

impl<'de> Visitor<'de> for StrOrField {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<LStr<'de>>()? {
            if key.as_str() == self.field {
                found = map.next_value::<LStr<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    absent_for_other_types!(bool, i64, u64, f64, seq, unit);
}

impl<'de: 'a, 'a> Deserialize<'de> for TextPiece<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrOrField { field: "text" })
            .map(TextPiece)
    }
}

/// An error message: a string, or an object's `message` field; absent otherwise.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct LMessage<'a>(pub Option<Cow<'a, str>>);

impl LMessage<'_> {
    /// The message, or "" when absent.
    pub(crate) fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LMessage<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrOrField { field: "message" })
            .map(LMessage)
    }
}

/// A non-negative integer (from a number or a numeric string); absent otherwise.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LU64(pub Option<u64>);

struct LU64Visitor;

impl<'de> Visitor<'de> for LU64Visitor {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).ok())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // Truncation is intended: counters reported as floats are whole numbers.
        Ok((v.is_finite() && v >= 0.0 && v < u64::MAX as f64).then(|| saturating_u64(v)))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.trim().parse().ok())
    }

    absent_for_other_types!(bool, map, seq, unit);
}

impl<'de> Deserialize<'de> for LU64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LU64Visitor).map(LU64)
    }
}

/// A signed integer (exit codes); absent for any other type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LI64(pub Option<i64>);

struct LI64Visitor;

impl<'de> Visitor<'de> for LI64Visitor {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).ok())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    absent_for_other_types!(bool, f64, str, map, seq, unit);
}

impl<'de> Deserialize<'de> for LI64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LI64Visitor).map(LI64)
    }
}

/// A finite number (from a number or a numeric string); absent otherwise.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct LF64(pub Option<f64>);

struct LF64Visitor;

impl<'de> Visitor<'de> for LF64Visitor {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(v.is_finite().then_some(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
    }

    absent_for_other_types!(bool, map, seq, unit);
}

impl<'de> Deserialize<'de> for LF64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LF64Visitor).map(LF64)
    }
}

/// A boolean; absent for any other type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LBool(pub Option<bool>);

struct LBoolVisitor;

impl<'de> Visitor<'de> for LBoolVisitor {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    absent_for_other_types!(i64, u64, f64, str, map, seq, unit);
}

impl<'de> Deserialize<'de> for LBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LBoolVisitor).map(LBool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(borrow, default)]
        s: LStr<'a>,
        #[serde(default)]
        n: LU64,
        #[serde(default)]
        i: LI64,
        #[serde(default)]
        f: LF64,
        #[serde(default)]
        b: LBool,
        #[serde(default)]
        t: LText,
        #[serde(borrow, default)]
        m: LMessage<'a>,
    }

    #[test]
    fn expected_types_read_as_values() {
        let p: Probe = serde_json::from_str(
            r#"{"s":"hi","n":7,"i":-2,"f":0.5,"b":true,"t":"out","m":{"message":"boom","x":1}}"#,
        )
        .unwrap();
        assert!(matches!(p.s.0, Some(Cow::Borrowed("hi"))));
        assert_eq!(p.n.0, Some(7));
        assert_eq!(p.i.0, Some(-2));
        assert_eq!(p.f.0, Some(0.5));
        assert_eq!(p.b.0, Some(true));
        assert_eq!(p.t.0.as_deref(), Some("out"));
        assert_eq!(p.m.as_str(), "boom");
    }

    #[test]
    fn unexpected_types_read_as_absent_without_failing_the_line() {
        let p: Probe = serde_json::from_str(
            r#"{"s":{"a":[1,2]},"n":"x","i":"3","f":[1],"b":"yes","t":{"a":1},"m":42}"#,
        )
        .unwrap();
        assert_eq!(p.s.0, None);
        assert_eq!(p.n.0, None);
        assert_eq!(p.i.0, None);
        assert_eq!(p.f.0, None);
        assert_eq!(p.b.0, None);
        assert_eq!(p.t.0, None);
        assert_eq!(p.m.0, None);
        let p: Probe = serde_json::from_str(r#"{"s":null,"n":"12","f":"1.5"}"#).unwrap();
        assert_eq!((p.s.0, p.n.0, p.f.0), (None, Some(12), Some(1.5)));
    }

    #[test]
    fn text_joins_content_blocks_and_is_cut_to_the_limit() {
        let p: Probe = serde_json::from_str(
            r#"{"t":[{"type":"text","text":"a"},{"type":"image","source":{}},"b"]}"#,
        )
        .unwrap();
        assert_eq!(p.t.0.as_deref(), Some("a\nb"));
        let long = "é".repeat(MAX_TOOL_OUTPUT_BYTES);
        let json = format!(r#"{{"t":"{long}"}}"#);
        let p: Probe = serde_json::from_str(&json).unwrap();
        let t = p.t.0.unwrap();
        assert!(t.len() <= MAX_TOOL_OUTPUT_BYTES && t.len() >= MAX_TOOL_OUTPUT_BYTES - 1);
        let json = format!(r#"{{"t":["{long}","{long}"]}}"#);
        let p: Probe = serde_json::from_str(&json).unwrap();
        assert!(p.t.0.unwrap().len() <= MAX_TOOL_OUTPUT_BYTES);
    }
}
