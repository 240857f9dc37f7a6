//! `engine serve`: the long-lived holder of a repository's state directory with a web
//! dashboard, a JSON API with live events, Prometheus metrics and MCP over streamable HTTP
//! (docs/http-api.md). It holds the state directory like any `engine run` does and serves the
//! control socket (other terminals' commands run inside it); the dashboard's controls are the
//! same commands ([`crate::cli::console`]).
//!
//! - [`security`]: loopback by default, the token, the Host and cross-site checks;
//! - [`api`]: the JSON API's handlers;
//! - [`events`]: live events (SSE);
//! - `scrape`: `/metrics`;
//! - [`assets`]: the dashboard's files.

pub mod api;
mod assets;
pub mod events;
mod scrape;
pub mod security;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use engine_runtime::Host;
use tokio::sync::watch;

use crate::board::Board;
use crate::cli::console::Console;
pub use scrape::Models;
use security::Guard;

/// What the handlers share.
pub struct App {
    /// The reads.
    pub board: Board,
    /// The writes.
    pub console: Arc<Console>,
    /// The wasm host (the task source is a plugin).
    pub host: Arc<Host>,
    /// The workflow the controls start runs of (absolute).
    pub workflow_file: PathBuf,
    /// `--watch`: the server runs the ready tasks as they become ready.
    pub watching: bool,
    /// Turns `true` when the server stops: live streams end.
    pub stopping: watch::Receiver<bool>,
    /// The checks every request goes through.
    pub guard: Arc<Guard>,
    /// The models of attempts, as `/metrics` learned them.
    pub models: scrape::Models,
}

/// The server's routes, guarded; `extra` is merged in before the guard (e.g. `/mcp`,
/// `/metrics` from their modules).
pub fn router(app: Arc<App>, extra: Router) -> Router {
    let guard = app.guard.clone();
    let api = Router::new()
        .route("/", get(index))
        .route("/static/{name}", get(assets::static_file))
        .route("/metrics", get(scrape::metrics))
        .route("/api/status", get(api::status))
        .route("/api/tasks", get(api::tasks))
        .route("/api/runs", get(api::runs).post(api::start_run))
        .route("/api/sessions", post(api::start_session))
        .route("/api/costs", get(api::costs))
        .route("/api/budget", get(api::budget))
        .route("/api/events", get(events::all))
        .route("/api/runs/{id}", get(api::run))
        .route("/api/runs/{id}/logs", get(api::logs))
        .route("/api/runs/{id}/diff", get(api::diff))
        .route("/api/runs/{id}/events", get(events::run))
        .route("/api/runs/{id}/transcripts", get(api::transcripts))
        .route(
            "/api/runs/{id}/transcripts/{stage}/{attempt}/{n}",
            get(api::transcript),
        )
        .route("/api/runs/{id}/{action}", post(api::control))
        .fallback(not_found)
        .with_state(app);
    api.merge(extra)
        .layer(axum::middleware::from_fn_with_state(guard, security::guard))
}

async fn not_found() -> Response {
    security::refusal(
        StatusCode::NOT_FOUND,
        "no such page or API path (see docs/http-api.md)",
    )
}

/// `?token=` of `/`.
#[derive(Debug, Default, serde::Deserialize)]
struct IndexQuery {
    token: Option<String>,
}

/// `GET /`: the page; `/?token=T` with the right token sets the token cookie and redirects to
/// `/` (so the token leaves the address bar and the history).
async fn index(State(app): State<Arc<App>>, Query(query): Query<IndexQuery>) -> Response {
    let Some(given) = query.token else {
        return assets::index();
    };
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {given}"))
            .unwrap_or_else(|_| HeaderValue::from_static("")),
    );
    if app.guard.token.is_none() || !app.guard.authorised(&headers) {
        return security::refusal(StatusCode::UNAUTHORIZED, "wrong token");
    }
    let cookie = format!(
        "{}={given}; HttpOnly; SameSite=Strict; Path=/",
        security::TOKEN_COOKIE
    );
    let mut response = (StatusCode::SEE_OTHER, "").into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, HeaderValue::from_static("/"));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    response
}

/// Serves `router` on `listener` until `stopping` turns `true`; open connections (live
/// streams) get a moment to end, then are dropped.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    router: Router,
    mut stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let shutdown = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let server = axum::serve(listener, router).with_graceful_shutdown(shutdown);
    server.await
}

/// The address a `--listen` value names (`HOST:PORT`, `PORT`, `localhost:PORT`).
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("--listen {text}: the port must be a number from 0 to 65535"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| {
        format!("--listen {text}: expected ADDRESS:PORT (e.g. 127.0.0.1:7878, [::1]:7878) or PORT")
    })
}
