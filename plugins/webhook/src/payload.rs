//! The request body: a preset built from the rendered message, or the `body` template.

use engine_notify_common::render;
use serde_json::{Value, json};

use crate::config::Format;

/// Longest Discord message (`content`), in characters.
const DISCORD_LIMIT: usize = 2000;

/// A body and the headers that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// Headers the preset adds (ntfy's `Title`).
    pub headers: Vec<(String, String)>,
}

/// The body for `format`, from the rendered `message` and `title` and the template context.
pub fn preset(format: Format, message: &str, title: &str, context: &Value) -> Payload {
    let json_body = |value: Value| Payload {
        content_type: "application/json",
        body: value.to_string().into_bytes(),
        headers: Vec::new(),
    };
    let text_body = |headers| Payload {
        content_type: "text/plain; charset=utf-8",
        body: message.as_bytes().to_vec(),
        headers,
    };
    match format {
        Format::Json => json_body(json!({
            "text": message,
            "title": title,
            "status": context["run"]["status"],
            "task": {
                "id": context["task"]["id"],
                "title": context["task"]["title"],
                "labels": context["task"]["labels"],
            },
            "run": context["run"],
        })),
        Format::Slack => json_body(json!({ "text": message })),
        Format::Discord => json_body(json!({ "content": cut(message, DISCORD_LIMIT) })),
        Format::Ntfy => text_body(vec![("Title".to_string(), header_value(title))]),
        Format::Text => text_body(Vec::new()),
    }
}

/// The body from the `body` template, which also sees `message` and `title`. JSON text is sent
/// as `application/json`, anything else as plain text.
pub fn custom(
    template: &str,
    message: &str,
    title: &str,
    context: &Value,
) -> Result<Payload, String> {
    let mut context = context.clone();
    if let Value::Object(map) = &mut context {
        map.insert("message".to_string(), Value::String(message.to_string()));
        map.insert("title".to_string(), Value::String(title.to_string()));
    }
    let body = render(template, &context).map_err(|e| format!("`body`: {e}"))?;
    let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    Ok(Payload {
        content_type,
        body: body.into_bytes(),
        headers: Vec::new(),
    })
}

/// At most `limit` characters, ending in `…` when cut.
fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    text.chars().take(limit - 1).collect::<String>() + "…"
}

/// A header value from free text: one line, and RFC 2047 (`=?UTF-8?B?...?=`) when it is not
/// plain ASCII, which ntfy decodes.
pub fn header_value(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string();
    if line.is_ascii() {
        line
    } else {
        format!("=?UTF-8?B?{}?=", base64(line.as_bytes()))
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Value {
        json!({
            "task": {"id": "t1", "title": "Add --json", "body": "b", "labels": ["cli"]},
            "run": {"status": "failed", "id": "r1"},
            "stages": {},
        })
    }

    fn body_json(p: &Payload) -> Value {
        serde_json::from_slice(&p.body).unwrap()
    }

    #[test]
    fn slack_and_discord_wrap_the_message() {
        let slack = preset(Format::Slack, "hi", "t", &context());
        assert_eq!(slack.content_type, "application/json");
        assert_eq!(body_json(&slack), json!({"text": "hi"}));
        let discord = preset(Format::Discord, &"x".repeat(3000), "t", &context());
        let content = body_json(&discord)["content"].as_str().unwrap().to_string();
        assert_eq!(content.chars().count(), DISCORD_LIMIT);
    }

    #[test]
    fn the_json_preset_is_structured() {
        let p = preset(Format::Json, "msg", "title", &context());
        let v = body_json(&p);
        assert_eq!(v["text"], "msg");
        assert_eq!(v["status"], "failed");
        assert_eq!(v["task"]["title"], "Add --json");
        assert_eq!(v["run"]["id"], "r1");
    }

    #[test]
    fn ntfy_sends_text_with_a_title_header() {
        let p = preset(Format::Ntfy, "done", "Run\nfinished", &context());
        assert_eq!(p.body, b"done");
        assert!(p.content_type.starts_with("text/plain"));
        assert_eq!(
            p.headers,
            vec![("Title".to_string(), "Run finished".to_string())]
        );
        assert_eq!(header_value("Fertig ✓"), "=?UTF-8?B?RmVydGlnIOKckw==?=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn custom_bodies_see_message_and_title() {
        let p = custom(
            r#"{"msg": {{ message | tojson }}, "who": "{{ task.id }}", "t": {{ title | tojson }}}"#,
            "a \"quoted\" message",
            "T",
            &context(),
        )
        .unwrap();
        assert_eq!(p.content_type, "application/json");
        assert_eq!(
            body_json(&p),
            json!({"msg": "a \"quoted\" message", "who": "t1", "t": "T"})
        );
        let p = custom("status={{ run.status }}", "m", "t", &context()).unwrap();
        assert!(p.content_type.starts_with("text/plain"));
        assert_eq!(p.body, b"status=failed");
        assert!(custom("{{ oops", "m", "t", &context()).is_err());
    }
}
