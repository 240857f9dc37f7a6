//! OpenTelemetry traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the real binary sends its
//! runs' spans over OTLP/HTTP (protobuf) to a receiver the test runs on 127.0.0.1, which
//! decodes them: one trace per run (its id is the run's ULID), the run's span, a child per
//! stage attempt, a grandchild per agent session. After a kill -9 and `engine resume`, the
//! spans of the resumed attempts land in the same trace.

use std::collections::BTreeSet;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::{Span, span, status};
use prost::Message;

use crate::support::agent::ScriptedAgent;
use crate::support::http_server::TestServer;
use crate::support::{EngineCommand, Handshake, TestRepo, Workflow, wait_until};

/// An OTLP/HTTP receiver answering 200 to everything.
fn receiver() -> TestServer {
    TestServer::start(|_| (200, "application/x-protobuf", String::new()))
}

/// `command` exporting to `server` (and nothing else of the environment's OpenTelemetry settings).
fn traced<'r>(command: EngineCommand<'r>, server: &TestServer) -> EngineCommand<'r> {
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", server.url(""))
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_TRACES_EXPORTER")
}

/// Every span received so far, with the `service.name` of its resource.
fn received(server: &TestServer) -> Vec<(String, Span)> {
    let mut spans = Vec::new();
    for request in server.requests() {
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/v1/traces")
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/x-protobuf")
        );
        let export = ExportTraceServiceRequest::decode(request.body.as_slice())
            .expect("an OTLP ExportTraceServiceRequest");
        for resource in export.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.clone());
            let service = match service {
                Some(Value::StringValue(s)) => s,
                other => panic!("no service.name: {other:?}"),
            };
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push((service.clone(), span));
                }
            }
        }
    }
    spans
}

fn attr(span: &Span, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.clone())
}

#[track_caller]
fn text(span: &Span, key: &str) -> String {
    match attr(span, key) {
        Some(Value::StringValue(s)) => s,
        other => panic!("{} has no text {key}: {other:?}", span.name),
    }
}

/// The trace id of run `run_id`: its ULID's 128 bits.
fn trace_of(run_id: &str) -> Vec<u8> {
    ulid::Ulid::from_string(run_id)
        .unwrap()
        .0
        .to_be_bytes()
        .to_vec()
}

/// The span of attempt `attempt` of `stage`.
#[track_caller]
fn attempt<'s>(spans: &'s [Span], stage: &str, attempt: i64) -> &'s Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|s| {
            attr(s, "cicd.pipeline.task.name") == Some(Value::StringValue(stage.into()))
                && s.name != "invoke_agent"
                && attr(s, "engine.attempt") == Some(Value::IntValue(attempt))
        })
        .collect();
    assert_eq!(found.len(), 1, "attempt {attempt} of {stage}: {found:#?}");
    found[0]
}

/// The one root span.
#[track_caller]
fn root(spans: &[Span]) -> &Span {
    let roots: Vec<&Span> = spans
        .iter()
        .filter(|s| s.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len(), 1, "{roots:#?}");
    roots[0]
}

