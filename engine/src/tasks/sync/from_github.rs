//! `engine tasks sync --from github`: issues carrying the sync labels become tasks of a
//! `tasks-md` file.
//!
//! - A new issue is appended as a task with the next id after the highest (`TASK-007` after
//!   `TASK-006`), its title made one line, its body quoted ([`super::markdown`]), a
//!   `**GitHub:** #N` line, and status DONE when the issue is closed, else TODO.
//! - An issue already imported (a task with its `**GitHub:** #N` line) is not imported again:
//!   its status follows the issue (closed: done; reopened: todo) through the source's `update`,
//!   the write-back's own path; title and body are not changed after the import.
//! - An issue exported by `--to github` (its body ends with an `engine-task` marker) is
//!   skipped: its task is already in the file.
//!
//! Appending writes the new text to a temporary file beside the tasks file, has the source
//! list that file (so a text the source cannot read is never installed), checks the tasks file
//! did not change meanwhile, then renames it over the tasks file.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use engine_runtime::Host;
use engine_tasks::{Task, TaskStatus};

use super::gh::{Gh, Issue};
use super::markdown::{ImportedTask, imported_number, marker_id, task_block};
use super::{Entry, Options, Report, SyncError, Verb};
use crate::EngineError;
use crate::tasks::{Listing, PreparedSource, TASKS_MD, check_tasks_path};

/// The tasks file's path when the source's config has none (tasks-md's default).
const DEFAULT_PATH: &str = "spec/tasks.md";

/// A new task to append.
#[derive(Debug, Clone)]
struct New {
    id: String,
    issue: Issue,
}

/// A status to write through the source.
#[derive(Debug, Clone)]
struct StatusChange {
    id: String,
    status: TaskStatus,
}

/// Plans (and with `options.apply`, carries out) the import of the issues `gh` lists.
pub async fn sync(
    host: &Host,
    prepared: &PreparedSource,
    root: &Path,
    listing: &Listing,
    gh: &Gh,
    options: &Options,
) -> Result<Report, EngineError> {
    let expected = format!("builtin:{TASKS_MD}");
    if listing.source != expected {
        return Err(EngineError::Usage(format!(
            "--from github appends to a tasks.md file: the task source must be {expected}, \
             not {}",
            crate::terminal::safe(&listing.source)
        )));
    }
    let path = prepared
        .spec
        .config
        .get("path")
        .and_then(|p| p.as_str())
        .unwrap_or(DEFAULT_PATH)
        .to_string();
    let issues = gh.list(&options.labels, options.limit).await?;
    let (entries, new, changes) = plan(&listing.tasks, issues);
    if options.apply && (!new.is_empty() || !changes.is_empty()) {
        if !crate::tasks::commands::may_write(prepared) {
            return Err(EngineError::Usage(format!(
                "the task source {} is read-only here: grant it `tasks.permissions.workspace: \
                 write` in the workflow (or pass the tasks file itself) to import issues",
                crate::terminal::safe(&listing.source)
            )));
        }
        if !new.is_empty() {
            append(host, prepared, root, &path, &new).await?;
        }
        let call = prepared.call(root);
        for change in &changes {
            host.update_task(&prepared.source, &call, &change.id, change.status, None)
                .await?;
        }
    }
    Ok(Report {
        direction: "from_github",
        applied: options.apply,
        entries,
    })
}

