//! Sending a notification and turning what went wrong into a [`StageError`] that names neither
//! the URL nor a header value (they carry secrets).

use std::fmt::Write as _;
use std::time::Duration;

use engine_stage_sdk::StageError;
use engine_stage_sdk::http::{HttpError, Request, Response};
use serde_json::json;

/// Characters of a response body quoted in an error.
const EXCERPT_CHARS: usize = 200;

/// Sends requests: [`SdkTransport`] in a stage, a fake in tests.
pub trait Transport {
    /// Sends one request and returns its response.
    fn send(&self, request: &Request) -> Result<Response, HttpError>;
}

/// The SDK's HTTP client (`wasi:http`, limited by the host to `permissions.net`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SdkTransport;

impl Transport for SdkTransport {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        request.send()
    }
}

/// What a failed request becomes: a denied host, a bad URL or header is fatal (trying again
/// will not help); a timeout or a transport error is retryable. `what` names the request
/// (`webhook`, `Telegram sendMessage`).
pub fn request_failure(what: &str, error: &HttpError) -> StageError {
    let message = format!("{what}: {error}");
    let detail = match error {
        HttpError::Denied { host } => json!({ "denied_host": host }),
        _ => serde_json::Value::Null,
    };
    let error = if error.is_transient() {
        StageError::retryable(message)
    } else {
        StageError::fatal(message)
    };
    error.with_detail(detail)
}

/// A retryable failure for a non-2xx reply: the status and a short excerpt of the body.
pub fn http_failure(what: &str, response: &Response) -> StageError {
    let body = excerpt(&response.text());
    let mut message = format!("{what}: the server answered HTTP {}", response.status);
    if !body.is_empty() {
        let _ = write!(message, ": {body}");
    }
    StageError::retryable(message).with_detail(json!({ "status": response.status, "body": body }))
}

/// The start of `text` on one line: control characters become spaces, at most
/// [`EXCERPT_CHARS`] characters (with `…` when cut).
pub fn excerpt(text: &str) -> String {
    let flat: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut words = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() > EXCERPT_CHARS {
        words = words.chars().take(EXCERPT_CHARS).collect::<String>() + "…";
    }
    words
}

/// `text` with every occurrence of each non-empty secret replaced by `***`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |acc, s| acc.replace(s, "***"))
}

/// Parses a `timeout` such as `10s` or `1m 30s`.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let timeout = humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid `timeout` {text:?}: {e}"))?;
    if timeout.is_zero() {
        return Err("`timeout` must be longer than 0s".to_string());
    }
    Ok(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_on_one_line() {
        assert_eq!(excerpt("  a\nb\t c  "), "a b c");
        let long = "x".repeat(500);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn non_2xx_replies_are_retryable_with_status_and_excerpt() {
        let response = Response {
            status: 500,
            body: b"internal\nerror".to_vec(),
            ..Response::default()
        };
        let e = http_failure("webhook", &response);
        assert!(e.retryable);
        assert_eq!(
            e.message,
            "webhook: the server answered HTTP 500: internal error"
        );
        assert_eq!(e.detail["status"], 500);
    }

    #[test]
    fn denied_hosts_are_fatal_and_transport_errors_retryable() {
        let denied = request_failure("webhook", &HttpError::Denied { host: "h".into() });
        assert!(!denied.retryable);
        assert_eq!(denied.detail["denied_host"], "h");
        let refused = request_failure(
            "webhook",
            &HttpError::Transport {
                host: "h".into(),
                reason: "connection refused".into(),
            },
        );
        assert!(refused.retryable);
        assert_eq!(
            refused.message,
            "webhook: the request to h failed: connection refused"
        );
    }

    #[test]
    fn secrets_are_redacted_and_timeouts_parsed() {
        assert_eq!(
            redact("bot123:abc said no", &["123:abc", ""]),
            "bot*** said no"
        );
        assert_eq!(parse_timeout("10s").unwrap(), Duration::from_secs(10));
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("soon").is_err());
    }
}
