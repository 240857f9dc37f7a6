//! The `with:` config of the webhook stage and its JSON Schema.

use std::collections::BTreeMap;
use std::time::Duration;

use engine_stage_sdk::http::Method;
use serde::Deserialize;
use serde_json::{Value, json};

/// The message sent when `message` is not set.
pub const DEFAULT_MESSAGE: &str = "{{ task.title }}: run {{ run.status }}\
{% if run.failed_stage %} at stage {{ run.failed_stage }}{% endif %}\
{% if run.message %} ({{ run.message }}){% endif %}\
{% if run.cost_usd %}, ${{ run.cost_usd | round(2) }}{% endif %}";

/// The ntfy title (and the JSON preset's `title`) when `title` is not set.
pub const DEFAULT_TITLE: &str = "engine: {{ task.title }}";

/// `with: { url, method, headers, format, message, title, body, timeout }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to send the request (usually `{{ secrets.NAME }}`, rendered by the engine).
    pub url: String,
    /// HTTP method (default `POST`).
    #[serde(default = "default_method")]
    pub method: String,
    /// Extra headers (values may come from secrets, e.g. `Authorization`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How the body is built from the message (default `json`).
    #[serde(default)]
    pub format: Format,
    /// The message template (minijinja with `task`, `run`, `stages`).
    #[serde(default)]
    pub message: Option<String>,
    /// A title template: ntfy's `Title` header, the JSON preset's `title`.
    #[serde(default)]
    pub title: Option<String>,
    /// A template for the whole body, instead of a preset (also sees `message` and `title`).
    #[serde(default)]
    pub body: Option<String>,
    /// Time limit of the request, e.g. `10s` (default `30s`).
    #[serde(default = "default_timeout")]
    pub timeout: String,
}

fn default_method() -> String {
    "POST".to_string()
}

fn default_timeout() -> String {
    "30s".to_string()
}

/// A body preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `{"text", "title", "status", "task", "run"}`, for your own endpoints.
    #[default]
    Json,
    /// Slack incoming webhook: `{"text": message}`.
    Slack,
    /// Discord webhook: `{"content": message}` (cut at 2000 characters).
    Discord,
    /// ntfy: the message as plain text, the title in a `Title` header.
    Ntfy,
    /// The message as plain text.
    Text,
}

impl WebhookConfig {
    /// The method, parsed.
    pub fn method(&self) -> Result<Method, String> {
        Method::parse(&self.method).ok_or_else(|| {
            format!(
                "invalid `method` {:?}: use GET, POST, PUT, PATCH or DELETE",
                self.method
            )
        })
    }

    /// The timeout, parsed.
    pub fn timeout(&self) -> Result<Duration, String> {
        engine_notify_common::parse_timeout(&self.timeout)
    }
}

/// The config from the stage's `with:` value. Errors name fields, never values (the URL,
/// headers and tokens carry secrets).
pub fn parse(config: &Value) -> Result<WebhookConfig, String> {
    engine_notify_common::parse_config("webhook", config)
}

/// JSON Schema of the config.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["url"],
        "properties": {
            "url": {
                "type": "string",
                "minLength": 1,
                "description": "http:// or https:// URL; its host must be in permissions.net. Usually \"{{ secrets.NAME }}\"."
            },
            "method": {
                "type": "string",
                "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "get", "post", "put", "patch", "delete"],
                "description": "HTTP method (default POST)."
            },
            "headers": {
                "type": "object",
                "additionalProperties": { "type": "string" },
                "description": "Extra request headers."
            },
            "format": {
                "enum": ["json", "slack", "discord", "ntfy", "text"],
                "description": "Body preset (default json)."
            },
            "message": {
                "type": "string",
                "description": "Message template (minijinja) with task, run and stages."
            },
            "title": {
                "type": "string",
                "description": "Title template: ntfy's Title header, the json preset's title."
            },
            "body": {
                "type": "string",
                "description": "Template of the whole body instead of a preset; also sees message and title."
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

    #[test]
    fn defaults_apply() {
        let c = parse(&json!({"url": "https://h/x"})).unwrap();
        assert_eq!(c.method().unwrap(), Method::Post);
        assert_eq!(c.format, Format::Json);
        assert_eq!(c.timeout().unwrap(), Duration::from_secs(30));
        assert!(c.headers.is_empty());
    }

    #[test]
    fn errors_name_fields_but_never_values() {
        let secret = "https://hooks.example.com/services/SECRET";
        let err = parse(&json!({"url": secret, "headers": "Bearer SECRET"})).unwrap_err();
        assert!(err.starts_with("invalid webhook config: "), "{err}");
        assert!(!err.contains("SECRET"), "{err}");
        let err = parse(&json!({"url": secret, "colour": "red"})).unwrap_err();
        assert!(err.contains("colour"), "{err}");
        assert!(parse(&json!({})).unwrap_err().contains("url"));
        let bad = parse(&json!({"url": "u", "method": "BREW"})).unwrap();
        assert!(bad.method().is_err());
    }

    #[test]
    fn the_schema_is_an_object_schema_requiring_url() {
        let s = schema();
        assert_eq!(s["required"], json!(["url"]));
        assert_eq!(s["additionalProperties"], json!(false));
    }
}
