//! What a session has spent so far: the CLI's reported cost, or its tokens priced.

use crate::event::Usage;
use crate::supervise::limits::Prices;

/// Follows the session's cumulative usage and knows its cost.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spend {
    prices: Option<Prices>,
    /// The highest cost the CLI reported (cumulative, so the highest is the latest).
    reported: Option<f64>,
    /// The latest cumulative token counts.
    tokens: Option<Usage>,
}

impl Spend {
    pub(crate) fn new(prices: Option<Prices>) -> Self {
        Spend {
            prices,
            reported: None,
            tokens: None,
        }
    }

    /// Takes a cumulative usage update (from a usage event or the final result).
    pub(crate) fn update(&mut self, usage: &Usage) {
        if let Some(cost) = usage.cost_usd.filter(|c| c.is_finite()) {
            self.reported = Some(self.reported.map_or(cost, |r| r.max(cost)));
        }
        self.tokens = Some(*usage);
    }

    /// The cost so far: reported when the CLI reports it, else computed from the tokens and
    /// the prices, else unknown.
    pub(crate) fn spent_usd(&self) -> Option<f64> {
        self.reported.or_else(|| self.computed())
    }

    fn computed(&self) -> Option<f64> {
        let prices = self.prices?;
        let tokens = self.tokens.unwrap_or_default();
        Some(prices.cost_of(&tokens))
    }

    /// `usage` with its cost filled in from the spend when the CLI gave none.
    pub(crate) fn priced(&self, mut usage: Usage) -> Usage {
        if usage.cost_usd.is_none() {
            usage.cost_usd = self
                .reported
                .or_else(|| self.prices.map(|p| p.cost_of(&usage)));
        }
        usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cost: Option<f64>) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cost_usd: cost,
            ..Usage::default()
        }
    }

    const PRICES: Prices = Prices {
        input_per_mtok: 1.0,
        output_per_mtok: 10.0,
        cache_read_per_mtok: 0.0,
        cache_write_per_mtok: 0.0,
    };

    #[test]
    fn unknown_without_cost_or_prices() {
        let mut spend = Spend::new(None);
        assert_eq!(spend.spent_usd(), None);
        spend.update(&usage(1000, 1000, None));
        assert_eq!(spend.spent_usd(), None);
    }

    #[test]
    fn reported_cost_wins_and_never_goes_back() {
        let mut spend = Spend::new(Some(PRICES));
        spend.update(&usage(1_000_000, 0, Some(0.5)));
        assert_eq!(spend.spent_usd(), Some(0.5));
        // A later update without a cost keeps the reported one.
        spend.update(&usage(2_000_000, 0, None));
        assert_eq!(spend.spent_usd(), Some(0.5));
    }

    #[test]
    fn computed_from_prices_when_not_reported() {
        let mut spend = Spend::new(Some(PRICES));
        assert_eq!(spend.spent_usd(), Some(0.0));
        spend.update(&usage(1_000_000, 100_000, None));
        assert_eq!(spend.spent_usd(), Some(2.0));
        assert_eq!(spend.priced(usage(1_000_000, 0, None)).cost_usd, Some(1.0));
        assert_eq!(spend.priced(usage(0, 0, Some(7.0))).cost_usd, Some(7.0));
    }
}
