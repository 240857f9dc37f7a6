//! The continuation circuit breaker: how many sessions one attempt may take before a human
//! must look ("needs attention").

use crate::config::ContinuationConfig;

/// Characters of an error kept when comparing errors.
const ERROR_KEY_CHARS: usize = 300;

/// Why the breaker tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TripReason {
    /// `max_iterations` sessions ran.
    MaxIterations,
    /// `max_no_progress` consecutive sessions changed no file.
    NoProgress,
    /// `max_same_error` consecutive sessions ended in the same error.
    SameError,
}

impl TripReason {
    /// The reason's name (`max_iterations`, `no_progress`, `same_error`).
    pub fn as_str(self) -> &'static str {
        match self {
            TripReason::MaxIterations => "max_iterations",
            TripReason::NoProgress => "no_progress",
            TripReason::SameError => "same_error",
        }
    }
}

/// A tripped breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trip {
    /// Which limit.
    pub reason: TripReason,
    /// What happened, for the user.
    pub message: String,
}

/// Counts the sessions of one attempt.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    limits: ContinuationConfig,
    iterations: u32,
    no_progress: u32,
    last_error: Option<String>,
    same_error: u32,
}

impl CircuitBreaker {
    /// A breaker with these limits.
    pub fn new(limits: ContinuationConfig) -> Self {
        CircuitBreaker {
            limits,
            iterations: 0,
            no_progress: 0,
            last_error: None,
            same_error: 0,
        }
    }

    /// Sessions recorded so far.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Records a session that did not complete the task: how many files it changed and the
    /// error it ended in, if any. Returns the trip when no further session may start.
    pub fn record(&mut self, files_changed: usize, error: Option<&str>) -> Option<Trip> {
        self.iterations += 1;
        if files_changed == 0 {
            self.no_progress += 1;
        } else {
            self.no_progress = 0;
        }
        match error.map(error_key) {
            Some(key) if self.last_error.as_deref() == Some(key.as_str()) => {
                self.same_error += 1;
            }
            Some(key) => {
                self.last_error = Some(key);
                self.same_error = 1;
            }
            None => {
                self.last_error = None;
                self.same_error = 0;
            }
        }
        self.trip()
    }

    fn trip(&self) -> Option<Trip> {
        let l = &self.limits;
        if self.same_error >= l.max_same_error {
            return Some(Trip {
                reason: TripReason::SameError,
                message: format!(
                    "{} sessions in a row ended in the same error: {}",
                    self.same_error,
                    self.last_error.as_deref().unwrap_or_default()
                ),
            });
        }
        if self.no_progress >= l.max_no_progress {
            return Some(Trip {
                reason: TripReason::NoProgress,
                message: format!(
                    "{} sessions in a row changed no file without completing the task",
                    self.no_progress
                ),
            });
        }
        if self.iterations >= l.max_iterations {
            return Some(Trip {
                reason: TripReason::MaxIterations,
                message: format!(
                    "the task is still not complete after {} sessions (continuation.max_iterations)",
                    self.iterations
                ),
            });
        }
        None
    }
}

/// An error as compared across sessions: digits folded, whitespace collapsed, bounded.
fn error_key(error: &str) -> String {
    let mut key = String::new();
    let mut in_digits = false;
    for c in error
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
    {
        if c.is_ascii_digit() {
            if !in_digits {
                key.push('#');
            }
            in_digits = true;
        } else {
            key.push(c);
            in_digits = false;
        }
        if key.len() >= ERROR_KEY_CHARS {
            break;
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(
        max_iterations: u32,
        max_no_progress: u32,
        max_same_error: u32,
    ) -> ContinuationConfig {
        ContinuationConfig {
            max_iterations,
            max_no_progress,
            max_same_error,
        }
    }

    #[test]
    fn trips_at_max_iterations() {
        let mut b = CircuitBreaker::new(limits(3, 10, 10));
        assert!(b.record(1, None).is_none());
        assert!(b.record(2, None).is_none());
        let trip = b.record(1, None).unwrap();
        assert_eq!(trip.reason, TripReason::MaxIterations);
        assert!(trip.message.contains("3 sessions"));
        assert_eq!(b.iterations(), 3);
    }

    #[test]
    fn trips_after_consecutive_sessions_without_changes() {
        let mut b = CircuitBreaker::new(limits(50, 3, 10));
        assert!(b.record(0, None).is_none());
        assert!(b.record(0, None).is_none());
        assert!(b.record(4, None).is_none(), "a change resets the streak");
        assert!(b.record(0, None).is_none());
        assert!(b.record(0, None).is_none());
        assert_eq!(b.record(0, None).unwrap().reason, TripReason::NoProgress);
    }

    #[test]
    fn trips_on_the_same_error_repeated() {
        let mut b = CircuitBreaker::new(limits(50, 50, 3));
        assert!(b.record(1, Some("API error 529 at 10:01")).is_none());
        assert!(b.record(1, Some("API error 529 at 10:07")).is_none());
        let trip = b.record(1, Some("API  error 529 at 11:00")).unwrap();
        assert_eq!(trip.reason, TripReason::SameError);
        assert!(
            trip.message.contains("API error # at #:#"),
            "{}",
            trip.message
        );
    }

    #[test]
    fn a_different_error_or_none_restarts_the_count() {
        let mut b = CircuitBreaker::new(limits(50, 50, 2));
        assert!(b.record(1, Some("a")).is_none());
        assert!(b.record(1, Some("b")).is_none());
        assert!(b.record(1, None).is_none());
        assert!(b.record(1, Some("b")).is_none());
        assert!(b.record(1, Some("b")).is_some());
    }

    #[test]
    fn max_iterations_one_allows_no_continuation() {
        let mut b = CircuitBreaker::new(limits(1, 3, 5));
        assert_eq!(b.record(3, None).unwrap().reason, TripReason::MaxIterations);
    }
}
