//! In-process runs of [`crate::run`] (the integration tests run the real binary).

use std::ffi::OsString;

use crate::output::capture;
use crate::{Context, run};

fn run_script(
    script: &str,
    dialect: &str,
    cli_args: &[&str],
    stdin: &str,
) -> (i32, capture::Buffer, capture::Buffer, tempfile::TempDir) {
    let temp = tempfile::tempdir().unwrap();
    let script_path = temp.path().join("s.yaml");
    std::fs::write(&script_path, script).unwrap();
    let mut args: Vec<OsString> = vec![
        "--script".into(),
        script_path.into(),
        "--as".into(),
        dialect.into(),
    ];
    args.extend(cli_args.iter().map(OsString::from));
    let (output, stdout, stderr) = capture::output();
    let context = Context {
        env: vec![("IS_SANDBOX".to_string(), "1".to_string())],
        cwd: temp.path().to_path_buf(),
        stdin: Box::new(std::io::Cursor::new(stdin.as_bytes().to_vec())),
        stdin_is_terminal: false,
        output,
    };
    let code = run(&args, context);
    (code, stdout, stderr, temp)
}

#[test]
fn a_claude_session_in_process() {
    let (code, stdout, stderr, temp) = run_script(
        "- - write: {path: a.txt, content: hi}\n  - say: done\n",
        "claude",
        &["-p", "--output-format", "stream-json", "--verbose"],
        "prompt on stdin",
    );
    assert_eq!(code, 0, "{}", stderr.text());
    let events = stdout.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["system", "assistant", "user", "assistant", "result"]
    );
    assert_eq!(
        std::fs::read_to_string(temp.path().join("a.txt")).unwrap(),
        "hi"
    );
    let log =
        std::fs::read_to_string(temp.path().join(".scripted-agent/invocations.jsonl")).unwrap();
    let record: serde_json::Value = serde_json::from_str(log.trim()).unwrap();
    assert_eq!(record["prompt"], "prompt on stdin");
}

#[test]
fn a_codex_session_in_process() {
    let (code, stdout, _, _temp) = run_script(
        "- - say: hello\n",
        "codex",
        &["exec", "--json", "--skip-git-repo-check", "hi"],
        "",
    );
    assert_eq!(code, 0);
    let kinds: Vec<String> = stdout
        .events()
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "thread.started",
            "turn.started",
            "item.completed",
            "turn.completed"
        ]
    );
}

#[test]
fn usage_errors_exit_2_with_the_usage_line() {
    let (output, _, stderr) = capture::output();
    let context = Context {
        env: Vec::new(),
        cwd: std::env::temp_dir(),
        stdin: Box::new(std::io::empty()),
        stdin_is_terminal: true,
        output,
    };
    assert_eq!(run(&[OsString::from("-p")], context), 2);
    assert!(
        stderr
            .text()
            .contains("usage: scripted-agent --script FILE"),
        "{}",
        stderr.text()
    );
}
