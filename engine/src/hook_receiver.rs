//! A webhook receiver on a loopback address, for trying notifiers without a real endpoint
//! (`engine hook-receiver`; the demo uses it): it answers every HTTP request with 200 and
//! writes one JSON line per request (method, path, content type, body) to its output.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// The largest request body kept.
const MAX_BODY: usize = 1024 * 1024;

/// Why the receiver could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// Only loopback addresses are allowed: nothing of engine listens on a network.
    #[error("{0} is not a loopback address; use 127.0.0.1:PORT or [::1]:PORT")]
    NotLoopback(SocketAddr),
    /// Binding or writing failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// One request the receiver got.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// The method (`POST`).
    pub method: String,
    /// The request target (`/hook`).
    pub path: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body (lossy UTF-8, at most 1 MiB).
    pub body: String,
}

/// A bound receiver.
pub struct Receiver {
    listener: TcpListener,
}

impl Receiver {
    /// Binds `addr` (loopback only; port 0 picks a free port).
    pub fn bind(addr: SocketAddr) -> Result<Self, ReceiverError> {
        if !addr.ip().is_loopback() {
            return Err(ReceiverError::NotLoopback(addr));
        }
        let listener = TcpListener::bind(addr).map_err(|source| ReceiverError::Io {
            what: format!("binding {addr}"),
            source,
        })?;
        Ok(Receiver { listener })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, ReceiverError> {
        self.listener
            .local_addr()
            .map_err(|source| ReceiverError::Io {
                what: "reading the bound address".into(),
                source,
            })
    }

    /// Serves requests, calling `on_delivery` for each, until `count` requests were served
    /// (forever when `None`). A malformed request is answered 400 and not counted.
    pub fn serve(
        &self,
        count: Option<usize>,
        mut on_delivery: impl FnMut(&Delivery),
    ) -> Result<(), ReceiverError> {
        let mut served = 0;
        for stream in self.listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            match read_request(&mut stream) {
                Some(delivery) => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    );
                    on_delivery(&delivery);
                    served += 1;
                }
                None => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                }
            }
            if count.is_some_and(|n| served >= n) {
                break;
            }
        }
        Ok(())
    }
}

/// Reads one HTTP/1.1 request with a `Content-Length` body (or none).
fn read_request(stream: &mut TcpStream) -> Option<Delivery> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    let mut content_type = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "content-type" => content_type = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0; length.min(MAX_BODY)];
    reader.read_exact(&mut body).ok()?;
    Some(Delivery {
        method,
        path,
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receives_a_post_and_refuses_non_loopback_addresses() {
        let receiver = Receiver::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = receiver.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(
                b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"text\":1}\n",
            )
            .unwrap();
            let mut reply = String::new();
            s.read_to_string(&mut reply).unwrap();
            reply
        });
        let mut got = Vec::new();
        receiver.serve(Some(1), |d| got.push(d.clone())).unwrap();
        assert!(client.join().unwrap().starts_with("HTTP/1.1 200"));
        assert_eq!(got[0].method, "POST");
        assert_eq!(got[0].path, "/hook");
        assert_eq!(got[0].content_type.as_deref(), Some("application/json"));
        assert_eq!(got[0].body, "{\"text\":1}\n");
        assert!(matches!(
            Receiver::bind("0.0.0.0:0".parse().unwrap()),
            Err(ReceiverError::NotLoopback(_))
        ));
    }
}
