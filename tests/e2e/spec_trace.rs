//! `engine spec audit` and `engine spec report` through the real binary on a git repository
//! with a spec-runner `spec/` directory: every kind of audit finding with its file and line,
//! `--strict`'s exit code, malformed and missing files (exit 2, located), and the report in
//! text, JSON and CSV with the runs of a task really run by `engine run` (a gate and a merge),
//! a run still going on (read from the mirror of the engine holding the state directory), the
//! milestone filter, `--uncovered-only`, and hostile titles in CSV.

use serde_json::Value;

use crate::support::TestRepo;

const REQUIREMENTS: &str = "---
spec_stage: requirements
---
# Requirements

## 2. Functional

#### REQ-001: User login
**Acceptance Criteria:**
```gherkin
# a comment, not a heading
GIVEN a user
```
**Traces to:** [TASK-001], [DESIGN-001]

#### REQ-002: Logout

#### REQ-003: Audit log

#### REQ-002: Logout, written twice
";

const DESIGN: &str = "# Design

### DESIGN-001: Sessions
#### Description
Sessions live in memory.
**Traces to:** [REQ-001], [REQ-404]

### DESIGN-002: Cache
**Traces to:** REQ-002

### DESIGN-003: Unused
**Traces to:** [REQ-001]
";

const TASKS: &str = "# Tasks

## Milestone 1: MVP

### TASK-001: Implement login
🔴 P0 | ⬜ TODO | Est: 1d
**Traces to:** [REQ-001], [DESIGN-001]

### TASK-002: Untraced chore
🟠 P1 | ⬜ TODO

### TASK-003: Dangling
🟠 P1 | ⬜ TODO
**Traces to:** REQ-999, DESIGN-002

## Milestone 2: Beta

### TASK-004: Cache sessions
🟡 P2 | ⬜ TODO
**Depends on:** [TASK-001]
**Traces to:** [DESIGN-002]
";

/// A repository with `spec/` holding the three files (committed).
fn spec_repo(requirements: &str, design: Option<&str>, tasks: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("spec/requirements.md", requirements);
    if let Some(design) = design {
        repo.write("spec/design.md", design);
    }
    repo.write("spec/tasks.md", tasks);
    repo.commit_all("spec");
    repo
}

const FINDINGS: &str = "\
spec/design.md:6: LEVEL: [design-unknown-trace] design item DESIGN-001 traces to REQ-404, which is not defined in spec/requirements.md or spec/design.md
spec/design.md:11: LEVEL: [untraced-design] design item DESIGN-003 is not traced to by any task
spec/requirements.md:18: LEVEL: [uncovered-requirement] requirement REQ-003 is not covered: no task traces to it or to a design item that traces to it
spec/requirements.md:20: LEVEL: [duplicate-id] REQ-002 is defined again (first at spec/requirements.md:16); the first definition is used
spec/tasks.md:9: LEVEL: [untraced-task] task TASK-002 traces to nothing: add `**Traces to:** [REQ-...]` to its block
spec/tasks.md:14: LEVEL: [dangling-trace] task TASK-003 traces to REQ-999, which is not defined in spec/requirements.md or spec/design.md
spec audit: 6 findings (3 requirements, 3 design items, 4 tasks)
";

#[test]
fn audit_names_every_kind_of_problem_with_its_line_and_strict_exits_1() {
    let repo = spec_repo(REQUIREMENTS, Some(DESIGN), TASKS);
    repo.engine()
        .args(["spec", "audit"])
        .run()
        .succeeds()
        .stdout_is(&FINDINGS.replace("LEVEL", "warning"));
    repo.engine()
        .args(["spec", "audit", "--strict"])
        .run()
        .exits(1)
        .stdout_is(&FINDINGS.replace("LEVEL", "error"));
    let json = repo
        .engine()
        .args(["spec", "audit", "--json", "--strict"])
        .run();
    json.exits(1);
    let doc = json.json();
    let findings: Vec<(String, String, u64, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("design-unknown-trace", "spec/design.md", 6, "DESIGN-001"),
        ("untraced-design", "spec/design.md", 11, "DESIGN-003"),
        (
            "uncovered-requirement",
            "spec/requirements.md",
            18,
            "REQ-003",
        ),
        ("duplicate-id", "spec/requirements.md", 20, "REQ-002"),
        ("untraced-task", "spec/tasks.md", 9, "TASK-002"),
        ("dangling-trace", "spec/tasks.md", 14, "TASK-003"),
    ]
    .map(|(k, f, l, i)| (k.to_string(), f.to_string(), l, i.to_string()));
    assert_eq!(findings, expected);
    assert_eq!(doc["requirements"], 3);
}

