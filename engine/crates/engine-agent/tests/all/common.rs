//! Helpers the parser suites share: usage values and event counting.

use engine_agent::{AgentEvent, Usage};

/// Token counts without a cost.
pub fn tokens(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Usage {
    Usage {
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: cache_read,
        cache_write_tokens: cache_write,
        cost_usd: None,
    }
}

/// `usage` with a reported cost.
pub fn costing(usage: Usage, cost: f64) -> Usage {
    Usage {
        cost_usd: Some(cost),
        ..usage
    }
}

/// How many of `events` `pick` selects.
pub fn count(events: &[AgentEvent], pick: impl Fn(&AgentEvent) -> bool) -> usize {
    events.iter().filter(|e| pick(e)).count()
}
