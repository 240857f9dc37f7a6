//! The workflow's `limits:` section: when the run modes (`engine run --all`, `engine watch`)
//! may start new runs. `work_hours: "09:00-18:00"` is a window of the local clock (end
//! excluded; `"22:00-06:00"` spans midnight) and `days: mon-fri` the days it is open (a range,
//! a comma-separated list, or a YAML list of day names). A window that spans midnight belongs
//! to the day it opens on: with `days: fri`, `"22:00-06:00"` is open from Friday 22:00 to
//! Saturday 06:00. Runs going on are never stopped by these; only new runs wait.

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;

/// Day names, Monday first (the index is the weekday, 0 = Monday).
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes in a day.
const DAY_MINUTES: u16 = 24 * 60;

/// A window of the local clock, in minutes since midnight: `start` included, `end` excluded;
/// `start > end` spans midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkHours {
    /// Opens at this minute of the day.
    pub start: u16,
    /// Closes at this minute of the day (of the next day when it is before `start`).
    pub end: u16,
}

/// What `limits:` says; everything open when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// The daily window; `None`: any time of day.
    pub work_hours: Option<WorkHours>,
    /// Days the window opens on, bit `d` for weekday `d` (0 = Monday); all days by default.
    pub days: u8,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            work_hours: None,
            days: 0x7f,
        }
    }
}

impl RunLimits {
    /// Whether the section limits anything.
    pub fn is_set(&self) -> bool {
        self.work_hours.is_some() || self.days != 0x7f
    }

    /// Whether a new run may start at local `minute` (since midnight) of `weekday` (0 = Monday).
    pub fn allows(&self, weekday: u8, minute: u16) -> bool {
        let day_open = |day: u8| self.days & (1 << (day % 7)) != 0;
        match self.work_hours {
            None => day_open(weekday),
            Some(WorkHours { start, end }) if start < end => {
                day_open(weekday) && (start..end).contains(&minute)
            }
            Some(WorkHours { start, end }) => {
                // Spans midnight: the evening part belongs to today, the morning part to the
                // day before.
                (minute >= start && day_open(weekday))
                    || (minute < end && day_open((weekday + 6) % 7))
            }
        }
    }

    /// `work_hours 09:00-18:00 on mon-fri`, for messages.
    pub fn describe(&self) -> String {
        let hours = match self.work_hours {
            Some(WorkHours { start, end }) => format!("work_hours {}-{}", clock(start), clock(end)),
            None => "all day".to_string(),
        };
        if self.days == 0x7f {
            hours
        } else {
            let days: Vec<&str> = (0..7)
                .filter(|d| self.days & (1 << d) != 0)
                .map(|d| DAY_NAMES[d])
                .collect();
            format!("{hours} on {}", days.join(","))
        }
    }
}

fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Reads `limits:`; value problems go to `problems` (wrong types are the schema's).
pub(crate) fn read_run_limits(root: &Map<String, Value>, problems: &mut Vec<Problem>) -> RunLimits {
    let path = FieldPath::keys(&["limits"]);
    let section = root.get("limits").and_then(Value::as_object);
    let mut limits = RunLimits::default();
    if let Some(text) = section
        .and_then(|s| s.get("work_hours"))
        .and_then(Value::as_str)
    {
        match parse_work_hours(text) {
            Ok(hours) => limits.work_hours = Some(hours),
            Err(e) => problems.push(Problem::at(path.key("work_hours"), e.to_string())),
        }
    }
    let days: Option<Vec<&str>> = match section.and_then(|s| s.get("days")) {
        Some(Value::String(text)) => Some(text.split(',').collect()),
        Some(Value::Array(items)) => Some(items.iter().filter_map(Value::as_str).collect()),
        _ => None,
    };
    if let Some(parts) = days {
        match parse_days(&parts) {
            Ok(mask) => limits.days = mask,
            Err(e) => problems.push(Problem::at(path.key("days"), e.to_string())),
        }
    }
    limits
}

/// A `limits.work_hours` that is not a window of the day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkHoursError {
    /// Not `HH:MM-HH:MM` with a 24-hour clock.
    #[error(
        "{0:?} is not a window of the day: write `HH:MM-HH:MM` with a 24-hour clock, e.g. \
         \"09:00-18:00\" (\"22:00-06:00\" spans midnight)"
    )]
    NotAWindow(String),
    /// Opens and closes at the same minute.
    #[error("{0:?} opens and closes at the same time; leave work_hours out to allow any time")]
    Empty(String),
}

/// A `limits.days` entry that names no day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DaysError {
    /// Not a day name (lower-cased as read).
    #[error(
        "unknown day {0:?}: use mon, tue, wed, thu, fri, sat, sun, a range like mon-fri, or \
         several separated by commas"
    )]
    UnknownDay(String),
    /// An empty entry (`mon,,fri`).
    #[error("an empty day: list days like mon-fri or mon,wed,fri")]
    Empty,
}

