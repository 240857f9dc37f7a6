//! The steps of a session: what the scripted agent does, one YAML mapping each.

use std::fmt;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// One thing the scripted agent does: in YAML a mapping with one key (`say: TEXT`), or for
/// switches a bare word (`- hang` is `- hang: true`).
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Assistant text.
    Say(String),
    /// Assistant thinking (Claude `thinking` block, Codex `reasoning` item).
    Think(String),
    /// A tool call that is only reported, with no effect.
    Tool(ToolStep),
    /// Creates or overwrites a file (relative to the working directory).
    Write(FileContent),
    /// Appends to a file, creating it if needed.
    Append(FileContent),
    /// Deletes a file.
    Delete(String),
    /// Runs `sh -c COMMAND` in the working directory and reports it as a Bash call.
    Run(String),
    /// Sets the cumulative cost in USD.
    Cost(f64),
    /// Sets the cumulative token counts.
    Tokens(TokenCounts),
    /// Pauses.
    Sleep(Duration),
    /// Writes a line to stdout verbatim (non-JSON noise, or any hand-written event).
    Noise(String),
    /// Writes a line to stderr.
    Stderr(String),
    /// Reports that the CLI retries an API call.
    ApiRetry(ApiRetryStep),
    /// Emits the terminal result.
    Result(ResultStep),
    /// Stops all output and sleeps forever (no result).
    Hang(bool),
    /// Sleeps forever once a result has been emitted.
    HangAfterResult(bool),
    /// Emits a second, different result after the first.
    DoubleResult(bool),
    /// Exits without a result.
    Crash(CrashStep),
    /// Hits the account's usage limit.
    UsageLimit(UsageLimitStep),
    /// Fails authentication.
    AuthError(bool),
    /// Overflows the context window.
    ContextOverflow(bool),
    /// Plays steps several times.
    Repeat(RepeatStep),
}

/// Every step's key.
pub const STEP_NAMES: &[&str] = &[
    "say",
    "think",
    "tool",
    "write",
    "append",
    "delete",
    "run",
    "cost",
    "tokens",
    "sleep",
    "noise",
    "stderr",
    "api_retry",
    "result",
    "hang",
    "hang_after_result",
    "double_result",
    "crash",
    "usage_limit",
    "auth_error",
    "context_overflow",
    "repeat",
];

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StepVisitor)
    }
}

struct StepVisitor;

impl<'de> Visitor<'de> for StepVisitor {
    type Value = Step;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a step: a mapping with one key such as `say: TEXT` or `run: COMMAND`")
    }

    fn visit_str<E: de::Error>(self, word: &str) -> Result<Step, E> {
        match word {
            "hang" => Ok(Step::Hang(true)),
            "hang_after_result" => Ok(Step::HangAfterResult(true)),
            "double_result" => Ok(Step::DoubleResult(true)),
            "auth_error" => Ok(Step::AuthError(true)),
            "context_overflow" => Ok(Step::ContextOverflow(true)),
            "result" => Ok(Step::Result(ResultStep::default())),
            other => Err(E::unknown_variant(other, STEP_NAMES)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Step, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "empty step: expected one key such as `say: TEXT`",
            ));
        };
        let step = match key.as_str() {
            "say" => Step::Say(map.next_value()?),
            "think" => Step::Think(map.next_value()?),
            "tool" => Step::Tool(map.next_value()?),
            "write" => Step::Write(map.next_value()?),
            "append" => Step::Append(map.next_value()?),
            "delete" => Step::Delete(map.next_value()?),
            "run" => Step::Run(map.next_value()?),
            "cost" => Step::Cost(map.next_value()?),
            "tokens" => Step::Tokens(map.next_value()?),
            "sleep" => Step::Sleep(map.next_value::<DurationText>()?.0),
            "noise" => Step::Noise(map.next_value()?),
            "stderr" => Step::Stderr(map.next_value()?),
            "api_retry" => Step::ApiRetry(map.next_value()?),
            "result" => Step::Result(map.next_value::<Option<ResultStep>>()?.unwrap_or_default()),
            "hang" => Step::Hang(map.next_value()?),
            "hang_after_result" => Step::HangAfterResult(map.next_value()?),
            "double_result" => Step::DoubleResult(map.next_value()?),
            "crash" => Step::Crash(map.next_value::<Option<CrashStep>>()?.unwrap_or_default()),
            "usage_limit" => Step::UsageLimit(
                map.next_value::<Option<UsageLimitStep>>()?
                    .unwrap_or_default(),
            ),
            "auth_error" => Step::AuthError(map.next_value()?),
            "context_overflow" => Step::ContextOverflow(map.next_value()?),
            "repeat" => Step::Repeat(map.next_value()?),
            other => return Err(de::Error::unknown_variant(other, STEP_NAMES)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a step has exactly one key, but `{key}` is followed by `{extra}` (start each step with `- `)"
            )));
        }
        Ok(step)
    }
}