/// The plan: one entry per issue (by number), the tasks to append and the statuses to write.
/// Pure.
fn plan(tasks: &[Task], mut issues: Vec<Issue>) -> (Vec<Entry>, Vec<New>, Vec<StatusChange>) {
    issues.sort_by_key(|i| i.number);
    issues.dedup_by_key(|i| i.number);
    let mut imported: BTreeMap<u64, &Task> = BTreeMap::new();
    for task in tasks {
        if let Some(number) = imported_number(&task.body) {
            imported.entry(number).or_insert(task);
        }
    }
    let mut ids = IdAllocator::new(tasks);
    let (mut entries, mut new, mut changes) = (Vec::new(), Vec::new(), Vec::new());
    for issue in issues {
        let mut entry = Entry {
            action: Verb::Unchanged,
            task: None,
            issue: Some(issue.number),
            detail: Vec::new(),
        };
        if let Some(task) = imported.get(&issue.number) {
            entry.task = Some(task.id.clone());
            let wanted = match (issue.is_closed(), task.status) {
                (true, TaskStatus::Done)
                | (false, TaskStatus::Todo | TaskStatus::InProgress | TaskStatus::Blocked) => None,
                (true, _) => Some(TaskStatus::Done),
                (false, TaskStatus::Done) => Some(TaskStatus::Todo),
            };
            if let Some(status) = wanted {
                entry.action = Verb::Update;
                entry
                    .detail
                    .push(format!("status: {} -> {status}", task.status));
                changes.push(StatusChange {
                    id: task.id.clone(),
                    status,
                });
            }
        } else if let Some(id) = marker_id(&issue.body) {
            entry.action = Verb::Skip;
            entry.task = Some(id.to_string());
            entry.detail.push(format!("exported from task {id}"));
        } else {
            let id = ids.next();
            entry.action = Verb::Create;
            entry.task = Some(id.clone());
            if issue.is_closed() {
                entry.detail.push("closed: imported as done".into());
            }
            new.push(New { id, issue });
        }
        entries.push(entry);
    }
    (entries, new, changes)
}

/// Hands out ids after the highest of the file: the prefix and zero padding of that id
/// (`TASK-001`), `TASK-001` for a file without tasks.
struct IdAllocator {
    prefix: String,
    width: usize,
    next: u64,
}

impl IdAllocator {
    fn new(tasks: &[Task]) -> Self {
        let mut best: Option<(u64, String, usize)> = None;
        for task in tasks {
            let Some((prefix, digits)) = task.id.rsplit_once('-') else {
                continue;
            };
            let Ok(number) = digits.parse::<u64>() else {
                continue;
            };
            if prefix.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if best.as_ref().is_none_or(|(n, _, _)| number > *n) {
                best = Some((number, prefix.to_string(), digits.len()));
            }
        }
        let (last, prefix, width) = best.unwrap_or((0, "TASK".into(), 3));
        IdAllocator {
            prefix,
            width,
            next: last.saturating_add(1),
        }
    }

    fn next(&mut self) -> String {
        let id = format!("{}-{:0width$}", self.prefix, self.next, width = self.width);
        self.next = self.next.saturating_add(1);
        id
    }
}

/// Appends the new tasks to the tasks file at `path` (relative to `root`): validated by the
/// source on a temporary copy, then renamed over the file (see the module documentation).
async fn append(
    host: &Host,
    prepared: &PreparedSource,
    root: &Path,
    path: &str,
    new: &[New],
) -> Result<(), EngineError> {
    check_tasks_path(root, path)?;
    let file = root.join(path);
    let before = std::fs::read_to_string(&file).map_err(|e| EngineError::io(&file, e))?;
    let emoji = before.is_empty() || ["⬜", "✅", "🔄", "⏸"].iter().any(|e| before.contains(e));
    let mut after = before.clone();
    if !after.is_empty() && !after.ends_with('\n') {
        after.push('\n');
    }
    if !after.is_empty() && !after.ends_with("\n\n") {
        after.push('\n');
    }
    for task in new {
        after.push_str(&task_block(
            &ImportedTask {
                id: &task.id,
                title: &task.issue.title,
                done: task.issue.is_closed(),
                number: task.issue.number,
                url: &task.issue.url,
                body: &task.issue.body,
            },
            emoji,
        ));
    }
    let temp = temp_path(&file);
    write_synced(&temp, &after).map_err(|e| EngineError::io(&temp, e))?;
    let installed = validate(host, prepared, root, &temp, new)
        .await
        .and_then(|()| install(&file, &temp, &before));
    if installed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    installed
}

