//! Write-back of `builtin:beads` and `builtin:github` through the real host: `claim` and
//! `update` run a fake `bd` / `gh` (shell scripts that log their arguments, answer from files
//! and change their state like the real tools) through the sandboxed `exec` import.
//!
//! `exec` looks programs up on the process's PATH, so the outer test runs this test binary
//! again with the fakes first on PATH and the inner test, an ignored entry point, does the work.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::host;
use engine_core::{Permissions, PluginRef, WorkspaceAccess};
use engine_runtime::{LoadedSource, SourceCall};
use engine_tasks::{SourceError, TaskStatus};
use engine_testkit::entry_point;
use serde_json::json;

/// Set (to the fakes' directory) in the inner run.
const FAKES: &str = "ENGINE_TEST_SOURCE_CLI_FAKES";

const GH_FIELDS: &str = "number,title,body,labels,state,url,milestone";

fn script(dir: &Path, name: &str, cases: &str) {
    let body = format!(
        "#!/bin/sh\nD='{dir}'\nprintf '%s\\n' \"$*\" >> \"$D/{name}.log\"\ncase \"$*\" in\n{cases}\n\
         *) echo \"fake {name}: unexpected $*\" >&2; exit 1 ;;\nesac\n",
        dir = dir.display()
    );
    let path = dir.join("bin").join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// Fakes whose state lives in files next to them: `update`/`edit` copy the claimed issue
/// over the one `show`/`view` print.
fn fakes(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let issue = |status: &str, assignee: &str| {
        json!({ "schema_version": 1, "data": [
            { "id": "bd-1", "title": "Add login", "status": status, "assignee": assignee, "priority": 1 }
        ]})
        .to_string()
    };
    write(dir, "bd-show.json", &issue("open", ""));
    write(dir, "bd-claimed.json", &issue("in_progress", "run-1"));
    script(
        dir,
        "bd",
        "\"show bd-1 --json\") cat \"$D/bd-show.json\" ;;\n\
         \"update bd-1 --status in_progress --assignee=run-1 --json\") cp \"$D/bd-claimed.json\" \"$D/bd-show.json\"; cat \"$D/bd-show.json\" ;;\n\
         \"close bd-1 --reason=merged in abc123 --json\") echo '{\"schema_version\":1,\"data\":[{\"id\":\"bd-1\",\"status\":\"closed\"}]}' ;;",
    );
    let view = |labels: &[&str], comments: &[&str]| {
        let labels: Vec<_> = labels.iter().map(|l| json!({ "name": l })).collect();
        let comments: Vec<_> = comments.iter().map(|c| json!({ "body": c })).collect();
        json!({ "number": 7, "title": "Add export", "state": "OPEN", "body": "",
                "url": "https://github.com/octo/app/issues/7", "labels": labels, "comments": comments })
        .to_string()
    };
    let marker = "engine run `run-1` is working on this issue.\n\n<!-- engine-claim: run-1 -->";
    write(dir, "gh-view.json", &view(&["engine"], &[]));
    write(
        dir,
        "gh-claimed.json",
        &view(&["engine", "in-progress"], &[marker]),
    );
    script(
        dir,
        "gh",
        &format!(
            "\"issue view 7 --json {GH_FIELDS},comments --repo octo/app\") cat \"$D/gh-view.json\" ;;\n\
             \"issue view 7 --json {GH_FIELDS} --repo octo/app\") cat \"$D/gh-view.json\" ;;\n\
             \"issue comment 7 --body \"*) ;;\n\
             \"issue edit 7 --add-label in-progress --repo octo/app\") cp \"$D/gh-claimed.json\" \"$D/gh-view.json\" ;;\n\
             \"issue edit 7 --remove-label in-progress --repo octo/app\") ;;\n\
             \"issue close 7 --comment Merged. --repo octo/app\") ;;"
        ),
    );
}

#[test]
fn claim_and_update_run_bd_and_gh_through_the_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    fakes(dir.path());
    let path = std::env::var("PATH").unwrap_or_default();
    let status = entry_point::command(module_path!(), "inner_write_back")
        .unwrap()
        .arg("--nocapture")
        .env(FAKES, dir.path())
        .env(
            "PATH",
            format!("{}:{path}", dir.path().join("bin").display()),
        )
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the inner test failed (see its output above)"
    );
}

