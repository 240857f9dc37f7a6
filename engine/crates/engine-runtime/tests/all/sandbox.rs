//! The sandbox of an attempt: time, memory, filesystem and exec limits, with real components.

use std::time::Duration;

use crate::common::{fixture, host, request, wait_gone, with_workspace};
use engine_core::{FailureKind, WorkspaceAccess};
use serde_json::{Value, json};

/// Runs fixture-exec with `config` in `ws` (read access, `grants`) and returns its outputs.
async fn exec(ws: &std::path::Path, grants: &[&str], config: Value) -> Value {
    let (req, _) = request(config);
    let req = with_workspace(req, ws, WorkspaceAccess::Read, grants);
    host()
        .run_attempt(&fixture("fixture-exec"), req)
        .await
        .unwrap()
        .outputs
}

/// The next attempt on the same host still works.
async fn host_still_works() {
    let (req, _) = request(json!({}));
    let ok = host().run_attempt(&fixture("fixture-echo"), req).await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test]
async fn endless_loop_times_out() {
    let (mut req, _) = request(json!({}));
    req.timeout = Duration::from_millis(300);
    let f = host()
        .run_attempt(&fixture("fixture-loop"), req)
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::TimedOut);
    assert_eq!(f.message, "stage exceeded its time limit of 300ms");
    host_still_works().await;
}

#[tokio::test]
async fn allocating_past_the_limit_fails_with_the_memory_message() {
    let (mut req, _) = request(json!({}));
    req.memory_limit_bytes = 64 << 20;
    let f = host()
        .run_attempt(&fixture("fixture-alloc"), req)
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Fatal);
    assert_eq!(f.message, "stage exceeded its memory limit of 64 MiB");
    host_still_works().await;
}

#[tokio::test]
async fn panics_and_traps_are_reported_with_the_message() {
    let (req, recorder) = request(json!({ "mode": "panic", "message": "boom" }));
    let f = host()
        .run_attempt(&fixture("fixture-trap"), req)
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Fatal);
    assert!(f.message.starts_with("stage trapped: "), "{}", f.message);
    assert!(f.message.contains("fixture trap: boom"), "{}", f.message);
    assert!(
        f.detail["stderr"]
            .as_str()
            .unwrap()
            .contains("fixture trap: boom")
    );
    assert!(
        recorder
            .logs()
            .iter()
            .any(|(_, m)| m.starts_with("stage stderr:") && m.contains("boom")),
        "stderr is forwarded to the observer"
    );

    let (req, _) = request(json!({ "mode": "unreachable" }));
    let f = host()
        .run_attempt(&fixture("fixture-trap"), req)
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Fatal);
    assert_eq!(
        f.message,
        "stage trapped: wasm `unreachable` instruction executed"
    );
    host_still_works().await;
}

#[tokio::test]
async fn writing_to_a_read_only_workspace_is_denied() {
    let ws = tempfile::tempdir().unwrap();
    let (req, _) = request(json!({ "path": "new.txt", "contents": "x" }));
    let req = with_workspace(req, ws.path(), WorkspaceAccess::Read, &[]);
    let f = host()
        .run_attempt(&fixture("fixture-write"), req)
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Fatal);
    assert!(
        f.message.starts_with("cannot write /workspace/new.txt"),
        "{}",
        f.message
    );
    assert!(!ws.path().join("new.txt").exists());

    // Control: the same stage with write access writes the file.
    let (req, _) = request(json!({ "path": "new.txt", "contents": "x" }));
    let req = with_workspace(req, ws.path(), WorkspaceAccess::Write, &[]);
    host()
        .run_attempt(&fixture("fixture-write"), req)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(ws.path().join("new.txt")).unwrap(),
        "x"
    );
}

#[tokio::test]
async fn without_workspace_access_nothing_is_mounted() {
    let ws = tempfile::tempdir().unwrap();
    let (req, _) = request(json!({ "path": "new.txt" }));
    let req = with_workspace(req, ws.path(), WorkspaceAccess::None, &[]);
    let f = host()
        .run_attempt(&fixture("fixture-write"), req)
        .await
        .unwrap_err();
    assert_eq!(f.kind, FailureKind::Fatal);
    assert!(!ws.path().join("new.txt").exists());
}