#[test]
fn a_run_exports_one_trace_with_its_attempts_and_agent_sessions() {
    let server = receiver();
    let repo = TestRepo::new();
    let agent = ScriptedAgent::new(
        r#"
- - say: Implementing the greeting
  - write: {path: greet.txt, content: "hello\n"}
  - cost: 0.12
  - say: "All done. <promise>COMPLETE</promise>"
"#,
    );
    Workflow::named("traced")
        .agents(&agent, "limits: { post_result_grace: 1s }")
        .stage(
            "lint",
            "uses: builtin:gate\nwith: { commands: [\"sh -c true\"] }\n\
             permissions: { workspace: read, exec: [sh] }",
        )
        .stage(
            "execute",
            "uses: builtin:agent\nneeds: [lint]\n\
             with: { backend: claude, model: model-x, completion: promise }\n\
             permissions: { workspace: write, agent: true }",
        )
        .stage(
            "check",
            "uses: builtin:gate\nneeds: [execute]\nwith: { commands: [\"sh -c false\"] }\n\
             permissions: { workspace: read, exec: [sh] }",
        )
        .write(&repo);
    let r = traced(repo.engine(), &server)
        .args(["run", "workflow.yaml"])
        .task("Add a greeting")
        .run();
    r.exits(1);
    let report = r.report();
    let run_id = report.meta.run_id.clone();

    // Everything was sent before the process exited: no waiting here.
    let received = received(&server);
    assert!(
        received.iter().all(|(service, _)| service == "engine"),
        "{received:#?}"
    );
    let spans: Vec<Span> = received.into_iter().map(|(_, s)| s).collect();
    let trace = trace_of(&run_id);
    assert!(spans.iter().all(|s| s.trace_id == trace), "{spans:#?}");
    let ids: BTreeSet<&Vec<u8>> = spans.iter().map(|s| &s.span_id).collect();
    assert_eq!(ids.len(), spans.len(), "span ids are unique");
    assert_eq!(spans.len(), 5, "run, 3 attempts, 1 session: {spans:#?}");

    let run = root(&spans);
    assert_eq!(run.name, "RUN traced");
    assert_eq!(run.kind, span::SpanKind::Server as i32);
    assert_eq!(text(run, "cicd.pipeline.name"), "traced");
    assert_eq!(text(run, "cicd.pipeline.run.id"), run_id);
    assert_eq!(text(run, "cicd.pipeline.result"), "failure");
    assert_eq!(text(run, "vcs.ref.head.name"), report.meta.branch);
    assert_eq!(text(run, "vcs.ref.base.revision"), report.meta.base_commit);
    assert_eq!(text(run, "engine.task.title"), "Add a greeting");
    assert_eq!(
        run.status.as_ref().map(|s| s.code),
        Some(status::StatusCode::Error as i32)
    );

    let lint = attempt(&spans, "lint", 1);
    let execute = attempt(&spans, "execute", 1);
    let check = attempt(&spans, "check", 1);
    for (stage, span, result) in [
        ("lint", lint, "success"),
        ("execute", execute, "success"),
        ("check", check, "failure"),
    ] {
        assert_eq!(span.parent_span_id, run.span_id, "{stage}");
        assert_eq!(span.name, stage);
        assert_eq!(
            text(span, "cicd.pipeline.task.run.result"),
            result,
            "{stage}"
        );
        assert_eq!(
            text(span, "cicd.pipeline.task.run.id"),
            format!("{run_id}/{stage}/1")
        );
        assert!(
            span.start_time_unix_nano >= run.start_time_unix_nano,
            "{stage}"
        );
        assert!(span.end_time_unix_nano <= run.end_time_unix_nano, "{stage}");
    }
    assert_eq!(text(check, "engine.outcome"), "failed");
    assert_eq!(text(check, "error.type"), "fatal");
    let Some(Value::DoubleValue(usd)) = attr(execute, "engine.cost.usd") else {
        panic!("no cost on {execute:#?}")
    };
    assert!((usd - 0.12).abs() < 1e-9, "{usd}");
    assert_eq!(attr(lint, "engine.cost.usd"), None, "a gate spends nothing");

    // The agent session is a child of the attempt that ran it, within its time.
    let sessions: Vec<&Span> = spans.iter().filter(|s| s.name == "invoke_agent").collect();
    assert_eq!(sessions.len(), 1);
    let session = sessions[0];
    assert_eq!(session.parent_span_id, execute.span_id);
    assert_eq!(text(session, "gen_ai.operation.name"), "invoke_agent");
    // The model the agent CLI named in its transcript.
    assert_eq!(text(session, "gen_ai.response.model"), "model-x");
    assert_eq!(text(execute, "engine.model"), "model-x");
    assert!(session.start_time_unix_nano >= execute.start_time_unix_nano);
    assert!(session.end_time_unix_nano <= execute.end_time_unix_nano);
}

