//! Host-side templates end to end: a runaway `with:` template fails its stage quickly with a
//! clear message (instead of holding the engine past the stage's `timeout:`), and a task's text
//! is data to every renderer: a notifier delivers a title that looks like a template verbatim.

use serde_json::Value;

use crate::support::agent::ScriptedAgent;
use crate::support::http_server::TestServer;
use crate::support::{TestRepo, Workflow};

/// A task title (as a GitHub issue could carry) that is a template if anything renders it.
const TEMPLATE_TITLE: &str = "{% for i in range(3) %}x{% endfor %} {{ run.branch }}";

#[test]
fn a_task_title_that_looks_like_a_template_is_delivered_verbatim() {
    let repo = TestRepo::new();
    let server = TestServer::answering(200, "ok");
    let url = server.url("/hook");
    repo.workflow(&format!(
        r#"name: verbatim
stages:
  notify:
    uses: builtin:webhook
    with:
      url: "{url}"
      message: "Task: {{{{ task.title }}}} ({{{{ run.status }}}})"
      title: "[{{{{ task.title }}}}]"
    permissions: {{ net: ["127.0.0.1"] }}
    retry: {{ max_attempts: 1 }}
  custom:
    uses: builtin:webhook
    needs: [notify]
    with:
      url: "{url}"
      message: "{{{{ task.title }}}}"
      body: |
        {{% raw %}}{{"summary": {{{{ message | tojson }}}}, "task": {{{{ task.title | tojson }}}}}}{{% endraw %}}
    permissions: {{ net: ["127.0.0.1"] }}
    retry: {{ max_attempts: 1 }}
"#
    ));
    repo.engine()
        .args(["run", "workflow.yaml"])
        .task(TEMPLATE_TITLE)
        .run()
        .succeeds();
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let body: Value = requests[0].json();
    assert_eq!(
        body["text"],
        format!("Task: {TEMPLATE_TITLE} (running)"),
        "{body}"
    );
    assert_eq!(body["title"], format!("[{TEMPLATE_TITLE}]"), "{body}");
    assert_eq!(body["task"]["title"], TEMPLATE_TITLE, "{body}");
    let custom: Value = requests[1].json();
    assert_eq!(custom["summary"], TEMPLATE_TITLE, "{custom}");
    assert_eq!(custom["task"], TEMPLATE_TITLE, "{custom}");
}

#[test]
fn a_runaway_template_fails_its_stage_with_a_clear_message() {
    let repo = TestRepo::new();
    // Without limits this renders 10^10 characters: it ran for ten minutes, past its timeout.
    repo.workflow(
        r#"name: runaway
stages:
  notify:
    uses: builtin:webhook
    timeout: 3s
    with:
      url: "http://127.0.0.1:9/{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    permissions: { net: ["127.0.0.1"] }
    retry: { max_attempts: 1 }
"#,
    );
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Runaway")
        .run();
    r.exits(1);
    let report = r.report();
    let failure = report.stage("notify").failure();
    // It names the stage, the field and the fuel limit.
    insta::assert_snapshot!("runaway_with_template", failure.message);
    assert_eq!(failure.kind, "fatal", "{failure:?}");
}

#[test]
fn a_runaway_commit_message_template_fails_the_commit_and_a_title_stays_data() {
    let repo = TestRepo::new();
    repo.workflow(
        r#"name: commit-message
git:
  commit:
    message: "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
stages:
  work:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo hi > hi.txt'"] }
    permissions: { workspace: write, exec: [sh] }
"#,
    );
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Write hi")
        .run();
    r.exits(1);
    // It names `git.commit.message` and the fuel limit.
    insta::assert_snapshot!(
        "runaway_commit_message",
        r.report().stage("work").failure().message
    );
    // The default message puts the task title in as text, whatever it looks like.
    repo.workflow(
        r#"name: commit-title
stages:
  work:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo hi > hi.txt'"] }
    permissions: { workspace: write, exec: [sh] }
"#,
    );
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task(TEMPLATE_TITLE)
        .run();
    r.succeeds();
    let branch = r.report().meta.branch;
    let subject = repo.git(&["log", "-1", "--format=%s", &branch]);
    assert_eq!(subject.trim(), TEMPLATE_TITLE);
}

#[test]
fn an_agent_prompt_gets_the_task_title_as_text() {
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        "- - say: \"Done. <promise>COMPLETE</promise>\"\n  - write: {path: a.txt, content: \"a\\n\"}\n",
    );
    Workflow::named("prompt-title")
        .agents(&agent, "")
        .stage(
            "execute",
            r#"uses: builtin:agent
with:
  backend: claude
  completion: promise
  prompt: "Task: {{ task.title }} (attempt {{ attempt }})"
permissions: { workspace: write, agent: true }"#,
        )
        .write(&repo);
    repo.run(&["validate", "workflow.yaml"]).succeeds();
    repo.engine()
        .args(["run", "workflow.yaml"])
        .task(TEMPLATE_TITLE)
        .run()
        .succeeds();
    let prompt = agent.invocations()[0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prompt.starts_with(&format!("Task: {TEMPLATE_TITLE} (attempt 1)")),
        "{prompt}"
    );
}
