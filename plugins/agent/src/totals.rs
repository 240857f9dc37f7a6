//! What all the sessions of one attempt added up to.

use std::collections::BTreeSet;

use engine_stage_sdk::agent::Summary;
use serde_json::{Value, json};

/// Sums over the sessions of one attempt.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    /// Sessions run.
    pub sessions: u32,
    /// Turns over all sessions.
    pub turns: u32,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_write_tokens: u64,
    /// Cost of the sessions that reported one.
    pub cost_usd: f64,
    /// Sessions that reported no cost.
    pub sessions_without_cost: u32,
    /// Files changed by any session (relative paths).
    pub files_changed: BTreeSet<String>,
    /// Wall time of the sessions.
    pub duration_ms: u64,
    /// The newest session id.
    pub session_id: Option<String>,
}

impl Totals {
    /// Adds one finished session.
    pub fn add(&mut self, summary: &Summary) {
        self.sessions += 1;
        self.turns = self.turns.saturating_add(summary.turns);
        let u = &summary.usage;
        self.input_tokens = self.input_tokens.saturating_add(u.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(u.output_tokens);
        self.cache_read_tokens = self.cache_read_tokens.saturating_add(u.cache_read_tokens);
        self.cache_write_tokens = self.cache_write_tokens.saturating_add(u.cache_write_tokens);
        match u.cost_usd {
            Some(cost) if cost.is_finite() && cost >= 0.0 => self.cost_usd += cost,
            _ => self.sessions_without_cost += 1,
        }
        self.files_changed
            .extend(summary.files_changed.iter().cloned());
        self.duration_ms = self.duration_ms.saturating_add(summary.duration_ms);
        if summary.session_id.is_some() {
            self.session_id.clone_from(&summary.session_id);
        }
    }

    /// The cost, or `None` when no session reported one.
    pub fn cost(&self) -> Option<f64> {
        (self.sessions > self.sessions_without_cost).then_some(self.cost_usd)
    }

    /// The files changed, sorted.
    pub fn files(&self) -> Vec<String> {
        self.files_changed.iter().cloned().collect()
    }

    /// `{"input": .., "output": .., "cache_read": .., "cache_write": ..}`.
    pub fn tokens_json(&self) -> Value {
        json!({
            "input": self.input_tokens,
            "output": self.output_tokens,
            "cache_read": self.cache_read_tokens,
            "cache_write": self.cache_write_tokens,
        })
    }

    /// The fields every failure detail carries.
    pub fn failure_fields(&self) -> Value {
        json!({
            "iterations": self.sessions,
            "session_id": self.session_id,
            "files_changed": self.files(),
            "turns": self.turns,
            "tokens": self.tokens_json(),
            "cost_usd": self.cost(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine_stage_sdk::agent::{Outcome, Usage};

    fn summary(cost: Option<f64>, files: &[&str], id: Option<&str>) -> Summary {
        Summary {
            outcome: Outcome::Completed,
            result_text: String::new(),
            session_id: id.map(str::to_string),
            turns: 2,
            usage: Usage {
                input_tokens: 100,
                output_tokens: 10,
                cache_read_tokens: 5,
                cache_write_tokens: 1,
                cost_usd: cost,
            },
            duration_ms: 7,
            exit_code: Some(0),
            detail: String::new(),
            resets_at_ms: None,
            files_changed: files.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn sums_sessions_and_unions_files() {
        let mut t = Totals::default();
        assert_eq!(t.cost(), None);
        t.add(&summary(Some(0.5), &["b.rs", "a.rs"], Some("s1")));
        t.add(&summary(None, &["a.rs", "c.rs"], None));
        t.add(&summary(Some(0.25), &[], Some("s2")));
        assert_eq!(t.sessions, 3);
        assert_eq!(t.turns, 6);
        assert_eq!(t.input_tokens, 300);
        assert_eq!(t.cost(), Some(0.75));
        assert_eq!(t.sessions_without_cost, 1);
        assert_eq!(t.files(), ["a.rs", "b.rs", "c.rs"]);
        assert_eq!(t.session_id.as_deref(), Some("s2"));
        let f = t.failure_fields();
        assert_eq!(f["iterations"], 3);
        assert_eq!(f["tokens"]["output"], 30);
    }
}
