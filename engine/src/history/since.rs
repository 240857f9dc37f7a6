//! `--since` values (`engine runs`, `engine costs`): a calendar date or a date and time in the
//! user's time zone, or a duration back from now.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// Why a `--since` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--since {given:?}: {why} (give a date such as 2026-12-01, a local date and time such as \
     2026-12-01T09:00, or a duration back from now such as 7d, 12h or 30m)"
)]
pub struct BadSince {
    /// The value given.
    pub given: String,
    /// What is wrong with it.
    pub why: String,
}

/// The time (ms since the epoch) `text` names, at `now` in time zone `tz`:
/// - `2026-12-01`: the start of that day in `tz` (the first instant of the day, correct on a day
///   that begins with a daylight-saving change);
/// - `2026-12-01T09:00` (or with a space): that local time in `tz` (a time skipped by a
///   daylight-saving change moves forward by the gap, a repeated one takes the earlier);
/// - `2026-12-01T09:00:00Z`, `2026-12-01T09:00+01:00`: that instant;
/// - a duration (`7d`, `12h`, `90m`, `1w`, `2d 6h`): that long before `now`; a day is 24 hours.
pub fn parse_since(text: &str, now: Timestamp, tz: &TimeZone) -> Result<u64, BadSince> {
    let bad = |why: String| BadSince {
        given: text.to_string(),
        why,
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad("empty".into()));
    }
    let starts_like_a_date = trimmed.len() >= 10
        && trimmed.as_bytes().get(4) == Some(&b'-')
        && trimmed.as_bytes().get(7) == Some(&b'-');
    let zoned: Zoned = if starts_like_a_date {
        if let Ok(instant) = trimmed.parse::<Timestamp>() {
            instant.to_zoned(tz.clone())
        } else if trimmed.len() == 10 {
            let date: Date = trimmed
                .parse()
                .map_err(|e: jiff::Error| bad(format!("not a date: {e}")))?;
            date.to_zoned(tz.clone())
                .map_err(|e| bad(format!("no such day in the time zone: {e}")))?
        } else {
            let datetime: DateTime = trimmed
                .replacen(' ', "T", 1)
                .parse()
                .map_err(|e: jiff::Error| bad(format!("not a date and time: {e}")))?;
            datetime
                .to_zoned(tz.clone())
                .map_err(|e| bad(format!("no such time in the time zone: {e}")))?
        }
    } else {
        let duration = humantime::parse_duration(trimmed)
            .map_err(|e| bad(format!("not a date nor a duration: {e}")))?;
        let span = jiff::SignedDuration::try_from(duration)
            .map_err(|_| bad("too long a duration".into()))?;
        let at = now
            .checked_sub(span)
            .map_err(|_| bad("too long a duration".into()))?;
        at.to_zoned(tz.clone())
    };
    Ok(u64::try_from(zoned.timestamp().as_millisecond()).unwrap_or(0))
}

/// [`parse_since`] at the current time in the system's time zone (`TZ`, else the system's
/// setting, else UTC).
pub fn parse_since_now(text: &str) -> Result<u64, BadSince> {
    parse_since(text, Timestamp::now(), &TimeZone::system())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn ms(rfc3339: &str) -> u64 {
        let ts: Timestamp = rfc3339.parse().unwrap();
        u64::try_from(ts.as_millisecond()).unwrap()
    }

    #[test]
    fn a_date_is_the_start_of_that_day_in_the_time_zone() {
        let now: Timestamp = "2026-12-06T12:00:00Z".parse().unwrap();
        assert_eq!(
            parse_since("2026-12-01", now, &tz("Europe/Paris")),
            Ok(ms("2026-11-30T23:00:00Z"))
        );
        assert_eq!(
            parse_since("2026-12-01", now, &TimeZone::UTC),
            Ok(ms("2026-12-01T00:00:00Z"))
        );
        // The day summer time starts in Paris has 23 hours; its start is still local midnight.
        assert_eq!(
            parse_since("2026-03-29", now, &tz("Europe/Paris")),
            Ok(ms("2026-03-28T23:00:00Z"))
        );
        assert_eq!(
            parse_since("2026-03-29T09:30", now, &tz("Europe/Paris")),
            Ok(ms("2026-03-29T07:30:00Z"))
        );
        assert_eq!(
            parse_since("2026-12-01 09:30", now, &TimeZone::UTC),
            Ok(ms("2026-12-01T09:30:00Z"))
        );
        assert_eq!(
            parse_since("2026-12-01T09:30:00+01:00", now, &tz("America/New_York")),
            Ok(ms("2026-12-01T08:30:00Z"))
        );
    }

    #[test]
    fn a_duration_counts_back_from_now() {
        let now: Timestamp = "2026-12-06T12:00:00Z".parse().unwrap();
        assert_eq!(
            parse_since("7d", now, &tz("Europe/Paris")),
            Ok(ms("2026-11-29T12:00:00Z"))
        );
        assert_eq!(
            parse_since("90m", now, &TimeZone::UTC),
            Ok(ms("2026-12-06T10:30:00Z"))
        );
    }

    #[test]
    fn nonsense_is_refused_saying_what_is_accepted() {
        let now = Timestamp::UNIX_EPOCH;
        for text in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-12-01T25:00",
            "7 parsecs",
        ] {
            let err = parse_since(text, now, &TimeZone::UTC).unwrap_err();
            assert!(
                err.to_string().contains("give a date such as 2026-12-01"),
                "{text}: {err}"
            );
        }
    }
}
