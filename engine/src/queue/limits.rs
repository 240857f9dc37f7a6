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

/// Reads `--until`: a local clock time (`18:30`: its next occurrence), a duration from `now_ms`
/// (`2h`, `90m`) or an RFC 3339 time (`2026-05-01T18:00:00Z`).
pub fn parse_until(text: &str, now_ms: u64) -> Result<Until, String> {
    let text = text.trim();
    if let Some((h, m)) = text.split_once(':').filter(|_| text.len() <= 5) {
        let hour: u64 = h.parse().map_err(|_| bad_until(text))?;
        let minute: u64 = m.parse().map_err(|_| bad_until(text))?;
        if hour > 23 || minute > 59 || m.len() != 2 {
            return Err(bad_until(text));
        }
        let local = crate::time::local(now_ms);
        let midnight = now_ms - u64::from(local.minute_of_day) * 60_000 - now_ms % 60_000;
        let mut at_ms = midnight + (hour * 60 + minute) * 60_000;
        if at_ms <= now_ms {
            at_ms += 24 * 60 * 60_000;
        }
        return Ok(Until { at_ms });
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
    fn a_clock_time_is_its_next_occurrence() {
        let now = 1_750_000_000_000;
        let until = parse_until("00:00", now).unwrap();
        assert!(until.at_ms > now && until.at_ms <= now + 24 * 3_600_000);
        let local = crate::time::local(until.at_ms);
        assert_eq!(local.minute_of_day, 0);
    }
}
