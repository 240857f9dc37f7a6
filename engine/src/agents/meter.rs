//! What an attempt's agent sessions spent, kept current while they run so that an attempt that
//! is cancelled or times out still has its spend recorded.

use std::sync::Mutex;

use engine_agent::Usage;
use engine_core::Spend;

/// One session's latest spend and the model it ran.
#[derive(Debug, Clone)]
struct Entry {
    spend: Spend,
    model: Option<String>,
}

/// The spend of one attempt's sessions.
#[derive(Debug, Default)]
pub struct SpendMeter {
    sessions: Mutex<Vec<Entry>>,
}

impl SpendMeter {
    /// A meter with nothing spent.
    pub fn new() -> Self {
        SpendMeter::default()
    }

    /// Registers a new session running `model` (when known); returns its slot.
    pub fn open_session(&self, model: Option<String>) -> usize {
        let mut sessions = self.lock();
        sessions.push(Entry {
            spend: Spend::NONE,
            model,
        });
        sessions.len() - 1
    }

    /// Sets a session's cumulative usage. Its cost is known when the usage has one (reported,
    /// or `estimated` from tokens and prices) or when it used no tokens at all; it is unknown
    /// only when tokens were used that nothing could price.
    pub fn update(&self, slot: usize, usage: &Usage, estimated: bool, model: Option<&str>) {
        let tokens = usage.input_tokens
            + usage.output_tokens
            + usage.cache_read_tokens
            + usage.cache_write_tokens;
        let spend = Spend {
            cost_usd: usage.cost_usd.filter(|c| c.is_finite()).unwrap_or(0.0),
            cost_known: usage.cost_usd.is_some_and(f64::is_finite) || tokens == 0,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_read_tokens: usage.cache_read_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            cost_estimated: estimated && usage.cost_usd.is_some(),
        };
        if let Some(entry) = self.lock().get_mut(slot) {
            entry.spend = spend;
            if let Some(model) = model {
                entry.model = Some(model.to_string());
            }
        }
    }

    /// Everything spent so far by the attempt's sessions.
    pub fn total(&self) -> Spend {
        self.lock().iter().fold(Spend::NONE, |acc, e| acc + e.spend)
    }

    /// The models of the sessions whose cost is unknown (`?` when a session's model is).
    pub fn unpriced_models(&self) -> Vec<String> {
        let mut models: Vec<String> = self
            .lock()
            .iter()
            .filter(|e| !e.spend.cost_known)
            .map(|e| e.model.clone().unwrap_or_else(|| "?".into()))
            .collect();
        models.sort();
        models.dedup();
        models
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(cost: Option<f64>, tokens: u64) -> Usage {
        Usage {
            input_tokens: tokens,
            output_tokens: tokens,
            cache_read_tokens: tokens,
            cost_usd: cost,
            ..Usage::default()
        }
    }

    #[test]
    fn sessions_add_up_and_unknown_costs_are_flagged() {
        let meter = SpendMeter::new();
        let a = meter.open_session(Some("claude-sonnet-4-6".into()));
        let b = meter.open_session(None);
        meter.update(a, &usage(Some(0.5), 10), false, None);
        meter.update(a, &usage(Some(0.75), 20), false, None); // cumulative: replaces
        meter.update(b, &usage(Some(0.25), 5), false, None);
        let total = meter.total();
        assert!((total.cost_usd - 1.0).abs() < 1e-9, "{}", total.cost_usd);
        assert_eq!(total.input_tokens, 25);
        assert_eq!(total.cache_read_tokens, 25);
        assert!(total.cost_known);
        assert!(!total.cost_estimated);
        assert!(meter.unpriced_models().is_empty());
        meter.update(b, &usage(None, 5), false, Some("llama3"));
        assert!(!meter.total().cost_known);
        assert_eq!(meter.unpriced_models(), ["llama3"]);
    }

    #[test]
    fn an_estimate_is_known_and_marked_and_nothing_used_costs_nothing() {
        let meter = SpendMeter::new();
        let a = meter.open_session(None);
        meter.update(a, &usage(Some(0.3), 1000), true, None);
        let total = meter.total();
        assert!(total.cost_known && total.cost_estimated);
        let b = meter.open_session(None);
        meter.update(b, &usage(None, 0), false, None);
        assert!(meter.total().cost_known);
    }
}
