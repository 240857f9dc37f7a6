//! Small helpers shared by the parsers: truncation, case-insensitive matching, the phrases CLIs
//! use for the failures every backend must recognise, and saturating numbers and usage sums.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::event::Usage;

/// Phrases meaning the prompt no longer fits the model's context window.
pub(crate) const CONTEXT_OVERFLOW_PHRASES: &[&str] = &[
    "prompt is too long",
    "context_length_exceeded",
    "maximum context length",
    "contextwindowexceedederror",
    "ran out of room in the model's context window",
];

/// Phrases meaning the account hit a usage limit or quota (not a transient 429 the CLI retries).
pub(crate) const USAGE_LIMIT_PHRASES: &[&str] = &[
    "usage limit",
    "hit your limit",
    "exceeded your current quota",
    "insufficient_quota",
    "quota exceeded",
    "resource_exhausted",
    "exhausted your",
];

/// `s` cut to at most `max` bytes, at a character boundary.
pub(crate) fn truncate_at_char_boundary(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

/// Whether `haystack` contains `needle`, ignoring ASCII case. `needle` must be lowercase.
pub(crate) fn contains_ci(haystack: &str, needle: &str) -> bool {
    contains_any_ci(haystack, &[needle])
}

/// Whether `haystack` contains any of `needles` (lowercase), ignoring ASCII case. The haystack
/// is lowered once and searched with `str::contains` (linear), instead of comparing every window
/// with every needle: every line of an agent's output goes through here.
pub(crate) fn contains_any_ci(haystack: &str, needles: &[&str]) -> bool {
    if needles.iter().any(|n| n.is_empty()) {
        return true;
    }
    let shortest = needles.iter().map(|n| n.len()).min().unwrap_or(0);
    if needles.is_empty() || haystack.len() < shortest {
        return false;
    }
    let lowered = haystack.to_ascii_lowercase();
    needles.iter().any(|n| lowered.contains(n))
}

/// Milliseconds since the Unix epoch, now (0 if the clock is before the epoch).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seconds since the epoch as milliseconds; values that already look like milliseconds (13+
/// digits) are kept as they are.
pub(crate) fn epoch_to_ms(value: u64) -> u64 {
    if value >= 100_000_000_000 {
        value
    } else {
        value.saturating_mul(1000)
    }
}

/// A number an agent printed (token count, milliseconds) as a whole `u64`, rounded toward zero
/// and saturating: NaN and negatives read as 0, values past `u64::MAX` as `u64::MAX`.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "Rust's float-to-integer `as` saturates, which is exactly the conversion wanted"
)]
pub(crate) fn saturating_u64(value: f64) -> u64 {
    value as u64
}

/// Adds token counts to cumulative usage, saturating: the numbers come from the agent.
pub(crate) fn add_tokens(
    totals: &mut Usage,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
) {
    totals.input_tokens = totals.input_tokens.saturating_add(input);
    totals.output_tokens = totals.output_tokens.saturating_add(output);
    totals.cache_read_tokens = totals.cache_read_tokens.saturating_add(cache_read);
    totals.cache_write_tokens = totals.cache_write_tokens.saturating_add(cache_write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_at_char_boundary("héllo", 2), "h");
        assert_eq!(truncate_at_char_boundary("héllo", 3), "hé");
        assert_eq!(truncate_at_char_boundary("abc", 10), "abc");
    }

    #[test]
    fn case_insensitive_containment() {
        assert!(contains_ci("Prompt Is Too Long", "prompt is too long"));
        assert!(!contains_ci("short", "prompt is too long"));
        assert!(contains_any_ci(
            "You've hit your LIMIT",
            USAGE_LIMIT_PHRASES
        ));
        assert!(!contains_any_ci("all good", USAGE_LIMIT_PHRASES));
        // Non-ASCII text is compared byte for byte; the needle may end the haystack.
        assert!(contains_ci("Ünïcode … Rate LIMIT", "rate limit"));
        assert!(!contains_ci("RATE LİMIT", "rate limit"));
        assert!(contains_ci("anything", ""));
        assert!(!contains_any_ci("anything", &[]));
    }

    #[test]
    fn floats_become_whole_saturated_counts() {
        assert_eq!(saturating_u64(12.9), 12);
        assert_eq!(saturating_u64(-3.0), 0);
        assert_eq!(saturating_u64(f64::NAN), 0);
        assert_eq!(saturating_u64(1e30), u64::MAX);
    }

    #[test]
    fn epoch_seconds_and_millis() {
        assert_eq!(epoch_to_ms(1_760_000_000), 1_760_000_000_000);
        assert_eq!(epoch_to_ms(1_760_000_000_000), 1_760_000_000_000);
    }
}
