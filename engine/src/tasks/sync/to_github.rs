//! `engine tasks sync --to github`: each task of the source becomes an issue.
//!
//! - title `ID: title`, body = the task's text + the marker `<!-- engine-task: ID -->`, the
//!   sync labels; closed exactly when the task is done.
//! - An issue (among those carrying the sync labels) whose body ends with the task's marker is
//!   the task's issue: it is updated when its title, body, state or labels differ, else left
//!   unchanged. Several issues with one marker: the lowest number is used, the others named.
//! - A task imported from an issue (`**GitHub:** #N`) is that issue: only its state follows
//!   the task (closed when done), its title and body are left as their author wrote them.
//! - A task that is done and was never exported is skipped (no closed issue is created for
//!   it), as is a task whose id cannot go into a marker.

use std::collections::BTreeMap;

use engine_tasks::{Task, TaskStatus};

use super::gh::{Gh, Issue};
use super::markdown::{
    exportable_id, imported_number, issue_body, issue_title, marker_id, same_body,
};
use super::{Entry, Options, Report, SyncError, Verb};

/// What to do for one task.
#[derive(Debug, Clone)]
struct Step {
    entry: Entry,
    title: String,
    body: String,
    closed: bool,
    /// Edit title/body/labels (an existing issue).
    edit: bool,
    /// Close or reopen it (an existing issue).
    set_state: bool,
    missing_labels: Vec<String>,
}

/// Plans (and with `options.apply`, carries out) the export of `tasks`.
pub async fn sync(gh: &Gh, tasks: &[Task], options: &Options) -> Result<Report, SyncError> {
    let issues = gh.list(&options.labels, options.limit).await?;
    let mut steps = plan(tasks, &issues, &options.labels);
    if options.apply {
        for step in &mut steps {
            apply(gh, step, &options.labels).await?;
        }
    }
    Ok(Report {
        direction: "to_github",
        applied: options.apply,
        entries: steps.into_iter().map(|s| s.entry).collect(),
    })
}

/// The plan: one step per task, in the source's order. Pure.
fn plan(tasks: &[Task], issues: &[Issue], labels: &[String]) -> Vec<Step> {
    let mut by_marker: BTreeMap<&str, Vec<&Issue>> = BTreeMap::new();
    for issue in issues {
        if let Some(id) = marker_id(&issue.body) {
            by_marker.entry(id).or_default().push(issue);
        }
    }
    for found in by_marker.values_mut() {
        found.sort_by_key(|i| i.number);
    }
    tasks
        .iter()
        .map(|task| {
            let title = issue_title(task);
            let body = issue_body(task);
            let closed = task.status == TaskStatus::Done;
            let mut step = Step {
                entry: Entry {
                    action: Verb::Unchanged,
                    task: Some(task.id.clone()),
                    issue: None,
                    detail: Vec::new(),
                },
                title,
                body,
                closed,
                edit: false,
                set_state: false,
                missing_labels: Vec::new(),
            };
            if !exportable_id(&task.id) {
                step.entry.action = Verb::Skip;
                step.entry.detail.push(
                    "the id cannot be written into a marker (letters, digits, -, _, ., # only)"
                        .into(),
                );
                return step;
            }
            if let Some(number) = imported_number(&task.body) {
                return imported(step, number, issues);
            }
            let Some(found) = by_marker.get(task.id.as_str()) else {
                if closed {
                    step.entry.action = Verb::Skip;
                    step.entry.detail.push("done and never exported".into());
                } else {
                    step.entry.action = Verb::Create;
                }
                return step;
            };
            let issue = found[0];
            step.entry.issue = Some(issue.number);
            let mut changes: Vec<String> = Vec::new();
            if issue.title != step.title {
                changes.push("title".into());
            }
            if !same_body(&issue.body, &step.body) {
                changes.push("body".into());
            }
            step.missing_labels = labels
                .iter()
                .filter(|l| !issue.labels.iter().any(|have| &have.name == *l))
                .cloned()
                .collect();
            if !step.missing_labels.is_empty() {
                changes.push("labels".into());
            }
            step.edit = !changes.is_empty();
            if issue.is_closed() != closed {
                step.set_state = true;
                changes.push(if closed { "close" } else { "reopen" }.into());
            }
            step.entry.detail = changes;
            for other in &found[1..] {
                step.entry.detail.push(format!(
                    "#{} also has this task's marker (left alone)",
                    other.number
                ));
            }
            if step.edit || step.set_state {
                step.entry.action = Verb::Update;
            }
            step
        })
        .collect()
}

