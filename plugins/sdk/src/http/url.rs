//! The parts of an `http://` or `https://` URL a request needs. Errors never quote the URL: a
//! webhook URL is often a secret.

use super::HttpError;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (port 80 by default).
    Http,
    /// HTTP over TLS (port 443 by default).
    Https,
}

/// A parsed URL: scheme, host, port and the path with its query (the fragment is dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The scheme.
    pub scheme: Scheme,
    /// The host, lowercased (an IPv6 literal keeps its brackets).
    pub host: String,
    /// The port written in the URL, if any.
    pub port: Option<u16>,
    /// Path and query, at least `/`.
    pub path_and_query: String,
}

impl Url {
    /// Parses `scheme://host[:port][/path][?query][#fragment]`. Credentials (`user@host`) are
    /// refused.
    pub fn parse(text: &str) -> Result<Url, HttpError> {
        let invalid = |why: &str| HttpError::InvalidUrl(why.to_string());
        let text = text.trim();
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| invalid("it does not start with http:// or https://"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(invalid("the scheme is not http or https")),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.contains('@') {
            return Err(invalid("credentials in the URL are not supported"));
        }
        if authority
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid("the host contains spaces or control characters"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| invalid("bad port"))?;
        if host.is_empty() {
            return Err(invalid("it has no host"));
        }
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("the path contains spaces or control characters"));
        }
        let path_and_query = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Ok(Url {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path_and_query,
        })
    }

    /// `host` or `host:port`, as sent in the request.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }
}

/// `(host, port)`; `None` when the port is not a number in `0..=65535`.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    // An IPv6 literal: `[::1]` or `[::1]:8080`.
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if rest.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((authority, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_into_their_parts() {
        let url = Url::parse("https://Hooks.Example.com/services/T0/B0/xyz?a=1#frag").unwrap();
        assert_eq!(url.scheme, Scheme::Https);
        assert_eq!(url.host, "hooks.example.com");
        assert_eq!(url.port, None);
        assert_eq!(url.path_and_query, "/services/T0/B0/xyz?a=1");
        assert_eq!(url.authority(), "hooks.example.com");

        let url = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(url.scheme, Scheme::Http);
        assert_eq!(url.authority(), "127.0.0.1:8080");
        assert_eq!(url.path_and_query, "/");

        let url = Url::parse("http://h?x=1").unwrap();
        assert_eq!(url.path_and_query, "/?x=1");

        let url = Url::parse("http://[::1]:9/p").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("[::1]", Some(9)));
    }

    #[test]
    fn bad_urls_are_refused_without_quoting_them() {
        for (url, why) in [
            ("hooks.example.com/secret", "http:// or https://"),
            ("ftp://h/secret", "not http or https"),
            ("https://user:secret@h/", "credentials"),
            ("https://h:99999/secret", "bad port"),
            ("https://h:x/secret", "bad port"),
            ("https:///secret", "no host"),
            ("https://h/se cret", "spaces"),
        ] {
            let err = Url::parse(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
            assert!(!err.contains("secret"), "{url}: {err}");
        }
    }
}
