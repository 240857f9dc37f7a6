//! Skills end to end: the real binary, a real git repository, the scripted agent. A task
//! selects a skill (a `**Skill:**` line, or the workflow's default); the agent's prompt carries
//! the skill's additions and the story with its criteria; the skill's gates run only for the
//! patterns the change touched; a reviewer reporting an unmet criterion blocks the merge;
//! `engine skills expand` turns stories into tasks the next runs work on; broken skill files
//! are reported with their lines.

use serde_json::Value;

use crate::support::agent::ScriptedAgent;
use crate::support::{TestRepo, Workflow};

const SKILL: &str = "\
name: web
description: Web features of the demo site.
prompt: Use the design system's components; never inline styles.
stories:
  - id: WEB-1
    title: Login form
    description: A form to sign in.
    acceptance_criteria:
      - The form posts to /login
      - Errors are shown next to the field
  - id: WEB-2
    title: Logout
    depends_on: [WEB-1]
    acceptance_criteria: [The session ends]
gates:
  - pattern: \"*.txt\"
    command: [sh, -c, \"test -s src/a.txt && echo text gate ran\"]
    name: text
  - pattern: \"docs/**\"
    command: [sh, -c, \"echo the docs gate must not run; exit 1\"]
    name: docs
";

/// `execute` (agent), `gate` (builtin:gate with no commands of its own), `review` (persona
/// quality) and `merge`; `extra` top-level sections.
fn skilled(agent: &ScriptedAgent, extra: &str) -> Workflow {
    Workflow::named("skills")
        .top(extra)
        .top("models: { smart: model-smart }")
        .agents(agent, "limits: { post_result_grace: 1s }")
        .stage(
            "execute",
            "uses: builtin:agent\nwith: { backend: claude, completion: promise }\n\
             permissions: { workspace: write, agent: true }\nretry: { max_attempts: 1 }",
        )
        .stage(
            "gate",
            "uses: builtin:gate\nneeds: [execute]\nwith: { commands: [] }\n\
             permissions: { workspace: read, exec: [sh] }\nretry: { max_attempts: 1 }",
        )
        .stage(
            "review",
            "uses: builtin:review\nneeds: [gate]\nwith: { personas: [quality] }\n\
             permissions: { workspace: read, agent: true, exec: [git] }\nretry: { max_attempts: 1 }",
        )
        .stage(
            "merge",
            "uses: builtin:merge\nneeds: [review]\npermissions: { workspace: read, exec: [git] }\n\
             retry: { max_attempts: 1 }",
        )
}

fn execute_session(path: &str) -> String {
    format!(
        "- - say: \"Done. <promise>COMPLETE</promise>\"\n  - write: {{path: {path}, content: \"a\\n\"}}\n"
    )
}

fn reviewer(reply: &str) -> String {
    format!(
        "- match: \"^You are the `quality` reviewer\"\n  steps:\n    - say: {}\n",
        serde_json::to_string(reply).unwrap()
    )
}

const MET: &str = r#"{"verdict": "approve", "summary": "Fine.", "findings": [],
  "criteria": [{"criterion": 1, "met": true}, {"criterion": 2, "met": true}]}"#;

fn prompts(agent: &ScriptedAgent) -> (Vec<String>, Vec<String>) {
    agent
        .invocations()
        .iter()
        .filter_map(|c| c["prompt"].as_str().map(str::to_string))
        .partition(|p| !p.starts_with("You are the `"))
}

fn repo_with_skill() -> TestRepo {
    let repo = TestRepo::new();
    repo.write("skills/web.yaml", SKILL).commit_all("skill");
    repo
}

#[test]
fn a_task_naming_a_skill_gets_its_prompt_story_and_matching_gates() {
    let repo = repo_with_skill();
    let agent = ScriptedAgent::new(&[execute_session("src/a.txt"), reviewer(MET)].concat());
    skilled(&agent, "").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Build the login form\n\n**Skill:** web\n**Story:** WEB-1")
        .run();
    r.succeeds();
    let (execute, review) = prompts(&agent);
    let prompt = &execute[0];
    assert!(
        prompt.contains(
            "## Skill: web\nWeb features of the demo site.\n\nUse the design system's components; never inline styles."
        ),
        "{prompt}"
    );
    assert!(
        prompt.contains(
            "### Story WEB-1: Login form\nA form to sign in.\nAcceptance criteria (a reviewer checks each one):\n1. The form posts to /login\n2. Errors are shown next to the field"
        ),
        "{prompt}"
    );
    let review = &review[0];
    assert!(
        review.contains("## Acceptance criteria of story WEB-1: Login form"),
        "{review}"
    );
    assert!(
        review
            .contains("- C1: The form posts to /login\n- C2: Errors are shown next to the field\n"),
        "{review}"
    );
    // The change touched src/a.txt: the `*.txt` gate ran, the `docs/**` one did not.
    let report = r.report();
    let gate = &report.stage("gate").outputs;
    let commands = gate["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 1, "{gate}");
    assert_eq!(commands[0]["name"], "web: text", "{gate}");
    assert_eq!(repo.merges_of(&r.run_id()), 1);
}

#[test]
fn the_workflow_default_skill_applies_and_its_gate_runs_only_on_matching_changes() {
    let repo = repo_with_skill();
    // The change touches docs/: the docs gate runs (and fails), the text gate does not.
    let agent = ScriptedAgent::new(&[execute_session("docs/guide.md"), reviewer(MET)].concat());
    skilled(&agent, "skills: { default: web }").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Document the login")
        .run();
    r.exits(1);
    let report = r.report();
    let failure = report.stage("gate").failure_of(0);
    assert!(failure.message.contains("web: docs"), "{}", failure.message);
    assert!(
        !failure.message.contains("web: text"),
        "{}",
        failure.message
    );
    let (execute, _) = prompts(&agent);
    assert!(execute[0].contains("## Skill: web"), "{}", execute[0]);
    // No story: the task is not one of the skill's.
    assert!(!execute[0].contains("### Story"), "{}", execute[0]);
    assert_eq!(repo.merges_of(&r.run_id()), 0);
}

#[test]
fn an_unmet_acceptance_criterion_blocks_the_merge() {
    let repo = repo_with_skill();
    let unmet = r#"{"verdict": "approve", "summary": "Nearly.", "findings": [],
      "criteria": [{"criterion": 1, "met": true}, {"criterion": 2, "met": false, "message": "errors go to an alert box"}]}"#;
    let agent = ScriptedAgent::new(&[execute_session("src/a.txt"), reviewer(unmet)].concat());
    skilled(&agent, "").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Build the login form\n\n**Skill:** web\n**Story:** WEB-1")
        .run();
    r.exits(1);
    let report = r.report();
    let failure = report.stage("review").failure_of(0);
    assert!(
        failure.message.contains(
            "acceptance criterion C2 (\"Errors are shown next to the field\") not met, says quality: errors go to an alert box"
        ),
        "{}",
        failure.message
    );
    assert_eq!(repo.merges_of(&r.run_id()), 0);
}

#[test]
fn expansion_appends_stories_as_tasks_once_and_runs_pick_them_up() {
    let repo = repo_with_skill();
    let existing = "# Tasks\n\n### TASK-1: Set up\n🔴 P0 | ✅ DONE\n\nDone already.\n";
    repo.write("spec/tasks.md", existing);
    let dry = repo
        .engine()
        .args(["skills", "expand", "web", "--dry-run"])
        .run();
    dry.succeeds();
    dry.stdout_has("would add 2 tasks to");
    assert_eq!(
        repo.read("spec/tasks.md"),
        existing,
        "a dry run writes nothing"
    );
    let r = repo.engine().args(["skills", "expand", "web"]).run();
    r.succeeds();
    r.stdout_has("added 2 tasks to");
    r.stdout_has("WEB-1, WEB-2");
    let text = repo.read("spec/tasks.md");
    assert!(text.starts_with(existing), "existing bytes kept:\n{text}");
    let again = repo.engine().args(["skills", "expand", "web"]).run();
    again.succeeds();
    again.stdout_has("WEB-1: already a task of");
    again.stdout_has("nothing to add");
    assert_eq!(repo.read("spec/tasks.md"), text);

    // The engine reads them back with their dependencies and checklists.
    let listed = repo
        .engine()
        .args(["tasks", "spec/tasks.md", "--json"])
        .run();
    listed.succeeds();
    let doc = listed.json();
    let tasks = doc["tasks"].as_array().unwrap();
    let web2 = tasks.iter().find(|t| t["id"] == "WEB-2").unwrap();
    assert_eq!(web2["depends_on"], serde_json::json!(["WEB-1"]));
    assert_eq!(web2["ready"], false);
    let web1 = tasks.iter().find(|t| t["id"] == "WEB-1").unwrap();
    assert_eq!(web1["ready"], true);
    assert_eq!(
        web1["checklist"].as_array().map(Vec::len),
        Some(2),
        "{web1}"
    );

    // The next run works on WEB-1 with its skill and story.
    repo.commit_all("tasks");
    let agent = ScriptedAgent::new(&[execute_session("src/a.txt"), reviewer(MET)].concat());
    skilled(&agent, "tasks: { source: tasks-md, path: spec/tasks.md }").write(&repo);
    let r = repo.engine().args(["run", "workflow.yaml"]).run();
    r.succeeds();
    let (execute, _) = prompts(&agent);
    assert!(
        execute[0].contains("# Task WEB-1: Login form"),
        "{}",
        execute[0]
    );
    assert!(
        execute[0].contains("### Story WEB-1: Login form"),
        "{}",
        execute[0]
    );
}

#[test]
fn broken_skill_files_are_reported_with_their_lines() {
    let repo = TestRepo::new();
    repo.write(
        "skills/web.yaml",
        "name: web\nstories:\n  - id: login-1\n    title: Login\n    acceptance: [x]\n  - id: WEB-2\n    title: b\n    depends_on: [WEB-9]\n",
    );
    let r = repo.engine().args(["skills", "check"]).run();
    r.exits(2);
    r.stderr_has("skills/web.yaml:3:9: stories[0].id: \"login-1\" does not match");
    r.stderr_has("skills/web.yaml:5:5: stories[0]: unknown field \"acceptance\"");
    r.stderr_has("error: 1 of 1 skill is invalid");
    let r = repo.engine().args(["skills", "expand", "web"]).run();
    r.exits(2);
    repo.assert_no_file("spec/tasks.md");
    // The schema editors use is the one that found these problems.
    let schema = repo.engine().args(["skills", "schema"]).run();
    schema.succeeds();
    assert_eq!(schema.json()["title"], "engine skill");

    // A run whose task selects the committed broken skill fails before any agent starts.
    repo.write(
        "skills/web.yaml",
        "name: web\nstories:\n  - id: WEB-2\n    title: b\n    depends_on: [WEB-9]\n",
    )
    .commit_all("broken skill");
    let agent = ScriptedAgent::new(&execute_session("src/a.txt"));
    skilled(&agent, "skills: { default: web }").write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Anything")
        .run();
    r.exits(1);
    let report = r.report();
    let message: &Value = &serde_json::json!(report.stage("execute").failure_of(0).message);
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("skills/web.yaml:5:18: stories[0].depends_on[0]: unknown story \"WEB-9\""),
        "{message}"
    );
    assert!(agent.invocations().is_empty());
}
