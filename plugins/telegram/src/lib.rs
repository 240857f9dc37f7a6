//! Built-in stage `telegram`: sends a message through the Telegram Bot API (`sendMessage`).
//!
//! ```yaml
//! finally:
//!   telegram:
//!     uses: builtin:telegram
//!     if: "always()"
//!     with:
//!       token: "{{ secrets.TELEGRAM_BOT_TOKEN }}"
//!       chat_id: -1001234567890
//!       message: "{{ task.title }}: {{ run.status }}"
//!     permissions: { net: [api.telegram.org] }
//! ```
//!
//! The reply's `ok` field decides: `false` fails the attempt (retryable) with Telegram's
//! `description`. The token never appears in messages or outputs. See docs/notifiers.md.
#![warn(missing_docs)]

pub mod config;

use std::time::Instant;

use engine_notify_common::{
    RunFacts, SdkTransport, Transport, excerpt, http_failure, message_context, redact, render,
    request_failure,
};
use engine_stage_sdk::http::{Method, Request, Response};
use engine_stage_sdk::{Context, Descriptor, Stage, StageError, Success};
use serde_json::{Map, Value, json};

use config::{DEFAULT_MESSAGE, TelegramConfig};

/// Longest message Telegram accepts, in characters.
const TELEGRAM_LIMIT: usize = 4096;

/// The telegram stage.
pub struct Telegram;

impl Stage for Telegram {
    // Parsed by `config::parse`, whose errors never quote the token.
    type Config = Value;

    fn describe() -> Descriptor {
        // No `net` here: `api_base` may point anywhere, and the workflow's grant decides.
        Descriptor::new(
            "telegram",
            env!("CARGO_PKG_VERSION"),
            "Sends a message to a Telegram chat through the Bot API",
        )
        .config_schema(&config::schema())
    }

    fn run(ctx: Context<Value>) -> Result<Success, StageError> {
        let config = config::parse(&ctx.config).map_err(StageError::fatal)?;
        let context = message_context(&RunFacts {
            run_id: &ctx.run_id,
            stage_id: &ctx.stage_id,
            task: &ctx.task,
            outputs: &ctx.outputs,
        });
        send_message(&SdkTransport, &config, &context)
    }
}

/// Renders the message, calls `sendMessage` and checks the reply.
pub fn send_message<T: Transport + ?Sized>(
    transport: &T,
    config: &TelegramConfig,
    context: &Value,
) -> Result<Success, StageError> {
    let request = build_request(config, context).map_err(StageError::fatal)?;
    let started = Instant::now();
    let response = transport
        .send(&request)
        .map_err(|e| request_failure("Telegram sendMessage", &e))?;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let message_id = check_reply(&response, &config.token)?;
    let mut success = Success::new(format!(
        "Telegram message sent (HTTP {}, {} bytes in {elapsed_ms} ms)",
        response.status,
        request.body.len()
    ))
    .output("status", response.status)
    .output("bytes_sent", request.body.len() as u64)
    .output("duration_ms", elapsed_ms);
    if let Some(id) = message_id {
        success = success.output("message_id", id);
    }
    Ok(success)
}

/// `POST {api_base}/bot{token}/sendMessage` with the JSON body.
pub fn build_request(config: &TelegramConfig, context: &Value) -> Result<Request, String> {
    config.validate()?;
    let text = render(
        config.message.as_deref().unwrap_or(DEFAULT_MESSAGE),
        context,
    )
    .map_err(|e| format!("`message`: {e}"))?;
    if text.trim().is_empty() {
        return Err("the rendered `message` is empty (Telegram refuses empty messages)".into());
    }
    let mut body = Map::new();
    body.insert("chat_id".into(), config.chat_id.to_json());
    body.insert("text".into(), Value::String(cut(&text, TELEGRAM_LIMIT)));
    if let Some(mode) = &config.parse_mode {
        body.insert("parse_mode".into(), Value::String(mode.clone()));
    }
    if config.disable_notification {
        body.insert("disable_notification".into(), Value::Bool(true));
    }
    let url = config.send_message_url();
    engine_stage_sdk::http::Url::parse(&url).map_err(|e| format!("`api_base`: {e}"))?;
    Ok(Request::new(Method::Post, url)
        .header("Content-Type", "application/json")
        .body(Value::Object(body).to_string())
        .timeout(config.timeout()?))
}

/// The `message_id` of a reply with `"ok": true`; otherwise a retryable failure with Telegram's
/// `description` (or the status and an excerpt), the token redacted.
fn check_reply(response: &Response, token: &str) -> Result<Option<u64>, StageError> {
    let reply: Option<Value> = serde_json::from_slice(&response.body).ok();
    let Some(reply) = reply.filter(Value::is_object) else {
        let mut failure = http_failure("Telegram sendMessage", response);
        if response.is_success() {
            failure.message = format!(
                "Telegram sendMessage: the reply is not JSON: {}",
                excerpt(&response.text())
            );
        }
        failure.message = redact(&failure.message, &[token]);
        failure.detail = Value::Null;
        return Err(failure);
    };
    if reply["ok"] == json!(true) {
        return Ok(reply["result"]["message_id"].as_u64());
    }
    let description = reply["description"]
        .as_str()
        .map_or_else(|| "no description".to_string(), excerpt);
    let message = redact(
        &format!(
            "Telegram sendMessage failed (HTTP {}): {description}",
            response.status
        ),
        &[token],
    );
    Err(StageError::retryable(message).with_detail(json!({
        "status": response.status,
        "error_code": reply["error_code"],
    })))
}

/// At most `limit` characters, ending in `…` when cut.
fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    text.chars().take(limit - 1).collect::<String>() + "…"
}

#[cfg(test)]
mod tests;

engine_stage_sdk::export_stage!(Telegram);