fn builtin(name: &str) -> LoadedSource {
    host()
        .load_source(&PluginRef::Builtin { name: name.into() }, Path::new("."))
        .unwrap()
}

fn log(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("{name}.log")))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The child half of `claim_and_update_run_bd_and_gh_through_the_sandbox`, run with the fakes
/// on PATH.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "entry point of claim_and_update_run_bd_and_gh_through_the_sandbox, which runs it with the fakes on PATH"]
async fn inner_write_back() {
    let dir = PathBuf::from(entry_point::input(FAKES).unwrap());
    let repo = tempfile::tempdir().unwrap();
    let call = |config: serde_json::Value, program: &str| {
        SourceCall::new(
            repo.path().to_path_buf(),
            Permissions {
                workspace: WorkspaceAccess::Read,
                exec: vec![program.to_string()],
                ..Permissions::default()
            },
            config,
        )
    };

    let beads = builtin("beads");
    let bd = call(json!({}), "bd");
    let task = host()
        .claim_task(&beads, &bd, "bd-1", "run-1")
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);
    // A retried claim by the same run writes nothing; another run is refused.
    let task = host()
        .claim_task(&beads, &bd, "bd-1", "run-1")
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);
    let err = host()
        .claim_task(&beads, &bd, "bd-1", "run-2")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::Conflict("bd-1 is in_progress and assigned to run-1".into())
    );
    let task = host()
        .update_task(
            &beads,
            &bd,
            "bd-1",
            TaskStatus::Done,
            Some("merged in abc123"),
        )
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::Done);
    assert_eq!(
        log(&dir, "bd"),
        [
            "show bd-1 --json",
            "update bd-1 --status in_progress --assignee=run-1 --json",
            "show bd-1 --json",
            "show bd-1 --json",
            "show bd-1 --json",
            "close bd-1 --reason=merged in abc123 --json",
        ]
    );
    // Without the grant, nothing runs.
    let err = host()
        .claim_task(&beads, &call(json!({}), "gh"), "bd-1", "run-1")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::Failed(m) if m.contains("not-permitted")),
        "{err}"
    );

    let github = builtin("github");
    let gh = call(json!({ "labels": ["engine"], "repo": "octo/app" }), "gh");
    let task = host()
        .claim_task(&github, &gh, "#7", "run-1")
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);
    let task = host().claim_task(&github, &gh, "7", "run-1").await.unwrap();
    assert_eq!(task.status, TaskStatus::InProgress);
    let err = host()
        .claim_task(&github, &gh, "#7", "run-2")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::Conflict(m) if m.contains("engine run run-1")),
        "{err}"
    );
    let task = host()
        .update_task(&github, &gh, "#7", TaskStatus::Done, Some("Merged."))
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::Done);
    let calls = log(&dir, "gh");
    let view = format!("issue view 7 --json {GH_FIELDS},comments --repo octo/app");
    assert_eq!(calls[0], view);
    // The claim comment spans three lines of the log.
    assert_eq!(
        calls[1..4],
        [
            "issue comment 7 --body engine run `run-1` is working on this issue.",
            "",
            "<!-- engine-claim: run-1 --> --repo octo/app"
        ]
    );
    assert_eq!(
        calls[4..],
        [
            "issue edit 7 --add-label in-progress --repo octo/app".to_string(),
            view.clone(),
            view,
            format!("issue view 7 --json {GH_FIELDS} --repo octo/app"),
            "issue edit 7 --remove-label in-progress --repo octo/app".to_string(),
            "issue close 7 --comment Merged. --repo octo/app".to_string(),
        ]
    );
}
