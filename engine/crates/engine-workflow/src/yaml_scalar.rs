//! What a plain (unquoted) YAML scalar means: null, a boolean, an integer, a float or text, by
//! the YAML 1.2 core schema as `serde_yaml` reads it (`~`, `True`, `0x1F`, `+1`, `1e3`,
//! `.inf`; `012` and `1_000` are text). Quoted and block scalars are always text.

use std::num::ParseIntError;

/// A plain scalar's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plain {
    /// `~`, `null`, `Null`, `NULL` or nothing.
    Null,
    /// `true`/`false` in lower, title or upper case.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(serde_json::Number),
    /// A float (possibly `.inf` or `.nan`).
    Float(f64),
    /// An integer too large for 64 bits.
    HugeInt,
    /// Anything else: text.
    Text,
}

/// Resolves the text of a plain scalar.
pub(crate) fn resolve(text: &str) -> Plain {
    if text.is_empty() || matches!(text, "~" | "null" | "Null" | "NULL") {
        return Plain::Null;
    }
    match text {
        "true" | "True" | "TRUE" => return Plain::Bool(true),
        "false" | "False" | "FALSE" => return Plain::Bool(false),
        _ => {}
    }
    if let Some(int) = parse_unsigned_int(text, u64::from_str_radix) {
        return Plain::Int(int.into());
    }
    if let Some(int) = parse_negative_int(text, i64::from_str_radix) {
        return Plain::Int(int.into());
    }
    if parse_unsigned_int(text, u128::from_str_radix).is_some()
        || parse_negative_int(text, i128::from_str_radix).is_some()
    {
        return Plain::HugeInt;
    }
    if !digits_but_not_number(text)
        && let Some(float) = parse_float(text)
    {
        return Plain::Float(float);
    }
    Plain::Text
}

/// How YAML writes a float: `.nan`, `.inf`, `-.inf`, else the shortest form that reads back.
pub(crate) fn show_float(float: f64) -> String {
    if float.is_nan() {
        ".nan".to_string()
    } else if float.is_infinite() {
        if float.is_sign_negative() {
            "-.inf".to_string()
        } else {
            ".inf".to_string()
        }
    } else {
        match serde_json::Number::from_f64(float) {
            Some(number) => number.to_string(),
            None => float.to_string(),
        }
    }
}

type FromStrRadix<T> = fn(&str, u32) -> Result<T, ParseIntError>;

/// A non-negative integer: decimal (an optional `+`), `0x`, `0o` or `0b`.
fn parse_unsigned_int<T>(scalar: &str, from_str_radix: FromStrRadix<T>) -> Option<T> {
    let unpositive = scalar.strip_prefix('+').unwrap_or(scalar);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(int) = from_str_radix(rest, radix) {
                return Some(int);
            }
        }
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(scalar) {
        return None;
    }
    from_str_radix(unpositive, 10).ok()
}

/// A negative integer: decimal, `-0x`, `-0o` or `-0b`.
fn parse_negative_int<T>(scalar: &str, from_str_radix: FromStrRadix<T>) -> Option<T> {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = scalar.strip_prefix(prefix)
            && let Ok(int) = from_str_radix(&format!("-{rest}"), radix)
        {
            return Some(int);
        }
    }
    if digits_but_not_number(scalar) {
        return None;
    }
    from_str_radix(scalar, 10).ok()
}

/// A float: `.inf`, `-.inf`, `.nan` in their three spellings, or a finite decimal float.
fn parse_float(scalar: &str) -> Option<f64> {
    let unpositive = match scalar.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => scalar,
    };
    if let ".inf" | ".Inf" | ".INF" = unpositive {
        return Some(f64::INFINITY);
    }
    if let "-.inf" | "-.Inf" | "-.INF" = scalar {
        return Some(f64::NEG_INFINITY);
    }
    if let ".nan" | ".NaN" | ".NAN" = scalar {
        return Some(f64::NAN);
    }
    unpositive.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Leading zeros followed by digits (`007`) are text in YAML 1.2, not a number.
fn digits_but_not_number(scalar: &str) -> bool {
    let scalar = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
    scalar.len() > 1 && scalar.starts_with('0') && scalar[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(text: &str) -> Option<serde_json::Number> {
        match resolve(text) {
            Plain::Int(n) => Some(n),
            _ => None,
        }
    }

    #[test]
    fn nulls_and_booleans() {
        for text in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(resolve(text), Plain::Null, "{text:?}");
        }
        assert_eq!(resolve("True"), Plain::Bool(true));
        assert_eq!(resolve("FALSE"), Plain::Bool(false));
        for text in ["yes", "no", "on", "off", "nULL", "tRUE"] {
            assert_eq!(resolve(text), Plain::Text, "{text:?}");
        }
    }

    #[test]
    fn integers_in_every_base() {
        assert_eq!(int("42"), Some(42.into()));
        assert_eq!(int("+42"), Some(42.into()));
        assert_eq!(int("-42"), Some((-42).into()));
        assert_eq!(int("0x1F"), Some(31.into()));
        assert_eq!(int("-0x10"), Some((-16).into()));
        assert_eq!(int("0o17"), Some(15.into()));
        assert_eq!(int("0b101"), Some(5.into()));
        assert_eq!(int("0"), Some(0.into()));
        assert_eq!(int("18446744073709551615"), Some(u64::MAX.into()));
        assert_eq!(resolve("18446744073709551616"), Plain::HugeInt);
        assert_eq!(resolve("-9223372036854775809"), Plain::HugeInt);
        for text in ["007", "-007", "0x+1", "1_000", "++1", "+-1", "0x"] {
            assert_eq!(int(text), None, "{text:?}");
        }
        assert_eq!(resolve("007"), Plain::Text);
    }

    #[test]
    fn floats_and_their_spelling() {
        assert_eq!(resolve("1.5"), Plain::Float(1.5));
        assert_eq!(resolve("1e3"), Plain::Float(1000.0));
        assert_eq!(resolve("+.5"), Plain::Float(0.5));
        assert_eq!(resolve(".Inf"), Plain::Float(f64::INFINITY));
        assert_eq!(resolve("-.INF"), Plain::Float(f64::NEG_INFINITY));
        assert!(matches!(resolve(".NaN"), Plain::Float(f) if f.is_nan()));
        for text in ["inf", "nan", "infinity", "1e400", "1.2.3", "0.5x", "-.nan"] {
            assert_eq!(resolve(text), Plain::Text, "{text:?}");
        }
        assert_eq!(show_float(f64::NAN), ".nan");
        assert_eq!(show_float(f64::NEG_INFINITY), "-.inf");
        assert_eq!(show_float(1000.0), "1000.0");
        assert_eq!(show_float(1.5), "1.5");
    }
}
