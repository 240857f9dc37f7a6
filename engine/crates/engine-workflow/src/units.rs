//! Durations (`45m`, `1h 30m`, `500ms`) and sizes (`64MiB`, `1GB`, `1048576`) as written in
//! workflows.

use serde_json::Value;

/// Parses a humantime duration into whole milliseconds.
pub(crate) fn duration_ms(text: &str) -> Result<u64, String> {
    let examples = "examples: 45m, 10s, 1h 30m, 500ms";
    let duration = humantime::parse_duration(text.trim()).map_err(|e| match e {
        humantime::DurationError::UnknownUnit { unit, .. } if !unit.is_empty() => {
            format!("\"{text}\" is not a duration (unknown unit \"{unit}\"; {examples})")
        }
        humantime::DurationError::NumberOverflow => format!("\"{text}\" is too long a duration"),
        _ => format!("\"{text}\" is not a duration ({examples})"),
    })?;
    u64::try_from(duration.as_millis()).map_err(|_| format!("\"{text}\" is too long a duration"))
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
pub(crate) fn size_bytes(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| format!("{n} is not a size: use a whole number of bytes or e.g. 64MiB")),
        Value::String(text) => parse_size_text(text),
        other => Err(format!("expected a size such as 64MiB, got {other}")),
    }
}

fn parse_size_text(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(digits_end);
    let unit = unit.trim();
    let invalid = || {
        format!(
            "\"{text}\" is not a size: use a number of bytes or a number with one of \
             B, KiB, MiB, GiB, KB, MB, GB (e.g. 64MiB)"
        )
    };
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
        .ok_or_else(|| format!("\"{text}\" is too large a size"))
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
            duration_ms("10 parsecs").unwrap_err(),
            "\"10 parsecs\" is not a duration (unknown unit \"parsecs\"; examples: 45m, 10s, 1h 30m, 500ms)"
        );
        assert!(duration_ms("10").unwrap_err().contains("is not a duration"));
        assert!(
            duration_ms("99999999999999999999years")
                .unwrap_err()
                .contains("too long")
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
        assert!(
            size_bytes(&json!("18446744073709551615GiB"))
                .unwrap_err()
                .contains("too large")
        );
    }
}
