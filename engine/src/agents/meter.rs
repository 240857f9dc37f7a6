//! What an attempt's agent sessions spent, kept current while they run so that an attempt that
//! is cancelled or times out still has its spend recorded.

use std::sync::Mutex;

use engine_agent::Usage;
use engine_core::Spend;

/// The spend of one attempt's sessions.
#[derive(Debug, Default)]
pub struct SpendMeter {
    sessions: Mutex<Vec<Spend>>,
}

impl SpendMeter {
    /// A meter with nothing spent.
    pub fn new() -> Self {
        SpendMeter::default()
    }

    /// Registers a new session; returns its slot.
    pub fn open_session(&self) -> usize {
        let mut sessions = self.lock();
        sessions.push(Spend::NONE);
        sessions.len() - 1
    }

    /// Sets a session's cumulative usage. `cost_known` is false when the CLI reports no cost and
    /// no price is configured.
    pub fn update(&self, slot: usize, usage: &Usage, cost_known: bool) {
        let spend = Spend {
            cost_usd: usage.cost_usd.unwrap_or(0.0),
            cost_known: cost_known
                && (usage.cost_usd.is_some() || usage.input_tokens + usage.output_tokens == 0),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
        };
        if let Some(entry) = self.lock().get_mut(slot) {
            *entry = spend;
        }
    }

    /// Everything spent so far by the attempt's sessions.
    pub fn total(&self) -> Spend {
        self.lock().iter().fold(Spend::NONE, |acc, s| acc + *s)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Spend>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_add_up_and_unknown_costs_are_flagged() {
        let meter = SpendMeter::new();
        let a = meter.open_session();
        let b = meter.open_session();
        let usage = |cost: Option<f64>, tokens: u64| Usage {
            input_tokens: tokens,
            output_tokens: tokens,
            cost_usd: cost,
            ..Usage::default()
        };
        meter.update(a, &usage(Some(0.5), 10), true);
        meter.update(a, &usage(Some(0.75), 20), true); // cumulative: replaces
        meter.update(b, &usage(Some(0.25), 5), true);
        let total = meter.total();
        assert_eq!(total.cost_usd, 1.0);
        assert_eq!(total.input_tokens, 25);
        assert!(total.cost_known);
        meter.update(b, &usage(None, 5), false);
        assert!(!meter.total().cost_known);
    }
}
