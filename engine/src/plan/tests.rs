//! The check and the write against the real `builtin:tasks-md` component: a file that changed
//! between the check and the write (a run wrote a status back) gets the draft appended to its
//! new text, re-checked; a change that makes the draft wrong writes nothing.

use std::sync::Arc;

use engine_runtime::{Host, HostOptions};

use super::check::{CheckSite, check};
use super::files::Target;
use super::reply::{Document, Draft};
use super::{PlanError, write};

const EXISTING: &str = "## Milestone 1\n\n### TASK-001: One\nP0 | TODO\n";
const DRAFT: &str = "### TASK-002: Two\nP1 | TODO\n\n**Checklist:**\n- [ ] do\n\n\
                     **Depends on:** [TASK-001]\n";

fn host() -> Arc<Host> {
    Arc::new(
        Host::new(HostOptions {
            cache_dir: std::env::temp_dir().join("engine-unit-test-component-cache"),
        })
        .unwrap(),
    )
}

fn draft() -> Draft {
    Draft {
        tasks: DRAFT.to_string(),
        ..Draft::default()
    }
}

#[tokio::test]
async fn a_file_changed_after_the_check_gets_the_draft_appended_to_its_new_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.md");
    std::fs::write(&path, EXISTING).unwrap();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let host = host();
    let targets = vec![Target::read(Document::Tasks, path.clone(), "tasks.md".into()).unwrap()];
    let site = CheckSite {
        host: &host,
        scratch: &scratch,
        targets: &targets,
        full: false,
        force: false,
    };
    let checked = check(&site, &draft()).await.unwrap().unwrap();
    assert_eq!(checked.new_tasks.len(), 1);

    // A run marks TASK-001 done meanwhile.
    let changed = EXISTING.replace("P0 | TODO", "P0 | DONE");
    std::fs::write(&path, &changed).unwrap();
    let written = write(&site, &draft(), checked).await.unwrap();
    assert_eq!(written.new_tasks[0].id, "TASK-002");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{changed}\n{DRAFT}")
    );
}

#[tokio::test]
async fn a_change_that_makes_the_draft_wrong_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.md");
    std::fs::write(&path, EXISTING).unwrap();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let host = host();
    let targets = vec![Target::read(Document::Tasks, path.clone(), "tasks.md".into()).unwrap()];
    let site = CheckSite {
        host: &host,
        scratch: &scratch,
        targets: &targets,
        full: false,
        force: false,
    };
    let checked = check(&site, &draft()).await.unwrap().unwrap();

    // Someone adds a TASK-002 of their own meanwhile.
    let changed = format!("{EXISTING}\n### TASK-002: Theirs\nP2 | TODO\n");
    std::fs::write(&path, &changed).unwrap();
    let e = write(&site, &draft(), checked).await.unwrap_err();
    let PlanError::InvalidDraft { problems, .. } = &e else {
        panic!("{e}")
    };
    assert!(
        problems.iter().any(|p| p.contains("TASK-002")),
        "{problems:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), changed);
}

#[tokio::test]
async fn an_existing_file_that_is_not_tasks_is_never_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.md");
    std::fs::write(&path, "### TASK-001 no colon\nP0 | WHATEVER\n").unwrap();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let host = host();
    let targets = vec![Target::read(Document::Tasks, path, "tasks.md".into()).unwrap()];
    let site = CheckSite {
        host: &host,
        scratch: &scratch,
        targets: &targets,
        full: false,
        force: false,
    };
    let e = check(&site, &draft()).await.unwrap_err();
    assert!(matches!(e, PlanError::ExistingTasks { .. }), "{e}");
    assert_eq!(e.exit_code(), 2);
    // With --force it is replaced, and the draft alone is checked.
    let forced = CheckSite {
        force: true,
        ..site
    };
    let checked = check(&forced, &draft()).await.unwrap();
    let problems = checked.unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("TASK-001, which is not a task")),
        "{problems:?}"
    );
}
