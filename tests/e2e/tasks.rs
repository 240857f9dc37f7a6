//! `engine tasks` through the real binary on a temporary git repository: the table and the
//! JSON for a spec-runner tasks.md (readiness order, why a task is not ready, unknown ids and
//! cycles), a workflow's `tasks:` section, malformed files (<file:line>, exit 2), and that
//! listing never changes the file.

use crate::support::TestRepo;

const TASKS: &str = "\
# Tasks

## Milestone 1: MVP

### TASK-1: Set up the project
🔴 P0 | ✅ DONE | Est: 1d

### TASK-2: Implement user login
🔴 P0 | ⬜ TODO | Est: 2d

**Checklist:**
- [x] Create login endpoint
- [ ] Add JWT token generation

**Traces to:** [REQ-001], [DESIGN-001]
**Depends on:** [TASK-1]
**Blocks:** [TASK-4]

### TASK-3: Resume me first
🟠 P1 | 🔄 IN_PROGRESS

### TASK-10: Password reset
P1 | TODO
**Depends on:** TASK-1

### TASK-4: Rate limiting
🟡 P2 | ⬜ TODO

### TASK-5: Depends on a task that does not exist
🔴 P0 | ⬜ TODO
**Depends on:** [TASK-99]

## Milestone 2: Tangled

### TASK-6: Chicken
🟢 P3 | ⬜ TODO
**Depends on:** [TASK-7]

### TASK-7: Egg
🟢 P3 | ⬜ TODO
**Depends on:** [TASK-6]

### TASK-8: Someone said stop
🔴 P0 | ⏸️ BLOCKED
";

fn repo_with_tasks() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("spec/tasks.md", TASKS).commit_all("tasks");
    repo
}

#[test]
fn tasks_md_is_listed_in_readiness_order_with_reasons() {
    let repo = repo_with_tasks();
    let r = repo.run(&["tasks", "spec/tasks.md"]);
    r.succeeds();
    insta::assert_snapshot!("tasks_table", r.stdout_normalised());
    insta::assert_snapshot!("tasks_warnings", r.stderr_normalised());
    // Listing is read-only.
    repo.assert_file("spec/tasks.md", TASKS);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn json_names_ready_and_blocked_by_for_scripts() {
    let repo = repo_with_tasks();
    let r = repo.run(&["tasks", "spec/tasks.md", "--json"]);
    r.succeeds();
    let doc = r.json();
    assert_eq!(doc["source"], "builtin:tasks-md");
    let tasks = doc["tasks"].as_array().unwrap();
    let order: Vec<&str> = tasks.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        [
            "TASK-2", "TASK-3", "TASK-10", "TASK-5", "TASK-8", "TASK-4", "TASK-6", "TASK-7",
            "TASK-1"
        ]
    );
    let by_id = |id: &str| tasks.iter().find(|t| t["id"] == id).unwrap();
    assert_eq!(by_id("TASK-2")["ready"], true);
    assert_eq!(by_id("TASK-2")["blocked_by"], serde_json::json!([]));
    assert_eq!(by_id("TASK-2")["location"], "spec/tasks.md:8");
    assert_eq!(by_id("TASK-2")["priority"], 0);
    assert_eq!(by_id("TASK-3")["status"], "in_progress");
    assert_eq!(
        by_id("TASK-4")["blocked_by"],
        serde_json::json!([{"reason": "dependency", "id": "TASK-2", "status": "todo"}])
    );
    assert_eq!(
        by_id("TASK-5")["blocked_by"],
        serde_json::json!([{"reason": "unknown_dependency", "id": "TASK-99"}])
    );
    assert_eq!(by_id("TASK-6")["ready"], false);
    assert_eq!(by_id("TASK-6")["blocked_by"][1]["reason"], "cycle");
    assert_eq!(
        by_id("TASK-8")["blocked_by"],
        serde_json::json!([{"reason": "status", "status": "blocked"}])
    );
    assert_eq!(by_id("TASK-1")["ready"], false);
    let problems: Vec<&str> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["location"].as_str().unwrap())
        .collect();
    assert_eq!(problems, ["spec/tasks.md:29", "spec/tasks.md:35"]);
}

#[test]
fn a_workflow_s_tasks_section_is_used_and_checked() {
    let repo = repo_with_tasks();
    repo.workflow(
        "name: with-tasks\ntasks: { source: tasks-md, path: spec/tasks.md }\nstages:\n  only: { uses: builtin:gate, with: { commands: [\"true\"] }, permissions: { workspace: read, exec: [\"true\"] } }\n",
    );
    let r = repo.run(&["tasks", "workflow.yaml", "--json"]);
    r.succeeds();
    assert_eq!(r.json()["tasks"].as_array().unwrap().len(), 9);
    // `engine validate` checks the section against the source too.
    repo.run(&["validate", "workflow.yaml"]).succeeds();

    repo.workflow(
        "name: bad-tasks\ntasks:\n  source: tasks-md\n  path: spec/tasks.md\n  tick_checklst: true\nstages:\n  only: { uses: builtin:gate, with: { commands: [\"true\"] }, permissions: { workspace: read, exec: [\"true\"] } }\n",
    );
    for command in ["tasks", "validate"] {
        let r = repo.run(&[command, "workflow.yaml"]);
        assert_eq!(r.code(), 2, "{command}: {}", r.context());
        insta::assert_snapshot!(
            format!("{command}_unknown_field_in_tasks"),
            r.stderr_normalised()
        );
    }

    repo.workflow("name: no-tasks\nstages:\n  only: { uses: builtin:gate, with: { commands: [\"true\"] }, permissions: { workspace: read, exec: [\"true\"] } }\n");
    let r = repo.run(&["tasks", "workflow.yaml"]);
    r.exits(2);
    insta::assert_snapshot!("no_tasks_section", r.stderr_normalised());
}

#[test]
fn malformed_task_files_are_reported_by_line_with_exit_2() {
    let repo = TestRepo::new();
    repo.write(
        "spec/tasks.md",
        "### TASK-1: A\nP0 | DOING\r\n\r\n### TASK-2 no colon\n### TASK-1: again\n",
    );
    let r = repo.run(&["tasks", "spec/tasks.md"]);
    r.exits(2).stdout_is("");
    insta::assert_snapshot!("tasks_malformed", r.stderr_normalised());

    let r = repo.run(&["tasks", "spec/missing.md"]);
    r.exits(2);
    insta::assert_snapshot!("tasks_file_missing", r.stderr_normalised());
}
