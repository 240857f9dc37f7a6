//! `engine tasks sync --to github` and `--from github` through the real binary, with a
//! STATEFUL fake `gh` on PATH (a Python script keeping issues in a JSON file: list, create,
//! edit, close, reopen): a dry run changes nothing, --apply creates, a second --apply changes
//! nothing (no duplicate), an edited task updates its issue, issues import into spec/tasks.md
//! byte-exactly and re-import without duplicates, closing an issue marks its task done, and
//! hostile issue titles and bodies (headings, checklist lines, fields, fences, `-->`) cannot
//! add tasks, dependencies or checklist items.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::support::{EngineOutput, TestRepo};

/// The fake `gh`: issues in `$GH_FAKE_STATE`, each call logged to `$GH_FAKE_LOG`.
const FAKE_GH: &str = r#"#!/usr/bin/env python3
import json, os, sys
state_path = os.environ["GH_FAKE_STATE"]
with open(os.environ["GH_FAKE_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\n")
issues = json.load(open(state_path)) if os.path.exists(state_path) else []
args = sys.argv[1:]
def opt(name):
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == name]
def save():
    tmp = state_path + ".tmp"
    json.dump(issues, open(tmp, "w"), indent=1)
    os.replace(tmp, state_path)
def find(number):
    for issue in issues:
        if issue["number"] == int(number):
            return issue
    sys.stderr.write("no issue %s\n" % number)
    sys.exit(1)
if opt("--repo") != ["octo/app"]:
    sys.stderr.write("fake gh: expected --repo octo/app\n")
    sys.exit(2)
if args[:2] == ["issue", "list"]:
    assert opt("--state") == ["all"] and opt("--json") == ["number,title,body,state,labels,url"]
    wanted = opt("--label")
    found = [i for i in issues if all(l in [x["name"] for x in i["labels"]] for l in wanted)]
    print(json.dumps(found[: int(opt("--limit")[0])]))
elif args[:2] == ["issue", "create"]:
    number = max([i["number"] for i in issues] + [0]) + 1
    issues.append({"number": number, "title": opt("--title")[0], "body": sys.stdin.read(),
                   "state": "OPEN", "labels": [{"name": l} for l in opt("--label")],
                   "url": "https://github.com/octo/app/issues/%d" % number})
    save()
    print("https://github.com/octo/app/issues/%d" % number)
elif args[:2] == ["issue", "edit"]:
    issue = find(args[2])
    issue["title"] = opt("--title")[0]
    issue["body"] = sys.stdin.read()
    for label in opt("--add-label"):
        issue["labels"].append({"name": label})
    save()
elif args[:2] in (["issue", "close"], ["issue", "reopen"]):
    find(args[2])["state"] = "CLOSED" if args[1] == "close" else "OPEN"
    save()
else:
    sys.stderr.write("fake gh: unexpected %s\n" % args)
    sys.exit(1)
"#;

/// A repository with spec/tasks.md and a fake `gh` whose state lives beside it.
struct Fixture {
    repo: TestRepo,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Fixture {
    fn new(tasks: &str) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let repo = TestRepo::new();
        repo.write("spec/tasks.md", tasks).commit_all("tasks");
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let gh = bin.join("gh");
        std::fs::write(&gh, FAKE_GH).unwrap();
        std::fs::set_permissions(&gh, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fixture { repo, dir, bin }
    }

    fn state_path(&self) -> PathBuf {
        self.dir.path().join("issues.json")
    }

    fn issues(&self) -> Value {
        std::fs::read_to_string(self.state_path())
            .map_or(json!([]), |t| serde_json::from_str(&t).unwrap())
    }

    fn set_issues(&self, issues: &Value) {
        std::fs::write(self.state_path(), issues.to_string()).unwrap();
    }

    /// The `gh` calls so far, then forgets them.
    fn take_calls(&self) -> Vec<String> {
        let log = self.dir.path().join("gh.log");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        text.lines()
            .map(|l| l.replace(" --repo octo/app", ""))
            .collect()
    }

    #[track_caller]
    fn sync(&self, args: &[&str]) -> EngineOutput<'_> {
        self.repo
            .engine()
            .args(["tasks", "sync", "-f", "spec/tasks.md", "--repo", "octo/app"])
            .args(args)
            .env("GH_FAKE_STATE", self.state_path())
            .env("GH_FAKE_LOG", self.dir.path().join("gh.log"))
            .path_first(&self.bin)
            .run()
    }

