//! Outgoing HTTP for stages (`wasi:http`), limited to the hosts the workflow grants.
//!
//! A stage that imports `wasi:http/outgoing-handler` may send requests only to the hosts listed
//! in its `permissions.net`. Every request goes through [`NetPolicy::send_request`], which checks
//! the request's authority against the grant before any connection is made, and caps the
//! connect / first-byte / between-bytes timeouts at the time the attempt has left. A denied
//! request fails with `error-code::HTTP-request-denied` and is logged to the attempt log with
//! the stage and the host (never the path or the headers: webhook paths and headers carry
//! secrets).
//!
//! Grant entries (`permissions.net`):
//! - `host` (`hooks.slack.com`, `127.0.0.1`): that host, on any port;
//! - `host:port` (`ntfy.example.com:8443`): that host on that port only (the port a URL without
//!   one uses is its scheme's default: 443 for https, 80 for http).
//!
//! Host names compare case-insensitively and ignore one trailing dot. There are no wildcards: an
//! entry such as `*.example.com` matches nothing.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::attempt::{AttemptObserver, LogLevel};

/// A request and the future that drives its connection, as `send_request` returns them.
type SendResult = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;

/// One entry of `permissions.net`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NetGrant {
    /// Lowercase host without a trailing dot.
    host: String,
    /// `None` allows every port.
    port: Option<u16>,
}

impl NetGrant {
    /// Parses `host` or `host:port`; `None` for anything else (wildcards, schemes, paths,
    /// credentials, a bad port).
    pub(crate) fn parse(entry: &str) -> Option<NetGrant> {
        let entry = entry.trim();
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.parse::<u16>().ok()?)),
            None => (entry, None),
        };
        let host = normalize_host(host)?;
        Some(NetGrant { host, port })
    }

    fn allows(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }
}

/// A host name (or IPv4 address) lowercased without one trailing dot; `None` when it holds
/// anything but letters, digits, `-` and `.`.
fn normalize_host(host: &str) -> Option<String> {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let valid = !host.is_empty()
        && !host.starts_with('.')
        && !host.contains("..")
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    valid.then_some(host)
}

/// Why a request was denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// The URI has no host.
    NoHost,
    /// The authority carries credentials (`user:pass@host`).
    Credentials,
    /// The host (and port) is not granted.
    NotGranted {
        /// `host:port` of the request.
        target: String,
    },
}

/// Checks a request URI against the grant: `Ok(host:port)` when it may be sent.
pub(crate) fn check_uri(grants: &[NetGrant], uri: &http::Uri) -> Result<String, Denial> {
    let authority = uri.authority().ok_or(Denial::NoHost)?;
    if authority.as_str().contains('@') {
        return Err(Denial::Credentials);
    }
    let default_port = if uri.scheme() == Some(&http::uri::Scheme::HTTP) {
        80
    } else {
        443
    };
    let port = authority.port_u16().unwrap_or(default_port);
    let raw_host = authority.host();
    let target = format!("{raw_host}:{port}");
    let Some(host) = normalize_host(raw_host) else {
        return Err(Denial::NotGranted { target });
    };
    if grants.iter().any(|g| g.allows(&host, port)) {
        Ok(target)
    } else {
        Err(Denial::NotGranted { target })
    }
}

/// The `wasi:http` hooks of one attempt: the stage's grant, its deadline and its log.
pub(crate) struct NetPolicy {
    stage_id: String,
    grants: Vec<NetGrant>,
    /// Entries of `permissions.net` that are not `host` or `host:port` (they match nothing).
    invalid: Vec<String>,
    deadline: Instant,
    observer: Arc<dyn AttemptObserver>,
}

impl NetPolicy {
    /// The policy for a stage granted `net` (entries as written in the workflow).
    pub(crate) fn new(
        stage_id: &str,
        net: &[String],
        deadline: Instant,
        observer: Arc<dyn AttemptObserver>,
    ) -> NetPolicy {
        let mut grants = Vec::new();
        let mut invalid = Vec::new();
        for entry in net {
            match NetGrant::parse(entry) {
                Some(grant) => grants.push(grant),
                None => invalid.push(entry.clone()),
            }
        }
        NetPolicy {
            stage_id: stage_id.to_string(),
            grants,
            invalid,
            deadline,
            observer,
        }
    }

    /// Logs a denial to the attempt log, naming the stage and the host (not the path).
    fn log_denial(&self, method: &http::Method, denial: &Denial) {
        let why = match denial {
            Denial::NoHost => "the request has no host".to_string(),
            Denial::Credentials => "credentials in the URL are not allowed".to_string(),
            Denial::NotGranted { target } => {
                let mut why = format!("{target} is not in permissions.net");
                if self.grants.is_empty() && self.invalid.is_empty() {
                    why.push_str(" (the stage is granted no hosts)");
                }
                why
            }
        };
        let mut message = format!(
            "net: denied {method} request from stage {:?}: {why}",
            self.stage_id
        );
        if !self.invalid.is_empty() {
            // Writing into a String cannot fail.
            let _ = write!(
                message,
                "; ignored permissions.net entries that are not host or host:port: {}",
                self.invalid.join(", ")
            );
        }
        self.observer.log(LogLevel::Warn, &message);
    }

