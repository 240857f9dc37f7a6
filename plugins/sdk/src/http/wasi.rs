//! [`Request::send`] over `wasi:http/outgoing-handler`, blocking.

use std::time::Duration;

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, HeaderError, IncomingBody, Method as WasiMethod, OutgoingBody,
    OutgoingRequest, RequestOptions, Scheme as WasiScheme,
};
use wasip2::io::streams::StreamError;

use super::{HttpError, Method, Request, Response, Scheme, Url};

/// Largest write the output stream accepts in one `blocking-write-and-flush`.
const WRITE_CHUNK: usize = 4096;

/// Largest read asked for at once.
const READ_CHUNK: u64 = 64 * 1024;

/// Sends `request` and reads the response (body capped at `max_response_bytes`).
pub(super) fn send(request: &Request) -> Result<Response, HttpError> {
    let url = Url::parse(&request.url)?;
    let host = url.authority();
    let outgoing = build_request(request, &url)?;
    let options = request.timeout.map(request_options);
    let body = outgoing
        .body()
        .map_err(|()| transport(&host, "cannot open the request body"))?;
    let future = outgoing_handler::handle(outgoing, options)
        .map_err(|code| from_error_code(&host, &code))?;
    let sent = write_body(&body, &request.body, &host).and_then(|()| {
        OutgoingBody::finish(body, None).map_err(|code| from_error_code(&host, &code))
    });
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        // The request's own error (denied, refused...) explains a failed body write best.
        Some(Ok(Err(code))) => return Err(from_error_code(&host, &code)),
        Some(Err(())) | None => {
            sent?;
            return Err(transport(&host, "no response"));
        }
    };
    sent?;
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| {
            (
                name.to_ascii_lowercase(),
                String::from_utf8_lossy(&value).into_owned(),
            )
        })
        .collect();
    let incoming = response
        .consume()
        .map_err(|()| transport(&host, "cannot read the response body"))?;
    let (body, truncated) = read_body(&incoming, request.max_response_bytes, &host)?;
    drop(IncomingBody::finish(incoming));
    Ok(Response {
        status,
        headers,
        body,
        truncated,
    })
}

fn build_request(request: &Request, url: &Url) -> Result<OutgoingRequest, HttpError> {
    let mut entries = Vec::with_capacity(request.headers.len() + 1);
    for (name, value) in &request.headers {
        entries.push((name.to_ascii_lowercase(), value.as_bytes().to_vec()));
    }
    // A known length: the body goes out in one piece rather than chunked, which every server
    // (and every webhook endpoint) accepts.
    let sends_body = !request.body.is_empty()
        || matches!(request.method, Method::Post | Method::Put | Method::Patch);
    if sends_body && !request.has_header("content-length") {
        entries.push((
            "content-length".to_string(),
            request.body.len().to_string().into_bytes(),
        ));
    }
    let fields = Fields::from_list(&entries).map_err(|e| header_error(&request.headers, e))?;
    let outgoing = OutgoingRequest::new(fields);
    let method = match request.method {
        Method::Get => WasiMethod::Get,
        Method::Head => WasiMethod::Head,
        Method::Post => WasiMethod::Post,
        Method::Put => WasiMethod::Put,
        Method::Patch => WasiMethod::Patch,
        Method::Delete => WasiMethod::Delete,
    };
    let scheme = match url.scheme {
        Scheme::Http => WasiScheme::Http,
        Scheme::Https => WasiScheme::Https,
    };
    let invalid = |why: &str| HttpError::InvalidUrl(why.to_string());
    outgoing
        .set_method(&method)
        .map_err(|()| invalid("the method was refused"))?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid("the scheme was refused"))?;
    outgoing
        .set_authority(Some(&url.authority()))
        .map_err(|()| invalid("the host was refused"))?;
    outgoing
        .set_path_with_query(Some(&url.path_and_query))
        .map_err(|()| invalid("the path was refused"))?;
    Ok(outgoing)
}

