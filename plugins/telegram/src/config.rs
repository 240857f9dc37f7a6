//! The `with:` config of the telegram stage and its JSON Schema.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// The Bot API's address when `api_base` is not set.
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

/// The message sent when `message` is not set.
pub const DEFAULT_MESSAGE: &str = "{{ task.title }}: run {{ run.status }}\
{% if run.failed_stage %} at stage {{ run.failed_stage }}{% endif %}\
{% if run.message %} ({{ run.message }}){% endif %}";

/// `with: { token, chat_id, message, parse_mode, api_base, disable_notification, timeout }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The bot token (`{{ secrets.TELEGRAM_BOT_TOKEN }}`).
    pub token: String,
    /// The chat: a numeric id or `@channelusername`.
    pub chat_id: ChatId,
    /// The message template (minijinja with `task`, `run`, `stages`).
    #[serde(default)]
    pub message: Option<String>,
    /// `MarkdownV2`, `HTML` or `Markdown` (default: plain text).
    #[serde(default)]
    pub parse_mode: Option<String>,
    /// The Bot API's base URL (default `https://api.telegram.org`).
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Deliver silently.
    #[serde(default)]
    pub disable_notification: bool,
    /// Time limit of the request, e.g. `10s` (default `30s`).
    #[serde(default = "default_timeout")]
    pub timeout: String,
}

/// A chat id as YAML gives it: a number or a string.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ChatId {
    /// A numeric id (negative for groups).
    Number(i64),
    /// `@channelusername`, or a numeric id written as a string.
    Text(String),
}

impl ChatId {
    /// The JSON value sent to the API.
    pub fn to_json(&self) -> Value {
        match self {
            ChatId::Number(n) => json!(n),
            ChatId::Text(s) => json!(s.trim()),
        }
    }
}

fn default_api_base() -> String {
    DEFAULT_API_BASE.to_string()
}

fn default_timeout() -> String {
    "30s".to_string()
}

impl TelegramConfig {
    /// Checks what the schema cannot: the token's shape (it goes into the URL's path), the
    /// chat id, the timeout. Messages never quote the token.
    pub fn validate(&self) -> Result<(), String> {
        let token_ok = self.token.split_once(':').is_some_and(|(bot, secret)| {
            !bot.is_empty()
                && bot.bytes().all(|b| b.is_ascii_digit())
                && !secret.is_empty()
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        if !token_ok {
            return Err(
                "invalid `token`: a bot token looks like 123456789:AAE... (digits, a colon, then letters, digits, _ and -)"
                    .to_string(),
            );
        }
        if matches!(&self.chat_id, ChatId::Text(s) if s.trim().is_empty()) {
            return Err("`chat_id` is empty".to_string());
        }
        self.timeout()?;
        Ok(())
    }

    /// The timeout, parsed.
    pub fn timeout(&self) -> Result<Duration, String> {
        engine_notify_common::parse_timeout(&self.timeout)
    }

    /// `{api_base}/bot{token}/sendMessage`.
    pub fn send_message_url(&self) -> String {
        format!(
            "{}/bot{}/sendMessage",
            self.api_base.trim().trim_end_matches('/'),
            self.token
        )
    }
}

/// The config from the stage's `with:` value. Errors name fields, never values (the URL,
/// headers and tokens carry secrets).
pub fn parse(config: &Value) -> Result<TelegramConfig, String> {
    engine_notify_common::parse_config("telegram", config)
}

/// JSON Schema of the config.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["token", "chat_id"],
        "properties": {
            "token": {
                "type": "string",
                "minLength": 1,
                "description": "Bot token, usually \"{{ secrets.TELEGRAM_BOT_TOKEN }}\"."
            },
            "chat_id": {
                "type": ["string", "integer"],
                "description": "Chat id (a number, negative for groups) or @channelusername."
            },
            "message": {
                "type": "string",
                "description": "Message template (minijinja) with task, run and stages."
            },
            "parse_mode": {
                "enum": ["MarkdownV2", "HTML", "Markdown"],
                "description": "How Telegram formats the text (default: plain text)."
            },
            "api_base": {
                "type": "string",
                "description": "Bot API base URL (default https://api.telegram.org); its host must be in permissions.net."
            },
            "disable_notification": {
                "type": "boolean",
                "description": "Send silently (default false)."
            },
            "timeout": {
                "type": "string",
                "description": "Time limit of the request, e.g. 10s (default 30s)."
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456:ABC-def_ghi";

    #[test]
    fn chat_ids_may_be_numbers_or_strings() {
        let c = parse(&json!({"token": TOKEN, "chat_id": -100_123})).unwrap();
        assert_eq!(c.chat_id.to_json(), json!(-100_123));
        let c = parse(&json!({"token": TOKEN, "chat_id": "@channel"})).unwrap();
        assert_eq!(c.chat_id.to_json(), json!("@channel"));
        assert!(c.validate().is_ok());
        assert_eq!(
            c.send_message_url(),
            "https://api.telegram.org/bot123456:ABC-def_ghi/sendMessage"
        );
    }

    #[test]
    fn tokens_that_would_change_the_path_are_refused_without_quoting_them() {
        for token in ["123/../x:abc", "abc:def", "123:", "123:a b", "123:a?b=1"] {
            let c = parse(&json!({"token": token, "chat_id": 1})).unwrap();
            let err = c.validate().unwrap_err();
            assert!(!err.contains(token), "{err}");
        }
    }

    #[test]
    fn the_api_base_may_point_elsewhere() {
        let c = parse(&json!({"token": TOKEN, "chat_id": 1, "api_base": "http://127.0.0.1:9/"}))
            .unwrap();
        assert_eq!(
            c.send_message_url(),
            "http://127.0.0.1:9/bot123456:ABC-def_ghi/sendMessage"
        );
    }

    #[test]
    fn config_errors_never_quote_the_token() {
        let err = parse(&json!({"token": TOKEN})).unwrap_err();
        assert!(err.contains("chat_id"), "{err}");
        let err = parse(&json!({"token": TOKEN, "chat_id": [TOKEN]})).unwrap_err();
        assert!(!err.contains(TOKEN), "{err}");
    }
}
