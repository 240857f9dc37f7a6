//! The built-in gate and the echo fixture, run for real on the host.

use crate::common::{Seen, fixture, gate, host, request, with_workspace};
use engine_core::{Delivery, FailureKind, Feedback, WorkspaceAccess};
use serde_json::json;

#[tokio::test]
async fn gate_describes_its_config_and_permissions() {
    let d = host().describe(&gate()).await.unwrap();
    assert_eq!(d.name, "gate");
    assert_eq!(d.permissions.workspace, WorkspaceAccess::Read);
    assert!(d.permissions.exec.is_empty());
    assert_eq!(d.delivery, Delivery::AtLeastOnce);
    assert_eq!(d.config_schema["required"], json!(["commands"]));
    assert_eq!(d.config_schema["additionalProperties"], json!(false));
}

#[tokio::test]
async fn gate_passes_strings_and_argv_lists() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("marker"), "x").unwrap();
    let (req, recorder) = request(json!({
        "commands": ["true", "test -f 'marker'", ["sh", "-c", "echo hi"]]
    }));
    let req = with_workspace(
        req,
        ws.path(),
        WorkspaceAccess::Read,
        &["true", "test", "sh"],
    );
    let ok = host().run_attempt(&gate(), req).await.unwrap();
    assert_eq!(ok.summary, "3 commands passed");
    let commands = ok.outputs["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 3);
    assert_eq!(commands[1]["command"], "test -f 'marker'");
    assert_eq!(commands[1]["exit_code"], 0);
    assert_eq!(commands[2]["command"], "sh -c 'echo hi'");
    assert!(commands[0]["duration_ms"].is_u64());
    let seen = recorder.seen();
    assert!(seen.contains(&Seen::ExecStarted(
        "test".into(),
        vec!["-f".into(), "marker".into()]
    )));
    assert!(seen.contains(&Seen::ExecFinished("sh".into(), Some(0))));
}

