//! Notifiers end to end: `builtin:webhook` and `builtin:telegram` in a real run, sending to
//! servers this test starts on 127.0.0.1, limited to the hosts in `permissions.net`.
//!
//! The URLs are written literally: a real workflow passes them as `{{ secrets.NAME }}`, which
//! the engine renders before the attempt, so the plugin receives the same concrete URL.

mod support;

use serde_json::{Value, json};
use support::TestRepo;
use support::http_server::{Recorded, TestServer};

const TOKEN: &str = "123456:TEST-bot-token";

/// Writes a workflow with one stage `notify` and runs it with `task`.
fn run_notifier(repo: &TestRepo, stage_yaml: &str, task: &str) -> (support::Run, Value) {
    let wf = repo.workflow(&format!(
        "name: notify\nstages:\n  notify:\n{stage_yaml}    retry: {{ max_attempts: 1 }}\n"
    ));
    let r = repo.run(&["run", wf.to_str().unwrap(), "--task", task]);
    let run_id = r.run_id();
    assert!(!run_id.is_empty(), "no run id: {}", r.stderr());
    let show = repo.show(&run_id);
    (r, show)
}

/// The attempt log of `notify`, attempt `n`.
fn attempt_log(repo: &TestRepo, run_id: &str, n: u32) -> String {
    let path = repo
        .path()
        .join(".engine/runs")
        .join(run_id)
        .join("logs")
        .join(format!("notify.{n}.log"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn only_request(server: &TestServer) -> Recorded {
    let got = server.requests();
    assert_eq!(got.len(), 1, "{got:?}");
    got.into_iter().next().unwrap()
}

#[test]
fn a_webhook_posts_the_rendered_message_to_a_granted_host() {
    let repo = TestRepo::new();
    let server = TestServer::answering(200, "ok");
    let stage = format!(
        r#"    uses: builtin:webhook
    with:
      url: "{url}"
      message: "Finished: {{{{ task.title }}}}"
      headers: {{ X-Source: engine }}
    permissions: {{ net: ["127.0.0.1"] }}
"#,
        url = server.url("/hooks/T000/B000")
    );
    let (r, show) = run_notifier(&repo, &stage, "Add a --json flag");
    assert_eq!(r.code(), 0, "{}", r.stderr());

    let got = only_request(&server);
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/hooks/T000/B000");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("x-source"), Some("engine"));
    let body = got.json();
    assert_eq!(body["text"], "Finished: Add a --json flag");
    assert_eq!(body["task"]["title"], "Add a --json flag");
    assert!(body["status"].is_string(), "{body}");
    assert_eq!(body["run"]["id"], r.run_id());

    let outputs = &show["state"]["stages"]["notify"]["outputs"];
    assert_eq!(outputs["status"], 200, "{outputs}");
    assert_eq!(outputs["bytes_sent"], got.body.len() as u64);
    // The attempt log names the host of the request, never its path.
    let log = attempt_log(&repo, &r.run_id(), 1);
    assert!(
        log.contains(&format!("127.0.0.1:{}", server.port())),
        "{log}"
    );
    assert!(!log.contains("/hooks/T000"), "{log}");
    eprintln!("delivered webhook attempt log:\n{log}");
}

#[test]
fn slack_discord_and_ntfy_presets_shape_the_body() {
    for (format, check) in [("slack", "slack"), ("discord", "discord"), ("ntfy", "ntfy")] {
        let repo = TestRepo::new();
        let server = TestServer::answering(200, "");
        let stage = format!(
            "    uses: builtin:webhook\n    with: {{ url: \"{}\", format: {format}, message: \"hello\", title: \"Run done\" }}\n    permissions: {{ net: [\"127.0.0.1\"] }}\n",
            server.url("/x")
        );
        let (r, _) = run_notifier(&repo, &stage, "Preset task");
        assert_eq!(r.code(), 0, "{format}: {}", r.stderr());
        let got = only_request(&server);
        match check {
            "slack" => assert_eq!(got.json(), json!({"text": "hello"})),
            "discord" => assert_eq!(got.json(), json!({"content": "hello"})),
            _ => {
                assert_eq!(got.text(), "hello");
                assert_eq!(got.header("title"), Some("Run done"));
                assert!(
                    got.header("content-type")
                        .unwrap()
                        .starts_with("text/plain")
                );
            }
        }
    }
}

#[test]
fn a_host_not_in_permissions_net_is_denied_and_the_run_reports_it() {
    let repo = TestRepo::new();
    let server = TestServer::answering(200, "ok");
    let stage = format!(
        "    uses: builtin:webhook\n    with: {{ url: \"{}\" }}\n    permissions: {{ net: [hooks.example.com] }}\n",
        server.url("/secret/path")
    );
    let (r, show) = run_notifier(&repo, &stage, "Denied");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(server.requests().is_empty(), "the server saw a request");
    assert_eq!(show["state"]["status"]["status"], "failed");
    let failure = &show["state"]["stages"]["notify"]["last_failure"];
    assert_eq!(failure["kind"], "fatal", "{failure}");
    let message = failure["message"].as_str().unwrap();
    let target = format!("127.0.0.1:{}", server.port());
    assert!(
        message.contains(&format!("the request to {target} was denied")),
        "{message}"
    );
    assert!(message.contains("permissions.net"), "{message}");
    // (The literal URL is in the stored workflow source; with `{{ secrets.X }}` it is not.)
    let recorded = format!("{} {}", show["state"], show["events"]);
    assert!(
        !recorded.contains("/secret/path"),
        "the path leaked: {recorded}"
    );
    let log = attempt_log(&repo, &r.run_id(), 1);
    assert!(
        log.contains(&format!(
            "net: denied POST request from stage \"notify\": {target} is not in permissions.net"
        )),
        "{log}"
    );
}

#[test]
fn a_server_error_fails_the_stage_with_the_status() {
    let repo = TestRepo::new();
    let server = TestServer::answering(500, "boom: upstream unavailable");
    let stage = format!(
        "    uses: builtin:webhook\n    with: {{ url: \"{}\", format: text }}\n    permissions: {{ net: [\"127.0.0.1\"] }}\n",
        server.url("/hook")
    );
    let (r, show) = run_notifier(&repo, &stage, "Server error");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert_eq!(server.requests().len(), 1);
    let failure = &show["state"]["stages"]["notify"]["last_failure"];
    assert_eq!(failure["kind"], "retryable", "{failure}");
    assert_eq!(
        failure["message"],
        "webhook: the server answered HTTP 500: boom: upstream unavailable"
    );
    assert_eq!(failure["detail"]["status"], 500);
}

/// A fake Bot API: `ok: true` with a message id for `/bot<TOKEN>/sendMessage`, an error
/// otherwise.
fn fake_bot_api() -> TestServer {
    TestServer::start(|req| {
        if req.path == format!("/bot{TOKEN}/sendMessage") && req.method == "POST" {
            (
                200,
                "application/json",
                r#"{"ok":true,"result":{"message_id":77}}"#.to_string(),
            )
        } else {
            (
                404,
                "application/json",
                r#"{"ok":false,"error_code":404,"description":"Not Found"}"#.to_string(),
            )
        }
    })
}

#[test]
fn telegram_sends_the_message_through_the_bot_api() {
    let repo = TestRepo::new();
    let api = fake_bot_api();
    let stage = format!(
        r#"    uses: builtin:telegram
    with:
      token: "{TOKEN}"
      chat_id: -100200300
      message: "Run for {{{{ task.title }}}} is over"
      parse_mode: HTML
      disable_notification: true
      api_base: "{base}"
    permissions: {{ net: ["127.0.0.1"] }}
"#,
        base = api.url("")
    );
    let (r, show) = run_notifier(&repo, &stage, "Ship it");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let got = only_request(&api);
    assert_eq!(got.path, format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(
        got.json(),
        json!({
            "chat_id": -100200300,
            "text": "Run for Ship it is over",
            "parse_mode": "HTML",
            "disable_notification": true,
        })
    );
    let outputs = &show["state"]["stages"]["notify"]["outputs"];
    assert_eq!(outputs["message_id"], 77, "{outputs}");
    let recorded = format!("{} {}", show["state"], show["events"]);
    assert!(!recorded.contains("TEST-bot-token"), "{recorded}");
}

#[test]
fn a_telegram_error_fails_with_the_description_and_never_the_token() {
    let repo = TestRepo::new();
    let api = TestServer::start(|_| {
        (
            400,
            "application/json",
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#
                .to_string(),
        )
    });
    let stage = format!(
        "    uses: builtin:telegram\n    with: {{ token: \"{TOKEN}\", chat_id: \"@nowhere\", api_base: \"{}\" }}\n    permissions: {{ net: [\"127.0.0.1\"] }}\n",
        api.url("")
    );
    let (r, show) = run_notifier(&repo, &stage, "Lost chat");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert_eq!(api.requests().len(), 1);
    let failure = &show["state"]["stages"]["notify"]["last_failure"];
    assert_eq!(failure["kind"], "retryable", "{failure}");
    assert_eq!(
        failure["message"],
        "Telegram sendMessage failed (HTTP 400): Bad Request: chat not found"
    );
    let recorded = format!("{} {}", show["state"], show["events"]);
    assert!(!recorded.contains("TEST-bot-token"), "{recorded}");
    assert!(!r.stderr().contains("TEST-bot-token"), "{}", r.stderr());
}

/// Every file under `dir`, read as text (lossy), joined: to look for leaked secrets.
fn all_text_under(dir: &std::path::Path) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push_str(&all_text_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

/// A workflow whose `test` stage runs `command` through the gate, with `finally:` notifiers.
fn workflow_with_finally(repo: &TestRepo, command: &str, finally_yaml: &str) -> String {
    let wf = repo.workflow(&format!(
        r#"name: notify-finally
stages:
  test:
    uses: builtin:gate
    with: {{ commands: ["{command}"] }}
    permissions: {{ workspace: read, exec: ["{command}"] }}
    retry: {{ max_attempts: 1 }}
finally:
{finally_yaml}"#
    ));
    wf.to_str().unwrap().to_string()
}

#[test]
fn a_finally_notifier_with_a_secret_url_reports_a_failed_run() {
    let repo = TestRepo::new();
    let server = TestServer::answering(200, "ok");
    let secret_url = server.url("/hooks/SECRET-PATH-4711");
    let wf = workflow_with_finally(
        &repo,
        "false",
        r#"  notify:
    uses: builtin:webhook
    if: "failure()"
    secrets: [NOTIFY_WEBHOOK_URL]
    with:
      url: "{{ secrets.NOTIFY_WEBHOOK_URL }}"
      format: slack
      message: "{{ task.title }}: {{ run.status }}"
    permissions: { net: ["127.0.0.1"] }
    retry: { max_attempts: 1 }
  on-success:
    uses: builtin:webhook
    if: "success()"
    with: { url: "http://127.0.0.1:9/never" }
    permissions: { net: ["127.0.0.1"] }
"#,
    );
    let r = repo
        .engine()
        .args(["run", &wf, "--task", "Fix the parser"])
        .env("NOTIFY_WEBHOOK_URL", &secret_url)
        .output()
        .unwrap();
    let r = support::Run { output: r };
    assert_eq!(r.code(), 1, "the run's own failure stands: {}", r.stderr());
    let got = only_request(&server);
    assert_eq!(got.path, "/hooks/SECRET-PATH-4711");
    assert_eq!(got.json(), json!({"text": "Fix the parser: failed"}));

    let show = repo.show(&r.run_id());
    assert_eq!(show["state"]["status"]["status"], "failed");
    let finally = &show["state"]["finally"];
    assert_eq!(
        finally["notify"]["outcome"]["outcome"], "succeeded",
        "{finally}"
    );
    assert_eq!(
        finally["on-success"]["outcome"]["outcome"], "skipped",
        "{finally}"
    );
    // The secret URL never reaches the store, the logs or the output.
    let written = all_text_under(&repo.path().join(".engine"));
    assert!(
        !written.contains("SECRET-PATH-4711"),
        "the secret leaked into .engine"
    );
    assert!(!r.stdout().contains("SECRET-PATH-4711"));
    assert!(!r.stderr().contains("SECRET-PATH-4711"));
}

#[test]
fn a_failing_finally_notifier_never_changes_the_runs_outcome() {
    let repo = TestRepo::new();
    let server = TestServer::answering(500, "broken");
    let wf = workflow_with_finally(
        &repo,
        "true",
        &format!(
            "  notify:\n    uses: builtin:webhook\n    with: {{ url: \"{}\" }}\n    permissions: {{ net: [\"127.0.0.1\"] }}\n    retry: {{ max_attempts: 2, initial_interval: 10ms }}\n",
            server.url("/hook")
        ),
    );
    let r = repo.run(&["run", &wf, "--task", "All good"]);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_eq!(server.requests().len(), 2, "retried under its retry policy");
    let show = repo.show(&r.run_id());
    assert_eq!(show["state"]["status"]["status"], "succeeded");
    let notify = &show["state"]["finally"]["notify"]["outcome"];
    assert_eq!(notify["outcome"], "failed", "{notify}");
    assert!(
        notify.to_string().contains("HTTP 500"),
        "the failure is recorded: {notify}"
    );
    // The json preset carries the run's facts as the engine hands them over.
    let body = server.requests()[0].json();
    assert_eq!(body["task"]["title"], "All good");
    assert_eq!(body["status"], "succeeded", "{body}");
}
