//! Codex's `exec --json` lines and its rollout file's lines (`$CODEX_HOME/sessions/...`) as
//! typed, borrowed structs, with lenient field types.

use serde::Deserialize;

use super::lenient::{LI64, LMessage, LStr, LText, LU64};
use crate::event::Usage;

#[derive(Deserialize)]
pub(crate) struct Line<'a> {
    #[serde(rename = "type", borrow, default)]
    pub(crate) kind: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) thread_id: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) item: Option<Item<'a>>,
    #[serde(default)]
    pub(crate) usage: Option<RawUsage>,
    #[serde(borrow, default)]
    pub(crate) error: LMessage<'a>,
    #[serde(borrow, default)]
    pub(crate) message: LStr<'a>,
}

#[derive(Deserialize)]
pub(crate) struct Item<'a> {
    #[serde(borrow, default)]
    pub(crate) id: LStr<'a>,
    #[serde(rename = "type", alias = "item_type", borrow, default)]
    pub(crate) kind: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) text: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) command: LStr<'a>,
    #[serde(default)]
    pub(crate) aggregated_output: LText,
    #[serde(default)]
    pub(crate) exit_code: LI64,
    #[serde(borrow, default)]
    pub(crate) status: LStr<'a>,
    #[serde(default)]
    pub(crate) changes: Option<serde_json::Value>,
    #[serde(borrow, default)]
    pub(crate) server: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) tool: LStr<'a>,
    #[serde(default)]
    pub(crate) arguments: Option<serde_json::Value>,
    #[serde(borrow, default)]
    pub(crate) error: LMessage<'a>,
    #[serde(borrow, default)]
    pub(crate) query: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) message: LStr<'a>,
}

/// Codex's token counters (`turn.completed.usage`, a rollout's `total_token_usage`):
/// `input_tokens` is the whole input, the cached part and the cache writes included.
#[derive(Deserialize, Clone, Copy, Default)]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are named after Codex's JSON keys, which all end in `_tokens`"
)]
pub(crate) struct RawUsage {
    #[serde(default)]
    pub(crate) input_tokens: LU64,
    #[serde(default)]
    pub(crate) cached_input_tokens: LU64,
    #[serde(default)]
    pub(crate) cache_write_input_tokens: LU64,
    #[serde(default)]
    pub(crate) output_tokens: LU64,
}

impl RawUsage {
    /// The normalized counters: input not read from the cache, cache reads, cache writes and
    /// output (the cached part and the cache writes are taken out of the input total).
    pub(crate) fn normalized(self) -> Usage {
        let input = self.input_tokens.0.unwrap_or(0);
        let cached = self.cached_input_tokens.0.unwrap_or(0).min(input);
        let written = self
            .cache_write_input_tokens
            .0
            .unwrap_or(0)
            .min(input - cached);
        Usage {
            input_tokens: input - cached - written,
            output_tokens: self.output_tokens.0.unwrap_or(0),
            cache_read_tokens: cached,
            cache_write_tokens: written,
            cost_usd: None,
        }
    }
}

/// One line of a rollout file: `{"timestamp", "type": "event_msg", "payload": {"type":
/// "token_count", "info": {"total_token_usage": {...}, "last_token_usage": {...}}}}` is the
/// one that matters (the thread's cumulative usage after each model response).
#[derive(Deserialize)]
pub(crate) struct RolloutLine<'a> {
    #[serde(rename = "type", borrow, default)]
    pub(crate) kind: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) payload: Option<RolloutPayload<'a>>,
}

/// A rollout line's payload.
#[derive(Deserialize)]
pub(crate) struct RolloutPayload<'a> {
    #[serde(rename = "type", borrow, default)]
    pub(crate) kind: LStr<'a>,
    #[serde(default)]
    pub(crate) info: Option<TokenInfo>,
}

/// `token_count.info`.
#[derive(Deserialize)]
pub(crate) struct TokenInfo {
    #[serde(default)]
    pub(crate) total_token_usage: Option<RawUsage>,
}