#[test]
fn a_clean_spec_passes_strict_and_design_is_optional() {
    let repo = spec_repo(
        "#### REQ-001: Login\n",
        None,
        "### TASK-001: Login\n**Traces to:** REQ-001\n",
    );
    repo.engine()
        .args(["spec", "audit", "--strict"])
        .run()
        .succeeds()
        .stdout_is("spec audit: no findings (1 requirement, 0 design items, 1 task)\n");
}

#[test]
fn malformed_or_missing_files_exit_2_naming_file_and_line() {
    // A template placeholder left in as an id.
    let repo = spec_repo("# R\n\n#### REQ-XXX: {{NAME}}\n", None, "### TASK-001: a\n");
    let run = repo.engine().args(["spec", "audit"]).run();
    run.exits(2)
        .stderr_has("error: spec/requirements.md:3: heading `REQ-XXX: {{NAME}}`");
    // A malformed tasks file: the task source's own located errors.
    repo.write("spec/requirements.md", "#### REQ-001: a\n");
    repo.write(
        "spec/tasks.md",
        "### TASK-001: a\n**Traces to:** REQ-001\n### TASK-001: again\n",
    );
    let run = repo.engine().args(["spec", "report"]).run();
    run.exits(2).stderr_has("spec/tasks.md:3: ");
    // Not UTF-8.
    repo.write("spec/tasks.md", "### TASK-001: a\n**Traces to:** REQ-001\n");
    std::fs::write(repo.path().join("spec/design.md"), b"# D\n\xff\xfe\n").unwrap();
    repo.engine()
        .args(["spec", "audit"])
        .run()
        .exits(2)
        .stderr_is("error: spec/design.md:2: not UTF-8 text\n");
    // Missing: requirements, then tasks, in another spec directory.
    std::fs::remove_file(repo.path().join("spec/design.md")).unwrap();
    repo.write("other/tasks.md", "### TASK-001: a\n");
    repo.engine()
        .args(["spec", "audit", "--spec-dir", "other"])
        .run()
        .exits(2)
        .stderr_has("error: other/requirements.md: no such file");
    std::fs::remove_file(repo.path().join("spec/tasks.md")).unwrap();
    repo.engine()
        .args(["spec", "report"])
        .run()
        .exits(2)
        .stderr_has("error: spec/tasks.md: no such file");
}

/// A gate that adds a file, then a squash merge; the tasks file is written back.
const WORKFLOW: &str = r#"name: trace
tasks: { source: tasks-md, path: spec/tasks.md, permissions: { workspace: write } }
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
"#;