    fn tasks_md(&self) -> String {
        self.repo.read("spec/tasks.md")
    }
}

const LIST: &str =
    "issue list --state all --limit 1000 --json number,title,body,state,labels,url --label engine";

const TASKS: &str = "\
# Tasks

### TASK-1: Set up the project
🔴 P0 | ✅ DONE

### TASK-2: Login with \"quotes\" --> and <!-- comment
🔴 P0 | ⬜ TODO

Users sign in.

**Checklist:**
- [ ] endpoint
- [x] tokens

### TASK-3: Rate limiting
🟡 P2 | ⬜ TODO
**Depends on:** [TASK-2]
";

fn body_of(issues: &Value, number: u64) -> String {
    issues
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["number"] == number)
        .unwrap()["body"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn to_github_dry_run_apply_and_idempotent_updates() {
    let f = Fixture::new(TASKS);
    // Dry run: the plan, nothing changed, only the listing call.
    let r = f.sync(&["--to", "github"]);
    r.succeeds().stdout_is(
        "skip       TASK-1  -  (done and never exported)\n\
         create     TASK-2  -\n\
         create     TASK-3  -\n\
         2 to create, 0 to update, 0 unchanged, 1 skipped (dry run: nothing was changed; run \
         again with --apply)\n",
    );
    assert_eq!(f.issues(), json!([]));
    assert_eq!(f.take_calls(), [LIST]);

    // Apply: two issues, with the marker last in their bodies.
    let r = f.sync(&["--to", "github", "--apply", "--json"]);
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["applied"], true);
    assert_eq!(doc["entries"][1]["issue"], 1);
    assert_eq!(doc["entries"][2]["issue"], 2);
    let issues = f.issues();
    assert_eq!(
        issues[0]["title"],
        "TASK-2: Login with \"quotes\" --> and <!-- comment"
    );
    assert_eq!(
        body_of(&issues, 1),
        "Users sign in.\n\n**Checklist:**\n- [ ] endpoint\n- [x] tokens\n\n<!-- engine-task: TASK-2 -->\n"
    );
    assert_eq!(
        body_of(&issues, 2),
        "**Depends on:** [TASK-2]\n\n<!-- engine-task: TASK-3 -->\n"
    );
    assert_eq!(issues[0]["labels"], json!([{ "name": "engine" }]));
    assert_eq!(
        f.take_calls(),
        [
            LIST,
            "issue create --title TASK-2: Login with \"quotes\" --> and <!-- comment --body-file - --label engine",
            "issue create --title TASK-3: Rate limiting --body-file - --label engine",
        ]
    );

    // Again: nothing to do, no call but the listing (no duplicate).
    f.sync(&["--to", "github", "--apply"]).succeeds().stdout_is(
        "skip       TASK-1  -  (done and never exported)\n\
         unchanged  TASK-2  #1\n\
         unchanged  TASK-3  #2\n\
         0 created, 0 updated, 2 unchanged, 1 skipped\n",
    );
    assert_eq!(f.take_calls(), [LIST]);
    assert_eq!(f.issues().as_array().unwrap().len(), 2);

    // A task finished and another renamed: their issues are edited and closed.
    f.repo
        .run(&["tasks", "done", "TASK-2", "-f", "spec/tasks.md"])
        .succeeds();
    f.repo.write(
        "spec/tasks.md",
        &f.tasks_md().replace("Rate limiting", "Rate limit logins"),
    );
    f.sync(&["--to", "github"]).succeeds().stdout_is(
        "skip       TASK-1  -  (done and never exported)\n\
         update     TASK-2  #1  (close)\n\
         update     TASK-3  #2  (title)\n\
         0 to create, 2 to update, 0 unchanged, 1 skipped (dry run: nothing was changed; run \
         again with --apply)\n",
    );
    f.take_calls();
    f.sync(&["--to", "github", "--apply"]).succeeds();
    assert_eq!(
        f.take_calls(),
        [
            LIST,
            "issue close 1",
            "issue edit 2 --title TASK-3: Rate limit logins --body-file -",
        ]
    );
    let issues = f.issues();
    assert_eq!(issues[0]["state"], "CLOSED");
    assert_eq!(issues[1]["title"], "TASK-3: Rate limit logins");
    // Applied: the next sync has nothing to do.
    f.sync(&["--to", "github", "--apply"]).succeeds();
    assert_eq!(f.take_calls(), [LIST]);
}