/// Lists the temporary file with the source: it must read, and hold every new task.
async fn validate(
    host: &Host,
    prepared: &PreparedSource,
    root: &Path,
    temp: &Path,
    new: &[New],
) -> Result<(), EngineError> {
    let relative = temp.strip_prefix(root).map_err(|_| {
        EngineError::Internal("the temporary tasks file is outside the repository".into())
    })?;
    let mut call = prepared.call(root);
    call.config["path"] = serde_json::Value::String(relative.to_string_lossy().into_owned());
    let listed = host
        .list_tasks(&prepared.source, &call)
        .await
        .map_err(|e| {
            EngineError::Internal(format!(
                "the tasks file with the imported issues would not read back: {e}"
            ))
        })?;
    for task in new {
        if !listed.tasks.iter().any(|t| t.id == task.id) {
            return Err(EngineError::Internal(format!(
                "the imported issue #{} did not read back as task {}",
                task.issue.number, task.id
            )));
        }
    }
    Ok(())
}

/// Renames `temp` over `file` unless `file` no longer holds `before`.
fn install(file: &Path, temp: &Path, before: &str) -> Result<(), EngineError> {
    let now = std::fs::read_to_string(file).map_err(|e| EngineError::io(file, e))?;
    if now != before {
        return Err(SyncError::TasksFile(format!(
            "{} changed while the issues were being imported; nothing was written, run the \
             sync again",
            file.display()
        ))
        .into());
    }
    std::fs::rename(temp, file).map_err(|e| EngineError::io(file, e))?;
    if let Some(dir) = file.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| EngineError::io(dir, e))?;
    }
    Ok(())
}

/// A temporary file beside `file` (same directory: the rename is atomic).
fn temp_path(file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .map_or_else(|| "tasks.md".into(), |n| n.to_string_lossy().into_owned());
    file.with_file_name(format!(".{name}.engine-sync-{}.tmp", std::process::id()))
}

fn write_synced(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, status: TaskStatus, body: &str) -> Task {
        Task {
            work: engine_core::Task {
                id: id.into(),
                title: "t".into(),
                body: body.into(),
                ..engine_core::Task::default()
            },
            status,
            raw_status: String::new(),
            priority: 1,
            depends_on: Vec::new(),
            milestone: None,
            estimate: None,
            checklist: Vec::new(),
            traces: Vec::new(),
            location: None,
        }
    }

    fn issue(number: u64, state: &str, body: &str) -> Issue {
        Issue {
            number,
            title: format!("Issue {number}"),
            body: body.into(),
            state: state.into(),
            labels: Vec::new(),
            url: String::new(),
        }
    }

    #[test]
    fn new_issues_get_ids_after_the_highest_and_imported_ones_follow_their_state() {
        let tasks = [
            task("TASK-009", TaskStatus::Todo, "**GitHub:** #4"),
            task("TASK-010", TaskStatus::Done, "**GitHub:** #5 https://x"),
            task("TASK-002", TaskStatus::Todo, ""),
        ];
        let issues = vec![
            issue(8, "OPEN", ""),
            issue(4, "CLOSED", ""),
            issue(5, "OPEN", ""),
            issue(6, "CLOSED", "x\n<!-- engine-task: TASK-002 -->"),
            issue(7, "CLOSED", "> **GitHub:** #4"),
        ];
        let (entries, new, changes) = plan(&tasks, issues);
        let summary: Vec<(Verb, Option<String>, Option<u64>)> = entries
            .iter()
            .map(|e| (e.action, e.task.clone(), e.issue))
            .collect();
        assert_eq!(
            summary,
            [
                (Verb::Update, Some("TASK-009".into()), Some(4)),
                (Verb::Update, Some("TASK-010".into()), Some(5)),
                (Verb::Skip, Some("TASK-002".into()), Some(6)),
                (Verb::Create, Some("TASK-011".into()), Some(7)),
                (Verb::Create, Some("TASK-012".into()), Some(8)),
            ]
        );
        assert_eq!(entries[0].detail, ["status: todo -> done"]);
        assert_eq!(entries[1].detail, ["status: done -> todo"]);
        assert_eq!(new.len(), 2);
        assert_eq!(changes.len(), 2);
        let mut empty = IdAllocator::new(&[]);
        assert_eq!(empty.next(), "TASK-001");
        assert_eq!(empty.next(), "TASK-002");
    }
}