#[tokio::test]
async fn reading_outside_the_workspace_is_denied() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("inside.txt"), "12345").unwrap();
    let (req, _) = request(json!({}));
    let req = with_workspace(req, ws.path(), WorkspaceAccess::Read, &[]);
    let out = host()
        .run_attempt(&fixture("fixture-read-outside"), req)
        .await
        .unwrap()
        .outputs;
    assert_eq!(out["/workspace/inside.txt"], "ok: 5 bytes");
    for path in [
        "/etc/passwd",
        "/workspace/../../etc/passwd",
        "/workspace/..",
        "/",
    ] {
        let result = out[path].as_str().unwrap();
        assert!(result.starts_with("denied: "), "{path}: {result}");
    }
}

#[tokio::test]
async fn exec_of_a_program_not_granted_is_refused() {
    let ws = tempfile::tempdir().unwrap();
    let out = exec(
        ws.path(),
        &["true"],
        json!({ "program": "sh", "args": ["-c", "true"] }),
    )
    .await;
    assert_eq!(out["error"]["kind"], "not-permitted");
    let message = out["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`sh` is not granted to stage stage1"),
        "{message}"
    );
    assert!(
        message.contains("grant it under permissions.exec"),
        "{message}"
    );

    // A path is not a way around a bare-name grant.
    let out = exec(ws.path(), &["sh"], json!({ "program": "/bin/sh" })).await;
    assert_eq!(out["error"]["kind"], "not-permitted");
    let out = exec(ws.path(), &["sh"], json!({ "program": "../sh" })).await;
    assert_eq!(out["error"]["kind"], "not-permitted");
}

#[tokio::test]
async fn exec_needs_workspace_access() {
    let ws = tempfile::tempdir().unwrap();
    let (req, _) = request(json!({ "program": "true" }));
    let req = with_workspace(req, ws.path(), WorkspaceAccess::None, &["true"]);
    let out = host()
        .run_attempt(&fixture("fixture-exec"), req)
        .await
        .unwrap()
        .outputs;
    assert_eq!(out["error"]["kind"], "not-permitted");
}

#[tokio::test]
async fn exec_of_a_missing_program_is_not_found() {
    let ws = tempfile::tempdir().unwrap();
    let out = exec(
        ws.path(),
        &["no-such-program-xyz"],
        json!({ "program": "no-such-program-xyz" }),
    )
    .await;
    assert_eq!(out["error"]["kind"], "not-found");
}