#[test]
fn the_report_shows_a_tasks_real_run_with_its_commits_and_merge() {
    let repo = spec_repo(REQUIREMENTS, Some(DESIGN), TASKS);
    repo.workflow(WORKFLOW);
    let run = repo.engine().args(["run", "workflow.yaml"]).run();
    run.succeeds();
    let run_id = run.run_id();
    let main = repo.git(&["rev-parse", "main"]).trim().to_string();

    let doc = repo
        .engine()
        .args(["spec", "report", "--json"])
        .run()
        .succeeds()
        .json();
    let req1 = &doc["requirements"][0];
    assert_eq!(req1["id"], "REQ-001");
    assert_eq!(req1["title"], "User login");
    assert_eq!(req1["location"], "spec/requirements.md:8");
    assert_eq!(
        req1["design"],
        serde_json::json!(["DESIGN-001", "DESIGN-003"])
    );
    // TASK-001 was run, merged and written back DONE: the requirement is done.
    assert_eq!(req1["coverage"], "done");
    let task = &req1["tasks"][0];
    assert_eq!(task["id"], "TASK-001");
    assert_eq!(task["status"], "done");
    let runs = task["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{doc:#}");
    assert_eq!(runs[0]["run_id"], Value::from(run_id.clone()));
    assert_eq!(runs[0]["status"], "succeeded");
    assert_eq!(runs[0]["merged_commit"], Value::from(main.clone()));
    let commits = runs[0]["commits"].as_array().unwrap();
    assert_eq!(commits.len(), 1, "{doc:#}");
    // The run's commit is the one on its branch that added done.txt.
    let commit = commits[0].as_str().unwrap();
    assert_eq!(
        repo.git(&["show", "--format=", "--name-only", commit])
            .trim(),
        "done.txt"
    );
    // The other tasks have no runs.
    let req2 = &doc["requirements"][1];
    assert_eq!(req2["coverage"], "open");
    let ids: Vec<&str> = req2["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["TASK-003", "TASK-004"]);
    assert_eq!(req2["tasks"][0]["via"], "DESIGN-002");
    assert!(req2["tasks"][0]["runs"].as_array().unwrap().is_empty());
    assert_eq!(
        doc["totals"],
        serde_json::json!({"requirements": 3, "covered": 2, "done": 1})
    );

    repo.engine()
        .args(["spec", "report"])
        .run()
        .succeeds()
        .stdout_is(
            "\
REQ-001  User login  [done]  spec/requirements.md:8
  design  DESIGN-001, DESIGN-003
  TASK-001  done  Implement login
    run [RUN-1]  succeeded  [TIME]  commits [SHA]  merged [SHA]
REQ-002  Logout  [open]  spec/requirements.md:16
  design  DESIGN-002
  TASK-003  todo  Dangling  (via DESIGN-002)
    no runs
  TASK-004  todo  Cache sessions  (via DESIGN-002)
    no runs
REQ-003  Audit log  [uncovered]  spec/requirements.md:18
  no task
coverage: 2 of 3 requirements covered by a task, 1 done
",
        );

    let csv = repo
        .engine()
        .args(["spec", "report", "--csv"])
        .run()
        .succeeds()
        .stdout();
    let expected = format!(
        "requirement,requirement_title,coverage,design,task,task_title,task_status,milestone,\
         via,run,run_status,commits,merged_commit\r\n\
         REQ-001,User login,done,DESIGN-001 DESIGN-003,TASK-001,Implement login,done,\
         Milestone 1: MVP,,{run_id},succeeded,{commit},{main}\r\n\
         REQ-002,Logout,open,DESIGN-002,TASK-003,Dangling,todo,Milestone 1: MVP,DESIGN-002,,,,\r\n\
         REQ-002,Logout,open,DESIGN-002,TASK-004,Cache sessions,todo,Milestone 2: Beta,\
         DESIGN-002,,,,\r\n\
         REQ-003,Audit log,uncovered,,,,,,,,,,\r\n"
    );
    assert_eq!(csv, expected);
}

#[test]
fn milestone_and_uncovered_only_narrow_the_report() {
    let repo = spec_repo(REQUIREMENTS, Some(DESIGN), TASKS);
    repo.engine()
        .args(["spec", "report", "--milestone", "beta"])
        .run()
        .succeeds()
        .stdout_is(
            "\
REQ-002  Logout  [open]  spec/requirements.md:16
  design  DESIGN-002
  TASK-004  todo  Cache sessions  (via DESIGN-002)
    no runs
coverage of milestone beta: 1 of 1 requirement covered by a task, 0 done
",
        );
    let ids = |args: &[&str]| -> Vec<String> {
        let doc = repo.engine().args(args).run().succeeds().json();
        doc["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r["id"].as_str().unwrap(),
                    r["coverage"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        ids(&["spec", "report", "--json", "--milestone", "1"]),
        ["REQ-001:open", "REQ-002:open"]
    );
    // No task done: every requirement is uncovered (no task) or open (no task done).
    assert_eq!(
        ids(&["spec", "report", "--json", "--uncovered-only"]),
        ["REQ-001:open", "REQ-002:open", "REQ-003:uncovered"]
    );
    // Once TASK-001 is done, REQ-001 is done and drops out.
    repo.write(
        "spec/tasks.md",
        &TASKS.replacen("🔴 P0 | ⬜ TODO", "🔴 P0 | ✅ DONE", 1),
    );
    assert_eq!(
        ids(&["spec", "report", "--json", "--uncovered-only"]),
        ["REQ-002:open", "REQ-003:uncovered"]
    );
    repo.engine()
        .args(["spec", "report", "--milestone", "Milestone 7"])
        .run()
        .exits(2)
        .stderr_has("--milestone \"Milestone 7\": no task of spec/tasks.md is in that milestone");
}

#[test]
fn hostile_titles_are_quoted_neutralised_and_escaped() {
    let repo = spec_repo(
        "#### REQ-001: =HYPERLINK(\"http://evil.example\", \"click\")\n\
         #### REQ-002: +SUM(1,2)\n\
         #### REQ-003: @cmd \x1b]0;owned\x07 \"quoted\"\n",
        None,
        "### TASK-001: -2+3, \"tricky\"\n**Traces to:** [REQ-002]\n",
    );
    let csv = repo
        .engine()
        .args(["spec", "report", "--csv"])
        .run()
        .succeeds()
        .stdout();
    let expected = "\
requirement,requirement_title,coverage,design,task,task_title,task_status,milestone,via,run,run_status,commits,merged_commit\r\n\
REQ-001,\"'=HYPERLINK(\"\"http://evil.example\"\", \"\"click\"\")\",uncovered,,,,,,,,,,\r\n\
REQ-002,\"'+SUM(1,2)\",open,,TASK-001,\"'-2+3, \"\"tricky\"\"\",todo,,,,,,\r\n\
REQ-003,\"'@cmd \\x1b]0;owned\\x07 \"\"quoted\"\"\",uncovered,,,,,,,,,,\r\n";
    assert_eq!(csv, expected);
    // Every record has the header's 13 fields (a CSV reader would agree).
    assert_eq!(
        csv_records(&csv).iter().map(Vec::len).collect::<Vec<_>>(),
        [13; 4]
    );
    // The text report escapes the terminal control sequence.
    let text = repo
        .engine()
        .args(["spec", "report"])
        .run()
        .succeeds()
        .stdout();
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(
        text.contains("REQ-003  @cmd \\x1b]0;owned\\x07 \"quoted\""),
        "{text}"
    );
}

/// The records of RFC 4180 text: fields split on commas outside quotes, `""` unescaped.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\r', false) if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (c, _) => field.push(c),
        }
    }
    records
}

