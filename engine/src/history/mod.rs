//! The stored runs as the read-only commands (`runs`, `show`, `costs`) present them: the status
//! people see (a run nobody drives is `interrupted`), filters, the time a `--since` names, the
//! stages in pipeline order, and what the runs spent.

pub mod costs;
pub mod order;
pub mod since;

use std::path::{Path, PathBuf};

use engine_core::{RunState, RunStatus};
use engine_store::RunRecord;

/// The id of the run `run` names (a full id or a unique prefix), or of the latest run when
/// `run` is `None`; `Ok(None)` when the store has no run at all.
pub fn named_or_latest(
    store: &dyn engine_store::Store,
    run: Option<&str>,
) -> Result<Option<String>, engine_store::StoreError> {
    match run {
        Some(run) => store.resolve_id(run).map(Some),
        None => store.latest_id(),
    }
}

/// Every status `engine runs` shows and `--status` accepts, in the order of a run's life.
pub const STATUS_NAMES: &[&str] = &[
    "pending",
    "running",
    "paused",
    "interrupted",
    "succeeded",
    "failed",
    "cancelled",
    "needs_attention",
];

/// Which runs an engine process drives now, as far as a reading command can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drivers {
    /// No engine process holds the state directory: no run is driven.
    Nobody,
    /// The process holding it said which runs it drives (over its control socket).
    These(std::collections::BTreeSet<String>),
    /// A process holds it and did not say (a short command such as `gc`): any run may be.
    Unknown,
}

impl Drivers {
    /// Whether run `run_id` may be driven now.
    pub fn drives(&self, run_id: &str) -> bool {
        match self {
            Drivers::Nobody => false,
            Drivers::These(runs) => runs.contains(run_id),
            Drivers::Unknown => true,
        }
    }
}

/// The status shown for a run stored with `status`: its name, except that a run stored as
/// pending or running is `interrupted` when no engine process drives it (`driven` false). Only
/// the holder of the state directory's lock drives runs, and the kernel releases that lock when
/// its process dies (even on kill -9), so a run that is not over while nobody holds the lock is
/// one that a crash, a kill or Ctrl-C stopped; while a holder exists, it says which runs it
/// drives (see [`Drivers`]). `engine resume` continues an interrupted run.
pub fn shown_status(status: &RunStatus, driven: bool) -> &'static str {
    match status {
        RunStatus::Pending | RunStatus::Running if !driven => "interrupted",
        other => other.name(),
    }
}

/// The status shown for run `state`: `paused` for a paused run that has not ended (whether or
/// not a process drives it: the pause is what holds it), else [`shown_status`].
pub fn shown_status_of(state: &RunState, drivers: &Drivers) -> &'static str {
    if state.is_paused() && !state.status.is_terminal() {
        "paused"
    } else {
        shown_status(&state.status, drivers.drives(&state.run_id))
    }
}

/// Why a `--status` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--status {given:?}: no such status (valid: {})", STATUS_NAMES.join(", "))]
pub struct UnknownStatus {
    /// The value given.
    pub given: String,
}

/// The statuses named by `--status` values, each one name or a comma-separated list
/// (`failed,interrupted`); `needs-attention` is read as `needs_attention`. Empty: no filter.
pub fn parse_statuses(values: &[String]) -> Result<Vec<&'static str>, UnknownStatus> {
    let mut out = Vec::new();
    for value in values {
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let wanted = part.to_ascii_lowercase().replace('-', "_");
            let Some(name) = STATUS_NAMES.iter().find(|n| **n == wanted) else {
                return Err(UnknownStatus {
                    given: part.to_string(),
                });
            };
            if !out.contains(name) {
                out.push(*name);
            }
        }
    }
    Ok(out)
}

/// Which runs `engine runs` lists.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs with one of these shown statuses (empty: any).
    pub statuses: Vec<&'static str>,
    /// Only runs created at or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// Only runs of this workflow: its `name:`, or its file.
    pub workflow: Option<WorkflowMatch>,
    /// At most this many runs (the newest).
    pub limit: Option<usize>,
}

/// A `--workflow` value: a workflow's name, or a file (matched by its absolute path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowMatch {
    /// The value as given, compared with the workflow's `name:`.
    pub name: String,
    /// The value as a path resolved from the current directory, when it names an existing
    /// file, compared with the run's workflow file.
    pub file: Option<PathBuf>,
}

