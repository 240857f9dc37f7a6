//! A [`Clock`] for tests: its time moves only when the test moves it, or — when it jumps — to
//! the end of every wait the code under test starts, so a retry an hour away runs at once with
//! the hour passed on the clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::{Clock, Sleep};

/// A clock a test controls.
#[derive(Debug)]
pub struct TestClock {
    now: watch::Sender<u64>,
    /// Every wait moves the clock to its end at once.
    jumps: bool,
}

impl TestClock {
    /// A clock at `start_ms` that moves only through [`TestClock::advance`]: waits end when
    /// the test has moved the clock past them.
    pub fn manual(start_ms: u64) -> Arc<Self> {
        Arc::new(TestClock {
            now: watch::Sender::new(start_ms),
            jumps: false,
        })
    }

    /// A clock at `start_ms` that jumps to the end of every wait as it starts (waits end at
    /// once; the clock never goes back).
    pub fn jumping(start_ms: u64) -> Arc<Self> {
        Arc::new(TestClock {
            now: watch::Sender::new(start_ms),
            jumps: true,
        })
    }

    /// Moves the clock forward by `by`, ending the waits it passes.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.now.send_modify(|now| *now = now.saturating_add(ms));
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        *self.now.borrow()
    }

    fn sleep_until(&self, at_ms: u64) -> Sleep {
        if self.jumps {
            self.now.send_if_modified(|now| {
                let later = *now < at_ms;
                if later {
                    *now = at_ms;
                }
                later
            });
        }
        let mut now = self.now.subscribe();
        Box::pin(async move {
            // A dropped clock never moves again: the wait never ends.
            if now.wait_for(|now| *now >= at_ms).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_ends_a_wait_once_advanced_past_it() {
        let clock = TestClock::manual(1_000);
        let mut wait = Polled(clock.sleep(Duration::from_hours(1)));
        assert!(!wait.poll_once().await);
        clock.advance(Duration::from_mins(30));
        assert!(!wait.poll_once().await);
        clock.advance(Duration::from_mins(30));
        assert!(wait.poll_once().await);
        assert_eq!(clock.now_ms(), 1_000 + 3_600_000);
    }

    #[tokio::test]
    async fn a_jumping_clock_ends_every_wait_at_once_and_never_goes_back() {
        let clock = TestClock::jumping(5);
        clock.sleep_until(3_600_005).await;
        assert_eq!(clock.now_ms(), 3_600_005);
        clock.sleep_until(10).await;
        assert_eq!(clock.now_ms(), 3_600_005);
    }

    /// A wait polled once at a time, without blocking.
    struct Polled(Sleep);

    impl Polled {
        /// Whether the wait has ended.
        async fn poll_once(&mut self) -> bool {
            std::future::poll_fn(|cx| std::task::Poll::Ready(self.0.as_mut().poll(cx).is_ready()))
                .await
        }
    }
}
