//! What the source asks `bd`, and the fallback to the JSONL export when `bd` is not installed.
//! Everything goes through the [`Bd`] trait, so the logic runs (and is tested) on the host; the
//! component implements it with the `exec` import.
//!
//! Listing (every open issue, plus what readiness needs to judge them):
//!
//! 1. `bd list --json --limit 0`: every issue that is not closed, with its dependencies.
//! 2. `bd show ID... --json` for issues whose dependencies bd did not include (older bd).
//! 3. `bd list --json --all --limit 0 --id A,B`: the issues they depend on (or whose children
//!    they are) that step 1 did not list: closed ones become done tasks; ids bd does not know
//!    stay unknown, so what depends on them is never ready.
//! 4. `bd list --json --all --limit 1 --parent S --status closed` for each `any-children` gate
//!    whose spawner has only open children listed.
//!
//! `claim` runs `bd show ID --json` then `bd update ID --status in_progress --assignee
//! CLAIMANT`; `update` runs `bd close ID --reason NOTE`, `bd reopen ID` or `bd update ID
//! --status S`, and adds a note with `bd comments add ID -- NOTE`.

use std::collections::HashSet;

use engine_source_sdk::{Diagnostic, Location, SourceError, Task, TaskList, TaskStatus};

use crate::config::Config;
use crate::graph::{self, Facts};
use crate::issue::{self, Issue, Located};

/// How a `bd` command ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ran {
    /// Exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// Killed for running past its time.
    pub timed_out: bool,
    /// Stdout was longer than what was kept.
    pub truncated: bool,
}

/// Why `bd` could not be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// `bd` is not installed (not on the host's PATH).
    Missing(String),
    /// Anything else (not granted, cannot start...).
    Failed(SourceError),
}

/// Access to `bd` and to the repository.
pub trait Bd {
    /// Runs `bd ARGS` (with `BD_JSON_ENVELOPE=1`) in the repository.
    fn run(&mut self, args: &[&str]) -> Result<Ran, RunError>;
    /// A file of the repository (relative path); `None` when it does not exist.
    fn read(&mut self, path: &str) -> Result<Option<String>, SourceError>;
    /// Now, in Unix seconds.
    fn now(&self) -> Option<i64>;
}

/// A command failed or `bd` is missing.
enum Failure {
    Missing(String),
    Error(SourceError),
}

impl From<SourceError> for Failure {
    fn from(e: SourceError) -> Self {
        Failure::Error(e)
    }
}

/// Every task: through `bd`, or from the export when `bd` is not installed.
pub fn list(bd: &mut dyn Bd, config: &Config) -> Result<TaskList, SourceError> {
    match list_with_bd(bd, config) {
        Ok(list) => Ok(list),
        Err(Failure::Error(e)) => Err(e),
        Err(Failure::Missing(why)) => list_export(bd, config, &why),
    }
}

fn list_with_bd(bd: &mut dyn Bd, config: &Config) -> Result<TaskList, Failure> {
    let mut active = query(bd, &["list", "--json", "--limit", "0"], None)?;

    let unreported: Vec<String> = active
        .iter()
        .filter(|i| i.dependencies.is_none() && i.dependency_count.unwrap_or(0) > 0)
        .map(|i| i.id.clone())
        .collect();
    if !unreported.is_empty() {
        let mut args = vec!["show"];
        args.extend(unreported.iter().map(String::as_str));
        args.push("--json");
        for shown in query(bd, &args, None)? {
            if let Some(issue) = active.iter_mut().find(|i| i.id == shown.id) {
                issue.dependencies = shown.dependencies;
            }
        }
    }

    let known: HashSet<&str> = active.iter().map(|i| i.id.as_str()).collect();
    let mut wanted: Vec<String> = Vec::new();
    for id in active.iter().flat_map(graph::referenced) {
        if !known.contains(id) && !wanted.iter().any(|w| w == id) {
            wanted.push(id.to_string());
        }
    }
    let mut fetched = Vec::new();
    if !wanted.is_empty() {
        let ids = wanted.join(",");
        let found = query(
            bd,
            &["list", "--json", "--all", "--limit", "0", "--id", &ids],
            None,
        )?;
        fetched = found
            .into_iter()
            .filter(|i| wanted.contains(&i.id) && !known.contains(i.id.as_str()))
            .collect();
    }

    let issues: Vec<Located> = active
        .into_iter()
        .chain(fetched)
        .map(|issue| Located {
            issue,
            location: None,
        })
        .collect();
    let mut facts = Facts {
        now: bd.now(),
        ..Facts::default()
    };
    for spawner in graph::gates_to_check(&issues, config) {
        let closed = query(
            bd,
            &[
                "list", "--json", "--all", "--limit", "1", "--parent", &spawner, "--status",
                "closed",
            ],
            None,
        )?;
        if !closed.is_empty() {
            facts.closed_child.insert(spawner);
        }
    }
    let (tasks, warnings) = graph::tasks(&issues, config, &facts);
    Ok(TaskList { tasks, warnings })
}

