//! The JSON API's handlers (docs/http-api.md): reads go to the [`crate::board::Board`], writes
//! to the [`crate::cli::console::Console`] as the CLI's own commands.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::App;
use crate::board::RunsQuery;
use crate::cli::console::{Performed, Wait, requests};
use crate::logs::read::Selection;
use crate::{EngineError, exit};

/// An API error: the status and `{"error", "code"}`.
pub struct ApiError(EngineError);

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.exit_code();
        let status = match &self.0 {
            EngineError::UnknownRun(_)
            | EngineError::Store(
                engine_store::StoreError::NotFound(_) | engine_store::StoreError::Ambiguous { .. },
            ) => StatusCode::NOT_FOUND,
            EngineError::LimitReached(_) | EngineError::Rejected(_) => StatusCode::CONFLICT,
            EngineError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => status_of(code),
        };
        let message = self.0.to_string();
        (status, Json(json!({ "error": message, "code": code }))).into_response()
    }
}

/// The HTTP status for a command's exit code.
fn status_of(code: u8) -> StatusCode {
    match code {
        exit::INVALID_INPUT => StatusCode::BAD_REQUEST,
        exit::LIMIT_REACHED | exit::NO_TASK => StatusCode::CONFLICT,
        exit::STATE_BUSY => StatusCode::SERVICE_UNAVAILABLE,
        exit::CANNOT_CONFINE | exit::INTERNAL => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::OK,
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// Runs a blocking read of the board off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| EngineError::Internal(format!("a read of the store failed: {e}")))?
        .map_err(ApiError)
}

pub(super) async fn status(State(app): State<Arc<App>>) -> ApiResult {
    let watching = app.watching;
    let board = app.board.clone();
    Ok(Json(blocking(move || board.status(watching)).await?))
}

pub(super) async fn tasks(State(app): State<Arc<App>>) -> ApiResult {
    Ok(Json(app.board.tasks(&app.host).await?))
}

pub(super) async fn runs(State(app): State<Arc<App>>, Query(query): Query<RunsQuery>) -> ApiResult {
    let board = app.board.clone();
    Ok(Json(blocking(move || board.runs(&query)).await?))
}

pub(super) async fn run(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let board = app.board.clone();
    Ok(Json(blocking(move || board.run(&id)).await?))
}

/// `?stage=S&attempt=N` of `/logs`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct LogQuery {
    stage: Option<String>,
    attempt: Option<u32>,
}

pub(super) async fn logs(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<LogQuery>,
) -> ApiResult {
    let board = app.board.clone();
    let selection = Selection {
        stage: query.stage,
        attempt: query.attempt,
    };
    Ok(Json(blocking(move || board.logs(&id, &selection)).await?))
}

pub(super) async fn diff(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let board = app.board.clone();
    Ok(Json(blocking(move || board.diff(&id)).await?))
}

pub(super) async fn transcripts(State(app): State<Arc<App>>, Path(id): Path<String>) -> ApiResult {
    let board = app.board.clone();
    Ok(Json(blocking(move || board.transcripts(&id)).await?))
}

pub(super) async fn transcript(
    State(app): State<Arc<App>>,
    Path((id, stage, attempt, n)): Path<(String, String, u32, usize)>,
) -> Result<Response, ApiError> {
    let board = app.board.clone();
    let text = blocking(move || board.transcript(&id, &stage, attempt, n)).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// `?by=...&since=...` of `/api/costs`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CostQuery {
    by: Option<String>,
    since: Option<String>,
}

pub(super) async fn costs(
    State(app): State<Arc<App>>,
    Query(query): Query<CostQuery>,
) -> ApiResult {
    let board = app.board.clone();
    Ok(Json(
        blocking(move || board.costs(query.by.as_deref(), query.since.as_deref())).await?,
    ))
}

pub(super) async fn budget(State(app): State<Arc<App>>) -> ApiResult {
    let board = app.board.clone();
    Ok(Json(blocking(move || board.budget()).await?))
}

/// The body of `POST /api/runs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StartRun {
    task: String,
    #[serde(default)]
    base: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
}

/// The body of `POST /api/sessions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StartSession {
    #[serde(default)]
    parallel: Option<u16>,
}

/// The body of the run controls (`reason`, `from`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Control {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    from: Option<String>,
}

/// A JSON body, or a 400 that says what is wrong with it.
pub(super) struct Body<T>(T);

impl<T: for<'de> Deserialize<'de>, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| EngineError::Usage(format!("the request body could not be read: {e}")))?;
        let text = if bytes.is_empty() {
            &b"{}"[..]
        } else {
            &bytes[..]
        };
        serde_json::from_slice(text)
            .map(Body)
            .map_err(|e| ApiError(EngineError::Usage(format!("the request body: {e}"))))
    }
}

/// The answer to a command: 202 while it goes on, else its exit code as a status.
fn answered(performed: &Performed) -> Response {
    if let Some((report, code)) = &performed.error {
        let status = status_of(*code);
        let status = if status == StatusCode::OK {
            StatusCode::CONFLICT
        } else {
            status
        };
        let message = report.strip_prefix("error: ").unwrap_or(report).trim_end();
        return (
            status,
            Json(json!({"error": message, "code": code, "run_id": performed.run_id, "output": performed.output})),
        )
            .into_response();
    }
    let status = match performed.exit {
        None => StatusCode::ACCEPTED,
        Some(_) => StatusCode::OK,
    };
    (status, Json(json!(performed))).into_response()
}

pub(super) async fn start_run(
    State(app): State<Arc<App>>,
    Body(body): Body<StartRun>,
) -> Result<Response, ApiError> {
    let request = requests::run(&app.workflow_file, &body.task, body.base, body.labels)?;
    Ok(answered(&app.console.perform(request, Wait::ForRun).await?))
}

pub(super) async fn start_session(
    State(app): State<Arc<App>>,
    Body(body): Body<StartSession>,
) -> Result<Response, ApiError> {
    let request = requests::run_all(&app.workflow_file, body.parallel.unwrap_or(1))?;
    let console = app.console.clone();
    // A session has no one run: it goes on; its output is the server's.
    let performed = console.perform(request, Wait::ForRun).await?;
    Ok(answered(&performed))
}

/// The run controls: `approve`, `reject`, `cancel`, `pause`, `unpause`, `retry`, `resume`.
pub(super) async fn control(
    State(app): State<Arc<App>>,
    Path((id, action)): Path<(String, String)>,
    Body(body): Body<Control>,
) -> Result<Response, ApiError> {
    let (request, wait) = match action.as_str() {
        "approve" => (
            requests::answer(&id, true, body.reason, "dashboard")?,
            Wait::ForEnd,
        ),
        "reject" => (
            requests::answer(&id, false, body.reason, "dashboard")?,
            Wait::ForEnd,
        ),
        "cancel" => (requests::cancel(&id, body.reason), Wait::ForEnd),
        "pause" => (requests::pause(&id, true), Wait::ForEnd),
        "unpause" => (requests::pause(&id, false), Wait::ForEnd),
        "retry" => (requests::retry(&id, body.from), Wait::ForRun),
        "resume" => (requests::resume(&id), Wait::ForRun),
        other => {
            return Err(EngineError::UnknownRun(format!(
                "no such action {other:?}: approve, reject, cancel, pause, unpause, retry or resume"
            ))
            .into());
        }
    };
    Ok(answered(&app.console.perform(request, wait).await?))
}
