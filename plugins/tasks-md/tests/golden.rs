//! Golden files: what `tasks-md` reads from the fixtures (`tests/fixtures/*.md`), the messages
//! for malformed files, and write-back over every task of a real file touching one line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and bench code: a failed unwrap is a failed test, with its message"
)]

use std::path::Path;

use engine_source_sdk::{SourceError, TaskList, TaskStatus};
use engine_tasks_md::{Config, list_text, writeback};

mod generated;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn listed(name: &str) -> TaskList {
    list_text(&fixture(name), &format!("spec/{name}"))
        .unwrap_or_else(|e| panic!("{name} should parse: {}", e.text()))
}

#[test]
fn spec_runner_readme_example() {
    insta::assert_yaml_snapshot!(listed("spec_runner_readme.md"));
}

#[test]
fn full_file_with_every_feature() {
    insta::assert_yaml_snapshot!(listed("full.md"));
}

#[test]
fn ids_that_are_prefixes_of_other_ids() {
    insta::assert_yaml_snapshot!(listed("prefix_ids.md"));
}

#[test]
fn tasks_without_metadata_lines() {
    insta::assert_yaml_snapshot!(listed("missing_metadata.md"));
}

#[test]
fn crlf_files_read_exactly_like_lf_files() {
    for name in ["full.md", "prefix_ids.md", "spec_runner_readme.md"] {
        let lf = fixture(name);
        let crlf = lf.replace('\n', "\r\n");
        let with_bom = format!("\u{feff}{crlf}");
        let file = format!("spec/{name}");
        assert_eq!(list_text(&crlf, &file), list_text(&lf, &file), "{name}");
        assert_eq!(list_text(&with_bom, &file), list_text(&lf, &file), "{name}");
    }
}

#[test]
fn malformed_files_report_every_problem_with_its_line() {
    let Err(SourceError::Malformed(diagnostics)) =
        list_text(&fixture("errors.md"), "spec/tasks.md")
    else {
        panic!("errors.md must be malformed");
    };
    let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(text.join("\n"));
}

/// Lines that differ, allowing one inserted line: `(changed, inserted)`.
fn diff(before: &str, after: &str) -> (Vec<usize>, Vec<usize>) {
    let a: Vec<&str> = before.split('\n').collect();
    let b: Vec<&str> = after.split('\n').collect();
    if a.len() == b.len() {
        let changed = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
        return (changed, Vec::new());
    }
    assert_eq!(b.len(), a.len() + 1, "at most one line is inserted");
    let at = (0..a.len()).find(|&i| a[i] != b[i]).unwrap_or(a.len());
    assert_eq!(
        &a[at..],
        &b[at + 1..],
        "only one line was inserted, at {at}"
    );
    (Vec::new(), vec![at])
}