/// The export, read-only.
fn list_export(bd: &mut dyn Bd, config: &Config, why: &str) -> Result<TaskList, SourceError> {
    let path = relative_path(&config.export)?;
    let Some(text) = bd.read(&path)? else {
        return Err(SourceError::Failed(format!(
            "bd is not installed ({why}) and there is no {path} to read: install bd, or export \
             the issues with `bd export -o {path}`"
        )));
    };
    let export = issue::parse_export(&text, &path)?;
    let facts = Facts {
        deleted: export.deleted.iter().cloned().collect(),
        now: bd.now(),
        ..Facts::default()
    };
    let (tasks, mut warnings) = graph::tasks(&export.issues, config, &facts);
    warnings.insert(
        0,
        Diagnostic {
            location: Some(Location {
                file: path.clone(),
                line: None,
            }),
            message: format!(
                "bd is not installed: tasks are read from the export {path}, which may be \
                 older than the tracker; claiming and updating need bd"
            ),
        },
    );
    Ok(TaskList { tasks, warnings })
}

/// Takes an open issue for `claimant` (status `in_progress`, assignee `claimant`). Claiming
/// an issue `claimant` already holds succeeds without writing; one in progress for someone
/// else, closed, blocked or deferred is a conflict.
pub fn claim(
    bd: &mut dyn Bd,
    config: &Config,
    id: &str,
    claimant: &str,
) -> Result<Task, SourceError> {
    let issue = show(bd, id)?;
    let task = graph::single(&issue, config, bd.now());
    let holder = issue.assignee.as_deref().unwrap_or("").trim();
    match task.status {
        TaskStatus::Done => {
            return Err(SourceError::Conflict(format!(
                "{id} is {}; it cannot be claimed",
                task.raw_status
            )));
        }
        TaskStatus::Blocked => {
            return Err(SourceError::Conflict(format!(
                "{id} is {}; it cannot be claimed until that changes",
                task.raw_status
            )));
        }
        TaskStatus::InProgress if holder == claimant => return Ok(task),
        TaskStatus::InProgress if !holder.is_empty() => {
            return Err(SourceError::Conflict(format!(
                "{id} is {} and assigned to {holder}",
                task.raw_status
            )));
        }
        TaskStatus::InProgress | TaskStatus::Todo => {}
    }
    let assignee = format!("--assignee={claimant}");
    let ran = write(
        bd,
        &["update", id, "--status", "in_progress", &assignee, "--json"],
        id,
    )?;
    Ok(written(&ran, id, config, bd.now()).unwrap_or(Task {
        status: TaskStatus::InProgress,
        raw_status: "in_progress".to_string(),
        ..task
    }))
}

/// Sets the status (closing with the note as the reason for `done`; other notes become a
/// comment). Setting the status the issue already has changes nothing.
pub fn update(
    bd: &mut dyn Bd,
    config: &Config,
    id: &str,
    status: TaskStatus,
    note: Option<&str>,
) -> Result<Task, SourceError> {
    let issue = show(bd, id)?;
    let task = graph::single(&issue, config, bd.now());
    if task.status == status {
        return Ok(task);
    }
    let reason = format!("--reason={}", note.unwrap_or(&config.close_reason));
    let args: Vec<&str> = match status {
        TaskStatus::Done => vec!["close", id, &reason, "--json"],
        TaskStatus::Todo if task.status == TaskStatus::Done => vec!["reopen", id, "--json"],
        TaskStatus::Todo => vec!["update", id, "--status", "open", "--json"],
        TaskStatus::InProgress => vec!["update", id, "--status", "in_progress", "--json"],
        TaskStatus::Blocked => vec!["update", id, "--status", "blocked", "--json"],
    };
    let ran = write(bd, &args, id)?;
    if status != TaskStatus::Done
        && let Some(note) = note.filter(|n| !n.trim().is_empty())
    {
        write(bd, &["comments", "add", id, "--", note], id).map_err(|e| {
            SourceError::Failed(format!(
                "{id} is now {}, but the note could not be added: {}",
                status_word(status),
                e.text()
            ))
        })?;
    }
    let raw = match status {
        TaskStatus::Todo => "open",
        TaskStatus::InProgress => "in_progress",
        TaskStatus::Done => "closed",
        TaskStatus::Blocked => "blocked",
    };
    Ok(written(&ran, id, config, bd.now()).unwrap_or(Task {
        status,
        raw_status: raw.to_string(),
        ..task
    }))
}

fn status_word(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Todo => "open",
        TaskStatus::InProgress => "in progress",
        TaskStatus::Done => "closed",
        TaskStatus::Blocked => "blocked",
    }
}

/// `bd show ID --json`, for `claim` and `update` (which need bd).
fn show(bd: &mut dyn Bd, id: &str) -> Result<Issue, SourceError> {
    let issues = query(bd, &["show", id, "--json"], Some(id)).map_err(|f| match f {
        Failure::Error(e) => e,
        Failure::Missing(why) => SourceError::Unsupported(format!(
            "bd is not installed ({why}): the Beads source reads the export read-only and cannot \
             claim or update {id}"
        )),
    })?;
    issues
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| SourceError::NotFound(format!("bd has no issue {id}")))
}

