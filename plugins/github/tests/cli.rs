//! The `github` source against a fake `gh` answering from fixtures (`tests/fixtures`): what it
//! asks gh, how issues become tasks (priority labels, `Depends on:` lines, issues outside the
//! labels), and claim/update write-back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

use std::collections::HashMap;
use std::path::Path;

use engine_github::cli::{self, Gh, Ran};
use engine_github::config::Config;
use engine_github::issues::FIELDS;
use engine_source_sdk::{SourceError, Task, TaskStatus};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Answers `gh ARGS` from a table, records every call; anything else fails like gh does for
/// an unknown issue.
#[derive(Default)]
struct FakeGh {
    answers: HashMap<String, Ran>,
    calls: Vec<String>,
}

impl FakeGh {
    fn answer(mut self, args: &str, stdout: &str) -> Self {
        let ran = Ran {
            code: Some(0),
            stdout: stdout.to_string(),
            ..Ran::default()
        };
        self.answers.insert(args.to_string(), ran);
        self
    }

    fn fail(mut self, args: &str, stderr: &str) -> Self {
        let ran = Ran {
            code: Some(1),
            stderr: stderr.to_string(),
            ..Ran::default()
        };
        self.answers.insert(args.to_string(), ran);
        self
    }
}

impl Gh for FakeGh {
    fn run(&mut self, args: &[&str]) -> Result<Ran, SourceError> {
        let line = args.join(" ");
        self.calls.push(line.clone());
        Ok(self.answers.get(&line).cloned().unwrap_or(Ran {
            code: Some(1),
            stderr: "GraphQL: Could not resolve to an issue or pull request with the number of 99. (repository.issue)".into(),
            ..Ran::default()
        }))
    }
}

fn labelled() -> Config {
    Config {
        labels: vec!["engine".into()],
        ..Config::default()
    }
}

fn by_id<'a>(tasks: &'a [Task], id: &str) -> &'a Task {
    tasks
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

#[test]
fn listing_reads_labelled_issues_and_what_they_depend_on() {
    let list = format!("issue list --state open --limit 100 --json {FIELDS} --label engine");
    let mut gh = FakeGh::default()
        .answer(&list, &fixture("list.json"))
        .answer(
            &format!("issue view 3 --json {FIELDS}"),
            &fixture("view_3.json"),
        )
        .answer(
            &format!("issue view 4 --json {FIELDS} --repo octo/lib"),
            &fixture("view_lib4.json"),
        );
    let tasks = cli::list(&mut gh, &labelled()).unwrap();
    assert_eq!(
        gh.calls,
        [
            list,
            format!("issue view 3 --json {FIELDS}"),
            format!("issue view 4 --json {FIELDS} --repo octo/lib"),
            format!("issue view 99 --json {FIELDS}"),
        ]
    );
    let ids: Vec<&str> = tasks.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["#12", "#5", "#13", "#14", "#15", "#3", "octo/lib#4"]);
    let t = |id| by_id(&tasks.tasks, id);
    assert_eq!(
        (t("#12").priority, t("#12").depends_on.clone()),
        (1, vec!["#3".to_string(), "#5".into()])
    );
    assert_eq!(t("#12").milestone.as_deref(), Some("v1.0"));
    assert_eq!(t("#5").priority, 0);
    assert_eq!(
        (t("#13").status, t("#13").priority),
        (TaskStatus::InProgress, 3)
    );
    assert_eq!(t("#14").status, TaskStatus::Blocked);
    assert_eq!(t("#14").depends_on, ["octo/lib#4"]);
    assert_eq!(t("#15").depends_on, ["#99"]);
    assert_eq!(t("#3").status, TaskStatus::Done);
    assert!(t("#3").depends_on.is_empty());
    assert_eq!(t("octo/lib#4").status, TaskStatus::Blocked);
    assert_eq!(t("octo/lib#4").raw_status, "open, not labelled engine");
    assert_eq!(tasks.warnings.len(), 1, "{:?}", tasks.warnings);
    assert!(
        tasks.warnings[0]
            .message
            .starts_with("octo/lib#4 is open but does not carry")
    );
}