/// `HH:MM-HH:MM`.
pub fn parse_work_hours(text: &str) -> Result<WorkHours, WorkHoursError> {
    let bad = || WorkHoursError::NotAWindow(text.to_string());
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let minute = |part: &str| -> Option<u16> {
        let (h, m) = part.trim().split_once(':')?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (Some(start), Some(end)) = (minute(start), minute(end)) else {
        return Err(bad());
    };
    if start == end {
        return Err(WorkHoursError::Empty(text.to_string()));
    }
    debug_assert!(start < DAY_MINUTES && end < DAY_MINUTES);
    Ok(WorkHours { start, end })
}

/// Day names and ranges (`mon-fri`, `sat`, `fri-mon` wraps), any case.
pub fn parse_days(parts: &[&str]) -> Result<u8, DaysError> {
    let day = |name: &str| -> Result<u8, DaysError> {
        let name = name.trim().to_ascii_lowercase();
        match DAY_NAMES
            .iter()
            .position(|d| name == *d || name == full_name(d))
            .and_then(|i| u8::try_from(i).ok())
        {
            Some(i) => Ok(i),
            None => Err(DaysError::UnknownDay(name)),
        }
    };
    let mut mask = 0u8;
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            return Err(DaysError::Empty);
        }
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day(from)?, day(to)?);
                let mut d = from;
                loop {
                    mask |= 1 << d;
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => mask |= 1 << day(part)?,
        }
    }
    Ok(mask)
}

fn full_name(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_days_parse() {
        assert_eq!(
            parse_work_hours("09:00-18:00"),
            Ok(WorkHours {
                start: 540,
                end: 1080
            })
        );
        assert_eq!(
            parse_work_hours(" 22:30 - 6:05 "),
            Ok(WorkHours {
                start: 1350,
                end: 365
            })
        );
        for bad in [
            "9-18",
            "09:00",
            "24:00-01:00",
            "09:60-10:00",
            "09:00-09:00",
            "a:bc-d",
        ] {
            assert!(parse_work_hours(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_days(&["mon-fri"]), Ok(0b001_1111));
        assert_eq!(parse_days(&["sat", "Sunday"]), Ok(0b110_0000));
        assert_eq!(parse_days(&["fri-mon"]), Ok(0b111_0001));
        assert_eq!(
            parse_days(&["Funday"]).unwrap_err().to_string(),
            "unknown day \"funday\": use mon, tue, wed, thu, fri, sat, sun, a range like \
             mon-fri, or several separated by commas"
        );
        assert_eq!(parse_days(&[""]), Err(DaysError::Empty));
        assert_eq!(
            parse_work_hours("9-18").unwrap_err().to_string(),
            "\"9-18\" is not a window of the day: write `HH:MM-HH:MM` with a 24-hour clock, \
             e.g. \"09:00-18:00\" (\"22:00-06:00\" spans midnight)"
        );
        assert_eq!(
            parse_work_hours("09:00-09:00"),
            Err(WorkHoursError::Empty("09:00-09:00".into()))
        );
    }

    /// Every minute of the week, for every kind of window and several day sets, against a
    /// plain reference: mark the minutes of each open day's window on a weekly clock.
    #[test]
    fn allows_matches_a_minute_by_minute_reference() {
        const WEEK: usize = 7 * DAY_MINUTES as usize;
        let windows = [
            None,
            Some((540, 1080)),
            Some((1320, 360)),
            Some((0, 1)),
            Some((1439, 0)),
        ];
        let day_sets = [0x7f, 0b001_1111, 0b001_0000, 0b100_0001, 0];
        for window in windows {
            for days in day_sets {
                let limits = RunLimits {
                    work_hours: window.map(|(start, end)| WorkHours { start, end }),
                    days,
                };
                let mut open = vec![false; WEEK];
                for day in 0..7usize {
                    if days & (1 << day) == 0 {
                        continue;
                    }
                    let base = day * DAY_MINUTES as usize;
                    let (start, len) = match window {
                        None => (0, DAY_MINUTES as usize),
                        Some((s, e)) if s < e => (s as usize, (e - s) as usize),
                        Some((s, e)) => (s as usize, (DAY_MINUTES - s + e) as usize),
                    };
                    for m in 0..len {
                        open[(base + start + m) % WEEK] = true;
                    }
                }
                for (minute_of_week, expected) in open.iter().enumerate() {
                    let weekday = u8::try_from(minute_of_week / DAY_MINUTES as usize).unwrap();
                    let minute = u16::try_from(minute_of_week % DAY_MINUTES as usize).unwrap();
                    assert_eq!(
                        limits.allows(weekday, minute),
                        *expected,
                        "{window:?} days {days:#b} at day {weekday} minute {minute}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_section_reads_strings_and_lists() {
        let root = serde_json::json!({
            "limits": { "work_hours": "22:00-06:00", "days": ["sat", "Sun"] }
        });
        let mut problems = Vec::new();
        let limits = read_run_limits(root.as_object().unwrap(), &mut problems);
        assert!(problems.is_empty());
        assert_eq!(
            limits.work_hours,
            Some(WorkHours {
                start: 1320,
                end: 360
            })
        );
        assert_eq!(limits.days, 0b110_0000);
        let none = read_run_limits(&Map::new(), &mut problems);
        assert_eq!(none, RunLimits::default());
        assert!(problems.is_empty());
    }

    #[test]
    fn descriptions_read_like_the_yaml() {
        let limits = RunLimits {
            work_hours: Some(WorkHours {
                start: 540,
                end: 1080,
            }),
            days: 0b001_1111,
        };
        assert_eq!(
            limits.describe(),
            "work_hours 09:00-18:00 on mon,tue,wed,thu,fri"
        );
        assert!(!RunLimits::default().is_set());
    }
}
