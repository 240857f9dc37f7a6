//! Outgoing HTTP for stages: a small blocking client over `wasi:http` (enable the SDK's `http`
//! feature). The host sends a request only when its host is in the stage's `permissions.net`;
//! anything else fails with [`HttpError::Denied`] before a connection is made.
//!
//! ```ignore
//! use engine_stage_sdk::http::{Method, Request};
//! let response = Request::new(Method::Post, "https://hooks.example.com/services/x")
//!     .header("content-type", "application/json")
//!     .body(br#"{"text":"hello"}"#.to_vec())
//!     .timeout(std::time::Duration::from_secs(10))
//!     .send()?;
//! if !response.is_success() { /* response.status, response.text() */ }
//! ```
//!
//! Errors never quote the URL or header values: webhook URLs and tokens are secrets.

mod url;
mod wasi;

use std::time::Duration;

pub use url::{Scheme, Url};

/// Bytes of a response body kept by default; the rest is dropped and
/// [`Response::truncated`] is set.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl Method {
    /// `GET`, `POST`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Parses a method name, case-insensitively.
    pub fn parse(name: &str) -> Option<Method> {
        Some(match name.trim().to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }
}

/// A request to send. Build it with [`Request::new`] and the builder methods, then
/// [`Request::send`] it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The full URL (`http://` or `https://`).
    pub url: String,
    /// Headers in order (names as given; HTTP compares them case-insensitively).
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
    /// Time limit of each phase (connect, first byte, between bytes); the host also caps them
    /// at the time the attempt has left.
    pub timeout: Option<Duration>,
    /// Bytes of the response body kept.
    pub max_response_bytes: usize,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: Method, url: impl Into<String>) -> Request {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// Sets the time limit (see [`Request::timeout`](struct.Request.html#structfield.timeout)).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }

    /// Sets how many bytes of the response body are kept.
    #[must_use]
    pub fn max_response_bytes(mut self, bytes: usize) -> Request {
        self.max_response_bytes = bytes;
        self
    }

    /// Whether a header of this name (case-insensitive) was added.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Sends the request through the host and waits for the response (blocking).
    pub fn send(&self) -> Result<Response, HttpError> {
        wasi::send(self)
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The body, at most the request's `max_response_bytes`.
    pub body: Vec<u8>,
    /// Whether the body was longer than what was kept.
    pub truncated: bool,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request failed. Messages never quote the URL or header values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The URL could not be used (the reason, without the URL).
    InvalidUrl(String),
    /// A header name or value is invalid, or the header may not be set by a stage.
    InvalidHeader {
        /// The header's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The host refused the request: its host is not in the stage's `permissions.net`.
    Denied {
        /// The request's host (and port when given).
        host: String,
    },
    /// A time limit passed (connecting, waiting for the response or between body bytes).
    Timeout {
        /// The request's host.
        host: String,
    },
    /// The request could not be delivered (connection refused, DNS, TLS, protocol...).
    Transport {
        /// The request's host.
        host: String,
        /// What went wrong.
        reason: String,
    },
}

impl HttpError {
    /// Whether trying again later may help (timeouts and transport errors).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            HttpError::Timeout { .. } | HttpError::Transport { .. }
        )
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            HttpError::InvalidHeader { name, reason } => {
                write!(f, "invalid header {name:?}: {reason}")
            }
            HttpError::Denied { host } => write!(
                f,
                "the request to {host} was denied: {host} is not in this stage's permissions.net"
            ),
            HttpError::Timeout { host } => write!(f, "the request to {host} timed out"),
            HttpError::Transport { host, reason } => {
                write!(f, "the request to {host} failed: {reason}")
            }
        }
    }
}

impl std::error::Error for HttpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_built_with_the_builder() {
        let r = Request::new(Method::Post, "https://h/x")
            .header("Content-Type", "application/json")
            .body("{}")
            .timeout(Duration::from_secs(3))
            .max_response_bytes(10);
        assert!(r.has_header("content-type"));
        assert!(!r.has_header("title"));
        assert_eq!(r.body, b"{}");
        assert_eq!(r.timeout, Some(Duration::from_secs(3)));
        assert_eq!(r.max_response_bytes, 10);
    }

    #[test]
    fn methods_parse_case_insensitively() {
        assert_eq!(Method::parse("post"), Some(Method::Post));
        assert_eq!(Method::parse(" Patch "), Some(Method::Patch));
        assert_eq!(Method::parse("BREW"), None);
        assert_eq!(Method::Delete.as_str(), "DELETE");
    }

    #[test]
    fn responses_answer_status_text_and_headers() {
        let r = Response {
            status: 204,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"ok".to_vec(),
            truncated: false,
        };
        assert!(r.is_success());
        assert_eq!(r.text(), "ok");
        assert_eq!(r.header("Content-Type"), Some("text/plain"));
        assert!(!Response { status: 500, ..r }.is_success());
    }

    #[test]
    fn only_timeouts_and_transport_errors_are_transient() {
        let host = "h".to_string();
        assert!(HttpError::Timeout { host: host.clone() }.is_transient());
        assert!(
            HttpError::Transport {
                host: host.clone(),
                reason: "refused".into()
            }
            .is_transient()
        );
        assert!(!HttpError::Denied { host: host.clone() }.is_transient());
        assert!(!HttpError::InvalidUrl("x".into()).is_transient());
        assert_eq!(
            HttpError::Denied { host }.to_string(),
            "the request to h was denied: h is not in this stage's permissions.net"
        );
    }
}