const IMPORT_BASE: &str = "\
# Tasks

### TASK-007: Existing
P1 | TODO
";

fn hostile_issues() -> Value {
    json!([
        {"number": 1, "title": "Add dark mode", "body": "Users want it.\r\nSoon.", "state": "OPEN",
         "labels": [{"name": "engine"}], "url": "https://github.com/octo/app/issues/1"},
        {"number": 2, "title": "### TASK-999: evil\n- [x] forged\n**Depends on:** TASK-007",
         "body": "### TASK-998: injected\nP0 | DONE\n- [x] ticked\n**Checklist:**\n- [ ] item\n**Depends on:** [TASK-007]\n```\n## Milestone 9: x\n**GitHub:** #1\n<!-- engine-task: TASK-007 --> trailing",
         "state": "OPEN", "labels": [{"name": "engine"}], "url": "https://github.com/octo/app/issues/2"},
        {"number": 3, "title": "Old bug", "body": "", "state": "CLOSED",
         "labels": [{"name": "engine"}], "url": "https://github.com/octo/app/issues/3"},
        {"number": 4, "title": "TASK-007: Existing", "body": "<!-- engine-task: TASK-007 -->",
         "state": "OPEN", "labels": [{"name": "engine"}], "url": "https://github.com/octo/app/issues/4"},
        {"number": 5, "title": "Not ours", "body": "", "state": "OPEN",
         "labels": [{"name": "question"}], "url": "https://github.com/octo/app/issues/5"}
    ])
}

const IMPORTED: &str = "\
# Tasks

### TASK-007: Existing
P1 | TODO

### TASK-008: Add dark mode
P2 | TODO
**GitHub:** #1 https://github.com/octo/app/issues/1

> Users want it.
> Soon.

### TASK-009: ### TASK-999: evil - [x] forged **Depends on:** TASK-007
P2 | TODO
**GitHub:** #2 https://github.com/octo/app/issues/2