/// A humantime duration (`500ms`, `2s`, `1m 30s`).
struct DurationText(Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        duration(deserializer).map(DurationText)
    }
}

/// A reported tool call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolStep {
    /// Tool name (`Bash`, `Edit`, `Write`, `Read`, ...).
    pub name: String,
    /// The call's input (any YAML mapping; default `{}`).
    #[serde(default = "empty_object")]
    pub input: serde_json::Value,
    /// What the tool returned.
    #[serde(default)]
    pub output: String,
    /// The tool failed.
    #[serde(default)]
    pub error: bool,
    /// Time between the call starting and finishing.
    #[serde(default, deserialize_with = "optional_duration")]
    pub duration: Option<Duration>,
    /// The call starts and never finishes: the agent sleeps forever.
    #[serde(default)]
    pub hang: bool,
}

/// A file and its new content.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileContent {
    /// Path, relative to the working directory (or absolute).
    pub path: String,
    /// Text to write or append.
    #[serde(default)]
    pub content: String,
}

/// Cumulative token counts.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCounts {
    /// Input tokens.
    #[serde(default)]
    pub input: u64,
    /// Output tokens.
    #[serde(default)]
    pub output: u64,
    /// Input tokens read from the cache.
    #[serde(default)]
    pub cached: u64,
}

/// An API retry notice.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiRetryStep {
    /// Retry number.
    #[serde(default = "one")]
    pub attempt: u32,
    /// Delay before the retry.
    #[serde(default)]
    pub delay_ms: u64,
    /// HTTP status of the failed call.
    #[serde(default = "overloaded")]
    pub status: u16,
}

/// An explicit result.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultStep {
    /// Final text (default: the last text said).
    #[serde(default)]
    pub text: Option<String>,
    /// The CLI reports an error.
    #[serde(default)]
    pub is_error: bool,
    /// Claude's result subtype (default `success`).
    #[serde(default)]
    pub subtype: Option<String>,
    /// Exit code (default 1 when `is_error`, else 0).
    #[serde(default)]
    pub exit: Option<i32>,
}

/// A crash.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashStep {
    /// Exit code.
    #[serde(default = "one_i32")]
    pub exit: i32,
    /// Written to stderr before exiting.
    #[serde(default)]
    pub stderr: Option<String>,
}

impl Default for CrashStep {
    fn default() -> Self {
        CrashStep {
            exit: 1,
            stderr: None,
        }
    }
}

/// A usage limit.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageLimitStep {
    /// When the limit resets.
    #[serde(default)]
    pub resets_at: Option<ResetsAt>,
    /// Exit code (default: Claude 0, Codex 1, as the real CLIs).
    #[serde(default)]
    pub exit: Option<i32>,
}

/// When a usage limit resets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResetsAt {
    /// Seconds since the epoch.
    Epoch(u64),
    /// Relative to when the step plays (`in 2s`).
    In(Duration),
}

impl<'de> Deserialize<'de> for ResetsAt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(secs) => Ok(ResetsAt::Epoch(secs)),
            Raw::Text(text) => parse_resets_at(&text).map_err(serde::de::Error::custom),
        }
    }
}

fn parse_resets_at(text: &str) -> Result<ResetsAt, String> {
    let text = text.trim();
    if let Some(relative) = text.strip_prefix("in ") {
        return humantime::parse_duration(relative.trim())
            .map(ResetsAt::In)
            .map_err(|err| format!("resets_at {text:?}: {err}"));
    }
    text.parse::<u64>().map(ResetsAt::Epoch).map_err(|_| {
        format!("resets_at {text:?}: expected seconds since the epoch or \"in DURATION\"")
    })
}

/// Steps played several times.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatStep {
    /// How many times.
    pub times: u32,
    /// What to play.
    pub steps: Vec<Step>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

fn one() -> u32 {
    1
}

fn one_i32() -> i32 {
    1
}

fn overloaded() -> u16 {
    529
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(text.trim())
        .map_err(|err| serde::de::Error::custom(format!("duration {text:?}: {err}")))
}

fn optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    duration(deserializer).map(Some)
}
