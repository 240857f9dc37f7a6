//! What Gemini CLI's errors mean, from the words the CLI (0.61.0) and the Gemini API use:
//! an exhausted quota or billing, a short (per-minute) limit with its retry delay, a failed
//! login, and the CLI's own retry notices on stderr.

use crate::backends::text::{USAGE_LIMIT_PHRASES, contains_any_ci, saturating_u64};

/// Phrases meaning the quota or billing is exhausted: waiting does not help. A key whose
/// project has no quota says `limit: 0` and "check your plan and billing details"; a per-day
/// quota violation is rewritten by the CLI to "You have exhausted your daily quota on this
/// model"; Google One AI credits say `INSUFFICIENT_G1_CREDITS_BALANCE`.
const QUOTA_PHRASES: &[&str] = &[
    "plan and billing",
    "billing details",
    "exhausted your daily quota",
    "insufficient_g1_credits",
    "limit: 0,",
];

/// Phrases of a (short) rate limit, on top of the usage-limit phrases every backend knows.
const RATE_LIMIT_PHRASES: &[&str] = &["resource has been exhausted", "too many requests"];

/// Phrases in Gemini errors and stderr meaning the login is gone or the key is refused: a bad
/// key is a 400 `API_KEY_INVALID`, then 401 `UNAUTHENTICATED` and 403 `PERMISSION_DENIED`.
pub(in crate::backends) const AUTH_PHRASES: &[&str] = &[
    "api key not valid",
    "api_key_invalid",
    "invalid api key",
    "unauthenticated",
    "permission_denied",
    "authentication failed",
    "please set an auth method",
];

/// How an error message reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ErrorKind {
    /// Quota or billing exhausted.
    Quota,
    /// A rate limit; the delay it asks for in ms, when it says.
    RateLimit(Option<u64>),
    /// Authentication failed.
    Auth,
    /// Anything else.
    Other,
}

/// What `message` (an error result's or event's message) means.
pub(super) fn classify(message: &str) -> ErrorKind {
    if contains_any_ci(message, QUOTA_PHRASES) {
        ErrorKind::Quota
    } else if contains_any_ci(message, USAGE_LIMIT_PHRASES)
        || contains_any_ci(message, RATE_LIMIT_PHRASES)
    {
        ErrorKind::RateLimit(retry_delay_ms(message))
    } else if contains_any_ci(message, AUTH_PHRASES) {
        ErrorKind::Auth
    } else {
        ErrorKind::Other
    }
}

/// The delay a Gemini rate-limit message asks for: `Please retry in 1.5s`, `Suggested retry
/// after 60s`, `retry in 300ms`.
pub(super) fn retry_delay_ms(message: &str) -> Option<u64> {
    let lower = message.to_ascii_lowercase();
    ["retry in ", "retry after "].iter().find_map(|marker| {
        lower
            .match_indices(marker)
            .find_map(|(at, m)| duration_ms(&lower[at + m.len()..]))
    })
}

/// `1.5s...` / `300ms...` at the start of `text` -> milliseconds.
fn duration_ms(text: &str) -> Option<u64> {
    let end = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let value: f64 = text[..end].parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let unit = &text[end..];
    // Rounding to whole milliseconds is intended.
    if unit.starts_with("ms") {
        Some(saturating_u64(value))
    } else if unit.starts_with('s') {
        Some(saturating_u64(value * 1000.0))
    } else {
        None
    }
}

/// `Attempt 2 failed: ...` (the start of the CLI's retry notice on stderr) -> 2.
pub(super) fn retry_attempt(line: &str) -> Option<u32> {
    let rest = line.trim_start().strip_prefix("Attempt ")?;
    let end = rest.find(' ')?;
    if !rest[end..].starts_with(" failed") {
        return None;
    }
    rest[..end].parse().ok()
}

/// `... Retrying after 5587ms...` (the end of the CLI's retry notice) -> 5587.
pub(super) fn retrying_after_ms(line: &str) -> Option<u64> {
    let (_, rest) = line.rsplit_once("Retrying after ")?;
    let end = rest.find("ms")?;
    rest[..end].trim().parse().ok()
}

/// `line` without ANSI colour sequences (`ESC [ ... letter`): the CLI colours its fatal errors.
pub(super) fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_rate_limit_and_auth_messages() {
        let billing = "[API Error: You exceeded your current quota, please check your plan and \
                       billing details. ... limit: 0, model: gemini-2.5-pro]";
        assert_eq!(classify(billing), ErrorKind::Quota);
        assert_eq!(
            classify("[API Error: You have exhausted your daily quota on this model.]"),
            ErrorKind::Quota
        );
        let minute = "Resource has been exhausted (e.g. check quota). Quota exceeded for metric: \
                      x, limit: 2000000, model: m. Please retry in 1.5s.\nSuggested retry after 1s.";
        assert_eq!(classify(minute), ErrorKind::RateLimit(Some(1500)));
        assert_eq!(
            classify("\"status\":\"PERMISSION_DENIED\""),
            ErrorKind::Auth
        );
        assert_eq!(classify("[API Error: terminated]"), ErrorKind::Other);
    }

    #[test]
    fn retry_delays() {
        assert_eq!(retry_delay_ms("Please retry in 300ms."), Some(300));
        assert_eq!(retry_delay_ms("Suggested retry after 60s."), Some(60_000));
        assert_eq!(retry_delay_ms("retry in a while"), None);
    }

    #[test]
    fn retry_notices_on_stderr() {
        assert_eq!(
            retry_attempt("Attempt 3 failed: Resource has been exhausted"),
            Some(3)
        );
        assert_eq!(retry_attempt("Attempting things"), None);
        assert_eq!(
            retrying_after_ms("Suggested retry after 1s.. Retrying after 5587ms..."),
            Some(5587)
        );
        assert_eq!(retrying_after_ms("no notice"), None);
    }

    #[test]
    fn ansi_colours_are_removed() {
        assert_eq!(strip_ansi("\u{1b}[31mnot trusted\u{1b}[0m"), "not trusted");
    }
}
