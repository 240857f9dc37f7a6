//! The only place the host reads the clock: events carry these times into the pure core.
//!
//! The driver and the run modes read time and wait through a [`Clock`], so tests can run a
//! retry an hour away or an approval timeout at once ([`TestClock`]); commands give them
//! [`SystemClock`].

#[cfg(test)]
mod test_clock;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(test)]
pub use test_clock::TestClock;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A wait on a [`Clock`]: owned, so a timer task can hold it.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Where the driver and the run modes get the time and wait for it: the wall clock
/// ([`SystemClock`]), or one a test moves.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Ends once the clock reads `at_ms` or later.
    fn sleep_until(&self, at_ms: u64) -> Sleep;
    /// Ends once `duration` has passed on this clock.
    fn sleep(&self, duration: Duration) -> Sleep {
        let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self.sleep_until(self.now_ms().saturating_add(ms))
    }
}

/// The wall clock, with tokio's timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn sleep_until(&self, at_ms: u64) -> Sleep {
        Box::pin(tokio::time::sleep(Duration::from_millis(
            at_ms.saturating_sub(now_ms()),
        )))
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// Formats a duration in milliseconds for people: `850ms`, `3.2s`, `4m05s`, `1h02m`.
pub fn human_duration(ms: u64) -> String {
    let d = Duration::from_millis(ms);
    let secs = d.as_secs();
    if ms < 1000 {
        format!("{ms}ms")
    } else if secs < 60 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if secs < 3600 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

/// Formats a time (ms since the epoch) as RFC 3339 in UTC, to the second.
pub fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// A moment as the machine's local clock shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Day of the week, 0 = Monday .. 6 = Sunday.
    pub weekday: u8,
    /// Minutes since local midnight, 0..1440.
    pub minute_of_day: u16,
}

/// The local time (the `TZ` environment variable, else the system's zone) of `ms` since the
/// epoch; UTC when the zone cannot be read.
pub fn local(ms: u64) -> LocalTime {
    let Ok(secs) = libc::time_t::try_from(ms / 1000) else {
        return utc(ms);
    };
    // SAFETY: an all-zero `tm` is a valid value (integers and a null zone pointer).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: `localtime_r` only reads `secs` and writes `tm`, both owned here and valid for
    // the call.
    let converted = unsafe { !libc::localtime_r(&raw const secs, &raw mut tm).is_null() };
    if !converted {
        return utc(ms);
    }
    // Sunday is 0 in `tm_wday`; Monday is 0 here.
    let weekday = u8::try_from((tm.tm_wday + 6).rem_euclid(7));
    let minute_of_day = u16::try_from(tm.tm_hour * 60 + tm.tm_min);
    match (weekday, minute_of_day) {
        (Ok(weekday), Ok(minute_of_day)) => LocalTime {
            weekday,
            minute_of_day,
        },
        _ => utc(ms),
    }
}

/// The UTC time of `ms` since the epoch.
fn utc(ms: u64) -> LocalTime {
    let days = ms / 86_400_000;
    LocalTime {
        // 1970-01-01 was a Thursday.
        weekday: ((days + 3) % 7) as u8,
        minute_of_day: ((ms % 86_400_000) / 60_000) as u16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(850), "850ms");
        assert_eq!(human_duration(3_210), "3.2s");
        assert_eq!(human_duration(245_000), "4m05s");
        assert_eq!(human_duration(3_720_000), "1h02m");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn utc_weekdays_start_on_monday() {
        // 1970-01-01 00:00 was a Thursday; 1970-01-05 13:07 a Monday.
        let thursday = utc(0);
        assert_eq!((thursday.weekday, thursday.minute_of_day), (3, 0));
        let monday = utc(4 * 86_400_000 + (13 * 60 + 7) * 60_000 + 59_999);
        assert_eq!((monday.weekday, monday.minute_of_day), (0, 13 * 60 + 7));
    }
}
