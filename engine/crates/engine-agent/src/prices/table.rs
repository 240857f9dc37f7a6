//! The built-in price table, dated.
//!
//! List prices in USD per million tokens at each provider's standard (not batch, not priority)
//! tier, compiled on [`PRICES_CHECKED_ON`] from:
//!
//! - Anthropic: <https://platform.claude.com/docs/en/about-claude/pricing> ("Model pricing").
//!   The cache-write column is the 5-minute rate (1.25 x input); 1-hour writes cost 2 x input.
//!   Haiku 5.5 is priced at its rate for prompts up to 100K tokens.
//! - `OpenAI`: <https://developers.openai.com/api/docs/pricing> (Standard). `OpenAI` bills no cache
//!   writes: the column repeats the input price so a parser that reports some still costs them.
//! - Google: <https://ai.google.dev/gemini-api/docs/pricing> (paid tier, prompts up to 200K
//!   tokens; longer prompts cost more). The cache-write column repeats the input price (cache
//!   storage is billed per hour, not per token).
//!
//! Claude Code's aliases (`opus`, `sonnet`, `haiku`, `opusplan`) follow whichever model the
//! installed CLI maps them to, so they are priced at the dearest current model of their family:
//! an estimate that errs high keeps a budget safe. A CLI that names its model (Claude's `init`
//! line, Codex, Gemini) is priced by that name instead.
//!
//! Prices change: the workflow's `prices:` overrides any row (and prices models missing here).

/// When the table was last checked against the sources above.
pub const PRICES_CHECKED_ON: &str = "2026-12-06";

/// `(model id or family prefix, [input, output, cache read, cache write])`, USD per million
/// tokens.
pub const BUILTIN_PRICES: &[(&str, [f64; 4])] = &[
    // --- Anthropic: Claude 5 generation.
    ("claude-fable-5-1", [10.0, 50.0, 0.25, 12.5]),
    ("claude-mythos-5-1", [10.0, 50.0, 0.25, 12.5]),
    ("claude-fable-5", [10.0, 50.0, 1.0, 12.5]),
    ("claude-mythos-5", [10.0, 50.0, 1.0, 12.5]),
    ("claude-opus-5-5", [4.0, 20.0, 0.20, 5.0]),
    ("claude-opus-5", [5.0, 25.0, 0.50, 6.25]),
    ("claude-sonnet-5-5", [2.0, 10.0, 0.10, 2.5]),
    ("claude-sonnet-5", [2.0, 10.0, 0.20, 2.5]),
    ("claude-haiku-5-5", [0.10, 0.50, 0.01, 0.125]),
    // --- Anthropic: Claude 4 generation. Opus 4.5 and later cost $5/$25; Opus 4 and 4.1 $15/$75.
    ("claude-opus-4", [5.0, 25.0, 0.50, 6.25]),
    ("claude-opus-4-8", [5.0, 25.0, 0.50, 6.25]),
    ("claude-opus-4-7", [5.0, 25.0, 0.50, 6.25]),
    ("claude-opus-4-6", [5.0, 25.0, 0.50, 6.25]),
    ("claude-opus-4-5", [5.0, 25.0, 0.50, 6.25]),
    ("claude-opus-4-1", [15.0, 75.0, 1.50, 18.75]),
    ("claude-opus-4-0", [15.0, 75.0, 1.50, 18.75]),
    ("claude-opus-4-20250514", [15.0, 75.0, 1.50, 18.75]),
    ("claude-sonnet-4", [3.0, 15.0, 0.30, 3.75]),
    ("claude-haiku-4", [1.0, 5.0, 0.10, 1.25]),
    // --- Anthropic: Claude 3 generation (legacy ids still accepted by some providers).
    ("claude-3-7-sonnet", [3.0, 15.0, 0.30, 3.75]),
    ("claude-3-5-sonnet", [3.0, 15.0, 0.30, 3.75]),
    ("claude-3-5-haiku", [0.80, 4.0, 0.08, 1.0]),
    ("claude-3-opus", [15.0, 75.0, 1.50, 18.75]),
    ("claude-3-haiku", [0.25, 1.25, 0.03, 0.30]),
    // --- Claude Code aliases: the dearest current model of the family.
    ("opus", [5.0, 25.0, 0.50, 6.25]),
    ("opusplan", [5.0, 25.0, 0.50, 6.25]),
    ("sonnet", [3.0, 15.0, 0.30, 3.75]),
    ("haiku", [1.0, 5.0, 0.10, 1.25]),
    // --- OpenAI: GPT-5 family.
    ("gpt-5.4", [2.50, 15.0, 0.25, 2.50]),
    ("gpt-5.4-mini", [0.75, 4.50, 0.075, 0.75]),
    ("gpt-5.3-codex", [1.75, 14.0, 0.175, 1.75]),
    ("gpt-5.2", [1.75, 14.0, 0.175, 1.75]),
    ("gpt-5.1", [1.25, 10.0, 0.125, 1.25]),
    ("gpt-5.1-codex-mini", [0.25, 2.0, 0.025, 0.25]),
    ("gpt-5", [1.25, 10.0, 0.125, 1.25]),
    ("gpt-5-codex", [1.25, 10.0, 0.125, 1.25]),
    ("gpt-5-mini", [0.25, 2.0, 0.025, 0.25]),
    ("gpt-5-nano", [0.05, 0.40, 0.005, 0.05]),
    ("gpt-5-pro", [15.0, 120.0, 15.0, 15.0]),
    ("codex-mini-latest", [1.50, 6.0, 0.375, 1.50]),
    // --- OpenAI: GPT-4.1 and GPT-4o.
    ("gpt-4.1", [2.0, 8.0, 0.50, 2.0]),
    ("gpt-4.1-mini", [0.40, 1.60, 0.10, 0.40]),
    ("gpt-4.1-nano", [0.10, 0.40, 0.025, 0.10]),
    ("gpt-4o", [2.50, 10.0, 1.25, 2.50]),
    ("gpt-4o-mini", [0.15, 0.60, 0.075, 0.15]),
    // --- OpenAI: reasoning models.
    ("o3", [2.0, 8.0, 0.50, 2.0]),
    ("o3-pro", [20.0, 80.0, 20.0, 20.0]),
    ("o3-mini", [1.10, 4.40, 0.55, 1.10]),
    ("o4-mini", [1.10, 4.40, 0.275, 1.10]),
    ("o1", [15.0, 60.0, 7.50, 15.0]),
    // --- Google: Gemini.
    ("gemini-3-pro", [2.0, 12.0, 0.20, 2.0]),
    ("gemini-3-flash", [0.50, 3.0, 0.05, 0.50]),
    ("gemini-2.5-pro", [1.25, 10.0, 0.125, 1.25]),
    ("gemini-2.5-flash", [0.30, 2.50, 0.03, 0.30]),
    ("gemini-2.5-flash-lite", [0.10, 0.40, 0.01, 0.10]),
    ("gemini-2.0-flash", [0.10, 0.40, 0.025, 0.10]),
];