#[test]
fn the_repo_and_limit_are_passed_and_a_full_page_is_reported() {
    let config = Config {
        repo: Some("octo/app".into()),
        limit: 1,
        labels: vec!["engine".into(), "ready".into()],
        ..Config::default()
    };
    let list = format!(
        "issue list --state open --limit 1 --json {FIELDS} --label engine --label ready --repo octo/app"
    );
    let one = r#"[{"number": 1, "title": "A", "state": "OPEN", "url": "https://github.com/octo/app/issues/1"}]"#;
    let mut gh = FakeGh::default().answer(&list, one);
    let tasks = cli::list(&mut gh, &config).unwrap();
    assert_eq!(gh.calls, [list]);
    assert_eq!(tasks.tasks[0].id, "#1");
    assert!(
        tasks.warnings[0]
            .message
            .contains("only the first 1 open issues")
    );
}

fn view(number: u64, state: &str, labels: &[&str], comments: &[String]) -> String {
    let labels: Vec<serde_json::Value> = labels
        .iter()
        .map(|l| serde_json::json!({ "name": l }))
        .collect();
    let comments: Vec<serde_json::Value> = comments
        .iter()
        .map(|c| serde_json::json!({ "body": c, "author": { "login": "engine-bot" } }))
        .collect();
    serde_json::json!({
        "number": number, "title": "T", "state": state, "body": "",
        "url": format!("https://github.com/octo/app/issues/{number}"),
        "labels": labels, "comments": comments
    })
    .to_string()
}

#[test]
fn claims_label_and_comment_once_per_run() {
    let show = format!("issue view 7 --json {FIELDS},comments");
    let comment = engine_github::issues::claim_comment("run-1");
    let mut gh = FakeGh::default()
        .answer(&show, &view(7, "OPEN", &["engine"], &[]))
        .answer(&format!("issue comment 7 --body {comment}"), "")
        .answer("issue edit 7 --add-label in-progress", "");
    let task = cli::claim(&mut gh, &labelled(), "#7", "run-1").unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);
    assert_eq!(task.labels, ["engine", "in-progress"]);
    assert_eq!(gh.calls.len(), 3);
    assert_eq!(gh.calls[2], "issue edit 7 --add-label in-progress");

    // The same run again: nothing written. Another run: conflict.
    let claimed = view(
        7,
        "OPEN",
        &["engine", "in-progress"],
        std::slice::from_ref(&comment),
    );
    let mut gh = FakeGh::default().answer(&show, &claimed);
    let task = cli::claim(&mut gh, &labelled(), "7", "run-1").unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);
    let err = cli::claim(&mut gh, &labelled(), "#7", "run-2").unwrap_err();
    assert!(
        matches!(&err, SourceError::Conflict(m) if m.contains("claimed by engine run run-1")),
        "{err:?}"
    );
    assert_eq!(gh.calls.len(), 2);

    // A comment that went through before a failed label edit is not repeated.
    let half = view(7, "OPEN", &["engine"], &[comment]);
    let mut gh = FakeGh::default()
        .answer(&show, &half)
        .answer("issue edit 7 --add-label in-progress", "");
    cli::claim(&mut gh, &labelled(), "#7", "run-1").unwrap();
    assert_eq!(gh.calls[1..], ["issue edit 7 --add-label in-progress"]);

    for (state, labels) in [("CLOSED", vec!["engine"]), ("OPEN", vec!["blocked"])] {
        let mut gh = FakeGh::default().answer(&show, &view(7, state, &labels, &[]));
        let err = cli::claim(&mut gh, &labelled(), "#7", "run-1").unwrap_err();
        assert!(matches!(err, SourceError::Conflict(_)), "{err:?}");
        assert_eq!(gh.calls.len(), 1);
    }
    let mut gh = FakeGh::default();
    assert!(matches!(
        cli::claim(&mut gh, &labelled(), "#99", "run-1"),
        Err(SourceError::NotFound(_))
    ));
    assert!(matches!(
        cli::claim(&mut gh, &labelled(), "bd-1", "run-1"),
        Err(SourceError::NotFound(m)) if m.contains("not a GitHub issue id")
    ));
}

