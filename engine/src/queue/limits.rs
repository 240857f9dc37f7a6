//! The limits checked before every new run (fail closed): `--until`, the workflow's
//! `limits.work_hours`/`limits.days`, and `budget.day_usd`.

use engine_store::Store;

use crate::EngineError;
use crate::project::PreparedWorkflow;

/// When `--until` stops new runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Until {
    /// No run starts at or after this time (ms since the epoch).
    pub at_ms: u64,
}

/// Reads `--until`: a local clock time (`18:30`: its next occurrence in the system's time
/// zone), a duration from `now_ms` (`2h`, `90m`) or an RFC 3339 time (`2026-05-01T18:00:00Z`).
pub fn parse_until(text: &str, now_ms: u64) -> Result<Until, String> {
    parse_until_in(text, now_ms, &jiff::tz::TimeZone::system())
}

/// [`parse_until`] with the clock times read in `tz`: `18:30` is the next time the clocks of
/// `tz` show 18:30, right on a day with a daylight-saving change too (a time the change skips
/// moves forward by the gap; a time it repeats is its first occurrence).
pub fn parse_until_in(text: &str, now_ms: u64, tz: &jiff::tz::TimeZone) -> Result<Until, String> {
    let text = text.trim();
    if let Some((h, m)) = text.split_once(':').filter(|_| text.len() <= 5) {
        let hour: i8 = h.parse().map_err(|_| bad_until(text))?;
        let minute: i8 = m.parse().map_err(|_| bad_until(text))?;
        if !(0..=23).contains(&hour) || !(0..=59).contains(&minute) || m.len() != 2 {
            return Err(bad_until(text));
        }
        return next_clock_time(hour, minute, now_ms, tz)
            .map(|at_ms| Until { at_ms })
            .ok_or_else(|| bad_until(text));
    }
    if let Ok(duration) = humantime::parse_duration(text) {
        let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        return Ok(Until {
            at_ms: now_ms.saturating_add(ms),
        });
    }
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        let ms = time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        return Ok(Until { at_ms: ms });
    }
    Err(bad_until(text))
}

/// The first time after `now_ms` the clocks of `tz` show `hour:minute` (ms since the epoch).
fn next_clock_time(hour: i8, minute: i8, now_ms: u64, tz: &jiff::tz::TimeZone) -> Option<u64> {
    let now = jiff::Timestamp::from_millisecond(i64::try_from(now_ms).ok()?).ok()?;
    let today = now.to_zoned(tz.clone()).date();
    let mut day = today;
    // Today's, else tomorrow's (else the day after: a zone that skips a whole day).
    for _ in 0..3 {
        let at = day.at(hour, minute, 0, 0).to_zoned(tz.clone()).ok()?;
        let at_ms = at.timestamp().as_millisecond();
        if at_ms > now.as_millisecond() {
            return u64::try_from(at_ms).ok();
        }
        day = day.tomorrow().ok()?;
    }
    None
}

fn bad_until(text: &str) -> String {
    format!(
        "--until {text:?}: give a local clock time (18:30), a duration (2h, 90m) or an RFC 3339 \
         time (2026-05-01T18:00:00Z)"
    )
}

/// Every limit on starting a new run.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// `--until`.
    pub until: Option<Until>,
    /// The workflow's `limits:` (working hours and days, local time).
    pub hours: engine_workflow::RunLimits,
}

impl Limits {
    /// The limits of a session: `--until` (read at `now_ms`) and the workflow's own.
    pub fn new(
        until: Option<&str>,
        prepared: &PreparedWorkflow,
        now_ms: u64,
    ) -> Result<Limits, EngineError> {
        let until = until
            .map(|text| parse_until(text, now_ms))
            .transpose()
            .map_err(EngineError::Usage)?;
        Ok(Limits {
            until,
            hours: prepared.loaded.limits,
        })
    }

    /// Why no new run may start at `now_ms` by the clock (`--until`, working hours), if so.
    pub fn closed(&self, now_ms: u64) -> Option<String> {
        if let Some(until) = self.until.filter(|u| now_ms >= u.at_ms) {
            return Some(format!(
                "--until {} has passed",
                crate::time::rfc3339(until.at_ms)
            ));
        }
        let local = crate::time::local(now_ms);
        if self.hours.is_set() && !self.hours.allows(local.weekday, local.minute_of_day) {
            return Some(format!(
                "outside the workflow's limits ({}, local time)",
                self.hours.describe()
            ));
        }
        None
    }

