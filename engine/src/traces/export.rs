//! The exporter: one background thread with its own small tokio runtime that turns finished
//! attempts and runs into spans and sends them over OTLP/HTTP (protobuf). Drivers only put a
//! message on a channel, so exporting never slows a run, and a collector that is down or slow
//! never fails one: its errors are logged once, at warn. [`flush`] waits (a bounded time) for
//! what was queued before the process exits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use engine_core::{AttemptRecord, RunState};
use opentelemetry::{Key, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use tokio::sync::mpsc;

use super::sessions::sessions;
use super::spans::{RunFacts, attempt_span, run_span, session_span};

/// How long [`flush`] waits for queued spans to be sent.
pub const FLUSH_TIMEOUT: Duration = Duration::from_millis(2500);

/// How long [`flush`] waits once an export failed (the collector is down: its retries would
/// only make the exit slower).
const FLUSH_TIMEOUT_AFTER_FAILURE: Duration = Duration::from_millis(500);

/// How long one export may take before it is given up (besides the exporter's own
/// `OTEL_EXPORTER_OTLP_TIMEOUT`).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Spans kept for one export at most; more are dropped (a collector far behind).
const MAX_BATCH: usize = 2048;

/// What the drivers ask of the exporter.
pub(super) enum Job {
    /// Export the span of an ended attempt (and of its agent sessions).
    Attempt {
        /// The run.
        facts: Arc<RunFacts>,
        /// The state directory (the sessions' transcripts).
        state_dir: Arc<PathBuf>,
        /// The stage.
        stage: String,
        /// The attempt as stored.
        record: AttemptRecord,
    },
    /// Export the span of an ended run.
    Run {
        /// The run.
        facts: Arc<RunFacts>,
        /// When the run was created (its start, if it has none recorded).
        created_at_ms: u64,
        /// Its state at the end.
        state: Box<RunState>,
    },
    /// Answer once everything queued before was sent (or given up).
    Flush(std::sync::mpsc::Sender<()>),
}

/// The way to the exporter thread.
pub(super) struct Exporter {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Exporter {
    /// Queues `job`; never blocks.
    pub(super) fn send(&self, job: Job) {
        // The thread only ends with the process.
        let _ = self.jobs.send(job);
    }
}

static EXPORTER: OnceLock<Option<Exporter>> = OnceLock::new();

/// The exporter, started at the first call when traces are asked for; `None` when they are
/// not (see [`configured_endpoint`]).
pub(super) fn exporter() -> Option<&'static Exporter> {
    EXPORTER.get_or_init(start).as_ref()
}

/// Waits until the spans queued so far are sent, at most [`FLUSH_TIMEOUT`]; returns at once
/// when no run was traced.
pub fn flush() {
    let Some(Some(exporter)) = EXPORTER.get() else {
        return;
    };
    let (done, wait) = std::sync::mpsc::channel();
    exporter.send(Job::Flush(done));
    // A collector that already failed is not waited for long.
    let timeout = if FAILED.load(Ordering::Relaxed) {
        FLUSH_TIMEOUT_AFTER_FAILURE
    } else {
        FLUSH_TIMEOUT
    };
    if wait.recv_timeout(timeout).is_err() {
        warn_once("traces: gave up waiting for the OTLP collector at exit; some spans may be lost");
    }
}

/// Where traces go, from the standard variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else
/// `OTEL_EXPORTER_OTLP_ENDPOINT`; `None` when neither is set or `OTEL_SDK_DISABLED=true` or
/// `OTEL_TRACES_EXPORTER=none`.
pub fn configured_endpoint(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |name: &str| {
        var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || set("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"))
    {
        return None;
    }
    set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"))
}

fn start() -> Option<Exporter> {
    let endpoint = configured_endpoint(|name| std::env::var(name).ok())?;
    if endpoint.to_ascii_lowercase().starts_with("https://") {
        tracing::warn!(
            "traces: engine exports OTLP over plain http only; {} is https, so no trace is \
             exported (point it at a local collector's http endpoint, e.g. http://127.0.0.1:4318)",
            endpoint_for_log(&endpoint)
        );
        return None;
    }
    let (jobs, rx) = mpsc::unbounded_channel();
    let spawned = std::thread::Builder::new()
        .name("otlp-export".into())
        .spawn(move || run_thread(rx, &endpoint));
    if let Err(e) = spawned {
        tracing::warn!("traces: cannot start the exporter thread: {e}; no trace is exported");
        return None;
    }
    Some(Exporter { jobs })
}

/// The endpoint without what may be a credential (`user:password@`, a query).
fn endpoint_for_log(endpoint: &str) -> String {
    let (scheme, rest) = endpoint.split_once("://").unwrap_or(("", endpoint));
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{rest}")
}

/// `message` with the endpoint as [`endpoint_for_log`] shows it (an error may quote it whole).
fn scrub(message: &str, endpoint: &str) -> String {
    message.replace(endpoint, &endpoint_for_log(endpoint))
}

static WARNED: AtomicBool = AtomicBool::new(false);

/// Set once an export failed.
static FAILED: AtomicBool = AtomicBool::new(false);

/// Logs `message` at warn, the first time only: a collector that is down says so once, not
/// once per span.
fn warn_once(message: &str) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!("{message}");
    }
}

