//! The stage's logic over a fake transport.

use std::cell::RefCell;

use engine_stage_sdk::http::{HttpError, Method, Response};
use serde_json::json;

use super::*;
use crate::config::parse;

/// Records requests and answers with a canned result.
struct FakeTransport {
    answer: Result<Response, HttpError>,
    sent: RefCell<Vec<Request>>,
}

impl FakeTransport {
    fn answering(status: u16, body: &str) -> Self {
        FakeTransport {
            answer: Ok(Response {
                status,
                body: body.as_bytes().to_vec(),
                ..Response::default()
            }),
            sent: RefCell::new(Vec::new()),
        }
    }
}

impl Transport for FakeTransport {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        self.sent.borrow_mut().push(request.clone());
        self.answer.clone()
    }
}

fn context() -> Value {
    json!({
        "task": {"id": "t1", "title": "Add --json", "body": "", "labels": []},
        "run": {"status": "failed", "failed_stage": "test", "message": "2 tests failed", "id": "r1"},
        "stages": {"triage": {"outputs": {"tier": "smart"}}},
    })
}

const URL: &str = "https://hooks.example.com/services/SECRET";

#[test]
fn slack_messages_are_rendered_and_posted() {
    let config = parse(&json!({
        "url": URL,
        "format": "slack",
        "message": "{{ task.title }} {{ run.status }} at {{ run.failed_stage }} ({{ stages.triage.outputs.tier }})",
    }))
    .unwrap();
    let transport = FakeTransport::answering(200, "ok");
    let success = deliver(&transport, &config, &context()).unwrap();
    let sent = transport.sent.borrow();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, Method::Post);
    assert_eq!(sent[0].url, URL);
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body, json!({"text": "Add --json failed at test (smart)"}));
    assert_eq!(
        sent[0].headers,
        vec![("Content-Type".to_string(), "application/json".to_string())]
    );
    assert_eq!(success.outputs["status"], 200);
    assert_eq!(success.outputs["bytes_sent"], sent[0].body.len() as u64);
}

#[test]
fn the_default_message_says_what_happened() {
    let config = parse(&json!({"url": URL, "format": "text"})).unwrap();
    let request = build_request(&config, &context()).unwrap();
    assert_eq!(
        String::from_utf8(request.body).unwrap(),
        "Add --json: run failed at stage test (2 tests failed)"
    );
}

#[test]
fn configured_headers_win_and_ntfy_gets_a_title() {
    let config = parse(&json!({
        "url": URL,
        "format": "ntfy",
        "method": "put",
        "headers": {"Authorization": "Bearer tok", "Title": "Mine"},
        "timeout": "5s",
    }))
    .unwrap();
    let request = build_request(&config, &context()).unwrap();
    assert_eq!(request.method, Method::Put);
    assert_eq!(request.timeout, Some(std::time::Duration::from_secs(5)));
    let titles: Vec<_> = request
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("title"))
        .collect();
    assert_eq!(titles, vec![&("Title".to_string(), "Mine".to_string())]);
    assert!(request.has_header("authorization"));
}

#[test]
fn non_2xx_replies_fail_retryably_without_the_url() {
    let config = parse(&json!({"url": URL, "headers": {"X-Token": "SECRET-TOKEN"}})).unwrap();
    let transport = FakeTransport::answering(500, "upstream exploded");
    let err = deliver(&transport, &config, &context()).unwrap_err();
    assert!(err.retryable);
    assert_eq!(
        err.message,
        "webhook: the server answered HTTP 500: upstream exploded"
    );
    assert!(!err.message.contains("SECRET"));
    assert!(!err.detail.to_string().contains("SECRET"));
}

#[test]
fn denied_hosts_fail_fatally_naming_only_the_host() {
    let config = parse(&json!({"url": URL})).unwrap();
    let transport = FakeTransport {
        answer: Err(HttpError::Denied {
            host: "hooks.example.com".into(),
        }),
        sent: RefCell::new(Vec::new()),
    };
    let err = deliver(&transport, &config, &context()).unwrap_err();
    assert!(!err.retryable);
    assert!(err.message.contains("hooks.example.com"), "{}", err.message);
    assert!(err.message.contains("permissions.net"), "{}", err.message);
    assert!(!err.message.contains("SECRET"));
}

#[test]
fn bad_urls_and_templates_fail_before_sending() {
    let transport = FakeTransport::answering(200, "");
    let config = parse(&json!({"url": "hooks.example.com/SECRET"})).unwrap();
    let err = deliver(&transport, &config, &context()).unwrap_err();
    assert!(!err.retryable);
    assert!(
        err.message.starts_with("`url`: invalid URL"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("SECRET"));
    let config = parse(&json!({"url": URL, "message": "{{ broken"})).unwrap();
    assert!(deliver(&transport, &config, &context()).is_err());
    assert!(transport.sent.borrow().is_empty());
}

/// A task title (which may come from a GitHub issue) that looks like a template.
const TEMPLATE_TITLE: &str = "{% for i in range(3) %}x{% endfor %} {{ run.branch }}";

#[test]
fn task_text_is_delivered_verbatim_never_rendered() {
    let mut context = context();
    context["task"]["title"] = json!(TEMPLATE_TITLE);
    context["run"]["branch"] = json!("engine/secret-branch");
    // The default message and title, a message template, and a body that sees `message`.
    for (with, field) in [
        (json!({"url": URL}), "text"),
        (
            json!({"url": URL, "message": "T: {{ task.title }}"}),
            "text",
        ),
        (json!({"url": URL, "title": "[{{ task.title }}]"}), "title"),
    ] {
        let config = parse(&with).unwrap();
        let request = build_request(&config, &context).unwrap();
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let text = body[field].as_str().unwrap();
        assert!(text.contains(TEMPLATE_TITLE), "{with}: {text}");
        assert!(!text.contains("xxx"), "{with}: {text}");
        assert!(!text.contains("engine/secret-branch"), "{with}: {text}");
        assert_eq!(body["task"]["title"], TEMPLATE_TITLE);
    }
    let config = parse(&json!({
        "url": URL,
        "message": "{{ task.title }}",
        "body": "{\"m\": {{ message | tojson }}, \"t\": {{ task.title | tojson }}}",
    }))
    .unwrap();
    let request = build_request(&config, &context).unwrap();
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, json!({"m": TEMPLATE_TITLE, "t": TEMPLATE_TITLE}));
}

#[test]
fn runaway_message_templates_fail_fatally() {
    let config = parse(&json!({
        "url": URL,
        "message": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    }))
    .unwrap();
    let err = deliver(&FakeTransport::answering(200, "ok"), &config, &context()).unwrap_err();
    assert!(!err.retryable);
    assert!(err.message.contains("`message`"), "{}", err.message);
}
