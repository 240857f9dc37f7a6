//! What a dashboard or an MCP client reads about a repository's runs and tasks, as JSON: the
//! runs (`engine runs --json`'s rows), one run with its stages and attempts, its logs, its
//! diff and transcripts, the costs, the day's budget and the task board. One place for the
//! HTTP API of `engine serve` ([`crate::serve`]) and the MCP tools ([`crate::mcp`]); the CLI's
//! `runs --json` rows come from here too.
//!
//! A [`Board`] reads the store directly when its process holds the state directory
//! ([`Access::Held`], `engine serve`), else through the store's lock when free or the holder's
//! mirrors ([`Access::Shared`], `engine mcp` beside another engine process).

mod run_doc;
mod task_board;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine_store::{RunRecord, StateDir, Store, StoreError, read_mirror, read_mirrors};
use serde_json::{Value, json};

use crate::EngineError;
use crate::history::costs::GroupBy;
use crate::history::{Drivers, Listed, RunFilter, WorkflowMatch, parse_statuses};
use crate::logs::read::{LogReader, Selection, attempt_files};

pub use run_doc::{duration_ms, run_document, run_row};
pub use task_board::{Column, column_of};

/// How a [`Board`] reaches the stored runs.
#[derive(Clone)]
pub enum Access {
    /// This process holds the state directory: read its store.
    Held(Arc<StateDir>),
    /// Another process may hold it: take its lock for each read when it is free, else read the
    /// holder's mirrors (`<state>/mirror/`).
    Shared(PathBuf),
}

/// The largest diff [`Board::diff`] returns.
pub const MAX_DIFF_BYTES: usize = 2 << 20;

/// The largest transcript [`Board::transcript`] returns.
pub const MAX_TRANSCRIPT_BYTES: u64 = 8 << 20;

/// The runs and tasks of one repository, for one workflow (the task board's).
#[derive(Clone)]
pub struct Board {
    /// How the runs are read.
    pub access: Access,
    /// The workflow whose task source the board shows (absolute).
    pub workflow_file: PathBuf,
    /// The repository's work tree.
    pub repo_root: PathBuf,
}

/// Filters of [`Board::runs`], as the query string gives them (the CLI's `runs` flags).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RunsQuery {
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// At most this many runs.
    pub limit: Option<usize>,
    /// A date, date and time, or a duration back from now.
    pub since: Option<String>,
    /// A workflow name or file.
    pub workflow: Option<String>,
}

impl RunsQuery {
    /// The filter the query asks for (a `workflow` file relative to `cwd`); bad values: a
    /// usage error naming the valid ones.
    pub fn filter(&self, cwd: &Path) -> Result<RunFilter, EngineError> {
        let statuses: Vec<String> = self.status.iter().cloned().collect();
        let statuses = parse_statuses(&statuses).map_err(|e| EngineError::Usage(e.to_string()))?;
        let since_ms = self
            .since
            .as_deref()
            .map(crate::history::since::parse_since_now)
            .transpose()
            .map_err(|e| EngineError::Usage(e.to_string()))?;
        Ok(RunFilter {
            statuses,
            since_ms,
            workflow: self
                .workflow
                .as_deref()
                .map(|value| WorkflowMatch::new(value, cwd)),
            limit: self.limit,
        })
    }
}

/// What [`Board::change_marker`] compares: the store's write count and the runs this process
/// drives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeMarker {
    /// [`engine_store::SledStore::generation`].
    generation: u64,
    /// [`crate::queue::driving::all`].
    driven: Vec<String>,
}

/// Where the runs were read from, for one read.
enum Source {
    Store(Arc<StateDir>),
    Locked(StateDir),
    Mirrors(PathBuf),
}