/// Records that an export failed and says so (once).
fn failed(message: &str) {
    FAILED.store(true, Ordering::Relaxed);
    warn_once(message);
}

/// The resource every span is of: what `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` say,
/// `service.name` being `engine` unless they name one.
pub fn resource() -> Resource {
    let detected = Resource::builder().build();
    let named = detected
        .get(&Key::from_static_str("service.name"))
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    if named {
        detected
    } else {
        Resource::builder()
            .with_service_name("engine")
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

fn run_thread(mut rx: mpsc::UnboundedReceiver<Job>, endpoint: &str) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            warn_once(&format!("traces: cannot start the exporter's runtime: {e}"));
            drain(&mut rx);
            return;
        }
    };
    runtime.block_on(async move {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build();
        let mut exporter = match exporter {
            Ok(exporter) => exporter,
            Err(e) => {
                warn_once(&scrub(
                    &format!("traces: cannot set up the OTLP exporter: {e}; no trace is exported"),
                    endpoint,
                ));
                while let Some(job) = rx.recv().await {
                    if let Job::Flush(done) = job {
                        let _ = done.send(());
                    }
                }
                return;
            }
        };
        exporter.set_resource(&resource());
        while let Some(job) = rx.recv().await {
            let mut batch = Vec::new();
            let mut flushes = Vec::new();
            take(job, &mut batch, &mut flushes);
            while let Ok(job) = rx.try_recv() {
                take(job, &mut batch, &mut flushes);
            }
            if !batch.is_empty() {
                batch.truncate(MAX_BATCH);
                match tokio::time::timeout(EXPORT_TIMEOUT, exporter.export(batch)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => failed(&scrub(
                        &format!(
                            "traces: exporting spans over OTLP failed: {e} (further failures \
                             are not logged)"
                        ),
                        endpoint,
                    )),
                    Err(_) => failed(
                        "traces: the OTLP collector did not answer in time (further failures \
                         are not logged)",
                    ),
                }
            }
            for done in flushes {
                let _ = done.send(());
            }
        }
    });
}

/// Answers flushes (and drops spans) when nothing can be exported (outside any runtime).
fn drain(rx: &mut mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.blocking_recv() {
        if let Job::Flush(done) = job {
            let _ = done.send(());
        }
    }
}

/// Turns `job` into spans (reading the sessions' transcripts here, off the driver's way).
fn take(job: Job, batch: &mut Vec<SpanData>, flushes: &mut Vec<std::sync::mpsc::Sender<()>>) {
    match job {
        Job::Attempt {
            facts,
            state_dir,
            stage,
            record,
        } => {
            let found = sessions(&state_dir, &facts.run_id, &stage, &record);
            let mut models: Vec<String> = found.iter().filter_map(|s| s.model.clone()).collect();
            models.sort();
            models.dedup();
            batch.push(attempt_span(&facts, &stage, &record, &models));
            let only = found.len() == 1;
            for session in &found {
                batch.push(session_span(&facts, &stage, &record, session, only));
            }
        }
        Job::Run {
            facts,
            created_at_ms,
            state,
        } => batch.push(run_span(&facts, &state, created_at_ms)),
        Job::Flush(done) => flushes.push(done),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn traces_are_on_only_when_an_endpoint_is_set() {
        assert_eq!(configured_endpoint(env(&[])), None);
        assert_eq!(
            configured_endpoint(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])),
            None
        );
        assert_eq!(
            configured_endpoint(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")])),
            Some("http://c:4318".into())
        );
        // The traces-specific variable wins.
        assert_eq!(
            configured_endpoint(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://t:4318/v1/traces"
                ),
            ])),
            Some("http://t:4318/v1/traces".into())
        );
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            assert_eq!(
                configured_endpoint(env(&[
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                    off
                ])),
                None
            );
        }
    }

    #[test]
    fn an_endpoint_is_logged_without_credentials() {
        assert_eq!(
            endpoint_for_log("https://user:secret@collector:4318/v1/traces?token=abc"),
            "https://collector:4318/v1/traces"
        );
        assert_eq!(endpoint_for_log("https://c:4318"), "https://c:4318");
        let raw = "http://u:pw@c:4318";
        assert_eq!(
            scrub(&format!("invalid endpoint '{raw}/v1/traces': bad"), raw),
            "invalid endpoint 'http://c:4318/v1/traces': bad"
        );
    }
}
