//! Checks of what reaches outside a run, made at load time so `engine validate` refuses what
//! `engine run` would: repository paths (`tasks.path`, a review's `prompt_file`) must stay
//! inside the repository, `permissions.net` entries must be `host` or `host:port`, and a literal
//! `url` given to a stage that may use the network must be `http(s)://` without credentials.

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::field_path::FieldPath;
use crate::templates::is_template;

/// Keys under a stage's `with:` (at any depth) whose value is a path in the repository.
const REPOSITORY_PATH_KEYS: [&str; 1] = ["prompt_file"];

/// Adds a problem for every path, grant and URL of `document` that a run would refuse.
pub(crate) fn check(document: &Value, problems: &mut Vec<Problem>) {
    let empty = Map::new();
    let root = document.as_object().unwrap_or(&empty);
    for section in ["stages", "finally"] {
        let Some(stages) = root.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (id, body) in stages {
            let path = FieldPath::keys(&[section, id]);
            check_stage(body, &path, problems);
        }
    }
    if let Some(tasks) = root.get("tasks").and_then(Value::as_object) {
        let path = FieldPath::keys(&["tasks"]);
        if let Some(Value::String(file)) = tasks.get("path") {
            check_repository_path(file, &path.key("path"), problems);
        }
        let net = tasks.get("permissions").and_then(|p| p.get("net"));
        check_net(net, &path.key("permissions").key("net"), problems);
    }
}

fn check_stage(body: &Value, path: &FieldPath, problems: &mut Vec<Problem>) {
    let net = body.get("permissions").and_then(|p| p.get("net"));
    check_net(net, &path.key("permissions").key("net"), problems);
    let Some(with) = body.get("with") else {
        return;
    };
    let with_path = path.key("with");
    walk_paths(with, &with_path, problems);
    let uses_network = net
        .and_then(Value::as_array)
        .is_some_and(|entries| !entries.is_empty());
    if uses_network
        && let Some(Value::String(url)) = with.get("url")
        && !is_template(url)
        && let Err(why) = check_url(url)
    {
        problems.push(Problem::at(with_path.key("url"), why.to_string()));
    }
}

/// Every [`REPOSITORY_PATH_KEYS`] entry under `value`.
fn walk_paths(value: &Value, path: &FieldPath, problems: &mut Vec<Problem>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let item_path = path.key(key);
                match item {
                    Value::String(text) if REPOSITORY_PATH_KEYS.contains(&key.as_str()) => {
                        if !is_template(text) {
                            check_repository_path(text, &item_path, problems);
                        }
                    }
                    _ => walk_paths(item, &item_path, problems),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_paths(item, &path.index(i), problems);
            }
        }
        _ => {}
    }
}

/// A path relative to the repository root that cannot leave it.
fn check_repository_path(text: &str, path: &FieldPath, problems: &mut Vec<Problem>) {
    let why = if text.trim().is_empty() {
        Some("is empty; give a file in the repository".to_string())
    } else if text.starts_with('/') || text.starts_with('\\') || text.contains(':') {
        Some(format!(
            "\"{text}\" must be relative to the repository root (not an absolute path)"
        ))
    } else if text.split(['/', '\\']).any(|part| part == "..") {
        Some(format!(
            "\"{text}\" must stay inside the repository (no `..`)"
        ))
    } else if text.chars().any(char::is_control) {
        Some("contains control characters".to_string())
    } else {
        None
    };
    if let Some(why) = why {
        problems.push(Problem::at(path.clone(), why));
    }
}

fn check_net(value: Option<&Value>, path: &FieldPath, problems: &mut Vec<Problem>) {
    let Some(entries) = value.and_then(Value::as_array) else {
        return;
    };
    for (i, entry) in entries.iter().enumerate() {
        if let Some(text) = entry.as_str()
            && let Err(why) = check_net_entry(text)
        {
            problems.push(Problem::at(path.index(i), why.to_string()));
        }
    }
}

/// A `permissions.net` entry that would match nothing: the entry as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadNetEntry {
    /// The port is not 1-65535.
    #[error("\"{0}\": the port must be a number from 1 to 65535")]
    Port(String),
    /// Not a plain host name or address.
    #[error(
        "\"{0}\" is not `host` or `host:port` (no schemes, paths, wildcards or credentials); it \
         would match nothing"
    )]
    NotAHost(String),
}

