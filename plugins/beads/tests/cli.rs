//! The `beads` source against a fake `bd` answering from fixtures (`tests/fixtures`): what it
//! asks bd, how bd's JSON (enveloped or not) becomes tasks, the export fallback without bd, and
//! claim/update write-back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

use std::collections::HashMap;
use std::path::Path;

use engine_beads::cli::{self, Bd, Ran, RunError};
use engine_beads::config::Config;
use engine_source_sdk::{SourceError, Task, TaskStatus};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Answers `bd ARGS` from a table (exit 0 with the text), records every call.
#[derive(Default)]
struct FakeBd {
    missing: bool,
    answers: HashMap<String, Ran>,
    files: HashMap<String, String>,
    calls: Vec<String>,
}

impl FakeBd {
    fn answer(mut self, args: &str, stdout: &str) -> Self {
        self.answers.insert(
            args.to_string(),
            Ran {
                code: Some(0),
                stdout: stdout.to_string(),
                ..Ran::default()
            },
        );
        self
    }

    fn fail(mut self, args: &str, code: i32, stderr: &str) -> Self {
        self.answers.insert(
            args.to_string(),
            Ran {
                code: Some(code),
                stderr: stderr.to_string(),
                ..Ran::default()
            },
        );
        self
    }
}

impl Bd for FakeBd {
    fn run(&mut self, args: &[&str]) -> Result<Ran, RunError> {
        let line = args.join(" ");
        self.calls.push(line.clone());
        if self.missing {
            return Err(RunError::Missing("`bd` is not on the host's PATH".into()));
        }
        Ok(self.answers.get(&line).cloned().unwrap_or(Ran {
            code: Some(1),
            stderr: format!("fake bd: no answer for `{line}`"),
            ..Ran::default()
        }))
    }

    fn read(&mut self, path: &str) -> Result<Option<String>, SourceError> {
        Ok(self.files.get(path).cloned())
    }

    fn now(&self) -> Option<i64> {
        Some(1_780_000_000)
    }
}

fn by_id<'a>(tasks: &'a [Task], id: &str) -> &'a Task {
    tasks
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

const LIST: &str = "list --json --limit 0";

#[test]
fn listing_asks_bd_for_open_issues_then_what_they_depend_on() {
    let mut bd = FakeBd::default()
        .answer(LIST, &fixture("list.json"))
        .answer(
            "list --json --all --limit 0 --id bd-8,bd-404,bd-9",
            &fixture("closed.json"),
        );
    let list = cli::list(&mut bd, &Config::default()).unwrap();
    assert_eq!(
        bd.calls,
        [LIST, "list --json --all --limit 0 --id bd-8,bd-404,bd-9"]
    );
    let ids: Vec<&str> = list.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "bd-1", "bd-2", "bd-4", "bd-4.1", "bd-5", "bd-6", "bd-7", "bd-10", "bd-8", "bd-9"
        ]
    );
    let deps = |id: &str| by_id(&list.tasks, id).depends_on.clone();
    assert!(deps("bd-1").is_empty());
    assert_eq!(deps("bd-2"), ["bd-1"]);
    assert_eq!(deps("bd-4"), ["bd-1", "bd-4.1"]);
    assert_eq!(deps("bd-4.1"), ["bd-1"]);
    assert_eq!(deps("bd-6"), ["bd-4.1"]);
    assert_eq!(deps("bd-10"), ["bd-404", "bd-9"]);
    assert_eq!(by_id(&list.tasks, "bd-5").status, TaskStatus::Blocked);
    assert_eq!(by_id(&list.tasks, "bd-7").status, TaskStatus::Blocked);
    assert_eq!(by_id(&list.tasks, "bd-9").status, TaskStatus::Done);
    assert_eq!(by_id(&list.tasks, "bd-10").status, TaskStatus::InProgress);
    let login = by_id(&list.tasks, "bd-2");
    assert_eq!(login.labels, ["auth", "type:feature"]);
    assert_eq!(login.priority, 0);
    assert_eq!(login.location, None);
    assert_eq!(list.warnings.len(), 1, "{:?}", list.warnings);
    assert!(
        list.warnings[0]
            .message
            .contains("bd-5 runs only if bd-8 fails")
    );
}