#[test]
fn the_report_reads_a_run_in_progress_while_its_engine_holds_the_state() {
    let repo = spec_repo(REQUIREMENTS, Some(DESIGN), TASKS);
    repo.workflow(
        r#"name: held
tasks: { source: tasks-md, path: spec/tasks.md }
stages:
  build:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo build'"] }
    permissions: { workspace: read, exec: [sh] }
  ship:
    uses: builtin:approval
    needs: [build]
    with: { message: "Check the build output, then approve." }
"#,
    );
    let mut holder = repo.engine().args(["run", "workflow.yaml"]).spawn();
    let run_id = holder.read_run_id();
    holder.wait_for_stderr("reject:");
    // The holder keeps the store; the report reads its mirror of the run.
    let report = repo.engine().args(["spec", "report", "--json"]).run();
    report
        .succeeds()
        .stderr_has("showing the live run's mirror");
    let task = &report.json()["requirements"][0]["tasks"][0];
    assert_eq!(task["id"], "TASK-001");
    let runs = task["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{task:#}");
    assert_eq!(runs[0]["run_id"], Value::from(run_id));
    assert_eq!(runs[0]["status"], "running");
    assert_eq!(runs[0]["merged_commit"], Value::Null);
    holder.terminate();
    holder.wait();
}