impl WorkflowMatch {
    /// A match for `value`: a name, and a file too when `value` names one (relative paths from
    /// `cwd`).
    pub fn new(value: &str, cwd: &Path) -> Self {
        let path = cwd.join(value);
        WorkflowMatch {
            name: value.to_string(),
            file: path.is_file().then(|| path.canonicalize().unwrap_or(path)),
        }
    }

    /// Whether run `record` is of this workflow.
    pub fn matches(&self, record: &RunRecord) -> bool {
        if record.meta.workflow_name == self.name {
            return true;
        }
        self.file.as_ref().is_some_and(|file| {
            let stored = &record.meta.workflow_file;
            stored == file || stored.canonicalize().is_ok_and(|c| &c == file)
        })
    }
}

impl RunFilter {
    /// The runs of `records` (newest first) this filter keeps, in the same order, each with
    /// the status shown for it.
    pub fn apply(&self, records: Vec<RunRecord>, drivers: &Drivers) -> Vec<Listed> {
        let records = records.into_iter().map(Ok::<_, std::convert::Infallible>);
        let Ok(listed) = self.apply_lazily(records, drivers);
        listed
    }

    /// [`RunFilter::apply`] to runs read one at a time (newest first, e.g.
    /// [`engine_store::Store::newest_first`]): reads no run past the last one kept once the
    /// limit is reached, and stops at the first error.
    pub fn apply_lazily<E>(
        &self,
        records: impl Iterator<Item = Result<RunRecord, E>>,
        drivers: &Drivers,
    ) -> Result<Vec<Listed>, E> {
        let limit = self.limit.unwrap_or(usize::MAX);
        let mut listed = Vec::new();
        if limit == 0 {
            return Ok(listed);
        }
        for record in records {
            let record = record?;
            let status = shown_status_of(&record.state, drivers);
            let kept = (self.statuses.is_empty() || self.statuses.contains(&status))
                && self
                    .since_ms
                    .is_none_or(|since| record.meta.created_at_ms >= since)
                && self.workflow.as_ref().is_none_or(|w| w.matches(&record));
            if kept {
                listed.push(Listed { record, status });
                if listed.len() >= limit {
                    break;
                }
            }
        }
        Ok(listed)
    }
}

/// A run as listed: its record and the status shown for it ([`shown_status`]).
#[derive(Debug, Clone)]
pub struct Listed {
    /// The run.
    pub record: RunRecord,
    /// Its shown status.
    pub status: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::run_meta;

    fn record(id: &str, status: RunStatus, created_at_ms: u64, workflow: &str) -> RunRecord {
        let mut meta = run_meta(id, "b");
        meta.created_at_ms = created_at_ms;
        meta.workflow_name = workflow.into();
        let mut state = engine_core::RunState::new(
            id,
            engine_core::Task::default(),
            &engine_core::Workflow {
                name: workflow.into(),
                stages: vec![],
                finally: vec![],
                timeout_ms: None,
            },
        );
        state.status = status;
        RunRecord { meta, state }
    }

    #[test]
    fn a_run_nobody_drives_is_interrupted() {
        assert_eq!(shown_status(&RunStatus::Running, false), "interrupted");
        assert_eq!(shown_status(&RunStatus::Pending, false), "interrupted");
        assert_eq!(shown_status(&RunStatus::Running, true), "running");
        assert_eq!(shown_status(&RunStatus::Succeeded, false), "succeeded");
        let attention = RunStatus::NeedsAttention {
            stage: "s".into(),
            reason: "r".into(),
        };
        assert_eq!(shown_status(&attention, false), "needs_attention");
        // Every status a run can show is a name `--status` accepts.
        for status in [
            RunStatus::Pending,
            RunStatus::Running,
            RunStatus::Succeeded,
            attention,
        ] {
            for holder in [true, false] {
                assert!(STATUS_NAMES.contains(&shown_status(&status, holder)));
            }
        }
    }

    #[test]
    fn a_run_the_holder_does_not_drive_is_interrupted() {
        let run = record("R1", RunStatus::Running, 0, "wf");
        let other = Drivers::These(["R2".to_string()].into_iter().collect());
        assert_eq!(shown_status_of(&run.state, &other), "interrupted");
        let this = Drivers::These(["R1".to_string()].into_iter().collect());
        assert_eq!(shown_status_of(&run.state, &this), "running");
        assert_eq!(shown_status_of(&run.state, &Drivers::Unknown), "running");
    }