#[test]
fn dependencies_bd_left_out_are_asked_for_and_any_children_gates_checked() {
    let listed = r#"[{"id":"a","dependency_count":1},
        {"id":"gate","dependencies":[{"depends_on_id":"s","type":"waits-for","metadata":{"gate":"any-children"}}]},
        {"id":"s"},{"id":"s.1","parent":"s"}]"#;
    let shown = r#"{"schema_version":1,"data":[{"id":"a","dependencies":[{"id":"s","title":"S","dependency_type":"blocks"}]}]}"#;
    let mut bd = FakeBd::default()
        .answer(LIST, listed)
        .answer("show a --json", shown)
        .answer(
            "list --json --all --limit 1 --parent s --status closed",
            r#"[{"id":"s.2","status":"closed"}]"#,
        );
    let list = cli::list(&mut bd, &Config::default()).unwrap();
    assert_eq!(
        bd.calls,
        [
            LIST,
            "show a --json",
            "list --json --all --limit 1 --parent s --status closed"
        ]
    );
    assert_eq!(by_id(&list.tasks, "a").depends_on, ["s"]);
    assert!(by_id(&list.tasks, "gate").depends_on.is_empty());
}

#[test]
fn without_bd_the_export_is_read() {
    let mut bd = FakeBd {
        missing: true,
        ..FakeBd::default()
    };
    bd.files
        .insert(".beads/issues.jsonl".into(), fixture("issues.jsonl"));
    let list = cli::list(&mut bd, &Config::default()).unwrap();
    assert_eq!(bd.calls, [LIST]);
    let ids: Vec<&str> = list.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["bd-1", "bd-2", "bd-4", "bd-4.1", "bd-5"]);
    assert_eq!(by_id(&list.tasks, "bd-2").depends_on, ["bd-1"]);
    assert_eq!(by_id(&list.tasks, "bd-4.1").depends_on, ["bd-5"]);
    assert_eq!(
        by_id(&list.tasks, "bd-4.1")
            .location
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some(".beads/issues.jsonl:7")
    );
    let messages: Vec<&str> = list.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        messages[0].starts_with("bd is not installed"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("bd-2 depends on bd-3 (blocks), which was deleted"),
        "{messages:?}"
    );

    // Writes need bd.
    let err = cli::claim(&mut bd, &Config::default(), "bd-2", "run-1").unwrap_err();
    assert!(
        matches!(&err, SourceError::Unsupported(m) if m.contains("cannot claim or update bd-2")),
        "{err:?}"
    );
    let err = cli::update(&mut bd, &Config::default(), "bd-2", TaskStatus::Done, None);
    assert!(matches!(err, Err(SourceError::Unsupported(_))));

    // No export either.
    bd.files.clear();
    let err = cli::list(&mut bd, &Config::default()).unwrap_err();
    assert!(
        matches!(&err, SourceError::Failed(m) if m.contains("bd export -o .beads/issues.jsonl")),
        "{err:?}"
    );
}

#[test]
fn bd_failures_come_back_typed() {
    let mut bd = FakeBd::default().fail(LIST, 1, "Error: no beads database found");
    let err = cli::list(&mut bd, &Config::default()).unwrap_err();
    assert_eq!(
        err,
        SourceError::Failed(
            "`bd list --json --limit 0` failed (exit 1): Error: no beads database found".into()
        )
    );
    let mut bd = FakeBd::default();
    bd.answers.insert(
        LIST.into(),
        Ran {
            code: Some(0),
            stdout: "[".into(),
            truncated: true,
            ..Ran::default()
        },
    );
    let err = cli::list(&mut bd, &Config::default()).unwrap_err();
    assert!(
        matches!(&err, SourceError::Failed(m) if m.contains("more output")),
        "{err:?}"
    );
    let mut bd = FakeBd::default().fail("show bd-9 --json", 1, "Error: issue bd-9 not found");
    let err = cli::claim(&mut bd, &Config::default(), "bd-9", "run-1").unwrap_err();
    assert!(matches!(err, SourceError::NotFound(_)), "{err:?}");
}