#[tokio::test]
async fn exec_cwd_cannot_escape_the_workspace() {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir(ws.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(outside.path(), ws.path().join("link")).unwrap();
    for cwd in [
        "/workspace/..",
        "../..",
        "/tmp",
        "link",
        "/workspace/sub/../../x",
    ] {
        let out = exec(ws.path(), &["pwd"], json!({ "program": "pwd", "cwd": cwd })).await;
        assert_eq!(out["error"]["kind"], "invalid-cwd", "{cwd}: {out}");
    }
    let out = exec(
        ws.path(),
        &["pwd"],
        json!({ "program": "pwd", "cwd": "/workspace/sub" }),
    )
    .await;
    let expected = ws.path().canonicalize().unwrap().join("sub");
    assert_eq!(
        out["output"]["stdout"].as_str().unwrap().trim(),
        expected.to_str().unwrap()
    );
}

#[tokio::test]
async fn exec_output_is_capped_to_its_tail_and_counted() {
    let ws = tempfile::tempdir().unwrap();
    let out = exec(
        ws.path(),
        &["sh"],
        json!({
            "program": "sh",
            "args": ["-c", "i=0; while [ $i -lt 2000 ]; do echo 0123456789abcdef; i=$((i+1)); done; echo END; echo err >&2"],
            "output_cap": 100
        }),
    )
    .await;
    let o = &out["output"];
    assert_eq!(o["exit_code"], 0);
    assert_eq!(o["stdout_bytes"], 2000 * 17 + 4);
    let stdout = o["stdout"].as_str().unwrap();
    assert_eq!(stdout.len(), 100);
    assert!(stdout.ends_with("END\n"));
    assert_eq!(o["stderr"], "err\n");
}

#[tokio::test]
async fn exec_children_get_a_scrubbed_environment() {
    let ws = tempfile::tempdir().unwrap();
    let (req, _) = request(json!({ "program": "env", "env": [["FROM_STAGE", "1"]] }));
    let mut req = with_workspace(req, ws.path(), WorkspaceAccess::Read, &["env"]);
    req.exec_env = vec![("FROM_WORKFLOW".into(), "2".into())];
    let out = host()
        .run_attempt(&fixture("fixture-exec"), req)
        .await
        .unwrap()
        .outputs;
    let stdout = out["output"]["stdout"].as_str().unwrap();
    let allowed = [
        "PATH",
        "HOME",
        "USER",
        "LANG",
        "LC_ALL",
        "TMPDIR",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "TERM",
        "FROM_WORKFLOW",
        "FROM_STAGE",
    ];
    for line in stdout.lines() {
        let name = line.split('=').next().unwrap();
        assert!(allowed.contains(&name), "unexpected variable {name}");
    }
    assert!(stdout.lines().any(|l| l == "TERM=dumb"));
    assert!(stdout.lines().any(|l| l == "FROM_WORKFLOW=2"));
    assert!(stdout.lines().any(|l| l == "FROM_STAGE=1"));
}

#[tokio::test]
async fn exec_timeout_kills_the_whole_process_group() {
    let ws = tempfile::tempdir().unwrap();
    let out = exec(
        ws.path(),
        &["sh"],
        json!({
            "program": "sh",
            "args": ["-c", "sleep 30 & echo $! > bg.pid; wait"],
            "timeout_ms": 300
        }),
    )
    .await;
    assert_eq!(out["output"]["timed_out"], true, "{out}");
    assert_eq!(out["output"]["exit_code"], Value::Null);
    let pid: i32 = std::fs::read_to_string(ws.path().join("bg.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(wait_gone(pid), "background child {pid} survived");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_an_attempt_kills_its_programs() {
    let ws = tempfile::tempdir().unwrap();
    let (req, _) = request(json!({
        "program": "sh",
        "args": ["-c", "echo $$ > sh.pid; sleep 30"],
    }));
    let req = with_workspace(req, ws.path(), WorkspaceAccess::Read, &["sh"]);
    let stage = fixture("fixture-exec");
    let task = tokio::spawn(async move { host().run_attempt(&stage, req).await });
    let pid_file = ws.path().join("sh.pid");
    let mut pid = None;
    for _ in 0..200 {
        if let Some(p) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            pid = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = pid.expect("the program started");
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(
        wait_gone(pid),
        "program {pid} survived the cancelled attempt"
    );
    host_still_works().await;
}

#[tokio::test]
async fn exec_time_is_bounded_by_the_stage_deadline() {
    let ws = tempfile::tempdir().unwrap();
    let (req, _) = request(json!({
        "program": "sh",
        "args": ["-c", "echo $$ > sleep.pid; exec sleep 30"],
    }));
    let mut req = with_workspace(req, ws.path(), WorkspaceAccess::Read, &["sh"]);
    req.timeout = Duration::from_millis(400);
    let result = host().run_attempt(&fixture("fixture-exec"), req).await;
    // Either the exec hit the remaining stage time (the stage then succeeds reporting a
    // timed-out program that was killed, so it has no exit code) or the attempt's own timer
    // fired first. A program left to finish would have exited 0.
    match result {
        Ok(ok) => {
            assert_eq!(ok.outputs["output"]["timed_out"], true, "{}", ok.outputs);
            assert_eq!(
                ok.outputs["output"]["exit_code"],
                Value::Null,
                "{}",
                ok.outputs
            );
        }
        Err(f) => assert_eq!(f.kind, FailureKind::TimedOut, "{}", f.message),
    }
    // Either way the program is not left running (unless it was killed before it could even
    // write its pid).
    if let Some(pid) = std::fs::read_to_string(ws.path().join("sleep.pid"))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        assert!(wait_gone(pid), "program {pid} outlived the stage deadline");
    }
}