/// A URL a notifier would refuse. The message never quotes the URL: webhook URLs are often
/// secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BadUrl {
    /// No `scheme://`.
    #[error("the URL must start with http:// or https://")]
    NoScheme,
    /// A scheme other than http and https.
    #[error("the URL's scheme must be http or https")]
    Scheme,
    /// `user:password@` in the authority.
    #[error(
        "the URL must not carry credentials (user:password@); pass them in a header from a \
         secret"
    )]
    Credentials,
    /// Nothing between `://` and the path.
    #[error("the URL has no host")]
    NoHost,
    /// Whitespace or control characters anywhere.
    #[error("the URL contains spaces or control characters")]
    Spaces,
}

/// `host` or `host:port` (port 1-65535), the host made of letters, digits, `-` and `.`.
pub(crate) fn check_net_entry(entry: &str) -> Result<(), BadNetEntry> {
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (entry, None),
    };
    if let Some(port) = port {
        match port.parse::<u32>() {
            Ok(1..=65535) => {}
            _ => return Err(BadNetEntry::Port(entry.to_string())),
        }
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    let valid = !host.is_empty()
        && !host.starts_with('.')
        && !host.contains("..")
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(BadNetEntry::NotAHost(entry.to_string()))
    }
}

/// An `http://` or `https://` URL without credentials, spaces or control characters.
pub(crate) fn check_url(url: &str) -> Result<(), BadUrl> {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(BadUrl::NoScheme);
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(BadUrl::Scheme);
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(BadUrl::Credentials);
    }
    if authority.is_empty() {
        return Err(BadUrl::NoHost);
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(BadUrl::Spaces);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(document: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        check(document, &mut problems);
        problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect()
    }

    #[test]
    fn paths_grants_and_urls_a_run_refuses() {
        let problems = found(&json!({
            "tasks": {"source": "tasks-md", "path": "../outside.md",
                      "permissions": {"net": ["api.example.com:443"]}},
            "stages": {
                "review": {"with": {"reviewers": [{"name": "x", "prompt_file": "/etc/passwd"}]}},
                "hook": {"permissions": {"net": ["h:99999", "ok.example.com"]},
                         "with": {"url": "https://user:pw@h/x"}},
                "file": {"permissions": {"net": ["h"]}, "with": {"url": "file:///etc/passwd"}},
                "templated": {"permissions": {"net": ["h"]}, "with": {"url": "{{ secrets.u }}"}}
            }
        }));
        assert_eq!(
            problems,
            vec![
                "stages.file.with.url: the URL's scheme must be http or https",
                "stages.hook.permissions.net[0]: \"h:99999\": the port must be a number from 1 to 65535",
                "stages.hook.with.url: the URL must not carry credentials (user:password@); pass them in a header from a secret",
                "stages.review.with.reviewers[0].prompt_file: \"/etc/passwd\" must be relative to the repository root (not an absolute path)",
                "tasks.path: \"../outside.md\" must stay inside the repository (no `..`)",
            ]
        );
    }

    #[test]
    fn good_entries_pass() {
        for entry in [
            "hooks.slack.com",
            "127.0.0.1",
            "ntfy.example.com:8443",
            "h.",
        ] {
            assert_eq!(check_net_entry(entry), Ok(()), "{entry}");
        }
        for entry in ["*.example.com", "user@h", "h/x"] {
            assert_eq!(
                check_net_entry(entry),
                Err(BadNetEntry::NotAHost(entry.to_string())),
                "{entry}"
            );
        }
        for entry in ["h:0", "h:", "https://h"] {
            assert_eq!(
                check_net_entry(entry),
                Err(BadNetEntry::Port(entry.to_string())),
                "{entry}"
            );
        }
        assert_eq!(check_url("ftp://h/x"), Err(BadUrl::Scheme));
        assert_eq!(check_url("h/x"), Err(BadUrl::NoScheme));
        assert_eq!(check_url("https:///x"), Err(BadUrl::NoHost));
        assert_eq!(check_url("https://h/a b"), Err(BadUrl::Spaces));
        assert_eq!(check_url("https://hooks.example.com/T/B?x=1"), Ok(()));
    }
}