    /// Whether a new run may start at `now`: `Some((why, permanent))` when not — `permanent`
    /// for a passed `--until` (it never opens again), not for working hours or a spent day
    /// budget (they open again later). The budget fails closed: unknown spend keeps it shut.
    pub fn gate(
        &self,
        store: &dyn Store,
        prepared: &PreparedWorkflow,
        now: u64,
    ) -> Result<Option<(String, bool)>, EngineError> {
        if let Some(why) = self.closed(now) {
            let permanent = self.until.is_some_and(|u| now >= u.at_ms);
            return Ok(Some((why, permanent)));
        }
        match crate::agents::budget::check_day_budget(store, prepared.agents.day_budget_usd, now) {
            Ok(()) => Ok(None),
            Err(EngineError::LimitReached(why)) => Ok(Some((why, false))),
            Err(e) => Err(e),
        }
    }

    /// Refuses a new run at `now` (exit 7) outside the time window or when the day's budget
    /// is spent (or, failing closed, cannot be known).
    pub fn check_new_run(
        &self,
        store: &dyn Store,
        prepared: &PreparedWorkflow,
        now: u64,
    ) -> Result<(), EngineError> {
        if let Some(why) = self.closed(now) {
            return Err(EngineError::LimitReached(format!(
                "{why}: no new run starts"
            )));
        }
        crate::agents::budget::check_day_budget(store, prepared.agents.day_budget_usd, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rfc3339_times() {
        assert_eq!(parse_until("2h", 1_000).unwrap().at_ms, 1_000 + 7_200_000);
        assert_eq!(parse_until("90m", 0).unwrap().at_ms, 5_400_000);
        assert_eq!(
            parse_until("1970-01-01T00:01:00Z", 0).unwrap().at_ms,
            60_000
        );
        for bad in ["soon", "25:00", "12:5", "", "12:60"] {
            assert!(parse_until(bad, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn until_and_working_days_close_the_gate() {
        let open = Limits::default();
        assert_eq!(open.closed(1_000), None);
        let until = Limits {
            until: Some(Until { at_ms: 1_000 }),
            ..Limits::default()
        };
        assert_eq!(until.closed(999), None);
        let why = until.closed(1_000).unwrap();
        assert!(
            why.starts_with("--until 1970-01-01T00:00:01Z has passed"),
            "{why}"
        );
        let never = Limits {
            hours: engine_workflow::RunLimits {
                work_hours: None,
                days: 0,
            },
            ..Limits::default()
        };
        let why = never.closed(1_000).unwrap();
        assert!(why.starts_with("outside the workflow's limits"), "{why}");
    }

    #[test]
    fn a_clock_time_is_right_across_a_daylight_saving_change() {
        // New York: clocks go from 02:00 EST to 03:00 EDT on 2026-03-08, and back from 02:00
        // EDT to 01:00 EST on 2026-11-01.
        let tz = jiff::tz::TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap();
        let ms = |rfc: &str| {
            u64::try_from(rfc.parse::<jiff::Timestamp>().unwrap().as_millisecond()).unwrap()
        };
        // 00:30 EST on the day the clocks go forward: 18:30 is EDT (UTC-4), 23 hours of clock
        // later than midnight, not midnight + 18h30.
        let now = ms("2026-03-08T05:30:00Z");
        assert_eq!(
            parse_until_in("18:30", now, &tz).unwrap().at_ms,
            ms("2026-03-08T22:30:00Z")
        );
        // 02:30 does not exist that day: it is 03:30 EDT.
        assert_eq!(
            parse_until_in("02:30", now, &tz).unwrap().at_ms,
            ms("2026-03-08T07:30:00Z")
        );
        // 00:30 EDT on the day the clocks go back: 18:30 is EST (UTC-5).
        let now = ms("2026-11-01T04:30:00Z");
        assert_eq!(
            parse_until_in("18:30", now, &tz).unwrap().at_ms,
            ms("2026-11-01T23:30:00Z")
        );
        // 01:30 happens twice: the first one (EDT).
        assert_eq!(
            parse_until_in("01:30", now, &tz).unwrap().at_ms,
            ms("2026-11-01T05:30:00Z")
        );
        // A time already past today is tomorrow's.
        let now = ms("2026-03-08T23:00:00Z");
        assert_eq!(
            parse_until_in("18:30", now, &tz).unwrap().at_ms,
            ms("2026-03-09T22:30:00Z")
        );
    }

    #[test]
    fn a_clock_time_is_its_next_occurrence() {
        let now = 1_750_000_000_000;
        let until = parse_until("00:00", now).unwrap();
        assert!(until.at_ms > now && until.at_ms <= now + 24 * 3_600_000);
        let local = crate::time::local(until.at_ms);
        assert_eq!(local.minute_of_day, 0);
    }
}