#[test]
fn a_run_resumed_after_kill_9_goes_on_in_the_same_trace() {
    let server = receiver();
    let repo = TestRepo::new();
    let handshake = Handshake::new();
    repo.workflow(&format!(
        r#"
name: crashy
stages:
  a:
    uses: builtin:gate
    with: {{ commands: ["sh -c true"] }}
    permissions: {{ workspace: read, exec: [sh] }}
  b:
    uses: builtin:gate
    needs: [a]
    with: {{ commands: ["sh -c '{wait}'"] }}
    permissions: {{ workspace: read, exec: [sh] }}
    {grant}
"#,
        wait = handshake.announce_and_wait("b"),
        grant = handshake.grant(),
    ));
    let mut engine = traced(repo.engine(), &server)
        .args(["run", "workflow.yaml"])
        .spawn();
    engine.wait_for_file(&handshake.started_file("b"));
    // The first process exported `a` as it ended: wait for it to arrive, then kill.
    wait_until("the span of a", || {
        received(&server).iter().any(|(_, s)| {
            attr(s, "cicd.pipeline.task.name") == Some(Value::StringValue("a".into()))
        })
    });
    let run_id = engine
        .kill9()
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    let before = received(&server).len();
    assert_eq!(before, 1, "only a's span before the kill");

    handshake.release();
    traced(repo.engine(), &server)
        .args(["resume", &run_id])
        .run()
        .succeeds();

    let spans: Vec<Span> = received(&server).into_iter().map(|(_, s)| s).collect();
    let trace = trace_of(&run_id);
    assert!(spans.iter().all(|s| s.trace_id == trace), "{spans:#?}");
    // a (first process); b's interrupted attempt, b's second attempt and the run (resume).
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let run = root(&spans);
    assert_eq!(text(run, "cicd.pipeline.result"), "success");
    let a = attempt(&spans, "a", 1);
    let b1 = attempt(&spans, "b", 1);
    let b2 = attempt(&spans, "b", 2);
    for span in [a, b1, b2] {
        assert_eq!(span.parent_span_id, run.span_id, "{span:#?}");
    }
    assert_eq!(text(b1, "cicd.pipeline.task.run.result"), "error");
    assert_eq!(text(b1, "engine.outcome"), "interrupted");
    assert_eq!(text(b2, "cicd.pipeline.task.run.result"), "success");
    // The run's span starts when the run started, in the first process.
    assert!(run.start_time_unix_nano <= a.start_time_unix_nano);
    assert!(run.end_time_unix_nano >= b2.end_time_unix_nano);
}

#[test]
fn a_collector_that_is_down_or_https_never_fails_a_run() {
    let repo = TestRepo::new();
    Workflow::named("untraced")
        .stage(
            "lint",
            "uses: builtin:gate\nwith: { commands: [\"sh -c true\"] }\n\
             permissions: { workspace: read, exec: [sh] }",
        )
        .write(&repo);
    // Nothing listens on the port: every export fails, the first failure is said once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let r = repo
        .engine()
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        )
        .args(["run", "workflow.yaml"])
        .task("Lint")
        .run();
    r.succeeds();
    assert_eq!(
        r.stderr()
            .matches("exporting spans over OTLP failed")
            .count(),
        1,
        "{}",
        r.stderr()
    );
    // An https endpoint: refused with one warning naming it without its credentials.
    let r = repo
        .engine()
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://user:hunter2@collector.invalid:4318",
        )
        .args(["run", "workflow.yaml"])
        .task("Lint again")
        .run();
    r.succeeds();
    assert_eq!(
        r.stderr().matches("plain http only").count(),
        1,
        "{}",
        r.stderr()
    );
    r.stderr_has("https://collector.invalid:4318");
    r.never_prints("hunter2");
}
