//! What the source asks `gh`. Everything goes through the [`Gh`] trait, so the logic runs (and
//! is tested) on the host; the component implements it with the `exec` import.
//!
//! - list: `gh issue list --state open --limit N --json FIELDS [--label L]... [--repo R]`, then
//!   `gh issue view N --json FIELDS` for every issue a listed one depends on that the list did
//!   not hold (closed ones become done tasks, open ones outside the labels blocked ones).
//! - claim: `gh issue view N --json FIELDS,comments`, `gh issue comment N --body ...` (naming
//!   the run, unless `claim_comment: false`) and `gh issue edit N --add-label in-progress`.
//! - update: `gh issue close N [--comment NOTE]` for done; otherwise a comment with the note,
//!   then `gh issue reopen`/`gh issue edit` for the labels.

use engine_source_sdk::{Diagnostic, SourceError, Task, TaskList, TaskStatus};

use crate::config::Config;
use crate::issues::{self, FIELDS, GhIssue};
use crate::refs::Ref;

/// How a `gh` command ended.
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

/// Access to `gh`.
pub trait Gh {
    /// Runs `gh ARGS` in the repository; an error when it cannot be started at all.
    fn run(&mut self, args: &[&str]) -> Result<Ran, SourceError>;
}

/// Every open issue with the labels, and the issues they depend on.
pub fn list(gh: &mut dyn Gh, config: &Config) -> Result<TaskList, SourceError> {
    let limit = config.limit.to_string();
    let mut args = vec![
        "issue", "list", "--state", "open", "--limit", &limit, "--json", FIELDS,
    ];
    for label in &config.labels {
        args.extend(["--label", label.as_str()]);
    }
    if let Some(repo) = &config.repo {
        args.extend(["--repo", repo.as_str()]);
    }
    let listed = query(gh, &args, None)?;
    let home = config
        .repo
        .clone()
        .or_else(|| listed.iter().find_map(GhIssue::repo));
    let home = home.as_deref();
    let mut warnings = Vec::new();
    let mut tasks: Vec<Task> = listed
        .iter()
        .map(|i| issues::task(i, home, config, &mut warnings))
        .collect();
    if listed.len() >= config.limit as usize {
        warnings.push(Diagnostic {
            location: None,
            message: format!(
                "only the first {} open issues were listed; raise `limit` to see the others",
                config.limit
            ),
        });
    }

    let mut wanted: Vec<String> = Vec::new();
    for dep in tasks.iter().flat_map(|t| t.depends_on.iter()) {
        if !tasks.iter().any(|t| &t.id == dep) && !wanted.contains(dep) {
            wanted.push(dep.clone());
        }
    }
    for id in wanted {
        let Some(r) = Ref::parse(&id) else { continue };
        let issue = match view(gh, config, &r, false) {
            Ok(issue) => issue,
            Err(SourceError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let mut task = issues::task(&issue, home, config, &mut Vec::new());
        task.depends_on.clear();
        let labelled = config.labels.iter().all(|l| issue.has_label(l));
        if !issue.is_closed() && !labelled {
            task.status = TaskStatus::Blocked;
            task.raw_status = format!("open, not labelled {}", config.labels.join(", "));
            warnings.push(Diagnostic {
                location: task.location.clone(),
                message: format!(
                    "{} is open but does not carry the label(s) {}, so engine does not work on \
                     it; what depends on it waits until it is closed",
                    task.id,
                    config.labels.join(", ")
                ),
            });
        }
        tasks.push(task);
    }
    Ok(TaskList { tasks, warnings })
}

/// Labels an open issue in progress (and comments, naming the run). Claiming an issue the
/// same run claimed succeeds without writing; a closed or blocked one, or one in progress
/// for someone else, is a conflict.
pub fn claim(
    gh: &mut dyn Gh,
    config: &Config,
    id: &str,
    claimant: &str,
) -> Result<Task, SourceError> {
    let r = parse_id(id)?;
    let issue = view(gh, config, &r, true)?;
    let home = config.repo.clone().or_else(|| issue.repo());
    let task = issues::task(&issue, home.as_deref(), config, &mut Vec::new());
    let holder = issue.claimed_by();
    match task.status {
        TaskStatus::Done | TaskStatus::Blocked => {
            return Err(SourceError::Conflict(format!(
                "{id} is {}; it cannot be claimed",
                task.raw_status
            )));
        }
        TaskStatus::InProgress if !config.claim_comment || holder.as_deref() == Some(claimant) => {
            return Ok(task);
        }
        TaskStatus::InProgress => {
            let by = holder.map_or("someone".to_string(), |h| format!("engine run {h}"));
            return Err(SourceError::Conflict(format!(
                "{id} is already labelled {} (claimed by {by})",
                config.in_progress_label
            )));
        }
        TaskStatus::Todo => {}
    }
    let number = r.number.to_string();
    if config.claim_comment && holder.as_deref() != Some(claimant) {
        let body = issues::claim_comment(claimant);
        write(
            gh,
            config,
            &r,
            &["issue", "comment", &number, "--body", &body],
        )?;
    }
    let label = config.in_progress_label.as_str();
    write(
        gh,
        config,
        &r,
        &["issue", "edit", &number, "--add-label", label],
    )?;
    let mut labels = task.labels.clone();
    labels.push(label.to_string());
    Ok(Task {
        status: TaskStatus::InProgress,
        raw_status: format!("open, {label}"),
        labels,
        ..task
    })
}

/// Sets the status: done closes the issue (the note as its closing comment); otherwise the note
/// becomes a comment and the labels (and open/closed state) change. Setting the status the
/// issue already has changes nothing.
pub fn update(
    gh: &mut dyn Gh,
    config: &Config,
    id: &str,
    status: TaskStatus,
    note: Option<&str>,
) -> Result<Task, SourceError> {
    let r = parse_id(id)?;
    let issue = view(gh, config, &r, false)?;
    let home = config.repo.clone().or_else(|| issue.repo());
    let task = issues::task(&issue, home.as_deref(), config, &mut Vec::new());
    if task.status == status {
        return Ok(task);
    }
    let number = r.number.to_string();
    let note = note.filter(|n| !n.trim().is_empty());
    let (progress, blocked) = (
        config.in_progress_label.as_str(),
        config.blocked_label.as_str(),
    );
    let (add, raw) = match status {
        TaskStatus::Done => (None, "closed".to_string()),
        TaskStatus::Todo => (None, "open".to_string()),
        TaskStatus::InProgress => (Some(progress), format!("open, {progress}")),
        TaskStatus::Blocked => (Some(blocked), format!("open, {blocked}")),
    };
    if status != TaskStatus::Done
        && let Some(note) = note
    {
        write(
            gh,
            config,
            &r,
            &["issue", "comment", &number, "--body", note],
        )?;
    }
    if status != TaskStatus::Done && issue.is_closed() {
        write(gh, config, &r, &["issue", "reopen", &number])?;
    }
    let mut edit = vec!["issue", "edit", number.as_str()];
    if let Some(label) = add {
        edit.extend(["--add-label", label]);
    }
    for label in [progress, blocked] {
        if Some(label) != add && issue.has_label(label) {
            edit.extend(["--remove-label", label]);
        }
    }
    if edit.len() > 3 {
        write(gh, config, &r, &edit)?;
    }
    if status == TaskStatus::Done {
        let mut close = vec!["issue", "close", number.as_str()];
        if let Some(note) = note {
            close.extend(["--comment", note]);
        }
        write(gh, config, &r, &close)?;
    }
    let mut labels: Vec<String> = task
        .labels
        .iter()
        .filter(|l| !l.eq_ignore_ascii_case(progress) && !l.eq_ignore_ascii_case(blocked))
        .cloned()
        .collect();
    labels.extend(add.map(str::to_string));
    Ok(Task {
        status,
        raw_status: raw,
        labels,
        ..task
    })
}

/// `#12`, `12` or `owner/repo#12`.
fn parse_id(id: &str) -> Result<Ref, SourceError> {
    Ref::parse(id).ok_or_else(|| {
        SourceError::NotFound(format!(
            "{id:?} is not a GitHub issue id (write #12, 12 or owner/repo#12)"
        ))
    })
}

/// `gh issue view N --json FIELDS[,comments]`.
fn view(gh: &mut dyn Gh, config: &Config, r: &Ref, comments: bool) -> Result<GhIssue, SourceError> {
    let number = r.number.to_string();
    let fields = if comments {
        format!("{FIELDS},comments")
    } else {
        FIELDS.to_string()
    };
    let mut args = vec!["issue", "view", number.as_str(), "--json", fields.as_str()];
    let repo = r.repo.as_ref().or(config.repo.as_ref());
    if let Some(repo) = repo {
        args.extend(["--repo", repo.as_str()]);
    }
    let id = r.id(None);
    query(gh, &args, Some(&id))?
        .into_iter()
        .next()
        .ok_or_else(|| SourceError::NotFound(format!("GitHub has no issue {id}")))
}

fn query(gh: &mut dyn Gh, args: &[&str], id: Option<&str>) -> Result<Vec<GhIssue>, SourceError> {
    let what = format!("gh {}", args.join(" "));
    let ran = gh.run(args)?;
    check(&ran, &what, id)?;
    if ran.truncated {
        return Err(SourceError::Failed(format!(
            "`{what}` printed more output than engine keeps; lower `limit`"
        )));
    }
    issues::parse(&ran.stdout, &what)
}

fn write(gh: &mut dyn Gh, config: &Config, r: &Ref, args: &[&str]) -> Result<(), SourceError> {
    let mut args = args.to_vec();
    let repo = r.repo.as_ref().or(config.repo.as_ref());
    if let Some(repo) = repo {
        args.extend(["--repo", repo.as_str()]);
    }
    let what = format!("gh {}", args.join(" "));
    let ran = gh.run(&args)?;
    check(&ran, &what, Some(&r.id(None))).map_err(|e| match e {
        SourceError::Failed(m) if args.get(1) == Some(&"edit") && m.contains("not found") => {
            let labels: Vec<&str> = args
                .windows(2)
                .filter(|w| w[0] == "--add-label")
                .map(|w| w[1])
                .collect();
            SourceError::Failed(format!(
                "{m}\nthe label must exist in the repository: create it with `gh label create \
                 {}`",
                labels.join("` and `gh label create ")
            ))
        }
        other => other,
    })
}

/// A command that timed out or exited non-zero, as an error.
fn check(ran: &Ran, what: &str, id: Option<&str>) -> Result<(), SourceError> {
    if ran.timed_out {
        return Err(SourceError::Unavailable(format!("`{what}` timed out")));
    }
    if ran.code == Some(0) {
        return Ok(());
    }
    let detail = match ran.stderr.trim() {
        "" => ran.stdout.trim(),
        text => text,
    };
    let detail = if detail.is_empty() {
        "no message"
    } else {
        detail
    };
    let lower = detail.to_lowercase();
    let code = ran
        .code
        .map_or("killed".to_string(), |c| format!("exit {c}"));
    let message = format!("`{what}` failed ({code}): {detail}");
    let any = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    Err(match id {
        Some(id) if any(&["could not resolve to an issue", "issue not found"]) => {
            SourceError::NotFound(format!("GitHub has no issue {id}: {detail}"))
        }
        _ if any(&["gh auth login", "authentication", "http 401"]) => {
            SourceError::Failed(format!("{message}\nlog in with `gh auth login`"))
        }
        _ if any(&[
            "timeout",
            "timed out",
            "connection",
            "could not connect",
            "error connecting",
            "rate limit",
            "http 502",
            "http 503",
            "http 504",
        ]) =>
        {
            SourceError::Unavailable(message)
        }
        _ => SourceError::Failed(message),
    })
}