fn show(issue: &str) -> String {
    format!(r#"{{"schema_version":1,"data":[{issue}]}}"#)
}

#[test]
fn claiming_takes_open_issues_once_per_claimant() {
    let open = show(r#"{"id":"bd-1","title":"A","status":"open","priority":1}"#);
    let mine = show(r#"{"id":"bd-1","title":"A","status":"in_progress","assignee":"run-1"}"#);
    let mut bd = FakeBd::default().answer("show bd-1 --json", &open).answer(
        "update bd-1 --status in_progress --assignee=run-1 --json",
        &mine,
    );
    let task = cli::claim(&mut bd, &Config::default(), "bd-1", "run-1").unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);
    assert_eq!(
        bd.calls,
        [
            "show bd-1 --json",
            "update bd-1 --status in_progress --assignee=run-1 --json"
        ]
    );

    // Claimed again by the same run: nothing is written.
    let mut bd = FakeBd::default().answer("show bd-1 --json", &mine);
    let task = cli::claim(&mut bd, &Config::default(), "bd-1", "run-1").unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);
    assert_eq!(bd.calls, ["show bd-1 --json"]);

    // Someone else's, closed, deferred: conflicts, nothing written.
    for (issue, words) in [
        (
            r#"{"id":"bd-1","status":"in_progress","assignee":"alice"}"#,
            "assigned to alice",
        ),
        (r#"{"id":"bd-1","status":"closed"}"#, "is closed"),
        (
            r#"{"id":"bd-1","status":"open","defer_until":"2099-01-01"}"#,
            "deferred until 2099-01-01",
        ),
    ] {
        let mut bd = FakeBd::default().answer("show bd-1 --json", &show(issue));
        let err = cli::claim(&mut bd, &Config::default(), "bd-1", "run-2").unwrap_err();
        assert!(
            matches!(&err, SourceError::Conflict(m) if m.contains(words)),
            "{err:?}"
        );
        assert_eq!(bd.calls.len(), 1);
    }
}

#[test]
fn updates_close_reopen_and_comment() {
    let open = show(r#"{"id":"bd-1","status":"in_progress","assignee":"run-1"}"#);
    let mut bd = FakeBd::default()
        .answer("show bd-1 --json", &open)
        .answer("close bd-1 --reason=merged in abc123 --json", "");
    let task = cli::update(
        &mut bd,
        &Config::default(),
        "bd-1",
        TaskStatus::Done,
        Some("merged in abc123"),
    )
    .unwrap();
    assert_eq!(
        (task.status, task.raw_status.as_str()),
        (TaskStatus::Done, "closed")
    );
    assert_eq!(bd.calls[1], "close bd-1 --reason=merged in abc123 --json");

    let mut bd = FakeBd::default()
        .answer("show bd-1 --json", &open)
        .answer("update bd-1 --status blocked --json", "")
        .answer("comments add bd-1 -- -tests fail", "");
    let task = cli::update(
        &mut bd,
        &Config::default(),
        "bd-1",
        TaskStatus::Blocked,
        Some("-tests fail"),
    )
    .unwrap();
    assert_eq!(task.status, TaskStatus::Blocked);
    assert_eq!(
        bd.calls[1..],
        [
            "update bd-1 --status blocked --json",
            "comments add bd-1 -- -tests fail"
        ]
    );

    // Already there: nothing written. Closed back to todo: reopened.
    let closed = show(r#"{"id":"bd-1","status":"closed"}"#);
    let mut bd = FakeBd::default()
        .answer("show bd-1 --json", &closed)
        .answer(
            "reopen bd-1 --json",
            &show(r#"{"id":"bd-1","status":"open"}"#),
        );
    cli::update(&mut bd, &Config::default(), "bd-1", TaskStatus::Done, None).unwrap();
    assert_eq!(bd.calls.len(), 1);
    let task = cli::update(&mut bd, &Config::default(), "bd-1", TaskStatus::Todo, None).unwrap();
    assert_eq!(task.status, TaskStatus::Todo);
    assert_eq!(
        bd.calls.last().map(String::as_str),
        Some("reopen bd-1 --json")
    );

    // Closing with open blockers is refused by bd: the message comes through.
    let mut bd = FakeBd::default().answer("show bd-1 --json", &open).fail(
        "close bd-1 --reason=Completed by engine --json",
        1,
        "cannot close bd-1: blocked by open issues [bd-2]",
    );
    let err = cli::update(&mut bd, &Config::default(), "bd-1", TaskStatus::Done, None);
    assert!(
        matches!(&err, Err(SourceError::Conflict(m)) if m.contains("blocked by open issues")),
        "{err:?}"
    );
}
