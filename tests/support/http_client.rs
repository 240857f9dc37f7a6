//! A small HTTP/1.1 client for tests of `engine serve` (one request per connection), and a
//! reader of Server-Sent Events.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An answer: status, headers (lower-case names) and body.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The body as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The first header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request to `addr` (`127.0.0.1:PORT`) with extra `headers` and `body`.
#[track_caller]
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let mut stream = connect(addr);
    send_head(&mut stream, addr, method, path, headers, body);
    let mut reader = BufReader::new(stream);
    let (status, headers) = read_head(&mut reader);
    let mut body = String::new();
    let _ = reader.read_to_string(&mut body);
    Answer {
        status,
        headers,
        body,
    }
}

/// `GET path`.
#[track_caller]
pub fn get(addr: &str, path: &str) -> Answer {
    request(addr, "GET", path, &[], None)
}

/// `POST path` with a JSON body, as the dashboard sends it.
#[track_caller]
pub fn post_json(addr: &str, path: &str, body: &str) -> Answer {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        Some(body),
    )
}

#[track_caller]
fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_mins(2)))
        .unwrap();
    stream
}

fn send_head(
    stream: &mut TcpStream,
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) {
    // HTTP/1.0: the body is not chunked (an event stream reads as plain lines), and the
    // server closes the connection after it.
    let mut head = format!("{method} {path} HTTP/1.0\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        let _ = write!(head, "Host: {addr}\r\n");
    }
    for (k, v) in headers {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    let body = body.unwrap_or_default();
    let _ = write!(head, "Content-Length: {}\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
}

fn read_head(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP status line: {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    (status, headers)
}

/// An open event stream.
pub struct Events {
    reader: BufReader<TcpStream>,
}

/// One event: its name and data.
#[derive(Debug, Clone)]
pub struct Event {
    /// `event:`.
    pub name: String,
    /// `data:` (lines joined).
    pub data: String,
}

impl Event {
    /// The data as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {}", self.data))
    }
}

impl Events {
    /// Opens `GET path` as an event stream.
    #[track_caller]
    pub fn open(addr: &str, path: &str) -> Events {
        let mut stream = connect(addr);
        send_head(&mut stream, addr, "GET", path, &[], None);
        let mut reader = BufReader::new(stream);
        let (status, headers) = read_head(&mut reader);
        assert_eq!(status, 200, "{path}: {headers:?}");
        assert!(
            headers
                .iter()
                .any(|(k, v)| k == "content-type" && v.starts_with("text/event-stream")),
            "{headers:?}"
        );
        Events { reader }
    }

    /// The next event (comments and keep-alives skipped); `None` when the stream ended.
    pub fn next(&mut self) -> Option<Event> {
        let (mut name, mut data) = (String::new(), Vec::new());
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if !data.is_empty() || !name.is_empty() {
                    return Some(Event {
                        name,
                        data: data.join("\n"),
                    });
                }
                continue;
            }
            if let Some(value) = line.strip_prefix("event:") {
                name = value.trim().to_string();
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push(value.strip_prefix(' ').unwrap_or(value).to_string());
            }
        }
    }

    /// Events until one named `name` for which `keep` holds; panics if the stream ends first.
    #[track_caller]
    pub fn until(&mut self, name: &str, mut keep: impl FnMut(&Event) -> bool) -> Event {
        let mut seen = Vec::new();
        while let Some(event) = self.next() {
            if event.name == name && keep(&event) {
                return event;
            }
            seen.push(format!(
                "{}: {}",
                event.name,
                event.data.chars().take(200).collect::<String>()
            ));
        }
        panic!(
            "the stream ended before a matching {name} event; saw:\n{}",
            seen.join("\n")
        );
    }
}