    #[test]
    fn a_paused_run_is_paused_whoever_drives_it_until_it_ends() {
        let mut run = record("R1", RunStatus::Running, 0, "wf");
        run.state.paused_at_ms = Some(5);
        for drivers in [Drivers::Unknown, Drivers::Nobody] {
            assert_eq!(shown_status_of(&run.state, &drivers), "paused");
        }
        assert!(STATUS_NAMES.contains(&"paused"));
        run.state.status = RunStatus::Succeeded;
        assert_eq!(shown_status_of(&run.state, &Drivers::Nobody), "succeeded");
        let filter = RunFilter {
            statuses: vec!["paused"],
            ..RunFilter::default()
        };
        run.state.status = RunStatus::Running;
        assert_eq!(filter.apply(vec![run], &Drivers::Nobody).len(), 1);
    }

    #[test]
    fn statuses_are_names_or_comma_lists_and_a_wrong_one_lists_the_valid_ones() {
        let values = vec!["failed,interrupted".to_string(), "needs-attention".into()];
        assert_eq!(
            parse_statuses(&values),
            Ok(vec!["failed", "interrupted", "needs_attention"])
        );
        assert_eq!(parse_statuses(&[]), Ok(vec![]));
        let err = parse_statuses(&["done".to_string()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--status \"done\": no such status (valid: pending, running, paused, \
             interrupted, succeeded, failed, cancelled, needs_attention)"
        );
    }

    #[test]
    fn the_filter_keeps_matching_runs_newest_first_up_to_the_limit() {
        let records = vec![
            record("R4", RunStatus::Running, 400, "ci"),
            record("R3", RunStatus::Succeeded, 300, "ci"),
            record("R2", RunStatus::Succeeded, 200, "other"),
            record("R1", RunStatus::Succeeded, 100, "ci"),
        ];
        let ids = |listed: Vec<Listed>| -> Vec<String> {
            listed.into_iter().map(|l| l.record.meta.run_id).collect()
        };
        let filter = RunFilter {
            statuses: vec!["succeeded"],
            since_ms: Some(150),
            workflow: None,
            limit: None,
        };
        assert_eq!(
            ids(filter.apply(records.clone(), &Drivers::Nobody)),
            ["R3", "R2"]
        );
        let filter = RunFilter {
            workflow: Some(WorkflowMatch::new("ci", Path::new("/nonexistent"))),
            limit: Some(2),
            ..RunFilter::default()
        };
        assert_eq!(
            ids(filter.apply(records.clone(), &Drivers::Nobody)),
            ["R4", "R3"]
        );
        let interrupted = RunFilter {
            statuses: vec!["interrupted"],
            ..RunFilter::default()
        };
        assert_eq!(
            ids(interrupted.apply(records.clone(), &Drivers::Nobody)),
            ["R4"]
        );
        assert!(interrupted.apply(records, &Drivers::Unknown).is_empty());
    }

    #[test]
    fn a_limited_listing_reads_no_run_past_the_last_one_kept() {
        // Runs read one at a time, newest first; the third cannot be read.
        let runs = || {
            vec![
                Ok(record("R4", RunStatus::Succeeded, 400, "ci")),
                Ok(record("R3", RunStatus::Running, 300, "ci")),
                Ok(record("R2", RunStatus::Succeeded, 200, "ci")),
                Err("R1 cannot be read"),
            ]
            .into_iter()
        };
        let filter = |limit| RunFilter {
            statuses: vec!["succeeded"],
            limit: Some(limit),
            ..RunFilter::default()
        };
        let listed = filter(2).apply_lazily(runs(), &Drivers::Nobody).unwrap();
        let ids: Vec<_> = listed
            .iter()
            .map(|l| l.record.meta.run_id.as_str())
            .collect();
        assert_eq!(ids, ["R4", "R2"]);
        assert_eq!(
            filter(3)
                .apply_lazily(runs(), &Drivers::Nobody)
                .unwrap_err(),
            "R1 cannot be read"
        );
        assert!(
            filter(0)
                .apply_lazily(runs(), &Drivers::Nobody)
                .unwrap()
                .is_empty()
        );
    }
}
