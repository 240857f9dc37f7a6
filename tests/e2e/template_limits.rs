//! Host-side templates end to end: a runaway `with:` template fails its stage quickly with a
//! clear message (instead of holding the engine past the stage's `timeout:`), and a task's text
//! is data to every renderer: a notifier delivers a title that looks like a template verbatim.

mod support;

use serde_json::Value;
use support::TestRepo;
use support::http_server::TestServer;

/// A task title (as a GitHub issue could carry) that is a template if anything renders it.
const TEMPLATE_TITLE: &str = "{% for i in range(3) %}x{% endfor %} {{ run.branch }}";

#[test]
fn a_task_title_that_looks_like_a_template_is_delivered_verbatim() {
    let repo = TestRepo::new();
    let server = TestServer::answering(200, "ok");
    let url = server.url("/hook");
    let wf = repo.workflow(&format!(
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
    let r = repo.run(&["run", wf.to_str().unwrap(), "--task", TEMPLATE_TITLE]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
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
    let wf = repo.workflow(
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
    let r = repo.run(&["run", wf.to_str().unwrap(), "--task", "Runaway"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let show = repo.show(&r.run_id());
    let failure = &show["state"]["stages"]["notify"]["last_failure"];
    let message = failure["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("stage \"notify\": with.url: the template ran more than"),
        "{failure}"
    );
    assert!(message.contains("fuel limit"), "{failure}");
    assert_eq!(failure["kind"], "fatal", "{failure}");
}

#[test]
fn a_runaway_commit_message_template_fails_the_commit_and_a_title_stays_data() {
    let repo = TestRepo::new();
    let wf = repo.workflow(
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
    let r = repo.run(&["run", wf.to_str().unwrap(), "--task", "Write hi"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let show = repo.show(&r.run_id());
    let failure = &show["state"]["stages"]["work"]["last_failure"];
    let message = failure["message"].as_str().unwrap_or_default();
    assert!(message.contains("git.commit.message"), "{failure}");
    assert!(message.contains("fuel"), "{failure}");
    // The default message puts the task title in as text, whatever it looks like.
    let wf = repo.workflow(
        r#"name: commit-title
stages:
  work:
    uses: builtin:gate
    with: { commands: ["sh -c 'echo hi > hi.txt'"] }
    permissions: { workspace: write, exec: [sh] }
"#,
    );
    let r = repo.run(&["run", wf.to_str().unwrap(), "--task", TEMPLATE_TITLE]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let show = repo.show(&r.run_id());
    let branch = show["meta"]["branch"].as_str().unwrap();
    let subject = repo.git(&["log", "-1", "--format=%s", branch]);
    assert_eq!(subject.trim(), TEMPLATE_TITLE);
}

#[test]
fn an_agent_prompt_gets_the_task_title_as_text() {
    let repo = TestRepo::new();
    let agent = support::agent::ScriptedAgent::new(
        "- - say: \"Done. <promise>COMPLETE</promise>\"\n  - write: {path: a.txt, content: \"a\\n\"}\n",
    );
    let wf = repo.workflow(&format!(
        r#"name: prompt-title
agents:
{backends}stages:
  execute:
    uses: builtin:agent
    with:
      backend: claude
      completion: promise
      prompt: "Task: {{{{ task.title }}}} (attempt {{{{ attempt }}}})"
    permissions: {{ workspace: write, agent: true }}
"#,
        backends = agent.backends_yaml(),
    ));
    let v = repo.run(&["validate", wf.to_str().unwrap()]);
    assert_eq!(v.code(), 0, "{}", v.stderr());
    let r = repo.run(&["run", wf.to_str().unwrap(), "--task", TEMPLATE_TITLE]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let prompt = agent.invocations()[0]["prompt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        prompt.starts_with(&format!("Task: {TEMPLATE_TITLE} (attempt 1)")),
        "{prompt}"
    );
}
