//! Token prices: what a session cost when its CLI reports tokens but no USD.
//!
//! A [`Pricing`] is the workflow's `prices:` over the built-in, dated table of
//! [`builtin_table`] (see `table.rs` for its sources and date). A model id is matched exactly
//! first, then by the longest key that is a prefix of it ending at a separator (`-`, `.`, `@`,
//! `:`, `[`, `_`), so dated snapshots (`claude-sonnet-4-5-20250929`, `gpt-4.1-2025-04-14`),
//! variants (`sonnet[1m]`, `gemini-2.5-pro-preview-06-05`) and provider prefixes
//! (`anthropic/claude-opus-4-8`, `models/gemini-2.5-flash`) find their family while a key never
//! lands on a neighbour (`claude-opus-4-1` does not match `claude-opus-4-10`). Costs computed
//! this way are estimates and are marked so wherever they are shown.

mod table;

use std::sync::OnceLock;

use crate::event::Usage;

pub use table::{BUILTIN_PRICES, PRICES_CHECKED_ON};

/// Token prices in USD per million tokens, used to compute the cost when the CLI reports none.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prices {
    /// Per million input tokens (not read from the cache).
    pub input_per_mtok: f64,
    /// Per million output tokens.
    pub output_per_mtok: f64,
    /// Per million tokens read from the prompt cache.
    pub cache_read_per_mtok: f64,
    /// Per million tokens written to the prompt cache.
    pub cache_write_per_mtok: f64,
}

impl Prices {
    /// The cost in USD of `usage`'s tokens.
    pub fn cost_of(&self, usage: &Usage) -> f64 {
        // u64 -> f64 loses precision only past 2^53 tokens.
        let mtok = |tokens: u64| tokens as f64 / 1_000_000.0;
        mtok(usage.input_tokens) * self.input_per_mtok
            + mtok(usage.output_tokens) * self.output_per_mtok
            + mtok(usage.cache_read_tokens) * self.cache_read_per_mtok
            + mtok(usage.cache_write_tokens) * self.cache_write_per_mtok
    }
}

/// Prices by model id, matched exactly, then by the longest prefix ending at a separator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    /// (lower-case key, prices), in no particular order.
    entries: Vec<(String, Prices)>,
}

impl PriceTable {
    /// A table of `entries` (keys are compared ignoring ASCII case).
    pub fn new(entries: impl IntoIterator<Item = (String, Prices)>) -> Self {
        PriceTable {
            entries: entries
                .into_iter()
                .map(|(key, prices)| (key.trim().to_ascii_lowercase(), prices))
                .collect(),
        }
    }

    /// Whether the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The prices of `model`: the exact key, else the longest key that is a prefix of it ending
    /// at a separator; the same again on the id without its provider prefix (`openai/gpt-5`).
    pub fn lookup(&self, model: &str) -> Option<Prices> {
        let model = model.trim().to_ascii_lowercase();
        if model.is_empty() {
            return None;
        }
        let bare = model.rsplit('/').next().unwrap_or(&model);
        self.find(&model)
            .or_else(|| (bare != model).then(|| self.find(bare)).flatten())
    }

    fn find(&self, model: &str) -> Option<Prices> {
        if let Some((_, prices)) = self.entries.iter().find(|(key, _)| key == model) {
            return Some(*prices);
        }
        self.entries
            .iter()
            .filter(|(key, _)| is_family_prefix(key, model))
            .max_by_key(|(key, _)| key.len())
            .map(|(_, prices)| *prices)
    }
}

/// Whether `key` is a prefix of `model` that ends where a new part of the id begins.
fn is_family_prefix(key: &str, model: &str) -> bool {
    !key.is_empty()
        && model.len() > key.len()
        && model.starts_with(key)
        && model[key.len()..].starts_with(['-', '.', '@', ':', '[', '_'])
}

/// The built-in table (see [`BUILTIN_PRICES`]).
pub fn builtin_table() -> &'static PriceTable {
    static TABLE: OnceLock<PriceTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        PriceTable::new(
            BUILTIN_PRICES
                .iter()
                .map(|(model, [input, output, read, write])| {
                    let prices = Prices {
                        input_per_mtok: *input,
                        output_per_mtok: *output,
                        cache_read_per_mtok: *read,
                        cache_write_per_mtok: *write,
                    };
                    (model.to_string(), prices)
                }),
        )
    })
}

/// The prices a session is costed with: the workflow's `prices:` (which win), then, unless
/// switched off, the built-in table.
#[derive(Debug, Clone, PartialEq)]
pub struct Pricing {
    /// The workflow's `prices:`.
    pub workflow: PriceTable,
    /// Whether the built-in table is consulted after the workflow's.
    pub builtin: bool,
}

impl Default for Pricing {
    /// The built-in table alone.
    fn default() -> Self {
        Pricing {
            workflow: PriceTable::default(),
            builtin: true,
        }
    }
}

impl Pricing {
    /// The workflow's prices over the built-in table.
    pub fn with_workflow(workflow: PriceTable) -> Self {
        Pricing {
            workflow,
            builtin: true,
        }
    }

