//! Notifiers end to end: `builtin:webhook` and `builtin:telegram` in a real run, sending to
//! servers this test starts on 127.0.0.1, limited to the hosts in `permissions.net`.
//!
//! The URLs are written literally: a real workflow passes them as `{{ secrets.NAME }}`, which
//! the engine renders before the attempt, so the plugin receives the same concrete URL.

use serde_json::json;

use crate::support::http_server::{Recorded, TestServer};
use crate::support::repo::{files_under, holds};
use crate::support::{TestRepo, Workflow};

const TOKEN: &str = "123456:TEST-bot-token";

/// A workflow whose one stage `notify` is `body` (unindented), tried once.
fn notifier(body: &str) -> Workflow {
    Workflow::named("notify").stage("notify", &format!("{body}\nretry: {{ max_attempts: 1 }}"))
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
    notifier(&format!(
        r#"uses: builtin:webhook
with:
  url: "{url}"
  message: "Finished: {{{{ task.title }}}}"
  headers: {{ X-Source: engine }}
permissions: {{ net: ["127.0.0.1"] }}"#,
        url = server.url("/hooks/T000/B000")
    ))
    .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Add a --json flag")
        .run();
    r.succeeds();

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

    let report = r.report();
    let outputs = &report.stage("notify").outputs;
    assert_eq!(outputs["status"], 200, "{outputs}");
    assert_eq!(outputs["bytes_sent"], got.body.len() as u64);
    // The attempt log names the host of the request, never its path.
    let log = attempt_log(&repo, &r.run_id(), 1);
    assert!(
        log.contains(&format!("127.0.0.1:{}", server.port())),
        "{log}"
    );
    assert!(!log.contains("/hooks/T000"), "{log}");
}

