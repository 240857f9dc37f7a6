//! Durations (`45m`, `1h 30m`, `500ms`) and sizes (`64MiB`, `1GB`, `1048576`) as written in
//! workflows.

use serde_json::Value;

/// A duration or size as written that engine cannot read; the message is the diagnostic's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UnitError {
    /// A duration with a unit humantime does not know.
    #[error(
        "\"{text}\" is not a duration (unknown unit \"{unit}\"; {examples})",
        examples = DURATION_EXAMPLES
    )]
    UnknownDurationUnit {
        /// The text as written.
        text: String,
        /// The unit.
        unit: String,
    },
    /// Not a duration at all.
    #[error("\"{0}\" is not a duration ({examples})", examples = DURATION_EXAMPLES)]
    NotADuration(String),
    /// A duration longer than engine counts in milliseconds.
    #[error("\"{0}\" is too long a duration")]
    DurationTooLong(String),
    /// A number that is not a whole number of bytes.
    #[error("{0} is not a size: use a whole number of bytes or e.g. 64MiB")]
    NotWholeBytes(serde_json::Number),
    /// Neither a number nor a string.
    #[error("expected a size such as 64MiB, got {0}")]
    NotASizeValue(Value),
    /// A string that is not a size.
    #[error(
        "\"{0}\" is not a size: use a number of bytes or a number with one of B, KiB, MiB, \
         GiB, KB, MB, GB (e.g. 64MiB)"
    )]
    NotASize(String),
    /// A size past 2^64 bytes.
    #[error("\"{0}\" is too large a size")]
    SizeTooLarge(String),
}

/// Examples of durations, for messages.
const DURATION_EXAMPLES: &str = "examples: 45m, 10s, 1h 30m, 500ms";

/// Parses a humantime duration into whole milliseconds.
pub(crate) fn duration_ms(text: &str) -> Result<u64, UnitError> {
    let duration = humantime::parse_duration(text.trim()).map_err(|e| match e {
        humantime::DurationError::UnknownUnit { unit, .. } if !unit.is_empty() => {
            UnitError::UnknownDurationUnit {
                text: text.to_string(),
                unit,
            }
        }
        humantime::DurationError::NumberOverflow => UnitError::DurationTooLong(text.to_string()),
        _ => UnitError::NotADuration(text.to_string()),
    })?;
    u64::try_from(duration.as_millis()).map_err(|_| UnitError::DurationTooLong(text.to_string()))
}

/// Size suffixes and their multipliers, longest first so `MiB` wins over `B`.
const SIZE_UNITS: [(&str, u64); 7] = [
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("B", 1),
];

/// Parses a size: a non-negative integer (bytes) or a string of digits with an optional unit
/// (`B`, `KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB`).
pub(crate) fn size_bytes(value: &Value) -> Result<u64, UnitError> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| UnitError::NotWholeBytes(n.clone())),
        Value::String(text) => parse_size_text(text),
        other => Err(UnitError::NotASizeValue(other.clone())),
    }
}

fn parse_size_text(text: &str) -> Result<u64, UnitError> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    let unit = unit.trim();
    let invalid = || UnitError::NotASize(text.to_string());
    let count: u64 = digits.parse().map_err(|_| invalid())?;
    let multiplier = if unit.is_empty() {
        1
    } else {
        SIZE_UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, m)| *m)
            .ok_or_else(invalid)?
    };
    count
        .checked_mul(multiplier)
        .ok_or_else(|| UnitError::SizeTooLarge(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        assert_eq!(duration_ms("45m"), Ok(45 * 60_000));
        assert_eq!(duration_ms("1h 30m"), Ok(90 * 60_000));
        assert_eq!(duration_ms("500ms"), Ok(500));
        assert_eq!(duration_ms(" 10s "), Ok(10_000));
        assert_eq!(
            duration_ms("10 parsecs").unwrap_err().to_string(),
            "\"10 parsecs\" is not a duration (unknown unit \"parsecs\"; examples: 45m, 10s, 1h 30m, 500ms)"
        );
        assert_eq!(
            duration_ms("10").unwrap_err().to_string(),
            "\"10\" is not a duration (examples: 45m, 10s, 1h 30m, 500ms)"
        );
        assert_eq!(
            duration_ms("99999999999999999999years").unwrap_err(),
            UnitError::DurationTooLong("99999999999999999999years".into())
        );
        assert!(duration_ms("").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size_bytes(&json!(1024)), Ok(1024));
        assert_eq!(size_bytes(&json!("64MiB")), Ok(64 << 20));
        assert_eq!(size_bytes(&json!("1 GiB")), Ok(1 << 30));
        assert_eq!(size_bytes(&json!("512KB")), Ok(512_000));
        assert_eq!(size_bytes(&json!("100MB")), Ok(100_000_000));
        assert_eq!(size_bytes(&json!("2GB")), Ok(2_000_000_000));
        assert_eq!(size_bytes(&json!("7B")), Ok(7));
        assert_eq!(size_bytes(&json!("4096")), Ok(4096));
        assert!(size_bytes(&json!("64mb")).is_err());
        assert!(size_bytes(&json!("MiB")).is_err());
        assert!(size_bytes(&json!(-1)).is_err());
        assert!(size_bytes(&json!(1.5)).is_err());
        assert!(size_bytes(&json!("99999999999999999999GiB")).is_err());
        assert_eq!(
            size_bytes(&json!("18446744073709551615GiB"))
                .unwrap_err()
                .to_string(),
            "\"18446744073709551615GiB\" is too large a size"
        );
        assert_eq!(
            size_bytes(&json!(1.5)).unwrap_err().to_string(),
            "1.5 is not a size: use a whole number of bytes or e.g. 64MiB"
        );
        assert_eq!(
            size_bytes(&json!(true)).unwrap_err().to_string(),
            "expected a size such as 64MiB, got true"
        );
        assert_eq!(
            size_bytes(&json!("64mb")).unwrap_err().to_string(),
            "\"64mb\" is not a size: use a number of bytes or a number with one of B, KiB, MiB, \
             GiB, KB, MB, GB (e.g. 64MiB)"
        );
    }
}
