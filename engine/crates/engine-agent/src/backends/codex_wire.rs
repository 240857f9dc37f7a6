//! Codex's `exec --json` lines as typed, borrowed structs, with lenient field types.

use serde::Deserialize;

use super::lenient::{LI64, LMessage, LStr, LText, LU64};

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

#[derive(Deserialize, Clone, Copy)]
pub(crate) struct RawUsage {
    #[serde(default)]
    pub(crate) input_tokens: LU64,
    #[serde(default)]
    pub(crate) cached_input_tokens: LU64,
    #[serde(default)]
    pub(crate) output_tokens: LU64,
}
