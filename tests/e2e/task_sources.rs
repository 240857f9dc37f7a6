//! `engine tasks` through the real binary with the `beads` and `github` task sources: a fake
//! `bd` and a fake `gh` (shell scripts on the engine's PATH that log their arguments and answer
//! from fixtures), the readiness of Beads' blocking types and parent/child, the read-only JSONL
//! export when `bd` is not installed, and `engine validate` asking for the `exec` grant.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::fake_trackers::{self, BdIssue, GhIssue};
use crate::support::{EngineOutput, TestRepo};

/// Writes an executable `name` into `dir/bin` that logs `ARGS|ENV` lines to `dir/name.log`
/// (`env` names the variables to log) and runs `cases` (a shell `case "$*" in` body).
fn fake_program(dir: &Path, name: &str, env: &[&str], cases: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join(format!("{name}.log"));
    let (format, values) = env.iter().fold(
        (String::new(), String::new()),
        |(mut format, mut values), v| {
            let _ = write!(format, "|{v}=%s");
            let _ = write!(values, " \"${v}\"");
            (format, values)
        },
    );
    let script = format!(
        "#!/bin/sh\nprintf '%s{format}\\n' \"$*\"{values} >> '{}'\ncase \"$*\" in\n{cases}\n*) echo \"fake {name}: unexpected $*\" >&2; exit 1 ;;\nesac\n",
        log.display()
    );
    install(&bin, name, &script);
    bin
}

/// Writes `script` as the executable `bin/name`.
fn install(bin: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = bin.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Where the first logged call starting with `needle` is.
fn first_call(log: &[String], needle: &str) -> usize {
    log.iter()
        .position(|l| l.starts_with(needle))
        .unwrap_or_else(|| panic!("no `{needle}` in {log:#?}"))
}

/// The lines the fake logged.
fn calls(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("{name}.log")))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `engine ARGS` with `bin` first on PATH; without `bin`, a PATH without any `bd` or `gh` (in
/// case the machine has them installed).
#[track_caller]
fn run_with_path<'r>(repo: &'r TestRepo, bin: Option<&Path>, args: &[&str]) -> EngineOutput<'r> {
    let engine = repo.engine().args(args);
    if let Some(bin) = bin {
        engine.path_first(bin).run()
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::split_paths(&path)
            .filter(|dir| !dir.join("bd").exists() && !dir.join("gh").exists())
            .map(|dir| dir.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        engine.env("PATH", path).run()
    }
}

/// The tasks of `engine tasks --json`, by id.
fn tasks_by_id(stdout: &str) -> (Value, Vec<String>) {
    let doc: Value = serde_json::from_str(stdout).unwrap();
    let order = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    (doc, order)
}

fn task<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no task {id} in {doc}"))
}

const GATE_STAGE: &str = "stages:\n  only: { uses: builtin:gate, with: { commands: [\"true\"] }, permissions: { workspace: read, exec: [\"true\"] } }\n";

/// Open issues as `bd list --json` prints them (enveloped), one per blocking type.
const BD_LIST: &str = r#"{"schema_version":1,"data":[
 {"id":"bd-1","title":"Set up CI","status":"open","priority":1,"issue_type":"task","dependency_count":0},
 {"id":"bd-2","title":"Add login","status":"open","priority":0,"issue_type":"feature","labels":["auth"],"dependency_count":1,"dependencies":[
   {"issue_id":"bd-2","depends_on_id":"bd-1","type":"blocks"},{"issue_id":"bd-2","depends_on_id":"bd-7","type":"related"}]},
 {"id":"bd-4","title":"Payments epic","status":"open","priority":1,"issue_type":"epic","dependency_count":1,"dependencies":[
   {"issue_id":"bd-4","depends_on_id":"bd-1","type":"blocks"}]},
 {"id":"bd-4.1","title":"Charge cards","status":"open","priority":1,"dependencies":[
   {"issue_id":"bd-4.1","depends_on_id":"bd-4","type":"parent-child"}]},
 {"id":"bd-5","title":"Roll back the migration","status":"open","priority":2,"dependencies":[
   {"issue_id":"bd-5","depends_on_id":"bd-8","type":"conditional-blocks"}]},
 {"id":"bd-6","title":"Summarize the payment work","status":"open","priority":2,"dependencies":[
   {"issue_id":"bd-6","depends_on_id":"bd-4","type":"waits-for"}]},
 {"id":"bd-7","title":"Later","status":"deferred","priority":3},
 {"id":"bd-10","title":"Needs a lost issue","status":"in_progress","assignee":"alice","priority":2,"dependency_count":2,"dependencies":[
   {"issue_id":"bd-10","depends_on_id":"bd-404","type":"blocks"},{"issue_id":"bd-10","depends_on_id":"bd-9","type":"blocks"}]}
]}"#;