    /// No prices at all: costs are known only when the CLI reports them.
    pub fn none() -> Self {
        Pricing {
            workflow: PriceTable::default(),
            builtin: false,
        }
    }

    /// The prices of `model`, if any table knows it.
    pub fn lookup(&self, model: &str) -> Option<Prices> {
        self.workflow.lookup(model).or_else(|| {
            self.builtin
                .then(|| builtin_table().lookup(model))
                .flatten()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(input: f64, output: f64) -> Prices {
        Prices {
            input_per_mtok: input,
            output_per_mtok: output,
            ..Prices::default()
        }
    }

    #[test]
    fn exact_then_longest_prefix_at_a_separator() {
        let table = PriceTable::new([
            ("gpt-5".to_string(), p(1.25, 10.0)),
            ("gpt-5-mini".to_string(), p(0.25, 2.0)),
            ("claude-opus-4".to_string(), p(5.0, 25.0)),
            ("claude-opus-4-1".to_string(), p(15.0, 75.0)),
        ]);
        assert_eq!(table.lookup("gpt-5"), Some(p(1.25, 10.0)));
        assert_eq!(table.lookup("GPT-5-Mini"), Some(p(0.25, 2.0)));
        assert_eq!(table.lookup("gpt-5-mini-2025-08-07"), Some(p(0.25, 2.0)));
        assert_eq!(table.lookup("gpt-5.1-codex"), Some(p(1.25, 10.0)));
        assert_eq!(
            table.lookup("claude-opus-4-1-20250805"),
            Some(p(15.0, 75.0))
        );
        // Not a neighbour: `claude-opus-4-1` is not the family of `claude-opus-4-10`.
        assert_eq!(table.lookup("claude-opus-4-10"), Some(p(5.0, 25.0)));
        assert_eq!(table.lookup("gpt-50"), None);
        assert_eq!(table.lookup("openai/gpt-5-mini"), Some(p(0.25, 2.0)));
        assert_eq!(table.lookup(""), None);
        assert_eq!(table.lookup("llama3"), None);
    }

    #[test]
    #[expect(
        clippy::float_cmp,
        reason = "the prices are literals read back from the table, not computed"
    )]
    fn the_builtin_table_knows_current_models_and_aliases() {
        let table = builtin_table();
        for model in [
            "claude-opus-4-8",
            "claude-opus-4-5-20251101",
            "claude-sonnet-4-6",
            "claude-sonnet-4-5-20250929",
            "claude-haiku-4-5",
            "claude-haiku-4-5-20251001",
            "opus",
            "sonnet",
            "sonnet[1m]",
            "haiku",
            "gpt-5",
            "gpt-5-codex",
            "gpt-5-mini",
            "gpt-4.1",
            "gpt-4.1-mini",
            "o3",
            "o4-mini",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemini-3-pro-preview",
            "anthropic/claude-sonnet-4-6",
            "openai/gpt-5",
            "gemini/gemini-2.5-pro",
        ] {
            assert!(table.lookup(model).is_some(), "{model} has no price");
        }
        let opus_4_8 = table.lookup("claude-opus-4-8").unwrap();
        assert_eq!(
            (opus_4_8.input_per_mtok, opus_4_8.output_per_mtok),
            (5.0, 25.0)
        );
        let opus_4_1 = table.lookup("claude-opus-4-1").unwrap();
        assert_eq!(opus_4_1.output_per_mtok, 75.0);
        let mini = table.lookup("gpt-5-mini").unwrap();
        assert_eq!((mini.input_per_mtok, mini.output_per_mtok), (0.25, 2.0));
        // Every row is a sane price: nothing negative, output never cheaper than input.
        for (model, [input, output, read, write]) in BUILTIN_PRICES {
            assert!(
                *input > 0.0 && *output >= *input && *read >= 0.0 && *write >= 0.0,
                "{model}"
            );
            assert!(
                *read <= *input,
                "{model}: a cache read costs more than input"
            );
        }
    }

    #[test]
    fn the_workflow_wins_and_the_builtin_table_can_be_left_out() {
        let workflow = PriceTable::new([("claude-sonnet-4".to_string(), p(1.0, 2.0))]);
        let pricing = Pricing::with_workflow(workflow.clone());
        assert_eq!(pricing.lookup("claude-sonnet-4-6"), Some(p(1.0, 2.0)));
        assert_eq!(
            pricing.lookup("gpt-5").map(|p| p.input_per_mtok),
            Some(1.25)
        );
        let alone = Pricing {
            workflow,
            builtin: false,
        };
        assert_eq!(alone.lookup("gpt-5"), None);
        assert_eq!(Pricing::none().lookup("claude-sonnet-4-6"), None);
    }

    #[test]
    fn prices_cost_every_kind_of_token() {
        let prices = Prices {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
            cache_read_per_mtok: 0.3,
            cache_write_per_mtok: 3.75,
        };
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 100_000,
            cache_read_tokens: 2_000_000,
            cache_write_tokens: 0,
            cost_usd: None,
        };
        let cost = prices.cost_of(&usage);
        assert!((cost - (3.0 + 1.5 + 0.6)).abs() < 1e-9, "{cost}");
    }
}
