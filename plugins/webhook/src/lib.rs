//! Built-in stage `webhook`: posts a message to a URL, for Slack, Discord, ntfy or any endpoint.
//!
//! ```yaml
//! finally:
//!   notify:
//!     uses: builtin:webhook
//!     if: "failure()"
//!     with:
//!       url: "{{ secrets.SLACK_WEBHOOK_URL }}"
//!       format: slack
//!       message: "{{ task.title }} {{ run.status }} at {{ run.failed_stage }}"
//!     permissions: { net: [hooks.slack.com] }
//! ```
//!
//! The host sends the request only when the URL's host is in the stage's `permissions.net`.
//! A reply other than 2xx fails the attempt (retryable) with the status and a short excerpt of
//! the reply; the URL and headers never appear in messages or outputs. See docs/notifiers.md.
#![warn(missing_docs)]

pub mod config;
pub mod payload;

use std::time::Instant;

use engine_notify_common::{
    RunFacts, SdkTransport, Transport, http_failure, message_context, render, request_failure,
};
use engine_stage_sdk::http::{Request, Url};
use engine_stage_sdk::{Context, Descriptor, Stage, StageError, Success};
use serde_json::Value;

use config::{DEFAULT_MESSAGE, DEFAULT_TITLE, WebhookConfig};

/// The webhook stage.
pub struct Webhook;

impl Stage for Webhook {
    // Parsed by `config::parse`, whose errors never quote the URL or header values.
    type Config = Value;

    fn describe() -> Descriptor {
        // No `net` here: the host comes from the config, and the workflow's grant decides.
        Descriptor::new(
            "webhook",
            env!("CARGO_PKG_VERSION"),
            "Posts a message to a webhook URL (JSON, Slack, Discord, ntfy or plain text)",
        )
        .config_schema(&config::schema())
    }

    fn run(ctx: Context<Value>) -> Result<Success, StageError> {
        let config = config::parse(&ctx.config).map_err(StageError::fatal)?;
        let context = message_context(&RunFacts {
            run_id: &ctx.run_id,
            stage_id: &ctx.stage_id,
            task: &ctx.task,
            outputs: &ctx.outputs,
        });
        deliver(&SdkTransport, &config, &context)
    }
}

/// Builds the request from the config and the template context, sends it and reports.
pub fn deliver<T: Transport + ?Sized>(
    transport: &T,
    config: &WebhookConfig,
    context: &Value,
) -> Result<Success, StageError> {
    let request = build_request(config, context).map_err(StageError::fatal)?;
    let host = Url::parse(&request.url)
        .map(|u| u.authority())
        .unwrap_or_default();
    let started = Instant::now();
    let response = transport
        .send(&request)
        .map_err(|e| request_failure("webhook", &e))?;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if !response.is_success() {
        return Err(http_failure("webhook", &response));
    }
    Ok(Success::new(format!(
        "webhook delivered: {} to {host}, HTTP {}, {} bytes in {elapsed_ms} ms",
        request.method.as_str(),
        response.status,
        request.body.len()
    ))
    .output("status", response.status)
    .output("bytes_sent", request.body.len() as u64)
    .output("duration_ms", elapsed_ms))
}

/// The request: URL checked, message and title rendered, body built, headers merged (the
/// config's headers win over the preset's).
pub fn build_request(config: &WebhookConfig, context: &Value) -> Result<Request, String> {
    Url::parse(&config.url).map_err(|e| format!("`url`: {e}"))?;
    let method = config.method()?;
    let timeout = config.timeout()?;
    let message = render(
        config.message.as_deref().unwrap_or(DEFAULT_MESSAGE),
        context,
    )
    .map_err(|e| format!("`message`: {e}"))?;
    let title = render(config.title.as_deref().unwrap_or(DEFAULT_TITLE), context)
        .map_err(|e| format!("`title`: {e}"))?;
    let payload = match &config.body {
        Some(template) => payload::custom(template, &message, &title, context)?,
        None => payload::preset(config.format, &message, &title, context),
    };
    let mut request = Request::new(method, config.url.clone()).timeout(timeout);
    for (name, value) in &config.headers {
        request = request.header(name.clone(), value.clone());
    }
    for (name, value) in payload.headers {
        if !request.has_header(&name) {
            request = request.header(name, value);
        }
    }
    if !request.has_header("content-type") {
        request = request.header("Content-Type", payload.content_type);
    }
    Ok(request.body(payload.body))
}

#[cfg(test)]
mod tests;

engine_stage_sdk::export_stage!(Webhook);