/// The closed issues they depend on, as `bd list --all --id ... --json` prints them (bare).
const BD_CLOSED: &str = r#"[{"id":"bd-8","title":"Migrate the schema","status":"closed","priority":1,"close_reason":"Done"},
 {"id":"bd-9","title":"Old prerequisite","status":"closed","priority":2,"close_reason":"Closed"}]"#;

#[test]
fn beads_through_bd_with_every_blocking_type() {
    let repo = TestRepo::new();
    let fixtures = tempfile::tempdir().unwrap();
    std::fs::write(fixtures.path().join("list.json"), BD_LIST).unwrap();
    std::fs::write(fixtures.path().join("closed.json"), BD_CLOSED).unwrap();
    let cases = format!(
        "\"list --json --limit 0\") cat '{0}/list.json' ;;\n\
         \"list --json --all --limit 0 --id bd-8,bd-404,bd-9\") cat '{0}/closed.json' ;;",
        fixtures.path().display()
    );
    let bin = fake_program(fixtures.path(), "bd", &["BD_JSON_ENVELOPE"], &cases);
    repo.workflow(&format!(
        "name: beads\ntasks: {{ source: beads, permissions: {{ exec: [bd] }} }}\n{GATE_STAGE}"
    ));

    let r = run_with_path(&repo, Some(&bin), &["tasks", "workflow.yaml", "--json"]);
    r.succeeds();
    let (doc, order) = tasks_by_id(&r.stdout());
    assert_eq!(doc["source"], "builtin:beads");
    assert_eq!(
        order,
        [
            "bd-1", "bd-2", "bd-4", "bd-4.1", "bd-10", "bd-5", "bd-6", "bd-7", "bd-8", "bd-9"
        ]
    );
    let dep =
        |id: &str, status: &str| json!({ "reason": "dependency", "id": id, "status": status });
    let blocked = json!({ "reason": "status", "status": "blocked" });
    assert_eq!(task(&doc, "bd-1")["ready"], true);
    // blocks (a `related` link is informational)
    assert_eq!(
        task(&doc, "bd-2")["blocked_by"],
        json!([dep("bd-1", "todo")])
    );
    // parent-child: the child of a blocked epic is blocked by what blocks the epic, and the
    // epic waits for its open child
    assert_eq!(
        task(&doc, "bd-4.1")["blocked_by"],
        json!([dep("bd-1", "todo")])
    );
    assert_eq!(
        task(&doc, "bd-4")["blocked_by"],
        json!([dep("bd-1", "todo"), dep("bd-4.1", "todo")])
    );
    assert_eq!(task(&doc, "bd-4.1")["milestone"], "bd-4");
    // conditional-blocks on an issue closed as a success: never runs, with a warning
    assert_eq!(task(&doc, "bd-5")["blocked_by"], json!([blocked]));
    assert_eq!(task(&doc, "bd-5")["raw_status"], "open");
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains("bd-5 runs only if bd-8 fails"),
        "{warnings}"
    );
    // waits-for: the spawner's open children
    assert_eq!(
        task(&doc, "bd-6")["blocked_by"],
        json!([dep("bd-4.1", "todo")])
    );
    // deferred, and a dependency bd does not know (the closed one is done)
    assert_eq!(task(&doc, "bd-7")["status"], "blocked");
    assert_eq!(task(&doc, "bd-7")["raw_status"], "deferred");
    assert_eq!(
        task(&doc, "bd-10")["blocked_by"],
        json!([{ "reason": "unknown_dependency", "id": "bd-404" }])
    );
    assert_eq!(task(&doc, "bd-9")["status"], "done");
    assert_eq!(
        task(&doc, "bd-2")["labels"],
        json!(["auth", "type:feature"])
    );
    assert_eq!(
        calls(fixtures.path(), "bd"),
        [
            "list --json --limit 0|BD_JSON_ENVELOPE=1",
            "list --json --all --limit 0 --id bd-8,bd-404,bd-9|BD_JSON_ENVELOPE=1"
        ]
    );

    let r = run_with_path(&repo, Some(&bin), &["tasks", "workflow.yaml"]);
    r.succeeds();
    insta::assert_snapshot!("beads_table", r.stdout_normalised());
    insta::assert_snapshot!("beads_warnings", r.stderr_normalised());
    assert_eq!(repo.git(&["status", "--porcelain"]), "?? workflow.yaml\n");
}

