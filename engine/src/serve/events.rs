//! Live events over Server-Sent Events: the runs that changed (`/api/events`), and one run's
//! transitions and log lines as they are written (`/api/runs/{id}/events`). Both poll the
//! store and the log files (every [`POLL`]), so runs driven by any engine process of the
//! repository are seen alike; each stream has its own thread, which ends when its client goes
//! away or the server stops.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::App;
use crate::board::{Board, log_line, run_document, run_row};
use crate::history::order::StageOrder;
use crate::history::{Listed, shown_status_of};
use crate::logs::read::{AttemptFile, LogReader, Selection, attempt_files};

/// How often the streams look for changes.
pub const POLL: Duration = Duration::from_millis(200);

/// How many runs `/api/events` sends on connect.
const FIRST_RUNS: usize = 200;

/// The events a producer thread sends, as a stream for axum.
fn stream_of(mut events: mpsc::Receiver<Event>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::poll_fn(move |cx| events.poll_recv(cx).map(|e| e.map(Ok)))
}

fn event(name: &str, data: &Value) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(data).unwrap_or_else(|_| "null".into()))
}

/// Sends `event` unless the client went away or the server stops; `false` then.
fn send(sender: &mpsc::Sender<Event>, stopping: &watch::Receiver<bool>, event: Event) -> bool {
    !*stopping.borrow() && sender.blocking_send(event).is_ok()
}

/// `GET /api/events`.
pub(super) async fn all(
    State(app): State<Arc<App>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (sender, receiver) = mpsc::channel(64);
    let board = app.board.clone();
    let stopping = app.stopping.clone();
    tokio::task::spawn_blocking(move || watch_runs(&board, &sender, &stopping));
    Sse::new(stream_of(receiver)).keep_alive(KeepAlive::default())
}

fn watch_runs(board: &Board, sender: &mpsc::Sender<Event>, stopping: &watch::Receiver<bool>) {
    let mut seen: BTreeMap<String, (u64, &'static str)> = BTreeMap::new();
    let mut first = true;
    // The runs are read again only when the store or the driven runs changed since.
    let mut read_at = None;
    loop {
        let marker = board.change_marker();
        let unchanged = marker.is_some() && marker == read_at;
        if !unchanged && let Ok((records, drivers)) = board.records() {
            read_at = marker;
            let mut changed = Vec::new();
            for (i, record) in records.into_iter().enumerate() {
                let status = shown_status_of(&record.state, &drivers);
                let mark = (record.state.seq, status);
                if seen.get(&record.meta.run_id) == Some(&mark) {
                    continue;
                }
                seen.insert(record.meta.run_id.clone(), mark);
                if !first || i < FIRST_RUNS {
                    changed.push(run_row(&Listed { record, status }));
                }
            }
            if (!changed.is_empty() || first)
                && (!send(sender, stopping, event("runs", &Value::Array(changed)))
                    || !send(sender, stopping, event("tasks", &Value::Null)))
            {
                return;
            }
            first = false;
        }
        if sender.is_closed() || *stopping.borrow() {
            return;
        }
        std::thread::sleep(POLL);
    }
}

/// `GET /api/runs/{id}/events`.
pub(super) async fn run(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, super::api::ApiError> {
    let board = app.board.clone();
    // An unknown run is a 404 now, not an empty stream.
    let probe = board.clone();
    let run_id = tokio::task::spawn_blocking(move || probe.record(&id))
        .await
        .map_err(|e| crate::EngineError::Internal(format!("reading the run failed: {e}")))??
        .0
        .meta
        .run_id;
    let (sender, receiver) = mpsc::channel(256);
    let stopping = app.stopping.clone();
    tokio::task::spawn_blocking(move || follow_run(&board, &run_id, &sender, &stopping));
    Ok(Sse::new(stream_of(receiver)).keep_alive(KeepAlive::default()))
}

fn follow_run(
    board: &Board,
    run_id: &str,
    sender: &mpsc::Sender<Event>,
    stopping: &watch::Receiver<bool>,
) {
    let mut reader = LogReader::new();
    let mut known: Vec<AttemptFile> = Vec::new();
    let mut last: Option<(u64, &'static str)> = None;
    loop {
        let Ok((record, drivers)) = board.record(run_id) else {
            return;
        };
        let status = shown_status_of(&record.state, &drivers);
        let order = StageOrder::of_run(&record.meta, &record.state);
        // A run that ended is over for the stream once nobody drives it any more: a retry
        // claims the run before it stores its first transition.
        let ended = record.state.status.is_terminal()
            && !drivers.drives(run_id)
            && order
                .finally
                .iter()
                .all(|id| record.state.finally.contains_key(id));
        if last != Some((record.state.seq, status)) {
            last = Some((record.state.seq, status));
            let document = run_document(&record, &drivers, board.state_dir());
            if !send(sender, stopping, event("state", &document)) {
                return;
            }
        }
        if let Ok(files) = attempt_files(
            board.state_dir(),
            run_id,
            &record.state,
            &order,
            &Selection::default(),
        ) {
            for file in files {
                if !known.contains(&file) {
                    known.push(file);
                }
            }
        }
        // Whatever was written before the run ended is read on this pass.
        if let Ok(lines) = reader.read(&known, ended) {
            for line in &lines {
                if !send(sender, stopping, event("log", &log_line(line))) {
                    return;
                }
            }
        }
        if ended {
            let _ = send(
                sender,
                stopping,
                event("end", &serde_json::json!({ "status": status })),
            );
            return;
        }
        if sender.is_closed() || *stopping.borrow() {
            return;
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use engine_store::Store;

    use super::*;

    /// Waits for the next event (the stream thread polls every [`POLL`]).
    fn next(receiver: &mut mpsc::Receiver<Event>) {
        for _ in 0..200 {
            match receiver.try_recv() {
                Ok(_) => return,
                Err(mpsc::error::TryRecvError::Empty) => std::thread::sleep(POLL / 4),
                Err(e) => panic!("the stream ended: {e}"),
            }
        }
        panic!("no event came");
    }

    #[test]
    fn the_runs_stream_reports_a_run_stored_after_it_started() {
        let tmp = tempfile::tempdir().unwrap();
        let (state_dir, board) = crate::board::held_for_tests(tmp.path());
        let (sender, mut receiver) = mpsc::channel(64);
        let (stop, stopping) = watch::channel(false);
        let streaming = std::thread::spawn(move || watch_runs(&board, &sender, &stopping));
        // On connect: the runs (none), then `tasks`.
        next(&mut receiver);
        next(&mut receiver);
        let meta = crate::test_fixtures::run_meta("01EVENTS", "engine/x");
        let state = engine_core::RunState::blank("01EVENTS", engine_core::Task::default());
        state_dir.store().create_run(&meta, &state).unwrap();
        // The new run comes as a `runs` event, with `tasks` after it.
        next(&mut receiver);
        next(&mut receiver);
        stop.send(true).unwrap();
        drop(receiver);
        streaming.join().unwrap();
    }
}