#[test]
fn write_back_changes_exactly_one_line_for_every_task_and_status() {
    let statuses = [
        TaskStatus::Todo,
        TaskStatus::InProgress,
        TaskStatus::Done,
        TaskStatus::Blocked,
    ];
    for name in [
        "full.md",
        "prefix_ids.md",
        "missing_metadata.md",
        "spec_runner_readme.md",
    ] {
        for crlf in [false, true] {
            let text = if crlf {
                fixture(name).replace('\n', "\r\n")
            } else {
                fixture(name)
            };
            let before = list_text(&text, name).unwrap();
            for task in &before.tasks {
                for status in statuses {
                    let after = writeback::set_status(&text, name, &task.id, status, false)
                        .unwrap_or_else(|e| panic!("{name} {}: {}", task.id, e.text()));
                    let (changed, inserted) = diff(&text, &after);
                    let touched = changed.len() + inserted.len();
                    if status == task.status {
                        assert_eq!(after, text, "{name} {} unchanged", task.id);
                        continue;
                    }
                    assert!(
                        touched <= 1,
                        "{name} {} -> {status:?}: {changed:?} {inserted:?}",
                        task.id
                    );
                    // Reading it back: only this task's status moved.
                    let reread = list_text(&after, name).unwrap();
                    for (old, new) in before.tasks.iter().zip(&reread.tasks) {
                        if old.id == task.id {
                            assert_eq!(new.status, status, "{name} {}", task.id);
                            assert_eq!(
                                (&new.body, new.priority, &new.estimate),
                                (&old.body, old.priority, &old.estimate)
                            );
                        } else {
                            // An inserted metadata line moves the tasks below it down a line.
                            let (mut new, mut old) = (new.clone(), old.clone());
                            if !inserted.is_empty() {
                                new.location = None;
                                old.location = None;
                            }
                            assert_eq!(
                                new, old,
                                "{name}: {} changed while writing {}",
                                old.id, task.id
                            );
                        }
                    }
                    if crlf {
                        assert!(
                            !after.replace("\r\n", "").contains('\n'),
                            "{name}: a bare LF appeared"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn write_back_through_the_file_system_keeps_the_rest_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("spec")).unwrap();
    let path = dir.path().join("spec/tasks.md");
    std::fs::write(&path, fixture("full.md")).unwrap();
    let config = Config {
        path: "spec/tasks.md".into(),
        tick_checklist: true,
    };

    // A user edit made before the update (anywhere else in the file) is kept.
    let edited = fixture("full.md").replace(
        "Create the repository layout and CI.",
        "Edited by the user.",
    );
    std::fs::write(&path, &edited).unwrap();
    let task =
        engine_tasks_md::write_status(dir.path(), &config, "TASK-002", TaskStatus::Done).unwrap();
    assert_eq!(task.status, TaskStatus::Done);
    assert!(
        task.checklist.iter().all(|c| c.done),
        "tick_checklist ticks every item"
    );
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(now.contains("Edited by the user."));
    assert!(now.contains("🔴 P0 | ✅ DONE | Est: 2-3d"));
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("spec"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["tasks.md"]);

    // Claim: TODO becomes IN_PROGRESS; claiming again is harmless; a done task is a conflict.
    let claimed = engine_tasks_md::claim_in(dir.path(), &config, "TASK-003").unwrap();
    assert_eq!(claimed.status, TaskStatus::InProgress);
    let again = engine_tasks_md::claim_in(dir.path(), &config, "TASK-003").unwrap();
    assert_eq!(again, claimed);
    assert!(matches!(
        engine_tasks_md::claim_in(dir.path(), &config, "TASK-001"),
        Err(SourceError::Conflict(m)) if m == "TASK-001 is already done"
    ));
    assert!(matches!(
        engine_tasks_md::claim_in(dir.path(), &config, "TASK-004"),
        Err(SourceError::Conflict(m)) if m.contains("marked BLOCKED")
    ));
    let missing = Config {
        path: "spec/nope.md".into(),
        tick_checklist: false,
    };
    assert!(matches!(
        engine_tasks_md::list_in(dir.path(), &missing),
        Err(SourceError::InvalidConfig(m)) if m.contains("spec/nope.md does not exist")
    ));
}

#[test]
fn a_file_that_is_not_utf8_is_malformed_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tasks.md"),
        b"### TASK-1: A\nP0 | TODO\n\xff\xfe\n",
    )
    .unwrap();
    let config = Config {
        path: "tasks.md".into(),
        tick_checklist: false,
    };
    let err = engine_tasks_md::list_in(dir.path(), &config).unwrap_err();
    assert_eq!(err.text(), "tasks.md:3: the file is not UTF-8 text");
}

/// A generated file of 1000 tasks reads and writes back like a small one (how long that takes
/// is `benches/thousand_tasks.rs`'s business).
#[test]
fn a_thousand_tasks_parse_and_write_back() {
    let text = generated::tasks_md(1000);
    let list = list_text(&text, "spec/tasks.md").unwrap();
    assert_eq!(list.tasks.len(), 1000);
    assert_eq!(list.tasks[999].depends_on, ["TASK-0999", "TASK-0500"]);
    let after =
        writeback::set_status(&text, "spec/tasks.md", "TASK-0500", TaskStatus::Done, true).unwrap();
    let (changed, _) = diff(&text, &after);
    assert_eq!(changed.len(), 3, "the status line and two checklist items");
    let reread = list_text(&after, "spec/tasks.md").unwrap();
    assert_eq!(reread.tasks.len(), 1000);
    assert_eq!(reread.tasks[499].status, TaskStatus::Done);
}

/// Every prefix of every fixture (most of them cut mid-line, mid-emoji or mid-id) is read and
/// written back without a panic.
#[test]
fn truncated_files_never_panic() {
    for name in [
        "full.md",
        "errors.md",
        "prefix_ids.md",
        "missing_metadata.md",
    ] {
        let text = fixture(name).replace('\n', "\r\n");
        let ends = text.char_indices().map(|(i, _)| i).chain([text.len()]);
        for end in ends {
            let prefix = &text[..end];
            let _ = list_text(prefix, name);
            let _ = writeback::set_status(prefix, name, "TASK-002", TaskStatus::Done, true);
        }
    }
}