#[tokio::test]
async fn gate_failure_is_fatal_with_the_output_tail() {
    let ws = tempfile::tempdir().unwrap();
    let script = "for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; exit 3";
    let (req, _) = request(json!({
        "commands": [["sh", "-c", script], "true"],
        "output_tail_lines": 3
    }));
    let req = with_workspace(req, ws.path(), WorkspaceAccess::Read, &["sh", "true"]);
    let failure = host().run_attempt(&gate(), req).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Fatal);
    assert_eq!(
        failure.message,
        format!("`sh -c '{script}'` failed (exit 3)")
    );
    assert_eq!(failure.detail["exit_code"], 3);
    assert_eq!(failure.detail["timed_out"], false);
    assert_eq!(failure.detail["tail"], "line4\nline5\noops");
    // stop_on_failure (the default) skipped `true`.
    assert_eq!(failure.detail["commands"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn gate_without_stop_on_failure_runs_every_command() {
    let ws = tempfile::tempdir().unwrap();
    let (req, _) = request(json!({
        "commands": ["false", "true", "sh -c 'exit 2'"],
        "stop_on_failure": false
    }));
    let req = with_workspace(
        req,
        ws.path(),
        WorkspaceAccess::Read,
        &["sh", "true", "false"],
    );
    let failure = host().run_attempt(&gate(), req).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Fatal);
    assert_eq!(
        failure.message,
        "2 commands failed: `false` failed (exit 1); `sh -c 'exit 2'` failed (exit 2)"
    );
    assert_eq!(failure.detail["commands"].as_array().unwrap().len(), 3);
    assert_eq!(failure.detail["failures"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn gate_refuses_programs_the_workflow_does_not_grant() {
    let ws = tempfile::tempdir().unwrap();
    let (req, _) = request(json!({ "commands": ["true", "cargo --version"] }));
    let req = with_workspace(req, ws.path(), WorkspaceAccess::Read, &["true"]);
    let failure = host().run_attempt(&gate(), req).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Fatal);
    assert!(
        failure
            .message
            .starts_with("exec of `cargo` is not permitted: add it to permissions.exec"),
        "{}",
        failure.message
    );
    assert_eq!(failure.detail["error"], "not-permitted");
}

#[tokio::test]
async fn gate_command_timeout_is_retryable() {
    let ws = tempfile::tempdir().unwrap();
    let (req, _) = request(json!({ "commands": ["sleep 20"], "timeout": "200ms" }));
    let req = with_workspace(req, ws.path(), WorkspaceAccess::Read, &["sleep"]);
    let failure = host().run_attempt(&gate(), req).await.unwrap_err();
    assert_eq!(failure.kind, FailureKind::Retryable);
    assert_eq!(failure.message, "`sleep 20` timed out after 200ms");
    assert_eq!(failure.detail["timed_out"], true);
}

#[tokio::test]
async fn gate_config_errors_are_fatal_and_named() {
    let ws = tempfile::tempdir().unwrap();
    for (config, needle) in [
        (
            json!({ "commands": ["echo 'unbalanced"] }),
            "echo 'unbalanced",
        ),
        (json!({ "commands": [] }), "commands"),
        (json!({ "commands": ["true"], "timeout": "soon" }), "soon"),
        (json!({ "comands": ["true"] }), "comands"),
    ] {
        let (req, _) = request(config);
        let req = with_workspace(req, ws.path(), WorkspaceAccess::Read, &["true", "echo"]);
        let failure = host().run_attempt(&gate(), req).await.unwrap_err();
        assert_eq!(failure.kind, FailureKind::Fatal);
        assert!(failure.message.contains(needle), "{}", failure.message);
    }
}

#[tokio::test]
async fn echo_sees_its_context() {
    let (mut req, recorder) = request(json!({ "hello": "world" }));
    req.context.attempt = 4;
    req.context.interrupted = true;
    req.context.feedback = Some(Feedback {
        from_stage: "review".into(),
        attempt: 2,
        message: "needs tests".into(),
        detail: json!({ "missing": ["unit"] }),
    });
    req.context
        .outputs
        .insert("triage".into(), json!({ "tier": "smart" }));
    let ok = host()
        .run_attempt(&fixture("fixture-echo"), req)
        .await
        .unwrap();
    assert_eq!(ok.summary, "echoed attempt 4");
    let o = &ok.outputs;
    assert_eq!(o["attempt"], 4);
    assert_eq!(
        o["keys"],
        json!({ "stage": "run1/stage1", "attempt": "run1/stage1/4" })
    );
    assert_eq!(o["interrupted"], true);
    assert_eq!(o["feedback"]["from_stage"], "review");
    assert_eq!(o["feedback"]["detail"], json!({ "missing": ["unit"] }));
    assert_eq!(o["config"], json!({ "hello": "world" }));
    assert_eq!(o["outputs"], json!({ "triage": { "tier": "smart" } }));
    assert_eq!(o["task"]["labels"], json!(["a"]));
    assert_eq!(o["workspace"], json!(null));
    let seen = recorder.seen();
    assert!(seen.contains(&Seen::Log(
        engine_runtime::LogLevel::Info,
        "fixture-echo attempt 4".into()
    )));
    assert!(seen.contains(&Seen::Progress("echoing".into(), Some(0.5))));
}

#[tokio::test]
async fn echo_fails_on_demand() {
    let echo = fixture("fixture-echo");
    let (req, _) = request(json!({ "fail": "retryable", "fail_message": "flaky" }));
    let f = host().run_attempt(&echo, req).await.unwrap_err();
    assert_eq!(
        (f.kind, f.message.as_str()),
        (FailureKind::Retryable, "flaky")
    );
    assert_eq!(f.detail, json!({ "attempt": 1 }));

    let (req, _) = request(json!({ "fail": "fatal" }));
    let f = host().run_attempt(&echo, req).await.unwrap_err();
    assert_eq!(f.kind, FailureKind::Fatal);

    for (attempt, passes) in [(1, false), (2, false), (3, true)] {
        let (mut req, _) = request(json!({ "fail_until_attempt": 3 }));
        req.context.attempt = attempt;
        let result = host().run_attempt(&echo, req).await;
        assert_eq!(result.is_ok(), passes, "attempt {attempt}");
    }
}

#[tokio::test]
async fn echo_with_a_config_that_does_not_deserialize_fails_fatally() {
    let (req, _) = request(json!({ "fail_until_attempt": "three" }));
    let f = host()
        .run_attempt(&fixture("fixture-echo"), req)
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Fatal);
    assert!(f.message.starts_with("invalid config: "), "{}", f.message);
}

#[tokio::test]
async fn echo_sleeps_through_exec_and_writes_with_write_access() {
    let ws = tempfile::tempdir().unwrap();
    let (req, recorder) = request(json!({ "sleep_ms": 50, "write": "done.txt" }));
    let req = with_workspace(req, ws.path(), WorkspaceAccess::Write, &["sleep"]);
    let ok = host()
        .run_attempt(&fixture("fixture-echo"), req)
        .await
        .unwrap();
    assert_eq!(ok.outputs["workspace"], "/workspace");
    let written = std::fs::read_to_string(ws.path().join("done.txt")).unwrap();
    assert_eq!(written, "run1/stage1/1");
    assert!(
        recorder
            .seen()
            .contains(&Seen::ExecFinished("sleep".into(), Some(0)))
    );
}

#[tokio::test]
async fn gate_schema_accepts_good_configs_and_rejects_bad_ones() {
    let d = host().describe(&gate()).await.unwrap();
    let validator = jsonschema::validator_for(&d.config_schema).unwrap();
    for good in [
        json!({ "commands": ["cargo test"] }),
        json!({ "commands": ["a", ["sh", "-c", "x"]], "stop_on_failure": false, "timeout": "1h 30m", "output_tail_lines": 0 }),
        // No commands of its own: the gates of the task's skill (docs/skills.md); without a
        // skill the attempt fails saying there is nothing to run.
        json!({ "commands": [] }),
    ] {
        assert!(validator.is_valid(&good), "{good}");
    }
    for bad in [
        json!({}),
        json!({ "commands": [""] }),
        json!({ "commands": [[]] }),
        json!({ "commands": [["", "x"]] }),
        json!({ "commands": ["x"], "timeout": "soon" }),
        json!({ "commands": ["x"], "extra": 1 }),
        json!({ "commands": ["x"], "output_tail_lines": -1 }),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}
