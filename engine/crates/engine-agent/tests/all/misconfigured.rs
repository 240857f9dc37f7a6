//! A CLI that refuses to run with its configuration ends `Misconfigured`, never `Errored` (which
//! the stage would resume, failing the same way each time): the real Gemini CLI 0.61.0's exit
//! 55 in an untrusted folder (tests/fixtures/gemini/real/untrusted.*), replayed by `sh` under
//! the real supervisor with the real Gemini parser.

use std::path::{Path, PathBuf};

use engine_agent::backends::GeminiParser;
use engine_agent::{Invocation, Limits, Outcome, Pricing, Session, SessionSpec, Summary};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gemini/real")
        .join(name)
}

/// Runs `sh -c script` in `dir` as a Gemini session and returns its summary.
async fn gemini_session(dir: &Path, script: String) -> Summary {
    let spec = SessionSpec {
        invocation: Invocation {
            program: "sh".into(),
            args: vec!["-c".into(), script],
            ..Invocation::default()
        },
        cwd: dir.to_path_buf(),
        env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        transcript: dir.join("transcript.jsonl"),
        limits: Limits::default(),
        pricing: Pricing::none(),
        model: None,
        redact: Vec::new(),
        confinement: None,
    };
    let mut session = Session::start(spec, Box::new(GeminiParser::new())).unwrap();
    while session.next_event().await.is_some() {}
    session.finish().await
}

#[tokio::test]
async fn an_untrusted_folder_is_misconfigured_and_the_detail_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = fixture("untrusted.jsonl");
    let stderr = fixture("untrusted.stderr");
    let script = format!(
        "cat '{}'; cat '{}' >&2; exit 55",
        stdout.display(),
        stderr.display()
    );
    let summary = gemini_session(dir.path(), script).await;
    assert_eq!(
        summary.outcome,
        Outcome::Misconfigured,
        "{}",
        summary.detail
    );
    assert_eq!(summary.exit_code, Some(55));
    let detail = &summary.detail;
    assert!(
        detail.starts_with("the agent CLI is misconfigured: "),
        "{detail}"
    );
    // The fix and the CLI's own words, whole.
    assert!(
        detail.contains("GEMINI_CLI_TRUST_WORKSPACE=true"),
        "{detail}"
    );
    assert!(detail.contains("--skip-trust"), "{detail}");
    assert!(
        detail.contains("Gemini CLI is not running in a trusted directory"),
        "{detail}"
    );
    assert!(detail.contains("trusted-folders"), "{detail}");
}

/// Exit 52: Gemini CLI's `FatalConfigError` (a bad setting), same treatment.
#[tokio::test]
async fn a_config_error_exit_is_misconfigured() {
    let dir = tempfile::tempdir().unwrap();
    let script = "echo 'Error in settings.json: invalid value' >&2; exit 52".to_string();
    let summary = gemini_session(dir.path(), script).await;
    assert_eq!(
        summary.outcome,
        Outcome::Misconfigured,
        "{}",
        summary.detail
    );
    assert!(
        summary
            .detail
            .starts_with("the agent CLI is misconfigured: "),
        "{}",
        summary.detail
    );
}