impl Board {
    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        match &self.access {
            Access::Held(state_dir) => state_dir.path(),
            Access::Shared(dir) => dir,
        }
    }

    fn source(&self) -> Result<Source, EngineError> {
        match &self.access {
            Access::Held(state_dir) => Ok(Source::Store(state_dir.clone())),
            Access::Shared(dir) => {
                if !dir.exists() {
                    return Ok(Source::Mirrors(dir.clone()));
                }
                match StateDir::open_locked(dir, "engine mcp (reading)") {
                    Ok(state_dir) => Ok(Source::Locked(state_dir)),
                    Err(StoreError::Busy { .. }) => Ok(Source::Mirrors(dir.clone())),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    /// Every stored run (newest first) and which runs are driven now.
    pub fn records(&self) -> Result<(Vec<RunRecord>, Drivers), EngineError> {
        match self.source()? {
            Source::Store(state_dir) => Ok((
                state_dir.store().list()?,
                Drivers::These(crate::queue::driving::all().into_iter().collect()),
            )),
            Source::Locked(state_dir) => Ok((state_dir.store().list()?, Drivers::Nobody)),
            Source::Mirrors(dir) => {
                if !dir.exists() {
                    return Ok((Vec::new(), Drivers::Nobody));
                }
                let listing = read_mirrors(&dir)?;
                for problem in &listing.problems {
                    tracing::warn!("{problem}");
                }
                Ok((listing.runs, asked_drivers(&dir)))
            }
        }
    }

    /// A cheap marker of the runs as [`Board::records`] would read them now: while it stays the
    /// same, so do they (and which are driven). `None` when there is no cheap way to tell (the
    /// runs are read from another process's mirrors or through the lock): read them again.
    pub fn change_marker(&self) -> Option<ChangeMarker> {
        match &self.access {
            Access::Held(state_dir) => Some(ChangeMarker {
                // Read before the runs: a write in between changes it again.
                generation: state_dir.store().generation(),
                driven: crate::queue::driving::all(),
            }),
            Access::Shared(_) => None,
        }
    }

    /// Run `run` (an id or a unique prefix) and which runs are driven now.
    pub fn record(&self, run: &str) -> Result<(RunRecord, Drivers), EngineError> {
        let unknown = || EngineError::UnknownRun(format!("no run {run:?}"));
        match self.source()? {
            Source::Store(state_dir) => {
                let store = state_dir.store();
                let id = store.resolve_id(run)?;
                let record = store.load(&id)?.ok_or_else(unknown)?;
                Ok((
                    record,
                    Drivers::These(crate::queue::driving::all().into_iter().collect()),
                ))
            }
            Source::Locked(state_dir) => {
                let store = state_dir.store();
                let id = store.resolve_id(run)?;
                Ok((store.load(&id)?.ok_or_else(unknown)?, Drivers::Nobody))
            }
            Source::Mirrors(dir) => {
                // A prefix, or a run the holder does not mirror: look through the listing.
                let record = if let Ok(found) = read_mirror(&dir, run) {
                    found.record
                } else {
                    let listing = read_mirrors(&dir)?;
                    let mut matching = listing
                        .runs
                        .into_iter()
                        .filter(|r| r.meta.run_id.starts_with(run));
                    match (matching.next(), matching.next()) {
                        (Some(record), None) => record,
                        (Some(_), Some(_)) => {
                            return Err(EngineError::UnknownRun(format!(
                                "{run:?} names more than one run; give more of its id"
                            )));
                        }
                        _ => return Err(unknown()),
                    }
                };
                Ok((record, asked_drivers(&dir)))
            }
        }
    }

    /// `GET /api/runs`: the runs the query keeps, newest first.
    pub fn runs(&self, query: &RunsQuery) -> Result<Value, EngineError> {
        let filter = query.filter(&self.repo_root)?;
        let (records, drivers) = self.records()?;
        let rows: Vec<Value> = filter
            .apply(records, &drivers)
            .iter()
            .map(run_row)
            .collect();
        Ok(Value::Array(rows))
    }

    /// `GET /api/runs/{id}`.
    pub fn run(&self, run: &str) -> Result<Value, EngineError> {
        let (record, drivers) = self.record(run)?;
        Ok(run_document(&record, &drivers, self.state_dir()))
    }

    /// `GET /api/runs/{id}/logs`: the lines of the run's attempt logs `selection` keeps.
    pub fn logs(&self, run: &str, selection: &Selection) -> Result<Value, EngineError> {
        let (record, _) = self.record(run)?;
        let order = crate::history::order::StageOrder::of_run(&record.meta, &record.state);
        let files = attempt_files(
            self.state_dir(),
            &record.meta.run_id,
            &record.state,
            &order,
            selection,
        )?;
        let lines = LogReader::new().read(&files, true)?;
        Ok(
            json!({ "run_id": record.meta.run_id, "lines": lines.iter().map(log_line).collect::<Vec<_>>() }),
        )
    }

    /// `GET /api/runs/{id}/diff`: the run branch against the commit it started from.
    pub fn diff(&self, run: &str) -> Result<Value, EngineError> {
        let (record, _) = self.record(run)?;
        let meta = &record.meta;
        let repo = engine_git::Repo::discover(&self.repo_root)?;
        let (diff, cut) = repo.diff_text(&meta.base_commit, &meta.branch, MAX_DIFF_BYTES)?;
        Ok(json!({
            "run_id": meta.run_id,
            "base": meta.base_commit,
            "base_branch": meta.base_branch,
            "branch": meta.branch,
            "diff": diff,
            "cut": cut,
        }))
    }

    /// `GET /api/runs/{id}/transcripts`: the agent transcripts of each attempt.
    pub fn transcripts(&self, run: &str) -> Result<Value, EngineError> {
        let (record, _) = self.record(run)?;
        let mut out = Vec::new();
        for (stage, st) in &record.state.stages {
            for attempt in &st.history {
                let files = crate::history::costs::transcripts(
                    self.state_dir(),
                    &record.meta.run_id,
                    stage,
                    attempt.attempt,
                );
                for (n, path) in files.iter().enumerate() {
                    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
                    out.push(json!({"stage": stage, "attempt": attempt.attempt, "n": n + 1, "bytes": bytes}));
                }
            }
        }
        Ok(json!({ "run_id": record.meta.run_id, "transcripts": out }))
    }

    /// One transcript's text (the `n`th, from 1, of an attempt), cut at
    /// [`MAX_TRANSCRIPT_BYTES`].
    pub fn transcript(
        &self,
        run: &str,
        stage: &str,
        attempt: u32,
        n: usize,
    ) -> Result<String, EngineError> {
        let (record, _) = self.record(run)?;
        let files = crate::history::costs::transcripts(
            self.state_dir(),
            &record.meta.run_id,
            stage,
            attempt,
        );
        let path = n.checked_sub(1).and_then(|i| files.get(i)).ok_or_else(|| {
            EngineError::UnknownRun(format!(
                "run {} has no transcript {n} of {stage} attempt {attempt}",
                record.meta.run_id
            ))
        })?;
        let mut text = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| {
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(f, MAX_TRANSCRIPT_BYTES),
                    &mut text,
                )
            })
            .map_err(|e| EngineError::io(path, e))?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    /// `GET /api/costs`: as `engine costs --json` (`by`: day, task, stage, model).
    pub fn costs(&self, by: Option<&str>, since: Option<&str>) -> Result<Value, EngineError> {
        let by = match by.unwrap_or("day") {
            "day" => GroupBy::Day,
            "task" => GroupBy::Task,
            "stage" => GroupBy::Stage,
            "model" => GroupBy::Model,
            other => {
                return Err(EngineError::Usage(format!(
                    "by={other:?}: expected day, task, stage or model"
                )));
            }
        };
        let since_ms = since
            .map(crate::history::since::parse_since_now)
            .transpose()
            .map_err(|e| EngineError::Usage(e.to_string()))?;
        let (records, _) = self.records()?;
        let tz = jiff::tz::TimeZone::system();
        let report = crate::history::costs::costs(&records, by, since_ms, &tz, self.state_dir());
        Ok(crate::history::costs::to_json(&report))
    }

    /// `GET /api/budget`: the workflow's limits, and what today's runs spent (UTC day, as the
    /// budget counts it).
    pub fn budget(&self) -> Result<Value, EngineError> {
        let loaded = engine_workflow::load_file(&self.workflow_file)?;
        let (records, _) = self.records()?;
        let now = crate::time::now_ms();
        Ok(budget_json(
            &records,
            loaded.agents.budget.run_usd,
            loaded.agents.budget.day_usd,
            now,
        ))
    }

    /// `GET /api/status`.
    pub fn status(&self, watching: bool) -> Result<Value, EngineError> {
        let (records, drivers) = self.records()?;
        let mut counts = serde_json::Map::new();
        for name in crate::history::STATUS_NAMES {
            counts.insert((*name).to_string(), json!(0));
        }
        for record in &records {
            let status = crate::history::shown_status_of(&record.state, &drivers);
            if let Some(n) = counts.get_mut(status) {
                *n = json!(n.as_u64().unwrap_or(0) + 1);
            }
        }
        let workflow = engine_workflow::load_file(&self.workflow_file).ok();
        let driving: Vec<String> = match &drivers {
            Drivers::These(runs) => runs.iter().cloned().collect(),
            _ => Vec::new(),
        };
        Ok(json!({
            "version": env!("CARGO_PKG_VERSION"),
            "pid": std::process::id(),
            "repository": self.repo_root,
            "state_dir": self.state_dir(),
            "workflow": {
                "name": workflow.as_ref().map(|w| w.workflow.name.clone()),
                "file": self.workflow_file,
            },
            "watching": watching,
            "runs": counts,
            "driving": driving,
            // From the runs and the workflow read above, not read again.
            "budget": workflow.as_ref().map_or(Value::Null, |w| budget_json(
                &records,
                w.agents.budget.run_usd,
                w.agents.budget.day_usd,
                crate::time::now_ms(),
            )),
        }))
    }
}

/// One attempt-log line as the API gives it.
pub fn log_line(line: &crate::logs::read::LogLine) -> Value {
    json!({"stage": line.stage, "attempt": line.attempt, "level": line.level, "text": line.text})
}

/// The day's budget: limits, and what the attempts of `records` that ended on the UTC day of
/// `now_ms` spent.
pub fn budget_json(
    records: &[RunRecord],
    run_usd: Option<f64>,
    day_usd: Option<f64>,
    now_ms: u64,
) -> Value {
    const DAY_MS: u64 = 86_400_000;
    let day = now_ms / DAY_MS;
    let spent = records
        .iter()
        .flat_map(|r| r.state.stages.values())
        .flat_map(|s| &s.history)
        .filter(|a| a.ended_at_ms.unwrap_or(a.started_at_ms) / DAY_MS == day)
        .fold(engine_core::Spend::NONE, |acc, a| acc + a.spend);
    json!({
        "run_usd": run_usd,
        "day_usd": day_usd,
        "day_spent_usd": spent.cost_usd,
        "day_left_usd": day_usd.map(|limit| (limit - spent.cost_usd).max(0.0)),
        "day_unknown": !spent.cost_known,
        "day": crate::time::rfc3339(day * DAY_MS).get(..10).unwrap_or_default(),
    })
}

/// The rows of `listed`, as `engine runs --json` prints them.
pub fn run_rows(listed: &[Listed]) -> Vec<Value> {
    listed.iter().map(run_row).collect()
}

/// Which runs the process holding state directory `dir` drives, as it says over its control
/// socket; one that does not answer may drive any run.
fn asked_drivers(dir: &Path) -> Drivers {
    match crate::control::client::ask_driving(dir) {
        Some(runs) => Drivers::These(runs),
        None => Drivers::Unknown,
    }
}

/// A board holding a fresh state directory in `dir` (tests of the board and of what reads it).
#[cfg(test)]
pub(crate) fn held_for_tests(dir: &Path) -> (Arc<StateDir>, Board) {
    let state_dir = Arc::new(StateDir::open_locked(dir, "test").unwrap());
    let board = Board {
        access: Access::Held(state_dir.clone()),
        workflow_file: dir.join("wf.yaml"),
        repo_root: dir.to_path_buf(),
    };
    (state_dir, board)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(run_id: &str, seq: u64) -> engine_core::RunState {
        engine_core::RunState {
            seq,
            ..engine_core::RunState::blank(run_id, engine_core::Task::default())
        }
    }

    #[test]
    fn the_change_marker_moves_with_every_write_and_driven_run_only() {
        let tmp = tempfile::tempdir().unwrap();
        let (state_dir, board) = held_for_tests(tmp.path());
        let marker = || board.change_marker().unwrap();
        let before = marker();
        assert_eq!(marker().generation, before.generation);
        let store = state_dir.store();
        let meta = crate::test_fixtures::run_meta("01MARKER", "engine/x");
        store.create_run(&meta, &state("01MARKER", 0)).unwrap();
        let created = marker();
        assert_ne!(created.generation, before.generation);
        store
            .commit(
                "01MARKER",
                &engine_core::Event::RunStarted { at_ms: 1 },
                &state("01MARKER", 1),
            )
            .unwrap();
        assert_ne!(marker().generation, created.generation);
        // A run this process starts driving changes it too (its shown status does).
        let driving = crate::queue::driving::claim("01MARKER").unwrap();
        assert!(marker().driven.contains(&"01MARKER".to_string()));
        drop(driving);
        // Read through the lock or the mirrors: no cheap marker, read every time.
        let shared = Board {
            access: Access::Shared(tmp.path().join("other")),
            ..board.clone()
        };
        assert_eq!(shared.change_marker(), None);
    }
}