/// Runs a read command and returns the issues it printed.
fn query(bd: &mut dyn Bd, args: &[&str], id: Option<&str>) -> Result<Vec<Issue>, Failure> {
    let what = format!("bd {}", args.join(" "));
    let ran = bd.run(args).map_err(|e| match e {
        RunError::Missing(why) => Failure::Missing(why),
        RunError::Failed(e) => Failure::Error(e),
    })?;
    check(&ran, &what, id)?;
    if ran.truncated {
        return Err(Failure::Error(SourceError::Failed(format!(
            "`{what}` printed more output than engine keeps; it cannot be read"
        ))));
    }
    Ok(issue::issues_from(
        issue::unwrap_envelope(&ran.stdout, &what)?,
        &what,
    )?)
}

/// Runs a write command; `bd` must be there (`show` ran just before).
fn write(bd: &mut dyn Bd, args: &[&str], id: &str) -> Result<Ran, SourceError> {
    let what = format!("bd {}", args.join(" "));
    let ran = bd.run(args).map_err(|e| match e {
        RunError::Missing(why) => SourceError::Unavailable(format!("bd disappeared: {why}")),
        RunError::Failed(e) => e,
    })?;
    check(&ran, &what, Some(id))?;
    Ok(ran)
}

/// The task a write command printed, when it printed one.
fn written(ran: &Ran, id: &str, config: &Config, now: Option<i64>) -> Option<Task> {
    let value = issue::unwrap_envelope(&ran.stdout, "bd").ok()?;
    let issues = issue::issues_from(value, "bd").ok()?;
    let issue = issues.into_iter().find(|i| i.id == id)?;
    Some(graph::single(&issue, config, now))
}

/// A command that timed out or exited non-zero, as an error.
fn check(ran: &Ran, what: &str, id: Option<&str>) -> Result<(), SourceError> {
    if ran.timed_out {
        return Err(SourceError::Unavailable(format!("`{what}` timed out")));
    }
    if ran.code == Some(0) {
        return Ok(());
    }
    let detail = issue::envelope_error(&ran.stdout).unwrap_or_else(|| {
        let text = if ran.stderr.trim().is_empty() {
            &ran.stdout
        } else {
            &ran.stderr
        };
        match text.trim() {
            "" => "no message".to_string(),
            text => text.to_string(),
        }
    });
    let lower = detail.to_lowercase();
    let code = ran
        .code
        .map_or("killed".to_string(), |c| format!("exit {c}"));
    let message = format!("`{what}` failed ({code}): {detail}");
    Err(match id {
        Some(id) if lower.contains("not found") || lower.contains("no issue") => {
            SourceError::NotFound(format!("bd has no issue {id}: {detail}"))
        }
        Some(_) if lower.contains("cannot close") || lower.contains("blocked by") => {
            SourceError::Conflict(message)
        }
        _ if [
            "is locked",
            "timeout",
            "timed out",
            "temporarily unavailable",
            "connection refused",
        ]
        .iter()
        .any(|w| lower.contains(w)) =>
        {
            SourceError::Unavailable(message)
        }
        _ => SourceError::Failed(message),
    })
}

/// A path inside the repository, as the user wrote it (without `./`).
fn relative_path(path: &str) -> Result<String, SourceError> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() || path.starts_with('/') || parts.contains(&"..") {
        return Err(SourceError::InvalidConfig(format!(
            "export {path:?} must be a file inside the repository, relative to its root (like \
             .beads/issues.jsonl)"
        )));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_paths_stay_inside_the_repository() {
        assert_eq!(
            relative_path("./.beads//issues.jsonl").unwrap(),
            ".beads/issues.jsonl"
        );
        for bad in ["/etc/passwd", "../x.jsonl", ".beads/../../x", "", "."] {
            assert!(
                matches!(relative_path(bad), Err(SourceError::InvalidConfig(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn failures_are_classified() {
        let ran = |code, stderr: &str| Ran {
            code,
            stderr: stderr.into(),
            ..Ran::default()
        };
        assert!(matches!(
            check(
                &ran(Some(1), "Error: issue bd-9 not found"),
                "bd show bd-9",
                Some("bd-9")
            ),
            Err(SourceError::NotFound(_))
        ));
        assert!(matches!(
            check(&ran(Some(1), "database is locked"), "bd list", None),
            Err(SourceError::Unavailable(_))
        ));
        assert_eq!(
            check(&ran(Some(2), ""), "bd list", None),
            Err(SourceError::Failed(
                "`bd list` failed (exit 2): no message".into()
            ))
        );
        let enveloped = Ran {
            code: Some(1),
            stdout: r#"{"schema_version":1,"error":{"message":"no beads database"}}"#.into(),
            stderr: "Error: x".into(),
            ..Ran::default()
        };
        assert!(matches!(
            check(&enveloped, "bd list", None),
            Err(SourceError::Failed(m)) if m.contains("no beads database")
        ));
        let slow = Ran {
            timed_out: true,
            ..Ran::default()
        };
        assert!(matches!(
            check(&slow, "bd list", None),
            Err(SourceError::Unavailable(_))
        ));
    }
}
