//! Reset times written in usage-limit messages, when they can be known without a time-zone
//! database: an epoch after a `|` (`Claude AI usage limit reached|1760000000`), a relative delay
//! (`try again in 2 days 3 hours 5 minutes`), or a clock time in UTC (`resets 8pm (UTC)`).
//! Clock times in other zones (`resets 8pm (Europe/Berlin)`, `try again at 3:42 PM`) give None.

use super::text::{epoch_to_ms, saturating_u64};

const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;

/// The reset time (ms since the epoch) a usage-limit message states, if it can be known.
pub(crate) fn reset_from_text(text: &str, now_ms: u64) -> Option<u64> {
    pipe_epoch(text)
        .or_else(|| relative_delay(text).map(|d| now_ms.saturating_add(d)))
        .or_else(|| utc_clock(text, now_ms))
}

/// `...limit reached|1760000000` -> that epoch.
fn pipe_epoch(text: &str) -> Option<u64> {
    let (_, after) = text.rsplit_once('|')?;
    let digits: &str = after.trim();
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    if end < 9 {
        return None;
    }
    digits[..end].parse().ok().map(epoch_to_ms)
}

/// `try again in 1 day 2 hours 3 minutes 4 seconds` (also `resets in ...`) -> the delay in ms.
fn relative_delay(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let start = ["try again in ", "resets in ", "reset in "]
        .iter()
        .find_map(|m| lower.find(m).map(|i| i + m.len()))?;
    let mut total = 0u64;
    let mut found = false;
    let mut words = lower[start..]
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty() && *w != "and");
    while let Some(word) = words.next() {
        // "2h", "30m" and "2 hours" forms.
        let split = word
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(word.len());
        let (num, unit) = word.split_at(split);
        let Ok(value) = num.parse::<f64>() else { break };
        let unit = if unit.is_empty() {
            words.next().unwrap_or("")
        } else {
            unit
        };
        let unit = unit.trim_end_matches(['.', ';', ')']);
        let scale = match unit {
            "d" | "day" | "days" => DAY_MS,
            "h" | "hr" | "hrs" | "hour" | "hours" => HOUR_MS,
            "m" | "min" | "mins" | "minute" | "minutes" => MINUTE_MS,
            "s" | "sec" | "secs" | "second" | "seconds" => 1000,
            _ => break,
        };
        if !value.is_finite() || value < 0.0 {
            break;
        }
        // Rounding to whole milliseconds is intended.
        total = total.saturating_add(saturating_u64(value * scale as f64));
        found = true;
    }
    found.then_some(total)
}

/// `resets 8pm (UTC)` / `resets 8:30pm UTC` / `resets 20:00 (UTC)` -> the next such time.
fn utc_clock(text: &str, now_ms: u64) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("resets ")? + "resets ".len();
    let rest = lower[start..].trim_start_matches("at ");
    if !rest.contains("utc") {
        return None;
    }
    let token = rest.split_whitespace().next()?;
    let (clock, meridiem) = if let Some(c) = token.strip_suffix("am") {
        (c, Some(false))
    } else if let Some(c) = token.strip_suffix("pm") {
        (c, Some(true))
    } else {
        (token, None)
    };
    let (h, m) = match clock.split_once(':') {
        Some((h, m)) => (h.parse::<u64>().ok()?, m.parse::<u64>().ok()?),
        None => (clock.parse::<u64>().ok()?, 0),
    };
    let hour = match meridiem {
        Some(pm) if (1..=12).contains(&h) => h % 12 + if pm { 12 } else { 0 },
        None if h < 24 => h,
        Some(_) | None => return None,
    };
    if m >= 60 {
        return None;
    }
    let day_start = now_ms - now_ms % DAY_MS;
    let candidate = day_start + hour * HOUR_MS + m * MINUTE_MS;
    Some(if candidate > now_ms {
        candidate
    } else {
        candidate + DAY_MS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2025-10-09T08:53:20Z
    const NOW: u64 = 1_760_000_000_000;

    #[test]
    fn epoch_after_a_pipe() {
        assert_eq!(
            reset_from_text("Claude AI usage limit reached|1760003600", NOW),
            Some(1_760_003_600_000)
        );
        assert_eq!(pipe_epoch("a|b"), None);
    }

    #[test]
    fn relative_delays() {
        let text =
            "You've hit your usage limit. Upgrade to Pro or try again in 1 day 2 hours 3 minutes.";
        assert_eq!(
            reset_from_text(text, NOW),
            Some(NOW + DAY_MS + 2 * HOUR_MS + 3 * MINUTE_MS)
        );
        assert_eq!(relative_delay("try again in 45 seconds"), Some(45_000));
        assert_eq!(
            relative_delay("resets in 2h 30m"),
            Some(2 * HOUR_MS + 30 * MINUTE_MS)
        );
        assert_eq!(relative_delay("try again in a while"), None);
    }

    #[test]
    fn utc_clock_times_roll_to_the_next_occurrence() {
        // 08:53:20Z now: 8pm today, 8am tomorrow.
        let day_start = NOW - NOW % DAY_MS;
        assert_eq!(
            utc_clock("You've hit your limit · resets 8pm (UTC)", NOW),
            Some(day_start + 20 * HOUR_MS)
        );
        assert_eq!(
            utc_clock("resets 8am (UTC)", NOW),
            Some(day_start + DAY_MS + 8 * HOUR_MS)
        );
        assert_eq!(
            utc_clock("resets 12:30am UTC", NOW),
            Some(day_start + DAY_MS + 30 * MINUTE_MS)
        );
        assert_eq!(
            utc_clock("resets 20:15 (UTC)", NOW),
            Some(day_start + 20 * HOUR_MS + 15 * MINUTE_MS)
        );
    }

    #[test]
    fn clock_times_in_other_zones_are_unknown() {
        assert_eq!(
            reset_from_text("You've hit your limit · resets 8pm (Europe/Berlin)", NOW),
            None
        );
        assert_eq!(reset_from_text("try again at 3:42 PM", NOW), None);
        assert_eq!(utc_clock("resets 13pm (UTC)", NOW), None);
    }
}