/// An export with a memory line, a deleted issue and a parent blocked by an issue in progress.
const EXPORT: &str = r#"{"_type":"issue","id":"bd-1","title":"Set up CI","status":"closed","priority":1,"close_reason":"Done"}
{"_type":"memory","key":"style","value":"small commits"}
{"id":"bd-2","title":"Add login","status":"open","priority":0,"dependencies":[{"issue_id":"bd-2","depends_on_id":"bd-1","type":"blocks"},{"issue_id":"bd-2","depends_on_id":"bd-3","type":"blocks"}]}
{"id":"bd-3","title":"Deleted idea","status":"tombstone","priority":2}
{"id":"bd-4","title":"Epic","status":"open","priority":1,"issue_type":"epic","dependencies":[{"issue_id":"bd-4","depends_on_id":"bd-5","type":"blocks"}]}
{"id":"bd-4.1","title":"Child of a blocked epic","status":"open","priority":0,"dependencies":[{"issue_id":"bd-4.1","depends_on_id":"bd-4","type":"parent-child"}]}
{"id":"bd-5","title":"Prerequisite","status":"in_progress","priority":2}
{"id":"bd-6","title":"Not before 2099","status":"open","priority":0,"defer_until":"2099-01-01T00:00:00Z"}
"#;

#[test]
fn beads_without_bd_reads_the_export_read_only() {
    let repo = TestRepo::new();
    repo.write(".beads/issues.jsonl", EXPORT)
        .commit_all("beads export");
    repo.workflow(&format!(
        "name: beads\ntasks: {{ source: beads, permissions: {{ exec: [bd] }} }}\n{GATE_STAGE}"
    ));
    let r = run_with_path(&repo, None, &["tasks", "workflow.yaml", "--json"]);
    r.succeeds();
    let (doc, order) = tasks_by_id(&r.stdout());
    assert_eq!(order, ["bd-2", "bd-5", "bd-4.1", "bd-6", "bd-4", "bd-1"]);
    assert_eq!(task(&doc, "bd-6")["status"], "blocked");
    assert_eq!(
        task(&doc, "bd-6")["raw_status"],
        "open, deferred until 2099-01-01T00:00:00Z"
    );
    assert_eq!(task(&doc, "bd-2")["ready"], true);
    assert_eq!(task(&doc, "bd-2")["location"], ".beads/issues.jsonl:3");
    assert_eq!(task(&doc, "bd-5")["ready"], true);
    assert_eq!(
        task(&doc, "bd-4.1")["blocked_by"],
        json!([{ "reason": "dependency", "id": "bd-5", "status": "in_progress" }])
    );
    let warnings: Vec<&str> = doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert!(
        warnings[0].starts_with("bd is not installed"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("bd-3 (blocks), which was deleted"),
        "{warnings:?}"
    );

    let r = run_with_path(&repo, None, &["tasks", "workflow.yaml"]);
    r.succeeds();
    insta::assert_snapshot!("beads_export_warnings", r.stderr_normalised());
    repo.assert_file(".beads/issues.jsonl", EXPORT);
    assert_eq!(repo.git(&["status", "--porcelain"]), "?? workflow.yaml\n");

    repo.write(".beads/issues.jsonl", "{\"id\":\"bd-1\"}\nnot json\n");
    let r = run_with_path(&repo, None, &["tasks", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("beads_export_malformed", r.stderr_normalised());
}

const GH_LIST: &str = r#"[
 {"number":12,"title":"Add a --json flag","state":"OPEN","url":"https://github.com/octo/app/issues/12",
  "body":"Print JSON.\n\nDepends on: #3, #5\n","labels":[{"name":"engine"},{"name":"P1"}],"milestone":{"title":"v1.0"}},
 {"number":5,"title":"Schema for the export","state":"OPEN","url":"https://github.com/octo/app/issues/5",
  "body":"","labels":[{"name":"engine"},{"name":"priority:critical"}],"milestone":null},
 {"number":13,"title":"Half done","state":"OPEN","url":"https://github.com/octo/app/issues/13",
  "body":null,"labels":[{"name":"engine"},{"name":"in-progress"}],"milestone":null}
]"#;

const GH_VIEW_3: &str = r#"{"number":3,"title":"Old groundwork","state":"CLOSED","url":"https://github.com/octo/app/issues/3","body":"","labels":[],"milestone":null}"#;

#[test]
fn github_issues_through_gh() {
    let repo = TestRepo::new();
    let fixtures = tempfile::tempdir().unwrap();
    std::fs::write(fixtures.path().join("list.json"), GH_LIST).unwrap();
    std::fs::write(fixtures.path().join("view3.json"), GH_VIEW_3).unwrap();
    let fields = "number,title,body,labels,state,url,milestone";
    let cases = format!(
        "\"issue list --state open --limit 50 --json {fields} --label engine --repo octo/app\") cat '{0}/list.json' ;;\n\
         \"issue view 3 --json {fields} --repo octo/app\") cat '{0}/view3.json' ;;",
        fixtures.path().display()
    );
    let bin = fake_program(fixtures.path(), "gh", &["GH_PROMPT_DISABLED"], &cases);
    repo.workflow(&format!(
        "name: issues\ntasks:\n  source: github\n  labels: [engine]\n  repo: octo/app\n  limit: 50\n  permissions: {{ exec: [gh] }}\n{GATE_STAGE}"
    ));
    let r = run_with_path(&repo, Some(&bin), &["tasks", "workflow.yaml", "--json"]);
    r.succeeds();
    let (doc, order) = tasks_by_id(&r.stdout());
    assert_eq!(doc["source"], "builtin:github");
    assert_eq!(order, ["#5", "#13", "#12", "#3"]);
    assert_eq!(task(&doc, "#5")["priority"], 0);
    assert_eq!(task(&doc, "#13")["status"], "in_progress");
    assert_eq!(task(&doc, "#13")["priority"], 3);
    assert_eq!(task(&doc, "#12")["depends_on"], json!(["#3", "#5"]));
    assert_eq!(
        task(&doc, "#12")["blocked_by"],
        json!([{ "reason": "dependency", "id": "#5", "status": "todo" }])
    );
    assert_eq!(
        task(&doc, "#12")["location"],
        "https://github.com/octo/app/issues/12"
    );
    assert_eq!(task(&doc, "#3")["status"], "done");
    assert_eq!(
        calls(fixtures.path(), "gh"),
        [
            format!(
                "issue list --state open --limit 50 --json {fields} --label engine --repo octo/app|GH_PROMPT_DISABLED=1"
            ),
            format!("issue view 3 --json {fields} --repo octo/app|GH_PROMPT_DISABLED=1"),
        ]
    );

    // gh failing (not logged in) is an error that says so.
    let cases = "\"issue list\"*) echo 'To get started with GitHub CLI, please run:  gh auth login' >&2; exit 4 ;;";
    let bin = fake_program(fixtures.path(), "gh", &[], cases);
    let r = run_with_path(&repo, Some(&bin), &["tasks", "workflow.yaml"]);
    assert_ne!(r.code(), 0, "{}", r.context());
    insta::assert_snapshot!("gh_not_logged_in", r.stderr_normalised());
}

#[test]
fn the_sources_need_their_program_granted() {
    let repo = TestRepo::new();
    for source in ["beads", "github"] {
        repo.workflow(&format!(
            "name: x\ntasks: {{ source: {source} }}\n{GATE_STAGE}"
        ));
        let r = repo.run(&["validate", "workflow.yaml"]);
        r.exits(2);
        // It names the program to grant.
        insta::assert_snapshot!(format!("{source}_needs_exec"), r.stderr_normalised());
    }
    repo.workflow(&format!(
        "name: x\ntasks: {{ source: github, labels: engine, permissions: {{ exec: [gh] }} }}\n{GATE_STAGE}"
    ));
    let r = repo.run(&["validate", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("github_labels_not_a_list", r.stderr_normalised());
}

/// The fake `bd`: bd-1, bd-2 (blocked by bd-1), bd-3 (blocked by bd-2).
fn stateful_bd(dir: &Path) -> PathBuf {
    let issue = |id, title, priority, depends_on| BdIssue {
        id,
        title,
        priority,
        issue_type: None,
        depends_on,
    };
    fake_trackers::stateful_bd(
        dir,
        &[
            issue("bd-1", "Add the config loader", 1, &[]),
            issue(
                "bd-2",
                "Use the config in the CLI",
                0,
                &[("bd-1", "blocks")],
            ),
            issue("bd-3", "Document the config", 2, &[("bd-2", "blocks")]),
        ],
    )
}

#[test]
fn a_beads_tracker_is_worked_through_with_all_in_dependency_order() {
    let repo = TestRepo::new();
    let fake = tempfile::tempdir().unwrap();
    let bin = stateful_bd(fake.path());
    repo.workflow(
        r#"name: beads-queue
tasks: { source: beads, permissions: { workspace: read, exec: [bd] } }
stages:
  work:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo {{ task.id }} >> done.txt'"] }
    permissions: { workspace: write, exec: [sh] }
  merge:
    uses: builtin:merge
    needs: [work]
    permissions: { workspace: read, exec: [git] }
    retry: { max_attempts: 1 }
"#,
    );
    run_with_path(&repo, Some(&bin), &["run", "workflow.yaml", "--all"]).succeeds();
    // Every issue closed, in dependency order, each claimed before it was closed.
    let state = fake.path().join("state");
    for id in ["bd-1", "bd-2", "bd-3"] {
        let status = std::fs::read_to_string(state.join(format!("{id}.status"))).unwrap();
        assert_eq!(status.trim(), "closed", "{id}");
    }
    let log = calls(fake.path(), "bd");
    let position = |needle: &str| first_call(&log, needle);
    assert!(position("update bd-1 --status in_progress") < position("close bd-1"));
    assert!(position("close bd-1") < position("update bd-2 --status in_progress"));
    assert!(position("close bd-2") < position("update bd-3 --status in_progress"));
    // Each merged exactly once, in that order.
    let merged = repo.git(&["log", "--format=%s", "main"]);
    let titles: Vec<&str> = merged.lines().take(3).collect();
    assert_eq!(
        titles,
        vec![
            "Document the config",
            "Use the config in the CLI",
            "Add the config loader"
        ]
    );
    assert_eq!(repo.git(&["show", "main:done.txt"]), "bd-1\nbd-2\nbd-3\n");
}

/// The fake `gh`: issues #1 and #2 ("Depends on: #1"), both labelled `engine`, in octo/app.
fn stateful_gh(dir: &Path) -> PathBuf {
    fake_trackers::stateful_gh(
        dir,
        &[
            GhIssue {
                title: "Parse the config",
                body: "The loader.",
                milestone: None,
            },
            GhIssue {
                title: "Use the config",
                body: "Depends on: #1",
                milestone: None,
            },
        ],
    )
}

#[test]
fn labelled_github_issues_are_worked_through_with_all_in_dependency_order() {
    let repo = TestRepo::new();
    let fake = tempfile::tempdir().unwrap();
    let bin = stateful_gh(fake.path());
    repo.workflow(
        r#"name: gh-queue
tasks: { source: github, labels: [engine], permissions: { exec: [gh] } }
stages:
  work:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo {{ task.title }} >> done.txt'"] }
    permissions: { workspace: write, exec: [sh] }
  merge:
    uses: builtin:merge
    needs: [work]
    permissions: { workspace: read, exec: [git] }
    retry: { max_attempts: 1 }
"#,
    );
    run_with_path(&repo, Some(&bin), &["run", "workflow.yaml", "--all"]).succeeds();
    let state = fake.path().join("state");
    for n in ["1", "2"] {
        let st = std::fs::read_to_string(state.join(format!("{n}.state"))).unwrap();
        assert_eq!(st.trim(), "CLOSED", "#{n}");
        let labels = std::fs::read_to_string(state.join(format!("{n}.labels"))).unwrap();
        assert_eq!(
            labels.trim(),
            "engine",
            "#{n}: the in-progress label is gone"
        );
    }
    let log = calls(fake.path(), "gh");
    let position = |needle: &str| first_call(&log, needle);
    assert!(position("issue edit 1 --add-label in-progress") < position("issue close 1"));
    assert!(position("issue close 1") < position("issue edit 2 --add-label in-progress"));
    assert_eq!(
        repo.git(&["show", "main:done.txt"]),
        "Parse the config\nUse the config\n"
    );
}
