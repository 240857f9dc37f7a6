//! The dashboard's files, shipped inside the binary (no CDN: it works offline).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("assets/index.html");
const APP: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

fn file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /`: the page shell.
pub(super) fn index() -> Response {
    file(INDEX, "text/html; charset=utf-8")
}

/// `GET /static/app.js`.
pub(super) async fn app() -> Response {
    file(APP, "text/javascript; charset=utf-8")
}

/// `GET /static/style.css`.
pub(super) async fn style() -> Response {
    file(STYLE, "text/css; charset=utf-8")
}