#[test]
fn updates_comment_relabel_and_close() {
    let show = format!("issue view 7 --json {FIELDS} --repo octo/app");
    let config = Config {
        repo: Some("octo/app".into()),
        ..labelled()
    };
    let working = view(7, "OPEN", &["engine", "in-progress"], &[]);
    let mut gh = FakeGh::default()
        .answer(&show, &working)
        .answer(
            "issue edit 7 --remove-label in-progress --repo octo/app",
            "",
        )
        .answer(
            "issue close 7 --comment Merged in abc123. --repo octo/app",
            "",
        );
    let task = cli::update(
        &mut gh,
        &config,
        "#7",
        TaskStatus::Done,
        Some("Merged in abc123."),
    )
    .unwrap();
    assert_eq!(
        (task.status, task.labels.clone()),
        (TaskStatus::Done, vec!["engine".to_string()])
    );
    assert_eq!(gh.calls.len(), 3);

    let mut gh = FakeGh::default()
        .answer(&show, &working)
        .answer(
            "issue comment 7 --body Tests fail: see the run. --repo octo/app",
            "",
        )
        .answer(
            "issue edit 7 --add-label blocked --remove-label in-progress --repo octo/app",
            "",
        );
    let task = cli::update(
        &mut gh,
        &config,
        "#7",
        TaskStatus::Blocked,
        Some("Tests fail: see the run."),
    )
    .unwrap();
    assert_eq!(task.labels, ["engine", "blocked"]);
    assert_eq!(gh.calls.len(), 3);

    // Closed back to todo: reopened; the status it has: nothing written.
    let closed = view(7, "CLOSED", &["engine"], &[]);
    let mut gh = FakeGh::default()
        .answer(&show, &closed)
        .answer("issue reopen 7 --repo octo/app", "");
    cli::update(&mut gh, &config, "#7", TaskStatus::Done, None).unwrap();
    assert_eq!(gh.calls.len(), 1);
    let task = cli::update(&mut gh, &config, "#7", TaskStatus::Todo, None).unwrap();
    assert_eq!(task.status, TaskStatus::Todo);
    assert_eq!(
        gh.calls[1..],
        [show.clone(), "issue reopen 7 --repo octo/app".to_string()]
    );
}

#[test]
fn gh_failures_come_back_typed_with_hints() {
    let show = format!("issue view 7 --json {FIELDS},comments");
    let mut gh = FakeGh::default()
        .answer(&show, &view(7, "OPEN", &["engine"], &[]))
        .answer(
            &format!(
                "issue comment 7 --body {}",
                engine_github::issues::claim_comment("run-1")
            ),
            "",
        )
        .fail(
            "issue edit 7 --add-label in-progress",
            "failed to update https://github.com/octo/app/issues/7: 'in-progress' not found",
        );
    let err = cli::claim(&mut gh, &labelled(), "#7", "run-1").unwrap_err();
    assert!(
        matches!(&err, SourceError::Failed(m) if m.contains("gh label create")),
        "{err:?}"
    );
    let list = format!("issue list --state open --limit 100 --json {FIELDS}");
    for (stderr, temporary) in [
        (
            "To get started with GitHub CLI, please run:  gh auth login",
            false,
        ),
        ("error connecting to api.github.com", true),
        ("HTTP 503: Service Unavailable", true),
    ] {
        let mut gh = FakeGh::default().fail(&list, stderr);
        let err = cli::list(&mut gh, &Config::default()).unwrap_err();
        assert_eq!(err_is_temporary(&err), temporary, "{err:?}");
    }
    let mut gh = FakeGh::default().answer(&list, "not json");
    assert!(matches!(
        cli::list(&mut gh, &Config::default()),
        Err(SourceError::Failed(_))
    ));
}

fn err_is_temporary(err: &SourceError) -> bool {
    matches!(err, SourceError::Unavailable(_))
}