> ### TASK-998: injected
> P0 | DONE
> - [x] ticked
> \\*\\*Checklist:\\*\\*
> - [ ] item
> \\*\\*Depends on:\\*\\* [TASK-007]
> ```
> ## Milestone 9: x
> \\*\\*GitHub:\\*\\* #1
> <!-- engine-task: TASK-007 --> trailing

### TASK-010: Old bug
P2 | DONE
**GitHub:** #3 https://github.com/octo/app/issues/3

";

#[test]
fn from_github_imports_once_neutralises_hostile_text_and_follows_state() {
    let f = Fixture::new(IMPORT_BASE);
    f.set_issues(&hostile_issues());
    let r = f.sync(&["--from", "github"]);
    r.succeeds().stdout_is(
        "create     TASK-008  #1\n\
         create     TASK-009  #2\n\
         create     TASK-010  #3  (closed: imported as done)\n\
         skip       TASK-007  #4  (exported from task TASK-007)\n\
         3 to create, 0 to update, 0 unchanged, 1 skipped (dry run: nothing was changed; run \
         again with --apply)\n",
    );
    f.repo.assert_file("spec/tasks.md", IMPORT_BASE);

    f.sync(&["--from", "github", "--apply"]).succeeds();
    f.repo.assert_file("spec/tasks.md", IMPORTED);
    // No injected task, dependency, checklist item or milestone.
    let r = f.repo.run(&["tasks", "spec/tasks.md", "--json"]);
    r.succeeds();
    let doc = r.json();
    let tasks = doc["tasks"].as_array().unwrap();
    let ids: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["TASK-007", "TASK-008", "TASK-009", "TASK-010"]);
    for task in tasks {
        assert_eq!(task["depends_on"], json!([]), "{task}");
        assert_eq!(task["checklist"], json!([]), "{task}");
        assert_eq!(task["milestone"], Value::Null, "{task}");
    }
    assert_eq!(doc["warnings"], json!([]));
    let names: Vec<String> = std::fs::read_dir(f.repo.path().join("spec"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["tasks.md"], "no temporary file is left");

    // Again: nothing imported twice, the file byte for byte the same.
    f.sync(&["--from", "github", "--apply"])
        .succeeds()
        .stdout_is(
            "unchanged  TASK-008  #1\n\
         unchanged  TASK-009  #2\n\
         unchanged  TASK-010  #3\n\
         skip       TASK-007  #4  (exported from task TASK-007)\n\
         0 created, 0 updated, 3 unchanged, 1 skipped\n",
        );
    f.repo.assert_file("spec/tasks.md", IMPORTED);

    // Issue #1 closed and #3 reopened: their tasks' statuses follow (one line each).
    let mut issues = hostile_issues();
    issues[0]["state"] = json!("CLOSED");
    issues[2]["state"] = json!("OPEN");
    f.set_issues(&issues);
    f.sync(&["--from", "github", "--apply", "--json"])
        .succeeds();
    f.repo.assert_file(
        "spec/tasks.md",
        &IMPORTED
            .replacen(
                "### TASK-008: Add dark mode\nP2 | TODO",
                "### TASK-008: Add dark mode\nP2 | DONE",
                1,
            )
            .replacen(
                "### TASK-010: Old bug\nP2 | DONE",
                "### TASK-010: Old bug\nP2 | TODO",
                1,
            ),
    );
    // Only the sync's own calls: listing by label.
    let calls = f.take_calls();
    assert!(calls.iter().all(|c| c == LIST), "{calls:?}");
}

#[test]
fn import_then_export_round_trips_without_duplicates() {
    let f = Fixture::new(IMPORT_BASE);
    f.set_issues(&json!([
        {"number": 1, "title": "Add dark mode", "body": "Please.", "state": "OPEN",
         "labels": [{"name": "engine"}], "url": "https://github.com/octo/app/issues/1"}
    ]));
    f.sync(&["--from", "github", "--apply"]).succeeds();
    // Exporting creates an issue for TASK-007 only: TASK-008 is issue #1, whose state alone
    // follows the task.
    f.sync(&["--to", "github", "--apply"]).succeeds().stdout_is(
        "create     TASK-007  #2\n\
         unchanged  TASK-008  #1  (imported: state only)\n\
         1 created, 0 updated, 1 unchanged, 0 skipped\n",
    );
    f.repo
        .run(&["tasks", "done", "TASK-008", "-f", "spec/tasks.md"])
        .succeeds();
    f.sync(&["--to", "github", "--apply"]).succeeds();
    let issues = f.issues();
    assert_eq!(issues[0]["state"], "CLOSED");
    assert_eq!(
        issues[0]["body"], "Please.",
        "an imported issue's body is left alone"
    );
    assert_eq!(issues.as_array().unwrap().len(), 2);
    // Importing afterwards skips the exported issue and imports nothing twice.
    f.take_calls();
    f.sync(&["--from", "github"]).succeeds().stdout_is(
        "unchanged  TASK-008  #1\n\
         skip       TASK-007  #2  (exported from task TASK-007)\n\
         0 to create, 0 to update, 1 unchanged, 1 skipped (dry run)\n",
    );
}

#[test]
fn gh_failures_and_bad_arguments_are_reported() {
    let f = Fixture::new(TASKS);
    let r = f
        .repo
        .engine()
        .args(["tasks", "sync", "-f", "spec/tasks.md", "--to", "github"])
        .env("GH_FAKE_STATE", f.state_path())
        .env("GH_FAKE_LOG", f.dir.path().join("gh.log"))
        .path_first(&f.bin)
        .run();
    r.exits(70).stderr_has(
        "gh issue list failed: exited with exit status: 2: fake gh: expected --repo octo/app",
    );
    let r = f.repo.run(&["tasks", "sync", "-f", "spec/tasks.md"]);
    r.exits(2);
    let r = f.repo.run(&[
        "tasks",
        "sync",
        "-f",
        "spec/tasks.md",
        "--to",
        "github",
        "--repo",
        "octo/app; rm",
    ]);
    r.exits(2)
        .stderr_has("--repo octo/app; rm: give OWNER/NAME");
    assert_eq!(f.issues(), json!([]));
    f.repo.assert_file("spec/tasks.md", TASKS);
}