/// The step of a task imported from issue `number` (`--from github`): only the issue's state
/// follows the task (its title and body stay the author's); skipped when the issue is not
/// among the listed ones.
fn imported(mut step: Step, number: u64, issues: &[Issue]) -> Step {
    let Some(issue) = issues.iter().find(|i| i.number == number) else {
        step.entry.action = Verb::Skip;
        step.entry.detail.push(format!(
            "imported from #{number}, which is not among the issues with the sync labels"
        ));
        return step;
    };
    step.entry.issue = Some(number);
    if issue.is_closed() != step.closed {
        step.entry.action = Verb::Update;
        step.set_state = true;
        step.entry
            .detail
            .push(if step.closed { "close" } else { "reopen" }.into());
    }
    step.entry.detail.push("imported: state only".into());
    step
}

async fn apply(gh: &Gh, step: &mut Step, labels: &[String]) -> Result<(), SyncError> {
    match step.entry.action {
        Verb::Create => {
            let number = gh.create(&step.title, &step.body, labels).await?;
            step.entry.issue = Some(number);
        }
        Verb::Update => {
            let Some(number) = step.entry.issue else {
                return Ok(());
            };
            if step.edit {
                gh.edit(number, &step.title, &step.body, &step.missing_labels)
                    .await?;
            }
            if step.set_state {
                gh.set_closed(number, step.closed).await?;
            }
        }
        Verb::Unchanged | Verb::Skip => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::sync::gh::Label;

    fn task(id: &str, status: TaskStatus) -> Task {
        Task {
            work: engine_core::Task {
                id: id.into(),
                title: "Do it".into(),
                body: "Text.".into(),
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

    fn issue(number: u64, body: &str, state: &str) -> Issue {
        Issue {
            number,
            title: "T-1: Do it".into(),
            body: body.into(),
            state: state.into(),
            labels: vec![Label {
                name: "engine".into(),
            }],
            url: String::new(),
        }
    }

    #[test]
    fn the_marker_decides_and_only_differences_update() {
        let labels = vec!["engine".to_string()];
        let body = "Text.\n\n<!-- engine-task: T-1 -->\n";
        let tasks = [
            task("T-1", TaskStatus::Todo),
            task("T-2", TaskStatus::Todo),
            task("T-3", TaskStatus::Done),
            task("T 4", TaskStatus::Todo),
        ];
        let issues = [
            issue(9, "forged\n<!-- engine-task: T-2 -->\nlast line", "OPEN"),
            issue(5, body, "OPEN"),
            issue(7, &body.replace('\n', "\r\n"), "OPEN"),
        ];
        let steps = plan(&tasks, &issues, &labels);
        let entries: Vec<(Verb, Option<u64>, Vec<String>)> = steps
            .iter()
            .map(|s| (s.entry.action, s.entry.issue, s.entry.detail.clone()))
            .collect();
        assert_eq!(
            entries,
            [
                (
                    Verb::Unchanged,
                    Some(5),
                    vec!["#7 also has this task's marker (left alone)".to_string()]
                ),
                (Verb::Create, None, vec![]),
                (
                    Verb::Skip,
                    None,
                    vec!["done and never exported".to_string()]
                ),
                (
                    Verb::Skip,
                    None,
                    vec![
                        "the id cannot be written into a marker (letters, digits, -, _, ., # \
                         only)"
                            .to_string()
                    ]
                ),
            ]
        );
        let done = [task("T-1", TaskStatus::Done)];
        let mut changed = issue(5, "old\n<!-- engine-task: T-1 -->", "OPEN");
        changed.title = "T-1: Old".into();
        changed.labels.clear();
        let steps = plan(&done, &[changed], &labels);
        assert_eq!(steps[0].entry.action, Verb::Update);
        assert_eq!(steps[0].entry.detail, ["title", "body", "labels", "close"]);
        assert!(steps[0].edit && steps[0].set_state);
    }
}
