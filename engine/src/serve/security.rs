//! Who may talk to `engine serve`, and from where: loopback by default, a bearer token (header
//! or cookie) required on any other address, the `Host` checked on loopback (DNS rebinding),
//! state-changing requests refused from other sites (CSRF), and headers that keep the pages
//! from being framed or their scripts from being injected.

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie a browser keeps the token in (set by `/?token=...`).
pub const TOKEN_COOKIE: &str = "engine_token";

/// The shortest token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

/// The Content-Security-Policy of every response: the dashboard's own scripts, styles and
/// API only; never framed.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
                       base-uri 'none'; form-action 'self'";

/// Why a server may not start with these settings.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    /// A non-loopback address without a token.
    #[error(
        "--listen {0} is not a loopback address: set a token (--token-file FILE or \
         ENGINE_SERVE_TOKEN) so that only you can use the server, or listen on 127.0.0.1"
    )]
    TokenRequired(SocketAddr),
    /// A token too short to be one.
    #[error(
        "the token is {0} characters long; use at least {MIN_TOKEN_LEN} (e.g. `openssl rand -hex 32`)"
    )]
    WeakToken(usize),
}

/// The checks a server applies.
#[derive(Debug, Clone)]
pub struct Guard {
    /// The address listened on.
    pub addr: SocketAddr,
    /// The bearer token, if any.
    pub token: Option<String>,
}

impl Guard {
    /// The checks for a server on `addr` with `token`; refuses a non-loopback address
    /// without a token and a token shorter than [`MIN_TOKEN_LEN`].
    pub fn new(addr: SocketAddr, token: Option<String>) -> Result<Guard, SettingsError> {
        let token = token
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        if let Some(token) = &token
            && token.chars().count() < MIN_TOKEN_LEN
        {
            return Err(SettingsError::WeakToken(token.chars().count()));
        }
        if token.is_none() && !addr.ip().is_loopback() {
            return Err(SettingsError::TokenRequired(addr));
        }
        Ok(Guard { addr, token })
    }

    /// Whether a request with `headers` (and `query_token`, for `/?token=`) carries the token,
    /// or none is needed.
    pub fn authorised(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let cookie = cookie(headers, TOKEN_COOKIE);
        [bearer, cookie.as_deref()]
            .into_iter()
            .flatten()
            .any(|given| same(given.trim(), token))
    }

    /// Whether `Host` names this server (on loopback only: a page of another name that
    /// resolves to 127.0.0.1 must not reach it). Elsewhere the token protects it.
    pub fn host_allowed(&self, headers: &HeaderMap) -> bool {
        if !self.addr.ip().is_loopback() {
            return true;
        }
        let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let port = self.addr.port();
        ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .any(|name| host.eq_ignore_ascii_case(&format!("{name}:{port}")))
    }

    /// Whether a state-changing request with `headers` comes from this server's own pages or
    /// from a program (no browser headers), not from another site.
    pub fn same_site(headers: &HeaderMap) -> bool {
        if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
            && !matches!(site, "same-origin" | "none")
        {
            return false;
        }
        match headers.get(header::ORIGIN).map(HeaderValue::to_str) {
            None => true,
            Some(Ok(origin)) => headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|host| origin.eq_ignore_ascii_case(&format!("http://{host}"))),
            Some(Err(_)) => false,
        }
    }
}

/// The value of cookie `name` in `headers`.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Compares in time independent of where they differ.
fn same(given: &str, token: &str) -> bool {
    let (a, b) = (given.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A JSON error response.
pub fn refusal(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message, "code": crate::exit::INVALID_INPUT });
    (status, axum::Json(body)).into_response()
}

/// The middleware: Host, token and cross-site checks, then the security headers.
pub async fn guard(
    State(guard): State<std::sync::Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let path = request.uri().path();
    if !guard.host_allowed(headers) {
        return with_headers(refusal(
            StatusCode::FORBIDDEN,
            "this server answers only to localhost, 127.0.0.1 and [::1] (the Host header named another host)",
        ));
    }
    // The page shell and its files carry no data: a browser may load them before it has the
    // token cookie (`/?token=` sets it).
    let public = path == "/" || path.starts_with("/static/");
    if !public && !guard.authorised(headers) {
        return with_headers(refusal(
            StatusCode::UNAUTHORIZED,
            "a token is required: `Authorization: Bearer TOKEN`, or open /?token=TOKEN once in the browser",
        ));
    }
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state || path.starts_with("/mcp") {
        if !Guard::same_site(headers) {
            return with_headers(refusal(
                StatusCode::FORBIDDEN,
                "refused: the request comes from another site",
            ));
        }
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if changes_state && !path.starts_with("/mcp") && !json {
            return with_headers(refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "state-changing requests must be `Content-Type: application/json`",
            ));
        }
    }
    with_headers(next.run(request).await)
}

/// The headers every response carries.
fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn a_public_address_needs_a_long_enough_token() {
        let public: SocketAddr = "0.0.0.0:7878".parse().unwrap();
        assert_eq!(
            Guard::new(public, None).unwrap_err(),
            SettingsError::TokenRequired(public)
        );
        assert_eq!(
            Guard::new(public, Some("short".into())).unwrap_err(),
            SettingsError::WeakToken(5)
        );
        assert!(Guard::new(public, Some("0123456789abcdef".into())).is_ok());
        assert!(Guard::new("127.0.0.1:0".parse().unwrap(), None).is_ok());
        assert!(Guard::new("[::1]:0".parse().unwrap(), None).is_ok());
    }

    #[test]
    fn the_token_comes_as_a_bearer_or_a_cookie() {
        let guard = Guard::new(
            "127.0.0.1:1".parse().unwrap(),
            Some("0123456789abcdef".into()),
        )
        .unwrap();
        assert!(!guard.authorised(&headers(&[])));
        assert!(guard.authorised(&headers(&[("authorization", "Bearer 0123456789abcdef")])));
        assert!(!guard.authorised(&headers(&[("authorization", "Bearer 0123456789abcdeX")])));
        assert!(guard.authorised(&headers(&[(
            "cookie",
            "a=b; engine_token=0123456789abcdef"
        )])));
        assert!(!guard.authorised(&headers(&[("cookie", "engine_token=0123")])));
    }

    #[test]
    fn loopback_answers_only_to_its_own_names() {
        let guard = Guard::new("127.0.0.1:7878".parse().unwrap(), None).unwrap();
        assert!(guard.host_allowed(&headers(&[("host", "127.0.0.1:7878")])));
        assert!(guard.host_allowed(&headers(&[("host", "localhost:7878")])));
        assert!(!guard.host_allowed(&headers(&[("host", "evil.example:7878")])));
        assert!(!guard.host_allowed(&headers(&[("host", "127.0.0.1:7879")])));
        assert!(!guard.host_allowed(&headers(&[])));
    }

    #[test]
    fn cross_site_requests_are_told_apart() {
        let host = ("host", "127.0.0.1:7878");
        assert!(Guard::same_site(&headers(&[host])));
        assert!(Guard::same_site(&headers(&[
            host,
            ("origin", "http://127.0.0.1:7878")
        ])));
        assert!(!Guard::same_site(&headers(&[
            host,
            ("origin", "http://evil.example")
        ])));
        assert!(!Guard::same_site(&headers(&[host, ("origin", "null")])));
        assert!(!Guard::same_site(&headers(&[
            host,
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!Guard::same_site(&headers(&[
            host,
            ("sec-fetch-site", "same-site")
        ])));
        assert!(Guard::same_site(&headers(&[
            host,
            ("sec-fetch-site", "same-origin")
        ])));
    }
}
