//! The session's live token count, from `assistant` lines and (with
//! `--include-partial-messages`) the raw stream's `message_start` / `message_delta` events.
//!
//! Every model call is one message id. Its usage arrives several times: `message_start` (input
//! and cache counters, `output_tokens: 1`), each `assistant` line of the message (the same, as
//! Claude Code writes them at each content block's end) and `message_delta` (the final output
//! count). Counters only grow within a message, so the ledger keeps each message's highest
//! counters and the totals are their sum. `message_delta` carries no id: it belongs to the
//! message the last `message_start` of the same (sub)agent opened.

use std::collections::HashMap;

use crate::event::Usage;

use super::super::text::add_tokens;

/// The stream event type of a `stream_event` line read from its opening bytes, when Claude
/// wrote the keys in their usual order (`{"type":"stream_event","event":{"type":"..."`), so
/// the many per-token delta lines are skipped without parsing them.
pub(crate) fn stream_event_kind(raw: &str) -> Option<&str> {
    const PREFIX: &str = r#"{"type":"stream_event","event":{"type":""#;
    let rest = raw.strip_prefix(PREFIX)?;
    let end = rest.find('"')?;
    Some(&rest[..end])
}

/// Whether a `stream_event` line starts with the `stream_event` type key (cheap pre-check).
pub(crate) fn is_stream_event(raw: &str) -> bool {
    raw.starts_with(r#"{"type":"stream_event""#)
}

/// Usage per message, and the totals.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    by_message: HashMap<String, Usage>,
    /// The message a `message_start` opened, by parent tool use id ("" for the main agent).
    open: HashMap<String, String>,
    totals: Usage,
}

impl Ledger {
    /// The session's totals so far.
    pub(crate) fn totals(&self) -> Usage {
        self.totals
    }

    /// Takes one report of a message's usage (no id: counted as it is); true when the totals
    /// changed.
    pub(crate) fn add(&mut self, message_id: Option<&str>, usage: Usage) -> bool {
        let delta = match message_id {
            Some(id) => {
                if let Some(seen) = self.by_message.get_mut(id) {
                    let merged = Usage {
                        input_tokens: seen.input_tokens.max(usage.input_tokens),
                        output_tokens: seen.output_tokens.max(usage.output_tokens),
                        cache_read_tokens: seen.cache_read_tokens.max(usage.cache_read_tokens),
                        cache_write_tokens: seen.cache_write_tokens.max(usage.cache_write_tokens),
                        cost_usd: None,
                    };
                    let delta = Usage {
                        input_tokens: merged.input_tokens - seen.input_tokens,
                        output_tokens: merged.output_tokens - seen.output_tokens,
                        cache_read_tokens: merged.cache_read_tokens - seen.cache_read_tokens,
                        cache_write_tokens: merged.cache_write_tokens - seen.cache_write_tokens,
                        cost_usd: None,
                    };
                    *seen = merged;
                    delta
                } else {
                    self.by_message.insert(id.to_owned(), usage);
                    usage
                }
            }
            None => usage,
        };
        add_tokens(
            &mut self.totals,
            delta.input_tokens,
            delta.output_tokens,
            delta.cache_read_tokens,
            delta.cache_write_tokens,
        );
        delta != Usage::default()
    }

    /// A `message_start` of `parent`'s (sub)agent: the message is open; true when the totals
    /// changed.
    pub(crate) fn message_start(&mut self, parent: &str, id: &str, usage: Option<Usage>) -> bool {
        self.open.insert(parent.to_owned(), id.to_owned());
        usage.is_some_and(|u| self.add(Some(id), u))
    }

    /// A `message_delta` of `parent`'s (sub)agent: the final usage of its open message; true
    /// when the totals changed. A delta without an open message is not counted (it cannot be
    /// told apart from a repeat).
    pub(crate) fn message_delta(&mut self, parent: &str, usage: Usage) -> bool {
        match self.open.get(parent).cloned() {
            Some(id) => self.add(Some(&id), usage),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, output: u64, read: u64, write: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_write_tokens: write,
            cost_usd: None,
        }
    }

    #[test]
    fn the_stream_event_type_is_read_from_the_opening_bytes() {
        let delta = r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}},"session_id":"s"}"#;
        assert_eq!(stream_event_kind(delta), Some("content_block_delta"));
        assert!(is_stream_event(delta));
        let reordered =
            r#"{"type":"stream_event","session_id":"s","event":{"type":"message_delta"}}"#;
        assert_eq!(stream_event_kind(reordered), None);
        assert!(is_stream_event(reordered));
        assert!(!is_stream_event(r#"{"type":"assistant"}"#));
    }

    #[test]
    fn a_message_delta_completes_the_message_its_start_opened() {
        let mut l = Ledger::default();
        assert!(l.message_start("", "m1", Some(tokens(1200, 1, 500, 300))));
        // The assistant line repeats message_start's usage: nothing new.
        assert!(!l.add(Some("m1"), tokens(1200, 1, 500, 300)));
        assert!(l.message_delta("", tokens(1200, 30, 500, 300)));
        assert_eq!(l.totals(), tokens(1200, 30, 500, 300));
        // A subagent's message interleaved with the main agent's.
        assert!(l.message_start("toolu_1", "s1", Some(tokens(10, 1, 0, 0))));
        assert!(l.message_start("", "m2", Some(tokens(1500, 1, 800, 0))));
        assert!(l.message_delta("toolu_1", tokens(10, 7, 0, 0)));
        assert!(l.message_delta("", tokens(1500, 40, 800, 0)));
        assert_eq!(l.totals(), tokens(2710, 77, 1300, 300));
    }

    #[test]
    fn a_delta_without_its_start_is_not_counted() {
        let mut l = Ledger::default();
        assert!(!l.message_delta("", tokens(5, 5, 0, 0)));
        assert_eq!(l.totals(), Usage::default());
    }
}
