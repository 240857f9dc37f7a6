//! RFC 3339 timestamps (`2025-01-02T03:04:05.123-08:00`, `2025-01-02`) as Unix seconds, for
//! `defer_until`. Small on purpose: a date, an optional time with optional fraction, and `Z`
//! or an offset.

/// Seconds since the Unix epoch, or `None` when `text` is not a timestamp.
pub fn unix_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = match text.find(['T', 't', ' ']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let year: i64 = number(parts.next()?, 4)?;
    let month: i64 = number(parts.next()?, 2)?;
    let day: i64 = number(parts.next()?, 2)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let Some(rest) = rest else {
        return Some(days * 86_400);
    };
    let (clock, offset) = split_offset(rest)?;
    let mut hms = clock.splitn(3, ':');
    let hour: i64 = number(hms.next()?, 2)?;
    let minute: i64 = number(hms.next()?, 2)?;
    let second: i64 = match hms.next() {
        Some(s) => number(s.split(['.', ',']).next()?, 2)?,
        None => 0,
    };
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// `HH:MM:SS[.f]` and the offset in seconds (`Z` is 0).
fn split_offset(rest: &str) -> Option<(&str, i64)> {
    if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(i) = rest.rfind(['+', '-']) else {
        return Some((rest, 0));
    };
    let sign = if rest[i..].starts_with('-') { -1 } else { 1 };
    let (hours, minutes) = rest[i + 1..].split_once(':')?;
    let offset = number(hours, 2)? * 3600 + number(minutes, 2)? * 60;
    Some((&rest[..i], sign * offset))
}

fn number(text: &str, digits: usize) -> Option<i64> {
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_the_shapes_bd_writes() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        assert_eq!(
            unix_seconds("2026-01-03T21:20:49.587218824-08:00"),
            Some(1_767_504_049)
        );
        assert_eq!(
            unix_seconds("2026-01-04T05:20:49+00:00"),
            Some(1_767_504_049)
        );
        assert_eq!(unix_seconds("2030-01-01"), Some(1_893_456_000));
        assert_eq!(unix_seconds("1969-12-31T23:59:59Z"), Some(-1));
    }

    #[test]
    fn anything_else_is_not_a_timestamp() {
        for bad in [
            "",
            "tomorrow",
            "2025-13-01",
            "2025-1-01",
            "2025-01-01T25:00:00Z",
            "2025-01-01T10:00:00+5",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }
}
