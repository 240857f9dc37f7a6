//! Claude Code's `stream-json` lines as typed, borrowed structs. Only the fields the parser
//! reads are declared (the rest, e.g. `tool_use_result`, is skipped while parsing); each uses a
//! lenient type, so a field of an unexpected JSON type reads as absent.

use serde::Deserialize;

use crate::event::Usage;

use super::lenient::{LBool, LF64, LStr, LText, LU64};
use super::text::{add_tokens, saturating_u64};

#[derive(Deserialize)]
pub(crate) struct Line<'a> {
    #[serde(rename = "type", borrow, default)]
    pub(crate) kind: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) subtype: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) session_id: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) model: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) message: Option<Message<'a>>,
    #[serde(borrow, default)]
    pub(crate) parent_tool_use_id: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) error: LStr<'a>,
    // system/api_retry
    #[serde(default)]
    pub(crate) attempt: LU64,
    #[serde(default)]
    pub(crate) retry_delay_ms: LU64,
    #[serde(default)]
    pub(crate) error_status: LU64,
    // rate_limit_event
    #[serde(borrow, default)]
    pub(crate) rate_limit_info: Option<RateLimitInfo<'a>>,
    // result
    #[serde(default)]
    pub(crate) is_error: LBool,
    #[serde(borrow, default)]
    pub(crate) result: LStr<'a>,
    #[serde(default)]
    pub(crate) num_turns: LU64,
    #[serde(default)]
    pub(crate) total_cost_usd: LF64,
    #[serde(default)]
    pub(crate) usage: Option<RawUsage>,
    /// The session's tokens per model, summed (the result's `usage` holds only some calls).
    #[serde(rename = "modelUsage", default)]
    pub(crate) model_usage: ModelUsage,
}

/// A `stream_event` line's `event`: one raw Messages API stream event. Only `message_start`
/// (the message id and its input usage) and `message_delta` (the final usage) are read.
#[derive(Deserialize)]
pub(crate) struct StreamEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    pub(crate) kind: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) message: Option<StreamMessage<'a>>,
    #[serde(default)]
    pub(crate) usage: Option<RawUsage>,
}

/// `message_start`'s message.
#[derive(Deserialize)]
pub(crate) struct StreamMessage<'a> {
    #[serde(borrow, default)]
    pub(crate) id: LStr<'a>,
    #[serde(default)]
    pub(crate) usage: Option<RawUsage>,
}

/// The result's `modelUsage` (`{"model": {"inputTokens": .., "outputTokens": ..,
/// "cacheReadInputTokens": .., "cacheCreationInputTokens": .., "costUSD": ..}}`) summed over
/// models; absent when the line has none or it is not an object.
#[derive(Default, Clone, Copy)]
pub(crate) struct ModelUsage(pub(crate) Option<Usage>);

impl<'de> Deserialize<'de> for ModelUsage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let Some(models) = value.as_object() else {
            return Ok(ModelUsage(None));
        };
        let mut total = Usage::default();
        for entry in models.values() {
            let n = |key: &str| {
                entry
                    .get(key)
                    .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(saturating_u64)))
                    .unwrap_or(0)
            };
            add_tokens(
                &mut total,
                n("inputTokens"),
                n("outputTokens"),
                n("cacheReadInputTokens"),
                n("cacheCreationInputTokens"),
            );
        }
        Ok(ModelUsage(Some(total)))
    }
}

#[derive(Deserialize)]
pub(crate) struct Message<'a> {
    #[serde(borrow, default)]
    pub(crate) id: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) content: Content<'a>,
    #[serde(default)]
    pub(crate) usage: Option<RawUsage>,
}

/// `message.content`: an array of blocks (a plain string, as in prompt echoes, reads as empty).
#[derive(Default)]
pub(crate) struct Content<'a>(pub(crate) Vec<Block<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ContentVisitor)
    }
}

struct ContentVisitor;

impl<'de> serde::de::Visitor<'de> for ContentVisitor {
    type Value = Content<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("message content")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut blocks = Vec::new();
        while let Some(block) = seq.next_element::<Block<'de>>()? {
            blocks.push(block);
        }
        Ok(Content(blocks))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Content::default())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Content::default())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Content::default())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Content::default())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Content::default())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Content::default())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Content::default())
    }
}

#[derive(Deserialize)]
pub(crate) struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    pub(crate) kind: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) text: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) id: LStr<'a>,
    #[serde(borrow, default)]
    pub(crate) name: LStr<'a>,
    #[serde(default)]
    pub(crate) input: Option<serde_json::Value>,
    #[serde(borrow, default)]
    pub(crate) tool_use_id: LStr<'a>,
    #[serde(default)]
    pub(crate) content: LText,
    #[serde(default)]
    pub(crate) is_error: LBool,
}

#[derive(Deserialize)]
pub(crate) struct RateLimitInfo<'a> {
    #[serde(borrow, default)]
    pub(crate) status: LStr<'a>,
    #[serde(rename = "resetsAt", default)]
    pub(crate) resets_at: LU64,
    #[serde(rename = "rateLimitType", borrow, default)]
    pub(crate) rate_limit_type: LStr<'a>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are named after Claude's JSON keys, which all end in `_tokens`"
)]
pub(crate) struct RawUsage {
    #[serde(default)]
    pub(crate) input_tokens: LU64,
    #[serde(default)]
    pub(crate) output_tokens: LU64,
    #[serde(default)]
    pub(crate) cache_creation_input_tokens: LU64,
    #[serde(default)]
    pub(crate) cache_read_input_tokens: LU64,
}

impl RawUsage {
    /// The counters as normalized usage (no cost).
    pub(crate) fn to_usage(self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.0.unwrap_or(0),
            output_tokens: self.output_tokens.0.unwrap_or(0),
            cache_read_tokens: self.cache_read_input_tokens.0.unwrap_or(0),
            cache_write_tokens: self.cache_creation_input_tokens.0.unwrap_or(0),
            cost_usd: None,
        }
    }
}
