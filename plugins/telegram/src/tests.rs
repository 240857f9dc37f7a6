//! The stage's logic over a fake Bot API.

use std::cell::RefCell;

use engine_stage_sdk::http::HttpError;

use super::*;
use crate::config::parse;

const TOKEN: &str = "123456:SECRET-token";

struct FakeApi {
    status: u16,
    reply: String,
    sent: RefCell<Vec<Request>>,
}

impl FakeApi {
    fn new(status: u16, reply: &str) -> Self {
        FakeApi {
            status,
            reply: reply.to_string(),
            sent: RefCell::new(Vec::new()),
        }
    }
}

impl Transport for FakeApi {
    fn send(&self, request: &Request) -> Result<Response, HttpError> {
        self.sent.borrow_mut().push(request.clone());
        Ok(Response {
            status: self.status,
            body: self.reply.clone().into_bytes(),
            ..Response::default()
        })
    }
}

fn context() -> Value {
    json!({
        "task": {"id": "t1", "title": "Add --json", "body": "", "labels": []},
        "run": {"status": "succeeded", "id": "r1"},
        "stages": {},
    })
}

#[test]
fn messages_are_sent_to_send_message_as_json() {
    let config = parse(&json!({
        "token": TOKEN,
        "chat_id": -1001,
        "message": "{{ task.title }} {{ run.status }}",
        "parse_mode": "HTML",
        "disable_notification": true,
        "api_base": "http://127.0.0.1:1",
    }))
    .unwrap();
    let api = FakeApi::new(200, r#"{"ok":true,"result":{"message_id":42}}"#);
    let success = send_message(&api, &config, &context()).unwrap();
    let sent = api.sent.borrow();
    assert_eq!(sent[0].method, Method::Post);
    assert_eq!(
        sent[0].url,
        format!("http://127.0.0.1:1/bot{TOKEN}/sendMessage")
    );
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        body,
        json!({"chat_id": -1001, "text": "Add --json succeeded", "parse_mode": "HTML", "disable_notification": true})
    );
    assert_eq!(success.outputs["message_id"], 42);
    assert_eq!(success.outputs["status"], 200);
    assert!(!success.summary.contains("SECRET"));
}

#[test]
fn a_reply_that_is_not_ok_fails_with_the_description_and_no_token() {
    let config = parse(&json!({"token": TOKEN, "chat_id": "@chan"})).unwrap();
    let api = FakeApi::new(
        400,
        &format!(
            r#"{{"ok":false,"error_code":400,"description":"Bad Request: chat not found for bot{TOKEN}"}}"#
        ),
    );
    let err = send_message(&api, &config, &context()).unwrap_err();
    assert!(err.retryable);
    assert_eq!(
        err.message,
        "Telegram sendMessage failed (HTTP 400): Bad Request: chat not found for bot***"
    );
    assert_eq!(err.detail["error_code"], 400);

    // `ok: false` counts even with a 200.
    let api = FakeApi::new(200, r#"{"ok":false,"description":"nope"}"#);
    assert!(send_message(&api, &config, &context()).is_err());
}

#[test]
fn replies_that_are_not_json_fail_with_the_status() {
    let config = parse(&json!({"token": TOKEN, "chat_id": 1})).unwrap();
    let api = FakeApi::new(502, "<html>Bad gateway</html>");
    let err = send_message(&api, &config, &context()).unwrap_err();
    assert!(err.retryable);
    assert!(err.message.contains("HTTP 502"), "{}", err.message);
    let api = FakeApi::new(200, "hello");
    let err = send_message(&api, &config, &context()).unwrap_err();
    assert!(err.message.contains("not JSON"), "{}", err.message);
}

#[test]
fn bad_tokens_and_empty_messages_are_fatal_before_sending() {
    let api = FakeApi::new(200, r#"{"ok":true}"#);
    let config = parse(&json!({"token": "../../x", "chat_id": 1})).unwrap();
    let err = send_message(&api, &config, &context()).unwrap_err();
    assert!(!err.retryable);
    let config =
        parse(&json!({"token": TOKEN, "chat_id": 1, "message": "{{ run.nothing }}"})).unwrap();
    let err = send_message(&api, &config, &context()).unwrap_err();
    assert!(err.message.contains("empty"), "{}", err.message);
    assert!(api.sent.borrow().is_empty());
}

#[test]
fn long_messages_are_cut_to_telegrams_limit() {
    let long = "x".repeat(5000);
    let config = parse(&json!({"token": TOKEN, "chat_id": 1, "message": long})).unwrap();
    let request = build_request(&config, &context()).unwrap();
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body["text"].as_str().unwrap().chars().count(),
        TELEGRAM_LIMIT
    );
}

#[test]
fn task_text_is_sent_verbatim_never_rendered() {
    let title = "{% for i in range(3) %}x{% endfor %} {{ run.branch }}";
    let mut context = context();
    context["task"]["title"] = json!(title);
    context["run"]["branch"] = json!("engine/secret-branch");
    for with in [
        json!({"token": TOKEN, "chat_id": 1}),
        json!({"token": TOKEN, "chat_id": 1, "message": "<b>{{ task.title }}</b>"}),
    ] {
        let config = parse(&with).unwrap();
        let request = build_request(&config, &context).unwrap();
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let text = body["text"].as_str().unwrap();
        assert!(text.contains(title), "{with}: {text}");
        assert!(!text.contains("engine/secret-branch"), "{with}: {text}");
    }
}
