//! `GET /metrics`: the stored runs as Prometheus metrics ([`crate::metrics::render`]), with
//! the queue depth from the task board and the day's budget from the workflow.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::App;
use super::api::ApiError;
use crate::EngineError;

/// The models of attempts' agent sessions, read from their transcripts once (a scrape would
/// otherwise read every transcript of every run).
#[derive(Default)]
pub struct Models(Mutex<HashMap<(String, String, u32), String>>);

impl Models {
    /// The model of `(run, stage, attempt)`; a known one is kept for later scrapes.
    fn of(&self, state_dir: &std::path::Path, run: &str, stage: &str, attempt: u32) -> String {
        let key = (run.to_string(), stage.to_string(), attempt);
        if let Some(model) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return model.clone();
        }
        let model = crate::history::costs::attempt_model(state_dir, run, stage, attempt);
        if model != "unknown" {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key, model.clone());
        }
        model
    }
}

pub(super) async fn metrics(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    // Ready tasks that no run works on: the board's `ready` column (no task source: absent).
    let queue_depth = match app.board.tasks(&app.host).await {
        Ok(board) if !board["source"].is_null() => {
            Some(board["tasks"].as_array().map_or(0, |tasks| {
                tasks.iter().filter(|t| t["column"] == "ready").count()
            }) as u64)
        }
        _ => None,
    };
    let app_for_read = app.clone();
    let text = tokio::task::spawn_blocking(move || -> Result<String, EngineError> {
        let app = app_for_read;
        let (records, drivers) = app.board.records()?;
        let loaded = engine_workflow::load_file(&app.workflow_file)?;
        let budget = crate::board::budget_json(
            &records,
            loaded.agents.budget.run_usd,
            loaded.agents.budget.day_usd,
            crate::time::now_ms(),
        );
        let state_dir = app.board.state_dir().to_path_buf();
        let models =
            |run: &str, stage: &str, attempt: u32| app.models.of(&state_dir, run, stage, attempt);
        Ok(crate::metrics::render(&crate::metrics::Scrape {
            records: &records,
            drivers: &drivers,
            models: &models,
            queue_depth,
            day_budget_usd: loaded.agents.budget.day_usd,
            day_spent_usd: budget["day_spent_usd"].as_f64().unwrap_or(0.0),
            run_budget_usd: loaded.agents.budget.run_usd,
        }))
    })
    .await
    .map_err(|e| EngineError::Internal(format!("the metrics could not be gathered: {e}")))??;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    Ok(response)
}
