//! Outgoing HTTP (`wasi:http`) limited to `permissions.net`, with the real `builtin:webhook`
//! against a server on 127.0.0.1.

use crate::common::{host, request};
use crate::http_server::TestServer;
use engine_core::{FailureKind, Permissions};
use engine_runtime::{LoadedStage, LogLevel};
use serde_json::json;

fn webhook() -> LoadedStage {
    host()
        .load(
            engine_runtime::builtin("webhook").unwrap(),
            "builtin:webhook",
        )
        .unwrap()
}

fn net(hosts: &[&str]) -> Permissions {
    Permissions {
        net: hosts.iter().map(std::string::ToString::to_string).collect(),
        ..Permissions::default()
    }
}

#[tokio::test]
async fn a_granted_host_receives_the_request() {
    let server = TestServer::answering(200, "ok");
    let (mut req, recorder) = request(json!({
        "url": server.url("/hooks/abc?x=1"),
        "format": "slack",
        "message": "{{ task.title }} is {{ run.status }}",
    }));
    req.permissions = net(&["127.0.0.1"]);
    let ok = host().run_attempt(&webhook(), req).await.unwrap();
    assert_eq!(ok.outputs["status"], 200);

    let got = server.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].path, "/hooks/abc?x=1");
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    assert_eq!(got[0].json(), json!({"text": "Title is running"}));
    assert_eq!(ok.outputs["bytes_sent"], got[0].body.len() as u64);
    // The allowed request is logged with its host, never its path (paths carry secrets).
    let logs = recorder.logs();
    let line = format!("net: POST request to 127.0.0.1:{}", server.port());
    assert!(logs.iter().any(|(_, m)| m == &line), "{logs:?}");
    assert!(
        !logs.iter().any(|(_, m)| m.contains("/hooks/abc")),
        "{logs:?}"
    );
}

#[tokio::test]
async fn a_host_and_port_grant_allows_exactly_that_port() {
    let server = TestServer::answering(204, "");
    let (mut req, _) = request(json!({ "url": server.url("/"), "format": "text" }));
    req.permissions = net(&[&format!("127.0.0.1:{}", server.port())]);
    let ok = host().run_attempt(&webhook(), req).await.unwrap();
    assert_eq!(ok.outputs["status"], 204);
    assert_eq!(server.requests().len(), 1);

    let (mut req, recorder) = request(json!({ "url": server.url("/"), "format": "text" }));
    req.permissions = net(&[&format!("127.0.0.1:{}", server.port().wrapping_add(1))]);
    let failure = host().run_attempt(&webhook(), req).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Fatal);
    assert!(failure.message.contains("denied"), "{}", failure.message);
    assert_eq!(
        server.requests().len(),
        1,
        "the denied request never arrived"
    );
    assert!(
        recorder
            .logs()
            .iter()
            .any(|(level, m)| *level == LogLevel::Warn && m.contains("denied"))
    );
}

#[tokio::test]
async fn a_host_not_granted_is_denied_before_any_connection() {
    let server = TestServer::answering(200, "ok");
    let (mut req, recorder) = request(json!({ "url": server.url("/secret-path") }));
    req.permissions = net(&["hooks.example.com"]);
    let failure = host().run_attempt(&webhook(), req).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Fatal);
    let target = format!("127.0.0.1:{}", server.port());
    assert_eq!(
        failure.message,
        format!(
            "webhook: the request to {target} was denied: {target} is not in this stage's permissions.net"
        )
    );
    assert!(server.requests().is_empty(), "the server saw a request");
    let denial = recorder
        .logs()
        .into_iter()
        .find(|(_, m)| m.starts_with("net: denied"))
        .expect("the denial is logged");
    assert_eq!(denial.0, LogLevel::Warn);
    assert_eq!(
        denial.1,
        format!(
            "net: denied POST request from stage \"stage1\": {target} is not in permissions.net"
        )
    );
    assert!(!denial.1.contains("secret-path"));
}

#[tokio::test]
async fn a_stage_without_net_grants_can_make_no_request() {
    let server = TestServer::answering(200, "ok");
    let (req, recorder) = request(json!({ "url": server.url("/") }));
    assert!(req.permissions.net.is_empty());
    let failure = host().run_attempt(&webhook(), req).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Fatal);
    assert!(failure.message.contains("denied"), "{}", failure.message);
    assert!(server.requests().is_empty());
    assert!(
        recorder
            .logs()
            .iter()
            .any(|(_, m)| m.contains("(the stage is granted no hosts)")),
        "{:?}",
        recorder.logs()
    );
}

#[tokio::test]
async fn a_server_error_fails_the_attempt_retryably_with_the_status() {
    let server = TestServer::answering(500, "database on fire");
    let (mut req, _) = request(json!({
        "url": server.url("/hook"),
        "headers": { "Authorization": "Bearer very-secret-token" },
    }));
    req.permissions = net(&["127.0.0.1"]);
    let failure = host().run_attempt(&webhook(), req).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Retryable);
    assert_eq!(
        failure.message,
        "webhook: the server answered HTTP 500: database on fire"
    );
    let got = server.requests();
    assert_eq!(
        got[0].header("authorization"),
        Some("Bearer very-secret-token")
    );
    assert!(!failure.message.contains("very-secret-token"));
    assert!(!failure.detail.to_string().contains("very-secret-token"));
}

#[tokio::test]
async fn nothing_listening_is_a_retryable_transport_error() {
    // Bind then drop a listener: its port is (very likely) closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (mut req, _) = request(json!({ "url": format!("http://127.0.0.1:{port}/") }));
    req.permissions = net(&["127.0.0.1"]);
    let failure = host().run_attempt(&webhook(), req).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Retryable, "{}", failure.message);
    assert!(failure.message.contains("failed"), "{}", failure.message);
}

#[tokio::test]
async fn describe_asks_for_no_hosts() {
    let d = host().describe(&webhook()).await.unwrap();
    assert_eq!(d.name, "webhook");
    assert!(d.permissions.net.is_empty());
    assert_eq!(d.config_schema["required"], json!(["url"]));
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_stage_timeout() {
    // The kernel accepts the connection (backlog); nobody ever reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (mut req, _) = request(json!({
        "url": format!("http://127.0.0.1:{port}/"),
        "timeout": "300ms",
    }));
    req.permissions = net(&["127.0.0.1"]);
    let failure = host().run_attempt(&webhook(), req).await.unwrap_err();
    // Whose timer fired is in the failure: the request's own timeout makes the stage fail
    // retryably with its message; the stage timeout (10 s here) would end the attempt as
    // `TimedOut`, with the host's message.
    assert_eq!(failure.kind, FailureKind::Retryable, "{}", failure.message);
    assert_eq!(
        failure.message,
        format!("webhook: the request to 127.0.0.1:{port} timed out")
    );
    drop(silent);
}
