//! What a session has spent so far: the CLI's reported cost, or its tokens priced (an
//! estimate), or unknown when neither is possible.

use crate::event::Usage;
use crate::prices::{Prices, Pricing};

/// Follows the session's cumulative usage and knows its cost.
#[derive(Debug, Clone)]
pub(crate) struct Spend {
    pricing: Pricing,
    /// The model the session was asked for.
    requested_model: Option<String>,
    /// The model the CLI says it runs.
    reported_model: Option<String>,
    /// The highest cost the CLI reported (cumulative, so the highest is the latest).
    reported: Option<f64>,
    /// The latest cumulative token counts.
    tokens: Option<Usage>,
}

impl Spend {
    pub(crate) fn new(pricing: Pricing, requested_model: Option<String>) -> Self {
        Spend {
            pricing,
            requested_model: requested_model.filter(|m| !m.trim().is_empty()),
            reported_model: None,
            reported: None,
            tokens: None,
        }
    }

    /// The CLI named the model it runs.
    pub(crate) fn set_model(&mut self, model: &str) {
        if !model.trim().is_empty() {
            self.reported_model = Some(model.to_string());
        }
    }

    /// The model: as the CLI named it, else as requested.
    pub(crate) fn model(&self) -> Option<&str> {
        self.reported_model
            .as_deref()
            .or(self.requested_model.as_deref())
    }

    /// Takes a cumulative usage update (from a usage event or the final result).
    pub(crate) fn update(&mut self, usage: &Usage) {
        if let Some(cost) = usage.cost_usd.filter(|c| c.is_finite()) {
            self.reported = Some(self.reported.map_or(cost, |r| r.max(cost)));
        }
        self.tokens = Some(*usage);
    }

    /// The prices of the model the CLI named, else of the model requested.
    fn prices(&self) -> Option<Prices> {
        let lookup = |model: &Option<String>| {
            model
                .as_deref()
                .and_then(|model| self.pricing.lookup(model))
        };
        lookup(&self.reported_model).or_else(|| lookup(&self.requested_model))
    }

    /// The cost so far: reported when the CLI reports it, else computed from the tokens and
    /// the prices, else unknown.
    pub(crate) fn spent_usd(&self) -> Option<f64> {
        self.reported.or_else(|| self.computed())
    }

    /// Whether [`Spend::spent_usd`] is an estimate from tokens (the CLI reported no cost).
    pub(crate) fn estimated(&self) -> bool {
        self.reported.is_none()
            && has_tokens(&self.tokens.unwrap_or_default())
            && self.computed().is_some()
    }

    fn computed(&self) -> Option<f64> {
        let prices = self.prices()?;
        let tokens = self.tokens.unwrap_or_default();
        Some(prices.cost_of(&tokens))
    }

    /// `usage` with its cost filled in from the spend when the CLI gave none, and whether that
    /// cost is an estimate.
    pub(crate) fn priced(&self, mut usage: Usage) -> (Usage, bool) {
        if usage.cost_usd.is_some() {
            return (usage, false);
        }
        if let Some(reported) = self.reported {
            usage.cost_usd = Some(reported);
            return (usage, false);
        }
        usage.cost_usd = self.prices().map(|p| p.cost_of(&usage));
        let estimated = usage.cost_usd.is_some() && has_tokens(&usage);
        (usage, estimated)
    }
}

fn has_tokens(usage: &Usage) -> bool {
    usage.input_tokens + usage.output_tokens + usage.cache_read_tokens + usage.cache_write_tokens
        > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prices::PriceTable;

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

    fn workflow_only(model: &str) -> Pricing {
        Pricing {
            workflow: PriceTable::new([(model.to_string(), PRICES)]),
            builtin: false,
        }
    }

    #[test]
    fn unknown_without_cost_or_prices() {
        let mut spend = Spend::new(Pricing::none(), Some("claude-sonnet-4-6".into()));
        assert_eq!(spend.spent_usd(), None);
        spend.update(&usage(1000, 1000, None));
        assert_eq!(spend.spent_usd(), None);
        assert!(!spend.estimated());
        // The built-in table does not know a local model either.
        let mut spend = Spend::new(Pricing::default(), Some("llama3:8b".into()));
        spend.update(&usage(1000, 1000, None));
        assert_eq!(spend.spent_usd(), None);
        let (priced, estimated) = spend.priced(usage(1000, 1000, None));
        assert_eq!((priced.cost_usd, estimated), (None, false));
    }

    #[test]
    fn reported_cost_wins_and_never_goes_back() {
        let mut spend = Spend::new(workflow_only("m"), Some("m".into()));
        spend.update(&usage(1_000_000, 0, Some(0.5)));
        assert_eq!(spend.spent_usd(), Some(0.5));
        // A later update without a cost keeps the reported one.
        spend.update(&usage(2_000_000, 0, None));
        assert_eq!(spend.spent_usd(), Some(0.5));
        assert!(!spend.estimated());
        assert_eq!(
            spend.priced(usage(5, 5, None)),
            (usage(5, 5, Some(0.5)), false)
        );
    }

    #[test]
    fn computed_from_prices_when_not_reported_and_marked_estimated() {
        let mut spend = Spend::new(workflow_only("m"), Some("m".into()));
        assert_eq!(spend.spent_usd(), Some(0.0));
        assert!(!spend.estimated(), "nothing spent is not an estimate");
        spend.update(&usage(1_000_000, 100_000, None));
        assert_eq!(spend.spent_usd(), Some(2.0));
        assert!(spend.estimated());
        assert_eq!(
            spend.priced(usage(1_000_000, 0, None)),
            (usage(1_000_000, 0, Some(1.0)), true)
        );
        assert_eq!(
            spend.priced(usage(0, 0, Some(7.0))),
            (usage(0, 0, Some(7.0)), false)
        );
    }

    #[test]
    fn the_builtin_table_prices_the_model_the_cli_names() {
        // Asked for a tier alias nothing prices, the CLI then names its real model.
        let mut spend = Spend::new(Pricing::default(), Some("my-tier".into()));
        spend.update(&usage(1_000_000, 1_000_000, None));
        assert_eq!(spend.spent_usd(), None);
        spend.set_model("claude-sonnet-4-6");
        assert_eq!(spend.model(), Some("claude-sonnet-4-6"));
        assert_eq!(spend.spent_usd(), Some(3.0 + 15.0));
        assert!(spend.estimated());
        // An unknown reported name falls back to the requested model's price.
        let mut spend = Spend::new(Pricing::default(), Some("gpt-5".into()));
        spend.set_model("some-proxy-name");
        spend.update(&usage(1_000_000, 0, None));
        assert_eq!(spend.spent_usd(), Some(1.25));
    }
}