#[test]
fn slack_discord_and_ntfy_presets_shape_the_body() {
    for (format, check) in [("slack", "slack"), ("discord", "discord"), ("ntfy", "ntfy")] {
        let repo = TestRepo::new();
        let server = TestServer::answering(200, "");
        notifier(&format!(
            "uses: builtin:webhook\nwith: {{ url: \"{}\", format: {format}, message: \"hello\", title: \"Run done\" }}\npermissions: {{ net: [\"127.0.0.1\"] }}",
            server.url("/x")
        ))
        .write(&repo);
        let r = repo
            .engine()
            .args(["run", "workflow.yaml"])
            .task("Preset task")
            .run();
        assert_eq!(r.code(), 0, "{format}: {}", r.context());
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
    notifier(&format!(
        "uses: builtin:webhook\nwith: {{ url: \"{}\" }}\npermissions: {{ net: [hooks.example.com] }}",
        server.url("/secret/path")
    ))
    .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Denied")
        .run();
    r.exits(1);
    assert!(server.requests().is_empty(), "the server saw a request");
    let report = r.report();
    assert_eq!(report.status(), "failed");
    let failure = report.stage("notify").failure();
    assert_eq!(failure.kind, "fatal", "{failure:?}");
    let target = format!("127.0.0.1:{}", server.port());
    // It names the host and `permissions.net`.
    insta::assert_snapshot!(
        "request_denied",
        failure.message.replace(&target, "127.0.0.1:[PORT]")
    );
    // (The literal URL is in the stored workflow source; with `{{ secrets.X }}` it is not.)
    let recorded = format!("{} {}", report.raw["state"], report.raw["events"]);
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
    notifier(&format!(
        "uses: builtin:webhook\nwith: {{ url: \"{}\", format: text }}\npermissions: {{ net: [\"127.0.0.1\"] }}",
        server.url("/hook")
    ))
    .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Server error")
        .run();
    r.exits(1);
    assert_eq!(server.requests().len(), 1);
    let report = r.report();
    let failure = report.stage("notify").failure();
    assert_eq!(failure.kind, "retryable", "{failure:?}");
    assert_eq!(
        failure.message,
        "webhook: the server answered HTTP 500: boom: upstream unavailable"
    );
    assert_eq!(failure.detail["status"], 500);
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
    notifier(&format!(
        r#"uses: builtin:telegram
with:
  token: "{TOKEN}"
  chat_id: -100200300
  message: "Run for {{{{ task.title }}}} is over"
  parse_mode: HTML
  disable_notification: true
  api_base: "{base}"
permissions: {{ net: ["127.0.0.1"] }}"#,
        base = api.url("")
    ))
    .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Ship it")
        .run();
    r.succeeds();
    let got = only_request(&api);
    assert_eq!(got.path, format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(
        got.json(),
        json!({
            "chat_id": -100_200_300,
            "text": "Run for Ship it is over",
            "parse_mode": "HTML",
            "disable_notification": true,
        })
    );
    let report = r.report();
    let outputs = &report.stage("notify").outputs;
    assert_eq!(outputs["message_id"], 77, "{outputs}");
    let recorded = format!("{} {}", report.raw["state"], report.raw["events"]);
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
    notifier(&format!(
        "uses: builtin:telegram\nwith: {{ token: \"{TOKEN}\", chat_id: \"@nowhere\", api_base: \"{}\" }}\npermissions: {{ net: [\"127.0.0.1\"] }}",
        api.url("")
    ))
    .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Lost chat")
        .run();
    r.exits(1).never_prints("TEST-bot-token");
    assert_eq!(api.requests().len(), 1);
    let report = r.report();
    let failure = report.stage("notify").failure();
    assert_eq!(failure.kind, "retryable", "{failure:?}");
    assert_eq!(
        failure.message,
        "Telegram sendMessage failed (HTTP 400): Bad Request: chat not found"
    );
    let recorded = format!("{} {}", report.raw["state"], report.raw["events"]);
    assert!(!recorded.contains("TEST-bot-token"), "{recorded}");
}

/// A workflow whose `test` stage runs `command` through the gate (`finally:` stages to add).
fn gate_then_finally(command: &str) -> Workflow {
    Workflow::named("notify-finally").stage(
        "test",
        &format!(
            "uses: builtin:gate\nwith: {{ commands: [\"{command}\"] }}\n\
             permissions: {{ workspace: read, exec: [\"{command}\"] }}\nretry: {{ max_attempts: 1 }}"
        ),
    )
}

#[test]
fn a_finally_notifier_with_a_secret_url_reports_a_failed_run() {
    let repo = TestRepo::new();
    let server = TestServer::answering(200, "ok");
    let secret_url = server.url("/hooks/SECRET-PATH-4711");
    gate_then_finally("false")
        .finally(
            "notify",
            r#"uses: builtin:webhook
if: "failure()"
secrets: [NOTIFY_WEBHOOK_URL]
with:
  url: "{{ secrets.NOTIFY_WEBHOOK_URL }}"
  format: slack
  message: "{{ task.title }}: {{ run.status }}"
permissions: { net: ["127.0.0.1"] }
retry: { max_attempts: 1 }"#,
        )
        .finally(
            "on-success",
            r#"uses: builtin:webhook
if: "success()"
with: { url: "http://127.0.0.1:9/never" }
permissions: { net: ["127.0.0.1"] }"#,
        )
        .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("Fix the parser")
        .env("NOTIFY_WEBHOOK_URL", &secret_url)
        .run();
    // The run's own failure stands; the secret URL is never printed.
    r.exits(1).never_prints("SECRET-PATH-4711");
    let got = only_request(&server);
    assert_eq!(got.path, "/hooks/SECRET-PATH-4711");
    assert_eq!(got.json(), json!({"text": "Fix the parser: failed"}));

    let report = r.report();
    assert_eq!(report.status(), "failed");
    assert_eq!(report.finally("notify").outcome, "succeeded");
    assert_eq!(report.finally("on-success").outcome, "skipped");
    // The secret URL never reaches the store or the logs.
    for (path, bytes) in files_under(&repo.path().join(".engine")) {
        assert!(
            !holds(&bytes, "SECRET-PATH-4711"),
            "the secret leaked into {}",
            path.display()
        );
    }
}

#[test]
fn a_failing_finally_notifier_never_changes_the_runs_outcome() {
    let repo = TestRepo::new();
    let server = TestServer::answering(500, "broken");
    gate_then_finally("true")
        .finally(
            "notify",
            &format!(
                "uses: builtin:webhook\nwith: {{ url: \"{}\" }}\npermissions: {{ net: [\"127.0.0.1\"] }}\n\
                 retry: {{ max_attempts: 2, initial_interval: 10ms }}",
                server.url("/hook")
            ),
        )
        .write(&repo);
    let r = repo
        .engine()
        .args(["run", "workflow.yaml"])
        .task("All good")
        .run();
    r.succeeds();
    assert_eq!(server.requests().len(), 2, "retried under its retry policy");
    let report = r.report();
    assert_eq!(report.status(), "succeeded");
    let notify = report.finally("notify");
    assert_eq!(notify.outcome, "failed", "{notify:?}");
    // The failure is recorded.
    insta::assert_snapshot!(
        "finally_notifier_failed",
        notify.message.as_deref().unwrap_or_default()
    );
    // The json preset carries the run's facts as the engine hands them over.
    let body = server.requests()[0].json();
    assert_eq!(body["task"]["title"], "All good");
    assert_eq!(body["status"], "succeeded", "{body}");
}