/// The same limit for each phase; the host caps them at the attempt's time left.
fn request_options(timeout: Duration) -> RequestOptions {
    let options = RequestOptions::new();
    let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    // A host that does not support a timeout refuses it; the attempt's deadline still applies.
    let _ = options.set_connect_timeout(Some(nanos));
    let _ = options.set_first_byte_timeout(Some(nanos));
    let _ = options.set_between_bytes_timeout(Some(nanos));
    options
}

fn write_body(body: &OutgoingBody, bytes: &[u8], host: &str) -> Result<(), HttpError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let stream = body
        .write()
        .map_err(|()| transport(host, "cannot write the request body"))?;
    for chunk in bytes.chunks(WRITE_CHUNK) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| stream_error(host, e, "writing the request body"))?;
    }
    Ok(())
}

fn read_body(
    incoming: &IncomingBody,
    cap: usize,
    host: &str,
) -> Result<(Vec<u8>, bool), HttpError> {
    let stream = incoming
        .stream()
        .map_err(|()| transport(host, "cannot read the response body"))?;
    let mut body = Vec::new();
    let mut truncated = false;
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                let room = cap.saturating_sub(body.len());
                if chunk.len() > room {
                    truncated = true;
                }
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Err(StreamError::Closed) => break,
            Err(e) => return Err(stream_error(host, e, "reading the response body")),
        }
    }
    Ok((body, truncated))
}

fn transport(host: &str, reason: &str) -> HttpError {
    HttpError::Transport {
        host: host.to_string(),
        reason: reason.to_string(),
    }
}

fn stream_error(host: &str, error: StreamError, while_doing: &str) -> HttpError {
    let reason = match error {
        StreamError::Closed => format!("the connection closed while {while_doing}"),
        StreamError::LastOperationFailed(e) => {
            format!("{while_doing}: {}", e.to_debug_string())
        }
    };
    HttpError::Transport {
        host: host.to_string(),
        reason,
    }
}

fn header_error(headers: &[(String, String)], error: HeaderError) -> HttpError {
    // The host names no header; report the first one the guest could not have meant.
    let name = headers
        .iter()
        .map(|(n, _)| n.clone())
        .find(|n| is_forbidden(n))
        .unwrap_or_else(|| "(one of the headers)".to_string());
    let reason = match error {
        HeaderError::Forbidden => "stages may not set it",
        HeaderError::InvalidSyntax => "invalid name or value",
        HeaderError::Immutable => "the headers are immutable",
    };
    HttpError::InvalidHeader {
        name,
        reason: reason.to_string(),
    }
}

/// Headers the host refuses (connection management and `host`).
fn is_forbidden(name: &str) -> bool {
    const FORBIDDEN: [&str; 9] = [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "host",
        "http2-settings",
    ];
    FORBIDDEN.iter().any(|f| f.eq_ignore_ascii_case(name))
}

fn from_error_code(host: &str, code: &ErrorCode) -> HttpError {
    let host = host.to_string();
    let reason = |r: &str| HttpError::Transport {
        host: host.clone(),
        reason: r.to_string(),
    };
    match code {
        ErrorCode::HttpRequestDenied => HttpError::Denied { host },
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout
        | ErrorCode::DnsTimeout => HttpError::Timeout { host },
        ErrorCode::ConnectionRefused => reason("connection refused"),
        ErrorCode::DnsError(_) => reason("the host name could not be resolved"),
        ErrorCode::DestinationNotFound => reason("destination not found"),
        ErrorCode::DestinationUnavailable => reason("destination unavailable"),
        ErrorCode::ConnectionTerminated => reason("the connection was closed"),
        ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_) => reason("TLS failed"),
        ErrorCode::HttpRequestUriInvalid => reason("the URL was refused"),
        ErrorCode::HttpProtocolError => reason("HTTP protocol error"),
        other => reason(&format!("{other:?}")),
    }
}
