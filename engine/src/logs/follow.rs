//! Finding the run `engine logs` reads, and following it while it goes (`-f`). The run may be
//! driven by another engine process: its state then comes from the JSON mirrors that process
//! keeps, and its logs are files that grow; both are polled, so nothing here needs the state
//! directory's lock while a run is driven.

use std::path::Path;
use std::time::Duration;

use engine_core::RunStatus;
use engine_store::{
    RunRecord, StateDir, Store, StoreError, lock_holder, read_mirror, read_mirrors,
};

use super::read::{AttemptFile, LogLine, LogReader, Selection, attempt_files};
use crate::EngineError;
use crate::history::order::StageOrder;

/// How often `-f` looks for new lines and for the run's end.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Run `run` (an id or a unique prefix; the latest run when `None`) of state directory `dir`:
/// from the store when no process holds the directory (its lock is taken and released here),
/// else from the holder's mirrors.
pub fn locate(dir: &Path, run: Option<&str>) -> Result<RunRecord, EngineError> {
    let no_runs = || {
        EngineError::UnknownRun(format!(
            "no runs yet in {}: no logs to show (start one with `engine run`)",
            dir.display()
        ))
    };
    if !dir.exists() {
        return Err(match run {
            Some(run) => {
                EngineError::UnknownRun(format!("no run {run:?}: {} does not exist", dir.display()))
            }
            None => no_runs(),
        });
    }
    if lock_holder(dir).is_none() {
        match StateDir::open_locked(dir, "engine logs") {
            Ok(state_dir) => {
                let store = state_dir.store();
                let run_id = crate::history::named_or_latest(store, run)?.ok_or_else(no_runs)?;
                return store
                    .load(&run_id)?
                    .ok_or_else(|| EngineError::UnknownRun(format!("no run {run_id}")));
            }
            // Taken in the meantime: read the new holder's mirrors.
            Err(StoreError::Busy { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let run_id = match run {
        Some(run) => run.to_string(),
        None => read_mirrors(dir)?
            .runs
            .into_iter()
            .next()
            .map(|r| r.meta.run_id)
            .ok_or_else(no_runs)?,
    };
    Ok(read_mirror(dir, &run_id)?.record)
}

/// How a followed run stopped being followed.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEnd {
    /// It ended (and its `finally:` stages ran) with this status.
    Ended(RunStatus),
    /// No engine process drives it any more and it has not ended (it was interrupted).
    Undriven,
}

/// Whether run `run_id` of `dir` is over for a follower: it ended and every `finally:` stage of
/// `order` is recorded, or no process holds the state directory (nobody drives it).
pub fn run_end(
    dir: &Path,
    run_id: &str,
    order: &StageOrder,
) -> Result<Option<RunEnd>, EngineError> {
    let held = lock_holder(dir).is_some();
    let state = match read_mirror(dir, run_id) {
        Ok(run) => Some(run.record.state),
        Err(e) if held => return Err(e.into()),
        // Nobody holds the directory: what the store last had is what there is.
        Err(_) => None,
    };
    let ended = state.as_ref().is_some_and(|s| {
        s.status.is_terminal() && order.finally.iter().all(|id| s.finally.contains_key(id))
    });
    Ok(match state {
        Some(state) if ended => Some(RunEnd::Ended(state.status)),
        Some(state) if !held && state.status.is_terminal() => Some(RunEnd::Ended(state.status)),
        _ if !held => Some(RunEnd::Undriven),
        _ => None,
    })
}

/// Prints (through `print`) every line of `record`'s attempt logs that `selection` keeps; with
/// `follow`, then every line written later, until the run is over ([`run_end`]), which it
/// returns. Without `follow`, returns `None` at once.
pub fn stream(
    dir: &Path,
    record: &RunRecord,
    selection: &Selection,
    follow: bool,
    mut print: impl FnMut(&LogLine),
) -> Result<Option<RunEnd>, EngineError> {
    let run_id = &record.meta.run_id;
    let order = StageOrder::of_run(&record.meta, &record.state);
    let mut reader = LogReader::new();
    let mut known: Vec<AttemptFile> = Vec::new();
    loop {
        // The end is looked at before the files are read: whatever was written before the
        // run ended is then read below.
        let end = if follow {
            match run_end(dir, run_id, &order)? {
                // Nobody drives it, and the store had it ended (its mirror is gone).
                Some(RunEnd::Undriven) if record.state.status.is_terminal() => {
                    Some(RunEnd::Ended(record.state.status.clone()))
                }
                other => other,
            }
        } else {
            Some(RunEnd::Undriven)
        };
        for file in attempt_files(dir, run_id, &record.state, &order, selection)? {
            if !known.contains(&file) {
                known.push(file);
            }
        }
        let done = end.is_some();
        for line in reader.read(&known, done)? {
            print(&line);
        }
        if let Some(end) = end {
            return Ok(follow.then_some(end));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}