    /// The guest's timeouts, none longer than the time the attempt has left.
    fn capped_options(&self, options: Option<RequestOptions>) -> RequestOptions {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let cap = |t: Option<Duration>| Some(t.map_or(left, |t| t.min(left)));
        let options = options.unwrap_or_default();
        RequestOptions {
            connect_timeout: cap(options.connect_timeout),
            first_byte_timeout: cap(options.first_byte_timeout),
            between_bytes_timeout: cap(options.between_bytes_timeout),
        }
    }
}

impl WasiHttpHooks for NetPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        match check_uri(&self.grants, request.uri()) {
            Err(denial) => {
                self.log_denial(request.method(), &denial);
                Box::new(async { Err(HttpError::HttpRequestDenied) })
            }
            Ok(target) => {
                self.observer.log(
                    LogLevel::Debug,
                    &format!("net: {} request to {target}", request.method()),
                );
                let options = self.capped_options(options);
                Box::new(async move {
                    let (response, io) =
                        wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
                    Ok((
                        response.map(BodyExt::boxed_unsync),
                        Box::new(io) as Box<dyn Future<Output = _> + Send>,
                    ))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(entries: &[&str]) -> Vec<NetGrant> {
        entries.iter().filter_map(|e| NetGrant::parse(e)).collect()
    }

    fn check(entries: &[&str], uri: &str) -> Result<String, Denial> {
        check_uri(&grants(entries), &uri.parse().unwrap())
    }

    #[test]
    fn a_bare_host_allows_every_port_of_that_host() {
        assert_eq!(
            check(&["hooks.example.com"], "https://hooks.example.com/x"),
            Ok("hooks.example.com:443".to_string())
        );
        assert!(check(&["hooks.example.com"], "http://hooks.example.com:8080/").is_ok());
        assert!(check(&["127.0.0.1"], "http://127.0.0.1:39999/hook").is_ok());
    }

    #[test]
    fn host_and_port_allows_only_that_port() {
        assert!(check(&["h.example.com:8443"], "https://h.example.com:8443/").is_ok());
        assert!(check(&["h.example.com:443"], "https://h.example.com/").is_ok());
        assert!(check(&["h.example.com:80"], "http://h.example.com/").is_ok());
        assert_eq!(
            check(&["h.example.com:8443"], "https://h.example.com/"),
            Err(Denial::NotGranted {
                target: "h.example.com:443".into()
            })
        );
    }

    #[test]
    fn other_hosts_are_denied_even_when_they_look_alike() {
        let entries = ["example.com"];
        for uri in [
            "https://evil.example.com/",
            "https://example.com.evil.test/",
            "https://badexample.com/",
            "https://example.co/",
        ] {
            assert!(
                matches!(check(&entries, uri), Err(Denial::NotGranted { .. })),
                "{uri}"
            );
        }
        assert!(check(&[], "https://example.com/").is_err());
    }

    #[test]
    fn hosts_compare_case_insensitively_and_ignore_a_trailing_dot() {
        assert!(check(&["Hooks.Example.COM"], "https://hooks.example.com/").is_ok());
        assert!(check(&["hooks.example.com"], "https://HOOKS.example.com./").is_ok());
        assert!(check(&["hooks.example.com."], "https://hooks.example.com/").is_ok());
    }

    #[test]
    fn wildcards_and_malformed_entries_match_nothing() {
        for entry in [
            "*.example.com",
            "*",
            "https://example.com",
            "example.com/x",
            "example.com:99999",
            "example.com:",
            "user@example.com",
            "",
            "..",
        ] {
            assert_eq!(NetGrant::parse(entry), None, "{entry:?}");
        }
        assert!(check(&["*.example.com"], "https://a.example.com/").is_err());
    }

    #[test]
    fn credentials_and_missing_hosts_are_denied() {
        assert_eq!(
            check(&["example.com"], "https://user:pw@example.com/"),
            Err(Denial::Credentials)
        );
        assert_eq!(check(&["example.com"], "/just/a/path"), Err(Denial::NoHost));
    }

    #[test]
    fn ipv6_literals_match_nothing() {
        // The workflow schema accepts host names and IPv4 addresses only.
        assert!(check(&["::1"], "http://[::1]:80/").is_err());
    }

    #[test]
    fn timeouts_are_capped_at_the_time_left() {
        let policy = NetPolicy::new(
            "notify",
            &[],
            Instant::now() + Duration::from_secs(2),
            Arc::new(crate::attempt::NullObserver),
        );
        let capped = policy.capped_options(Some(RequestOptions {
            connect_timeout: Some(Duration::from_mins(10)),
            first_byte_timeout: Some(Duration::from_millis(100)),
            between_bytes_timeout: None,
        }));
        assert!(capped.connect_timeout.unwrap() <= Duration::from_secs(2));
        assert_eq!(capped.first_byte_timeout, Some(Duration::from_millis(100)));
        assert!(capped.between_bytes_timeout.unwrap() <= Duration::from_secs(2));
    }
}
